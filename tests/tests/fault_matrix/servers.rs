//! A real server that accepts and never answers, one that resets, one that answers slowly
//! (2.5 s, past the check's 1 s), one that flaps between answering and resetting every
//! second: it leaves rotation (its nanny's HTTP check fails; a reset also counts at once
//! through the data plane), the client's failures are bounded, and it comes back when well.

use std::time::{Duration, Instant};

use testkit::fault::{Mode, Want, report};

use super::*;

/// r2 turns `mode`: out of the table within `within`; what the client saw, then r2 heals.
fn sick(mode: Mode, within: Duration) -> (Pair, testkit::fault::Seen) {
    let p = pair().expect("checked");
    let t0 = Instant::now();
    p.r2.set(mode);
    let seen = p.recovered(t0, D1, [Want::In(1), Want::Out], within);
    let t1 = Instant::now();
    p.r2.set(Mode::Answer);
    let healed = p.recovered(t1, D1, BOTH, s(10));
    assert_eq!(healed.failed, 0, "{healed}");
    (p, seen)
}

fn can_run() -> bool {
    testkit::root_or_skip() && testkit::have("nft", "nftables")
}

#[test]
fn a_server_that_never_answers() {
    if !can_run() {
        return;
    }
    let (_p, seen) = sick(Mode::Silent, s(10));
    // Requests sent to r2 before its check failed hang until the client gives up.
    assert!(seen.longest_gap < s(5), "{seen}");
    report("real server accepts, never answers", &seen);
}

#[test]
fn a_server_that_resets() {
    if !can_run() {
        return;
    }
    let (_p, seen) = sick(Mode::Reset, s(10));
    // The data plane gives the request to r1: the client sees nothing.
    assert_eq!(seen.failed, 0, "{seen}");
    report("real server resets", &seen);
}

#[test]
fn a_server_that_answers_slowly() {
    if !can_run() {
        return;
    }
    let (_p, seen) = sick(Mode::Slow, s(10));
    assert!(seen.longest_gap < s(5), "{seen}");
    report("real server answers in 2.5 s", &seen);
}

#[test]
fn a_server_that_flaps_every_check() {
    let Some(p) = pair() else { return };
    let t0 = Instant::now();
    p.r2.set(Mode::Flap);
    std::thread::sleep(s(10));
    let during = p.probe.since(t0);
    // The flapping was seen: r2's checks failed, and the plane's connections were reset.
    let l = p.lvsd(D1).unwrap();
    let r2 = &l.virtual_servers[0].real_servers[1];
    assert_eq!(r2.name, "r2");
    assert!(r2.checks_failed >= 2, "{r2:?}");
    let t1 = Instant::now();
    p.r2.set(Mode::Answer);
    let seen = p.recovered(t1, D1, BOTH, s(10));
    assert_eq!(seen.failed, 0, "{seen}");
    // Resets are retried on r1: the client sees none of it.
    assert_eq!(during.failed, 0, "{during}");
    report("real server flaps every second", &during);
}
