//! Tests of the schedulers in `sched.rs` (rr to dh), and the helpers the other
//! schedulers' tests share.

use super::hashing::BucketTable;
use super::*;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Destinations 10.9.0.1:80, 10.9.0.2:80, … with these weights.
pub(crate) fn w(weights: &[i32]) -> Vec<DestLoad> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| DestLoad {
            addr: SocketAddr::new(Ipv4Addr::new(10, 9, 0, i as u8 + 1).into(), 80),
            weight,
            last_weight: weight,
            active: 0,
            inactive: 0,
        })
        .collect()
}

/// A destination at 0.0.0.0:0 (for schedulers that do not look at addresses).
pub(crate) fn load(weight: i32, active: u32, inactive: u32) -> DestLoad {
    DestLoad {
        addr: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
        weight,
        last_weight: weight,
        active,
        inactive,
    }
}

pub(crate) fn key_from(client: IpAddr, vip: IpAddr) -> FlowKey {
    FlowKey {
        client,
        client_port: 40000,
        vip,
        vport: 80,
        now: Instant::now(),
    }
}

pub(crate) fn key() -> FlowKey {
    key_from(
        Ipv4Addr::new(192, 0, 2, 7).into(),
        Ipv4Addr::new(198, 51, 100, 1).into(),
    )
}

fn picks(s: &mut dyn Scheduler, dests: &[DestLoad], n: usize) -> Vec<Option<usize>> {
    (0..n).map(|_| s.pick(dests, &key())).collect()
}

fn counts(s: &mut dyn Scheduler, dests: &[DestLoad], n: usize) -> Vec<usize> {
    let mut c = vec![0; dests.len()];
    for p in picks(s, dests, n) {
        c[p.expect("a pick")] += 1;
    }
    c
}

#[test]
fn rr_cycles_in_order_and_skips_weight_0() {
    let mut s = RoundRobin::default();
    let d = w(&[1, 0, 7, 1]);
    // Weight does not matter to rr, only whether it is above 0.
    assert_eq!(picks(&mut s, &d, 7), [0, 2, 3, 0, 2, 3, 0].map(Some));
    // The walk continues after the last pick when a destination comes back...
    let d = w(&[1, 1, 7, 1]);
    assert_eq!(picks(&mut s, &d, 4), [1, 2, 3, 0].map(Some));
    // ...and reset starts the round again from the first.
    s.pick(&d, &key());
    s.reset();
    assert_eq!(s.pick(&d, &key()), Some(0));
    // A shrunken list without reset wraps instead of indexing out of range.
    let mut s = RoundRobin::default();
    assert_eq!(picks(&mut s, &w(&[1, 1, 1, 1]), 4), [0, 1, 2, 3].map(Some));
    assert_eq!(s.pick(&w(&[1, 1]), &key()), Some(0));
}

#[test]
fn wrr_matches_weights_exactly_per_cycle() {
    // gcd 1: a cycle is 5 + 3 + 2 = 10 picks; 1,000 picks are 100 whole cycles.
    let mut s = WeightedRoundRobin::default();
    assert_eq!(counts(&mut s, &w(&[5, 3, 2]), 1000), [500, 300, 200]);
    // gcd 2: weights 4,2,0 are 2:1 and the cycle is 3 picks (cw runs 3, 1).
    let mut s = WeightedRoundRobin::default();
    let d = w(&[4, 2, 0]);
    assert_eq!(picks(&mut s, &d, 6), [0, 0, 1, 0, 0, 1].map(Some));
    assert_eq!(counts(&mut s, &d, 300), [200, 100, 0]);
}

