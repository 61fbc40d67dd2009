//! kill -9 and SIGSTOP/SIGCONT of pulse, lvsd and a nanny, on the active director and on the
//! backup. (The backup runs no lvsd and no nanny in LVS mode: the harness checks that the
//! inactive director has no child at all, so those rows have nothing to kill.)

use std::time::Instant;

use nix::sys::signal::Signal;
use testkit::fault::{DEADTIME, gone, report, signal};

use super::*;

#[test]
fn kill9_pulse_on_the_active() {
    let Some(mut p) = pair() else { return };
    let lvsd = p.lvsd_pid(D1);
    let t0 = Instant::now();
    p.signal_pulse(D1, Signal::SIGKILL);
    // Its watchdog takes the VIP down and sends the last STOPPED: d2 takes over at once.
    let seen = p.recovered(t0, D2, BOTH, s(10));
    testkit::wait::expect_until(s(5), || gone(lvsd), || "d1's lvsd outlived pulse".into());
    assert!(seen.longest_gap < s(3), "{seen}");
    // d1 comes back as the backup: no fail-back.
    p.restart_pulse(D1);
    p.wait_healthy(D2, BOTH, s(10));
    let seen = p.probe.since(t0);
    report("kill -9 pulse, active", &seen);
}

#[test]
fn kill9_pulse_on_the_backup() {
    let Some(mut p) = pair() else { return };
    let t0 = Instant::now();
    p.signal_pulse(D2, Signal::SIGKILL);
    p.wait_healthy(D1, BOTH, s(10));
    p.restart_pulse(D2);
    let seen = p.recovered(t0, D1, BOTH, s(10));
    let b = p.brief(D1).unwrap();
    assert_eq!((b.took_over, b.gave_up), (1, 0), "{b:?}");
    assert_eq!(seen.failed, 0, "{seen}");
    report("kill -9 pulse, backup", &seen);
}

#[test]
fn sigstop_pulse_on_the_active() {
    let Some(p) = pair() else { return };
    let pid = p.d(D1).proc.pid();
    let t0 = Instant::now();
    signal(pid, Signal::SIGSTOP);
    // d2 hears nothing for deadtime and takes over (d1's lvsd still forwards meanwhile).
    let took = testkit::wait::until(s(10), || p.brief(D2).is_some_and(|b| b.state == "active"));
    signal(pid, Signal::SIGCONT);
    let took = took.unwrap_or_else(|| panic!("d2 never took over\n{}", p.logs()));
    // At least a deadtime after the last heartbeat heard, which came up to a keepalive (and
    // some scheduling) before the stop.
    assert!(took >= DEADTIME / 2, "took over after {took:?}");
    // Both active for a moment: the backup yields to the master, which sends its ARPs again.
    let seen = p.recovered(t0, D1, BOTH, s(15));
    p.d(D2).wait_log(s(2), "partner active: deactivating LVS");
    assert!(seen.longest_gap < s(3), "{seen}");
    report("SIGSTOP/SIGCONT pulse, active", &seen);
}

#[test]
fn sigstop_pulse_on_the_backup() {
    let Some(p) = pair() else { return };
    let pid = p.d(D2).proc.pid();
    let t0 = Instant::now();
    signal(pid, Signal::SIGSTOP);
    // Stopped for three deadtimes (the fault's length, not a wait for an event).
    std::thread::sleep(DEADTIME * 3);
    signal(pid, Signal::SIGCONT);
    // On waking, d2 reads what d1 sent meanwhile before judging its silence.
    p.d(D2).wait_log(
        s(5),
        "reading the partner's heartbeats before judging its silence",
    );
    let seen = p.recovered(t0, D1, BOTH, s(10));
    let (b1, b2) = (p.brief(D1).unwrap(), p.brief(D2).unwrap());
    assert_eq!((b1.took_over, b1.gave_up), (1, 0), "{b1:?}\n{}", p.logs());
    assert_eq!(
        b2.took_over,
        0,
        "a false takeover on waking: {b2:?}\n{}",
        p.logs()
    );
    assert_eq!(seen.failed, 0, "{seen}");
    report("SIGSTOP/SIGCONT pulse, backup", &seen);
}

