use super::*;
use crate::sched::tests::{key_from, w};
use std::net::{Ipv4Addr, Ipv6Addr};

fn client(i: u32) -> IpAddr {
    Ipv4Addr::from(0xC000_0200 + i).into()
}

fn vip() -> IpAddr {
    Ipv4Addr::new(198, 51, 100, 1).into()
}

fn counts(table: &[Option<usize>], n: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    for s in table {
        c[s.expect("every slot filled")] += 1;
    }
    c
}

#[test]
fn siphash_matches_the_reference_vector() {
    // SipHash-2-4 of the bytes 0..15 under the key 0..16 (the paper's test vector): the
    // same rounds run 1-3 for the kernel's hsiphash.
    let key = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
    let msg: Vec<u8> = (0..15).collect();
    assert_eq!(siphash(key, &msg, 2, 4), 0xa129_ca61_49be_45e5);
    // The empty message of the same vectors.
    assert_eq!(siphash(key, &[], 2, 4), 0x726f_db47_dd0e_0e31);
    // hsiphash is that on four bytes, truncated.
    assert_eq!(
        hsiphash_u32(KEY_OFFSET, 7),
        siphash(KEY_OFFSET, &[7, 0, 0, 0], 1, 3) as u32
    );
}

#[test]
fn hashkey_adds_offset_port_and_folded_address() {
    let a: IpAddr = Ipv4Addr::new(10, 0, 0, 1).into();
    let word = 0x0a00_0001u32 + 80 + 3;
    assert_eq!(hashkey(a, 80, KEY_SKIP, 3), hsiphash_u32(KEY_SKIP, word));
    // IPv6 folds to the XOR of its words: ::a00:1 hashes as 10.0.0.1.
    let b: IpAddr = Ipv6Addr::from(0x0a00_0001u128).into();
    assert_eq!(hashkey(b, 80, KEY_SKIP, 3), hashkey(a, 80, KEY_SKIP, 3));
}

#[test]
fn equal_weights_fill_the_table_evenly() {
    for n in [1, 2, 3, 5, 8, 13] {
        let c = counts(&build_table(&w(&vec![1; n])), n);
        let (lo, hi) = (c.iter().min().unwrap(), c.iter().max().unwrap());
        // One slot per server per round: the counts differ by at most one.
        assert!(hi - lo <= 1, "{n} servers: {c:?}");
        assert_eq!(c.iter().sum::<usize>(), TABLE_SIZE);
    }
    // Equal weights other than 1 are the same table (gcd).
    assert_eq!(build_table(&w(&[5, 5, 5])), build_table(&w(&[1, 1, 1])));
    assert_eq!(build_table(&w(&[2, 4])), build_table(&w(&[1, 2])));
}

#[test]
fn weights_share_the_table_in_proportion() {
    // 3:1 — three slots, then one, per round.
    let c = counts(&build_table(&w(&[3, 1])), 2);
    assert!(c[0].abs_diff(3 * c[1]) <= 3, "{c:?}");
    // 128:1 exceeds 6 bits: shifted by 2 (fls(128) = 8), so turns are 32 and 1.
    let c = counts(&build_table(&w(&[128, 1])), 2);
    assert!(c[0].abs_diff(32 * c[1]) <= 32, "{c:?}");
    // A server added with weight 0 gets nothing; all zero leaves the table empty.
    let c = counts(&build_table(&w(&[2, 0, 2])), 3);
    assert_eq!(c[1], 0);
    assert!(build_table(&w(&[0, 0])).iter().all(Option::is_none));
    assert!(build_table(&[]).iter().all(Option::is_none));
}

/// The owner of each of 4,000 clients.
fn owners(m: &mut Maglev, dests: &[DestLoad]) -> Vec<Option<usize>> {
    (0..4000)
        .map(|i| m.pick(dests, &key_from(client(i), vip())))
        .collect()
}