#[test]
fn wrr_first_cycle_is_the_ipvs_interleaving() {
    // Weights a=4, b=3, c=2; gcd 1 so cw starts at 4 and steps down by 1:
    //   cw=4: only a (4>=4)           -> a
    //   cw=3: a (4>=3), b (3>=3)      -> a b
    //   cw=2: a, b, c (2>=2)          -> a b c
    //   cw=1: all                     -> a b c
    // then cw would reach 0 and restarts at 4: the cycle repeats.
    let mut s = WeightedRoundRobin::default();
    let d = w(&[4, 3, 2]);
    let (a, b, c) = (Some(0), Some(1), Some(2));
    let cycle = [a, a, b, a, b, c, a, b, c];
    assert_eq!(picks(&mut s, &d, 9), cycle);
    assert_eq!(picks(&mut s, &d, 9), cycle);
}

#[test]
fn wrr_weight_change_restarts_at_head() {
    let mut s = WeightedRoundRobin::default();
    assert_eq!(picks(&mut s, &w(&[2, 1]), 2), [0, 0].map(Some));
    // Those two picks were a at cw=2 and a at cw=1. A third destination appears:
    // cw=1 is still in range so it is kept, but the walk restarts at the head, so
    // a (again) and c finish the cw=1 pass, then cw=2 picks a only, cw=1 a and c.
    let d = w(&[2, 0, 1]);
    assert_eq!(picks(&mut s, &d, 5), [0, 2, 0, 0, 2].map(Some));
    // Quiescing everything gives None; bringing one back picks it.
    assert_eq!(s.pick(&w(&[0, 0, 0]), &key()), None);
    s.reset();
    assert_eq!(s.pick(&w(&[0, 0, 3]), &key()), Some(2));
}

#[test]
fn lc_least_overhead_first_on_ties() {
    let mut s = LeastConnection;
    // Overheads: 1*256 = 256 vs 0*256 + 300 = 300: one active outweighs 255 inactive.
    assert_eq!(s.pick(&[load(1, 1, 0), load(1, 0, 300)], &key()), Some(0));
    assert_eq!(s.pick(&[load(1, 1, 0), load(1, 0, 255)], &key()), Some(1));
    // Weight does not matter (except 0): 256 on weight 1 beats 257 on weight 100.
    assert_eq!(s.pick(&[load(100, 1, 1), load(1, 1, 0)], &key()), Some(1));
    // Ties go to the first.
    assert_eq!(
        s.pick(&[load(1, 2, 3), load(5, 2, 3), load(1, 2, 3)], &key()),
        Some(0)
    );
    // An idle quiesced destination is skipped.
    assert_eq!(
        s.pick(&[load(0, 0, 0), load(1, 9, 9), load(1, 9, 8)], &key()),
        Some(2)
    );
}

#[test]
fn wlc_least_overhead_per_weight() {
    let mut s = WeightedLeastConnection;
    // 256/1 vs 512/3 (= 170.7): the heavier one, though busier.
    assert_eq!(s.pick(&[load(1, 1, 0), load(3, 2, 0)], &key()), Some(1));
    // 256/1 vs 1024/3 (= 341.3).
    assert_eq!(s.pick(&[load(1, 1, 0), load(3, 4, 0)], &key()), Some(0));
    // Exact tie 100/1 == 200/2 goes to the first, in either order of weights.
    assert_eq!(s.pick(&[load(1, 0, 100), load(2, 0, 200)], &key()), Some(0));
    assert_eq!(s.pick(&[load(2, 0, 200), load(1, 0, 100)], &key()), Some(0));
    // Weight 0 is skipped even when idle; all idle -> first available.
    assert_eq!(
        s.pick(&[load(0, 0, 0), load(2, 0, 0), load(9, 0, 0)], &key()),
        Some(1)
    );
    // No overflow with extreme values.
    let big = load(i32::MAX, u32::MAX, u32::MAX);
    assert_eq!(s.pick(&[big, load(1, u32::MAX, u32::MAX)], &key()), Some(0));
}

