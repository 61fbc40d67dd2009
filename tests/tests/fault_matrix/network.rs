//! The heartbeat link cut (nftables in a director's namespace): one way, the other way, both
//! ways, and flapping every second. The client reaches both directors all along (only the
//! heartbeat port is dropped), as with a dead private heartbeat link.

use std::time::Instant;

use testkit::fault::{DEADTIME, report};

use super::*;

/// Drop heartbeats arriving at director `n` (a table named `cut`).
fn cut(p: &Pair, n: &str) {
    p.lan.on(
        n,
        "nft 'add table inet cut ; add chain inet cut in { type filter hook input priority 0 ; } ; \
         add rule inet cut in udp dport 539 drop'",
    );
}

fn heal(p: &Pair, n: &str) {
    p.lan.on(n, "nft delete table inet cut");
}

fn active(p: &Pair, i: usize) -> bool {
    p.brief(i).is_some_and(|b| b.state == "active")
}

#[test]
fn heartbeats_to_the_backup_cut() {
    let Some(p) = pair() else { return };
    let t0 = Instant::now();
    cut(&p, "d2");
    // d2 hears nothing and takes over; the master hears d2 active and stays so. Both hold the
    // VIP while the cut lasts: no node can tell a deaf link from a dead partner.
    testkit::wait::expect_until(s(10), || active(&p, D2), || p.logs());
    assert!(active(&p, D1), "the master gave up\n{}", p.logs());
    heal(&p, "d2");
    let seen = p.recovered(t0, D1, BOTH, s(10));
    p.d(D2).wait_log(s(2), "partner active: deactivating LVS");
    assert!(seen.longest_gap < s(3), "{seen}");
    report("heartbeat cut one way (to the backup)", &seen);
}

#[test]
fn heartbeats_to_the_active_cut() {
    let Some(p) = pair() else { return };
    let t0 = Instant::now();
    cut(&p, "d1");
    // The active master hears nothing from the backup; it is active already, and the backup
    // still hears it: nothing moves for three deadtimes (checked all along).
    let end = Instant::now() + DEADTIME * 3;
    while Instant::now() < end {
        if let Some(why) = p.broken(D1, BOTH) {
            panic!("{why}\n{}", p.logs());
        }
        std::thread::sleep(testkit::MS(100));
    }
    heal(&p, "d1");
    let seen = p.recovered(t0, D1, BOTH, s(10));
    let (b1, b2) = (p.brief(D1).unwrap(), p.brief(D2).unwrap());
    assert_eq!((b1.took_over, b1.gave_up, b2.took_over), (1, 0, 0));
    assert_eq!(seen.failed, 0, "{seen}");
    report("heartbeat cut one way (to the active)", &seen);
}

#[test]
fn heartbeats_cut_both_ways() {
    let Some(p) = pair() else { return };
    let t0 = Instant::now();
    cut(&p, "d1");
    cut(&p, "d2");
    testkit::wait::expect_until(s(10), || active(&p, D2), || p.logs());
    assert!(active(&p, D1), "the master gave up\n{}", p.logs());
    heal(&p, "d1");
    heal(&p, "d2");
    let seen = p.recovered(t0, D1, BOTH, s(10));
    assert!(seen.longest_gap < s(3), "{seen}");
    report("heartbeat cut both ways", &seen);
}

/// How long the link flaps in the test run (the issue asks for a minute; the bench can).
const FLAPS: u32 = 8;

#[test]
fn heartbeats_flapping_every_second() {
    let Some(p) = pair() else { return };
    let t0 = Instant::now();
    for _ in 0..FLAPS {
        cut(&p, "d1");
        cut(&p, "d2");
        std::thread::sleep(s(1));
        heal(&p, "d1");
        heal(&p, "d2");
        std::thread::sleep(s(1));
    }
    let seen = p.recovered(t0, D1, BOTH, s(15));
    let (b1, b2) = (p.brief(D1).unwrap(), p.brief(D2).unwrap());
    assert_eq!(b1.gave_up, 0, "the master gave up: {b1:?}");
    assert!(b2.took_over <= u64::from(FLAPS), "{b2:?}");
    eprintln!("flapping: the backup took over {} times", b2.took_over);
    assert!(seen.longest_gap < s(3), "{seen}");
    report("heartbeat link flapping 1 s / 1 s", &seen);
}