#[test]
fn removing_a_server_moves_few_other_flows() {
    let all = w(&[1, 1, 1, 1, 1]);
    let mut m = Maglev::default();
    let before = owners(&mut m, &all);
    // Server 2 (10.9.0.3) goes away.
    let rest: Vec<DestLoad> = all
        .iter()
        .copied()
        .filter(|d| d.addr != all[2].addr)
        .collect();
    let after = owners(&mut m, &rest);
    let mut kept = 0;
    let mut others = 0;
    for (b, a) in before.iter().zip(&after) {
        let (b, a) = (b.unwrap(), a.unwrap());
        let a_addr = rest[a].addr;
        if b == 2 {
            assert_ne!(a_addr, all[2].addr);
            continue;
        }
        others += 1;
        if a_addr == all[b].addr {
            kept += 1;
        }
    }
    // Maglev trades a little disruption for balance: nearly all of the other servers'
    // clients stay where they were.
    assert!(kept * 100 >= others * 95, "{kept} of {others} kept");
    // The removed server's clients spread over the four others.
    let mut spread = [0usize; 4];
    for (b, a) in before.iter().zip(&after) {
        if *b == Some(2) {
            spread[a.unwrap()] += 1;
        }
    }
    assert!(spread.iter().all(|&x| x > 100), "{spread:?}");
}

#[test]
fn quiescing_keeps_the_table_and_fallback_finds_another() {
    let d = w(&[1, 1, 1]);
    let mut plain = Maglev::default();
    let mut fb = Maglev::new(true, false);
    let before = owners(&mut plain, &d);
    assert_eq!(owners(&mut fb, &d), before);
    // Server 1 quiesced: weight 0, last weight still 1.
    let mut q = d.clone();
    q[1].weight = 0;
    let refused = owners(&mut plain, &q);
    let moved = owners(&mut fb, &q);
    for ((b, r), f) in before.iter().zip(&refused).zip(&moved) {
        if *b == Some(1) {
            assert_eq!(*r, None);
            assert!(matches!(f, Some(0 | 2)));
        } else {
            assert_eq!(r, b);
            assert_eq!(f, b);
        }
    }
    // Everything quiesced: nothing, with or without fallback.
    let zero = w(&[1, 1, 1])
        .into_iter()
        .map(|x| DestLoad { weight: 0, ..x })
        .collect::<Vec<_>>();
    assert!(owners(&mut fb, &zero).iter().all(Option::is_none));
}

#[test]
fn mh_port_spreads_one_clients_ports() {
    let d = w(&[1, 1, 1, 1]);
    let c = client(1);
    let key = |port| FlowKey {
        client_port: port,
        ..key_from(c, vip())
    };
    let mut plain = Maglev::default();
    let first = plain.pick(&d, &key(1000));
    assert!((1000..1200).all(|p| plain.pick(&d, &key(p)) == first));
    let mut port = Maglev::new(false, true);
    let mut seen = [0usize; 4];
    for p in 1000..1200 {
        seen[port.pick(&d, &key(p)).unwrap()] += 1;
    }
    assert!(seen.iter().all(|&x| x > 20), "{seen:?}");
    // The VIP and the virtual port never matter.
    let mut k = key(1000);
    k.vip = client(99);
    k.vport = 8080;
    assert_eq!(plain.pick(&d, &k), first);
}

#[test]
fn the_table_follows_the_kernels_list_order() {
    // The same servers in another order (the first one removed and added back, so now the
    // newest: first in the kernel's list) make another table, since the first in the list
    // wins contested slots; but only a fraction of a percent of the slots differ.
    for n in [3usize, 5, 10] {
        let d = w(&vec![1; n]);
        let mut r = d.clone();
        r.rotate_left(1);
        let t1 = build_table(&d);
        let t2 = build_table(&r);
        let differ = t1
            .iter()
            .zip(&t2)
            .filter(|(a, b)| d[a.unwrap()].addr != r[b.unwrap()].addr)
            .count();
        assert!(
            differ > 0 && differ * 100 < TABLE_SIZE,
            "{n} servers: {differ} slots differ"
        );
    }
}

#[test]
fn rebuilds_only_when_addresses_or_last_weights_change() {
    let d = w(&[1, 2]);
    let mut m = Maglev::default();
    let before = owners(&mut m, &d);
    // Connection counts and a weight-0 quiesce do not rebuild; reset does, to the same.
    let mut busy = d.clone();
    busy[0].active = 50;
    assert_eq!(owners(&mut m, &busy), before);
    m.reset();
    assert_eq!(owners(&mut m, &d), before);
    // A new last weight does.
    let mut heavier = d.clone();
    heavier[0].last_weight = 9;
    heavier[0].weight = 9;
    assert_ne!(owners(&mut m, &heavier), before);
}