#[test]
fn sed_least_expected_delay() {
    let mut s = ShortestExpectedDelay;
    // (0+1)/1 = 1 vs (1+1)/3 = 0.67: sed picks the busier heavy one, where wlc would
    // pick the idle one (overhead 0).
    let d = [load(1, 0, 0), load(3, 1, 0)];
    assert_eq!(s.pick(&d, &key()), Some(1));
    assert_eq!(WeightedLeastConnection.pick(&d, &key()), Some(0));
    // Inactive connections do not count: (0+1)/1 vs (1+1)/1.
    assert_eq!(s.pick(&[load(1, 0, 1000), load(1, 1, 0)], &key()), Some(0));
    // Tie (1+1)/2 == (0+1)/1 goes to the first; weight 0 is skipped.
    assert_eq!(
        s.pick(&[load(0, 0, 0), load(2, 1, 0), load(1, 0, 0)], &key()),
        Some(1)
    );
}

#[test]
fn nq_idle_first_else_sed() {
    let mut s = NeverQueue;
    // The first idle available one, even if sed would prefer another.
    let d = [load(10, 1, 0), load(0, 0, 0), load(1, 0, 50), load(1, 0, 0)];
    assert_eq!(s.pick(&d, &key()), Some(2));
    assert_eq!(ShortestExpectedDelay.pick(&d, &key()), Some(0));
    // None idle: as sed, (3+1)/4 = 1 beats (1+1)/1 = 2.
    assert_eq!(s.pick(&[load(1, 1, 0), load(4, 3, 0)], &key()), Some(1));
    // None idle and a tie, (3+1)/2 == (1+1)/1: first.
    assert_eq!(s.pick(&[load(2, 3, 0), load(1, 1, 0)], &key()), Some(0));
}

fn v4(i: u32) -> IpAddr {
    Ipv4Addr::from(0x0a00_0000 + i).into()
}

fn vip() -> IpAddr {
    Ipv4Addr::new(198, 51, 100, 1).into()
}