#[test]
fn kill9_lvsd_on_the_active() {
    let Some(p) = pair() else { return };
    let lvsd = p.lvsd_pid(D1);
    let t0 = Instant::now();
    signal(lvsd, Signal::SIGKILL);
    // CHILDFAIL: d1 gives up, d2 takes over.
    let seen = p.recovered(t0, D2, BOTH, s(10));
    p.d(D1).wait_log(s(2), "CHILDFAIL");
    let b = p.brief(D1).unwrap();
    assert!(b.flags.is_empty(), "{b:?}");
    assert!(seen.longest_gap < s(3), "{seen}");
    report("kill -9 lvsd, active", &seen);
}

#[test]
fn sigstop_lvsd_on_the_active() {
    let Some(p) = pair() else { return };
    let lvsd = p.lvsd_pid(D1);
    let t0 = Instant::now();
    signal(lvsd, Signal::SIGSTOP);
    // Stopped for two deadtimes: pulse watches lvsd's exit, not its progress, so nothing
    // moves; the data plane (lvsd's threads) forwards nothing meanwhile.
    std::thread::sleep(DEADTIME * 2);
    signal(lvsd, Signal::SIGCONT);
    let seen = p.recovered(t0, D1, BOTH, s(10));
    assert_eq!(p.lvsd_pid(D1), lvsd);
    // No answer for most of the stop (a request may have been answered just after it began).
    assert!(
        seen.longest_gap >= DEADTIME * 3 / 2,
        "a stopped lvsd forwarded: {seen}"
    );
    assert!(seen.longest_gap < DEADTIME * 2 + s(2), "{seen}");
    report("SIGSTOP/SIGCONT lvsd, active", &seen);
}

#[test]
fn kill9_nanny_on_the_active() {
    let Some(p) = pair() else { return };
    let lvsd = p.lvsd_pid(D1);
    let nanny = p.nanny_pid(D1, "r1");
    let t0 = Instant::now();
    signal(nanny, Signal::SIGKILL);
    // `hard_shutdown = 1` (piranha's default): a dead nanny brings lvsd down, so CHILDFAIL
    // moves the service to d2, as for lvsd itself.
    let seen = p.recovered(t0, D2, BOTH, s(10));
    p.d(D1)
        .wait_log(s(2), "nanny for child web/r1 died! shutting down lvs");
    assert!(gone(lvsd));
    assert!(seen.longest_gap < s(3), "{seen}");
    report("kill -9 nanny, active", &seen);
}

#[test]
fn kill9_nanny_on_the_active_without_hard_shutdown() {
    if !testkit::root_or_skip() {
        return;
    }
    let text = testkit::fault::lvs_cf(1, 1).replace(
        "dataplane = userspace\n",
        "dataplane = userspace\nhard_shutdown = 0\n",
    );
    let p = Pair::start_with(&text);
    let lvsd = p.lvsd_pid(D1);
    let nanny = p.nanny_pid(D1, "r1");
    let t0 = Instant::now();
    signal(nanny, Signal::SIGKILL);
    // lvsd starts another nanny after 1 s; r1 stays in the table meanwhile; nothing moves.
    p.d(D1)
        .wait_log(s(5), "nanny for child web/r1 died! restarting it in 1 s");
    testkit::wait::expect_until(
        s(10),
        || {
            p.lvsd(D1)
                .is_some_and(|l| l.virtual_servers[0].real_servers[0].nanny_restarts == 1)
        },
        || format!("no new nanny\n{}", p.logs()),
    );
    let seen = p.recovered(t0, D1, BOTH, s(10));
    assert_eq!(p.lvsd_pid(D1), lvsd);
    assert_ne!(p.nanny_pid(D1, "r1"), nanny);
    assert_eq!(seen.failed, 0, "{seen}");
    report("kill -9 nanny, active, hard_shutdown = 0", &seen);
}

#[test]
fn sigstop_nanny_on_the_active() {
    let Some(p) = pair() else { return };
    let nanny = p.nanny_pid(D1, "r1");
    let checks = |p: &Pair| p.lvsd(D1).unwrap().virtual_servers[0].real_servers[0].checks;
    let t0 = Instant::now();
    signal(nanny, Signal::SIGSTOP);
    std::thread::sleep(DEADTIME * 3);
    let before = checks(&p);
    signal(nanny, Signal::SIGCONT);
    // The same nanny goes on checking; nothing else moved.
    testkit::wait::expect_until(
        s(10),
        || checks(&p) > before,
        || format!("no check after SIGCONT\n{}", p.logs()),
    );
    let seen = p.recovered(t0, D1, BOTH, s(10));
    assert_eq!(p.nanny_pid(D1, "r1"), nanny);
    assert_eq!(seen.failed, 0, "{seen}");
    report("SIGSTOP/SIGCONT nanny, active", &seen);
}
