//! LVS hot standby: lvsd's exit on either node is a CHILDFAIL that only its next readiness
//! ends; the partner's RUNNING does not.

use super::tests::{cfg, s};
use super::*;
use std::time::Duration;

/// The nodes of the other machine tests, with `hot_standby = 1`.
fn hot(master: bool) -> Config {
    Config {
        hot_standby: true,
        ..cfg(master)
    }
}

const CHILDFAIL: &str = "CHILDFAIL: lvsd exited; inactive until it is started again and ready";

#[test]
fn lvsd_exiting_on_the_standby_is_started_again_and_blocks_takeover_until_ready() {
    let now = Instant::now();
    let (mut b, fx) = Machine::start(hot(false), now);
    assert_eq!(fx.last(), Some(&Action::StartInactive));
    b.on(Input::Heartbeat(Magic::Running), now + s(1));
    assert_eq!(
        b.on(Input::ChildExited { failed: true }, now + s(2)),
        [log(CHILDFAIL), Action::StartStandby]
    );
    assert!(b.childfail() && !b.is_active());
    // The active partner's RUNNING does not end it: the table here is still broken.
    b.on(Input::Heartbeat(Magic::Running), now + s(3));
    assert!(b.childfail());
    // The partner dies meanwhile: no takeover with a broken lvsd.
    assert!(!b.on(Input::Tick, now + s(9)).contains(&Action::Activate));
    assert!(!b.is_active());
    // lvsd is ready again: CHILDFAIL ends, and the silent partner is replaced at the next
    // deadline.
    assert_eq!(
        b.on(Input::ChildReady, now + s(10)),
        [log("lvsd ready again: CHILDFAIL cleared")]
    );
    assert!(!b.childfail());
    assert!(b.on(Input::Tick, now + s(15)).contains(&Action::Activate));
    assert!(b.is_active());
}

#[test]
fn lvsd_exiting_on_the_active_node_hands_over_and_its_readiness_ends_childfail() {
    let now = Instant::now();
    let (mut a, _) = Machine::start(
        Config {
            force_active: true,
            ..hot(true)
        },
        now,
    );
    assert_eq!(
        a.on(Input::ChildExited { failed: true }, now + s(1)),
        [log(CHILDFAIL), Action::Deactivate]
    );
    assert!(!a.is_active() && a.childfail());
    // STOPPED goes out, so the partner takes over.
    assert_eq!(
        a.on(Input::Tick, now + s(2)),
        [Action::Send(Magic::Stopped)]
    );
    a.on(Input::Heartbeat(Magic::Running), now + s(3));
    assert!(
        a.childfail(),
        "the partner's RUNNING is not lvsd's readiness"
    );
    a.on(Input::ChildReady, now + s(4));
    assert!(!a.childfail());
    // No automatic fail-back: the partner stays active.
    a.on(Input::Heartbeat(Magic::Running), now + s(5));
    assert!(!a.is_active());
}

#[test]
fn readiness_without_a_childfail_changes_nothing() {
    let now = Instant::now();
    let (mut b, _) = Machine::start(hot(false), now);
    assert!(b.on(Input::ChildReady, now + s(1)).is_empty());
    // Without hot standby a readiness report is ignored, and RUNNING ends CHILDFAIL as in
    // piranha.
    let (mut c, _) = Machine::start(
        Config {
            hot_standby: false,
            force_active: true,
            ..hot(false)
        },
        now,
    );
    c.on(Input::ChildExited { failed: true }, now + s(1));
    assert!(c.on(Input::ChildReady, now + s(2)).is_empty());
    assert!(c.childfail());
    c.on(Input::Heartbeat(Magic::Running), now + s(3));
    assert!(!c.childfail());
}

#[test]
fn sigterm_on_the_active_node_keeps_the_addresses_until_the_partner_has_them() {
    let now = Instant::now();
    let (mut a, _) = Machine::start(
        Config {
            force_active: true,
            ..hot(true)
        },
        now,
    );
    let t = now + s(1);
    assert_eq!(
        a.on(Input::Terminate(15), t),
        [
            log("Terminating due to signal 15"),
            Action::Send(Magic::Stopped),
            log("handing over: keeping the addresses until the partner is active"),
        ]
    );
    assert!(!a.is_active());
    // At most a keepalive: the hand-over's end is a deadline.
    assert!(a.next_deadline() <= t + s(2));
    // The partner's STOPPED (it has not taken over yet) changes nothing, nor does its
    // silence make this node take the service back.
    assert!(a.on(Input::Heartbeat(Magic::Stopped), t).is_empty());
    assert_eq!(
        a.on(
            Input::Heartbeat(Magic::Running),
            t + Duration::from_millis(300)
        ),
        [
            log("partner active: handed over"),
            Action::Shutdown,
            Action::Exit(0)
        ]
    );
    // A partner that never says RUNNING: stopped after a keepalive.
    let (mut b, _) = Machine::start(
        Config {
            force_active: true,
            ..hot(true)
        },
        now,
    );
    b.on(Input::Terminate(15), t);
    assert_eq!(
        b.on(Input::Tick, t + s(2)),
        [
            log("the partner did not say it is active: stopping anyway"),
            Action::Shutdown,
            Action::Exit(0)
        ]
    );
    // A second signal stops at once; an inactive node stops at once.
    let (mut c, _) = Machine::start(
        Config {
            force_active: true,
            ..hot(true)
        },
        now,
    );
    c.on(Input::Terminate(15), t);
    assert_eq!(
        c.on(Input::Terminate(2), t),
        [Action::Shutdown, Action::Exit(0)]
    );
    let (mut d, _) = Machine::start(hot(false), now);
    assert_eq!(
        d.on(Input::Terminate(15), t),
        [
            log("Terminating due to signal 15"),
            Action::Shutdown,
            Action::Exit(0)
        ]
    );
}

#[test]
fn a_hot_takeover_says_running_at_once_when_its_addresses_are_up() {
    let now = Instant::now();
    let (mut b, _) = Machine::start(hot(false), now);
    b.on(Input::Heartbeat(Magic::Running), now + s(1));
    assert!(
        b.on(Input::Heartbeat(Magic::Stopped), now + s(2))
            .contains(&Action::Activate)
    );
    // RUNNING from the activation on, as in piranha (a slow lvsd at start-up must not look
    // like an inactive node)...
    assert_eq!(
        b.on(Input::Tick, now + s(4)),
        [Action::Send(Magic::Running)]
    );
    // ...and once more at once when the addresses are up.
    assert_eq!(
        b.on(Input::AddressesUp, now + s(4)),
        [Action::Send(Magic::Running)]
    );
    assert!(b.on(Input::AddressesUp, now + s(4)).is_empty(), "said once");
    assert_eq!(
        b.on(Input::Tick, now + s(6)),
        [Action::Send(Magic::Running)]
    );
    // Without hot standby nothing more is sent.
    let (mut c, _) = Machine::start(
        Config {
            hot_standby: false,
            ..hot(false)
        },
        now,
    );
    c.on(Input::Heartbeat(Magic::Running), now + s(1));
    c.on(Input::Heartbeat(Magic::Stopped), now + s(2));
    assert_eq!(
        c.on(Input::Tick, now + s(4)),
        [Action::Send(Magic::Running)]
    );
    assert!(c.on(Input::AddressesUp, now + s(4)).is_empty());
}