#[test]
fn sh_is_sticky_and_ignores_everything_but_the_client_address() {
    let mut s = SourceHashing::default();
    let d = w(&[1, 2, 3]);
    for i in 0..200 {
        let first = s.pick(&d, &key_from(v4(i), vip())).unwrap();
        for port in [1, 80, 65535] {
            let k = FlowKey {
                client_port: port,
                vport: port,
                ..key_from(v4(i), v4(i + 9))
            };
            assert_eq!(s.pick(&d, &k), Some(first));
        }
    }
    // Stickiness survives a rebuild for the same destinations.
    let before: Vec<_> = (0..200)
        .map(|i| s.pick(&d, &key_from(v4(i), vip())))
        .collect();
    s.reset();
    let after: Vec<_> = (0..200)
        .map(|i| s.pick(&d, &key_from(v4(i), vip())))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn sh_table_and_distribution_follow_weights() {
    // Weights 3,1 fill the 256 buckets b a a a b a a a ...: exactly 192 and 64.
    let d = w(&[3, 1]);
    let mut t = BucketTable::default();
    t.build(&d, true);
    // The kernel's order: the last added (b) first.
    assert_eq!(&t.buckets[..8], [1, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(t.buckets.iter().filter(|&&i| i == 0).count(), 192);
    // 65,536 consecutive IPv4 clients and as many IPv6 ones land within 2 percentage
    // points of the 75%/25% split (the hash spreads them evenly over the buckets).
    let mut s = SourceHashing::default();
    for client in [
        |i| v4(i),
        |i| IpAddr::from(Ipv6Addr::from(0x2001_0db8_u128 << 96 | i as u128)),
    ] {
        let mut c = [0usize; 2];
        for i in 0..65536u32 {
            c[s.pick(&d, &key_from(client(i), vip())).unwrap()] += 1;
        }
        let share = c[0] as f64 / 65536.0;
        assert!(
            (share - 0.75).abs() < 0.02,
            "share of weight 3: {share} ({c:?})"
        );
    }
}

#[test]
fn sh_weight_0_bucket_gives_none() {
    let mut s = SourceHashing::default();
    // Like IPVS, a weight-0 destination still owns one bucket: here every other one.
    let d = w(&[1, 0]);
    let clients: Vec<_> = (0..64).map(v4).collect();
    let owners: Vec<_> = clients
        .iter()
        .map(|&c| s.bucket_owner(&d, &key_from(c, vip())).unwrap())
        .collect();
    assert!(owners.contains(&0) && owners.contains(&1));
    for (&c, &o) in clients.iter().zip(&owners) {
        let want = if o == 0 { Some(0) } else { None };
        assert_eq!(s.pick(&d, &key_from(c, vip())), want);
    }
    // Weights 2,2, then the second is quiesced: the table is rebuilt as IPVS does on
    // an edit (b a a b a a ...: the quiesced one keeps one bucket in three), the first
    // one's clients are served and the quiesced one's are refused.
    let d = w(&[2, 2]);
    assert!(
        clients
            .iter()
            .any(|&c| s.pick(&d, &key_from(c, vip())) == Some(1))
    );
    let d0 = w(&[2, 0]);
    s.reset();
    let mut refused = 0;
    for &c in &clients {
        let k = key_from(c, vip());
        match s.bucket_owner(&d0, &k) {
            Some(0) => assert_eq!(s.pick(&d0, &k), Some(0)),
            Some(1) => {
                assert_eq!(s.pick(&d0, &k), None);
                refused += 1;
            }
            o => panic!("owner {o:?}"),
        }
    }
    assert!(refused > 0);
}

#[test]
fn dh_is_sticky_per_vip_and_ignores_the_client() {
    let mut s = DestinationHashing::default();
    let d = w(&[1, 2, 3]);
    for i in 0..200 {
        let first = s.pick(&d, &key_from(v4(1), v4(i))).unwrap();
        for c in 2..10 {
            let k = FlowKey {
                client_port: c as u16,
                ..key_from(v4(c), v4(i))
            };
            assert_eq!(s.pick(&d, &k), Some(first));
        }
    }
}

#[test]
fn dh_deals_buckets_one_per_destination_like_ipvs() {
    // ip_vs_dh.c does not weight its table: weights 3,1 still get 128 buckets each.
    let d = w(&[3, 1]);
    let mut t = BucketTable::default();
    t.build(&d, false);
    assert_eq!(&t.buckets[..4], [1, 0, 1, 0]);
    // 65,536 VIPs: within 2 percentage points of 50/50.
    let mut s = DestinationHashing::default();
    let mut c = [0usize; 2];
    for i in 0..65536u32 {
        c[s.pick(&d, &key_from(v4(0), v4(i))).unwrap()] += 1;
    }
    let share = c[0] as f64 / 65536.0;
    assert!(
        (share - 0.5).abs() < 0.02,
        "share of dest 0: {share} ({c:?})"
    );
    // A quiesced owner gives None; others are unaffected.
    let mut d0 = d.clone();
    d0[1].weight = 0;
    for i in 0..256 {
        let k = key_from(v4(0), v4(i));
        let want = if s.bucket_owner(&d, &k) == Some(0) {
            Some(0)
        } else {
            None
        };
        assert_eq!(s.pick(&d0, &k), want);
    }
}

#[test]
fn empty_and_all_zero_give_none_for_every_scheduler() {
    for &name in NAMES {
        let mut s = by_name(name).unwrap();
        for d in [
            vec![],
            w(&[0]),
            w(&[0, 0, 0]),
            vec![load(0, 0, 0), load(-1, 0, 0)],
        ] {
            for _ in 0..3 {
                assert_eq!(s.pick(&d, &key()), None, "{name} on {d:?}");
            }
            s.reset();
        }
    }
}

#[test]
fn by_name_knows_exactly_names() {
    for &name in NAMES {
        assert_eq!(by_name(name).map(|s| s.name()), Some(name));
    }
    for name in ["fifo", "bogus", "", "RR", "mh-port"] {
        assert!(by_name(name).is_none(), "{name}");
    }
}

#[test]
fn hash_bucket_folds_ipv6_and_uses_top_bits() {
    assert_eq!(hash_bucket(Ipv4Addr::UNSPECIFIED.into()), 0);
    // 1 * 0x61C88647 >> 24 = 0x61.
    assert_eq!(hash_bucket(Ipv4Addr::from(1).into()), 0x61);
    // An IPv6 address whose words XOR to 1 hashes as 0.0.0.1.
    let a = Ipv6Addr::from(0x0000_0005_0000_0005_0000_0000_0000_0001_u128);
    assert_eq!(hash_bucket(a.into()), 0x61);
}

proptest! {
    #[test]
    fn picks_only_available_destinations(
        dests in prop::collection::vec((0i32..=5, 0u32..4, 0u32..600), 1..=6),
        clients in prop::collection::vec(any::<u32>(), 1..20),
        v in any::<u32>(),
    ) {
        let dests: Vec<DestLoad> = dests
            .into_iter()
            .zip(w(&[0; 6]))
            .map(|((weight, active, inactive), at)| DestLoad { addr: at.addr, ..load(weight, active, inactive) })
            .collect();
        let any_up = dests.iter().any(|d| d.weight > 0);
        for &name in NAMES {
            let mut s = by_name(name).unwrap();
            let mut sh = SourceHashing::default();
            let mut dh = DestinationHashing::default();
            let mut mh = Maglev::default();
            for &c in &clients {
                let k = key_from(Ipv4Addr::from(c).into(), Ipv4Addr::from(v ^ c).into());
                let p = s.pick(&dests, &k);
                if !any_up {
                    prop_assert_eq!(p, None, "{}", name);
                    continue;
                }
                let owner = match name {
                    "sh" => sh.bucket_owner(&dests, &k),
                    "dh" => dh.bucket_owner(&dests, &k),
                    "mh" => mh.owner(&dests, &k),
                    _ => None,
                };
                match p {
                    Some(i) => {
                        prop_assert!(dests[i].weight > 0, "{} picked {}", name, i);
                        if owner.is_some() {
                            prop_assert_eq!(owner, Some(i), "{}", name);
                        }
                    }
                    None if name == "ovf" => prop_assert!(
                        dests.iter().all(|d| d.weight <= 0 || i64::from(d.active) > i64::from(d.weight)),
                        "ovf refused with room left"
                    ),
                    None => {
                        let o = owner.expect("only sh/dh/mh/ovf may refuse while some weight > 0");
                        prop_assert!(dests[o].weight <= 0, "{} refused for owner {}", name, o);
                    }
                }
            }
        }
    }

    #[test]
    fn wrr_and_rr_cycles_are_exact(weights in prop::collection::vec(0i32..=5, 1..=6)) {
        let g = weights.iter().filter(|&&w| w > 0).fold(0, |g, &w| if g == 0 { w } else { gcd(g, w) });
        prop_assume!(g > 0);
        let d = w(&weights);
        // wrr: one cycle is sum(weights)/gcd picks, each destination weight/gcd times.
        let cycle: i32 = weights.iter().sum::<i32>() / g;
        let mut s = WeightedRoundRobin::default();
        for _ in 0..3 {
            let c = counts(&mut s, &d, cycle as usize);
            let want: Vec<usize> = weights.iter().map(|&x| (x / g) as usize).collect();
            prop_assert_eq!(c, want);
        }
        // rr: one round picks every available destination once.
        let up = weights.iter().filter(|&&x| x > 0).count();
        let mut s = RoundRobin::default();
        let c = counts(&mut s, &d, 3 * up);
        let want: Vec<usize> = weights.iter().map(|&x| if x > 0 { 3 } else { 0 }).collect();
        prop_assert_eq!(c, want);
    }
}
