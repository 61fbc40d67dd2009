//! The state machine's unit tests.

use super::*;

pub(super) fn cfg(master: bool) -> Config {
    Config {
        master,
        backup_active: true,
        keepalive: Duration::from_secs(2),
        deadtime: Duration::from_secs(5),
        force_active: false,
        mode: Mode::Lvs,
        max_failovers: 3,
        failover_window: Duration::from_secs(600),
        hot_standby: false,
    }
}

fn t0() -> Instant {
    Instant::now()
}

pub(super) fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn has(fx: &[Action], a: &Action) -> bool {
    fx.contains(a)
}

#[test]
fn start_up_roles() {
    let now = t0();
    let (m, fx) = Machine::start(cfg(true), now);
    assert_eq!(fx, [log("STARTING PULSE AS MASTER"), Action::StartInactive]);
    assert!(!m.is_active());
    assert_eq!(m.next_deadline(), now + s(2));
    let (_, fx) = Machine::start(
        Config {
            force_active: true,
            ..cfg(false)
        },
        now,
    );
    assert_eq!(
        fx,
        [
            log("STARTING PULSE AS BACKUP"),
            log("Forced active on startup: activating lvs"),
            Action::Activate
        ]
    );
    let (_, fx) = Machine::start(
        Config {
            backup_active: false,
            ..cfg(false)
        },
        now,
    );
    assert_eq!(fx.last(), Some(&Action::Exit(255)));
}

#[test]
fn heartbeats_every_keepalive_with_the_state_magic() {
    let now = t0();
    let (mut m, _) = Machine::start(cfg(true), now);
    assert!(m.on(Input::Tick, now + s(1)).is_empty());
    assert_eq!(
        m.on(Input::Tick, now + s(2)),
        [Action::Send(Magic::Stopped)]
    );
    assert_eq!(m.next_deadline(), now + s(4));
    // No backup: nothing is sent, and the master activates after deadtime.
    let (mut m, _) = Machine::start(
        Config {
            backup_active: false,
            ..cfg(true)
        },
        now,
    );
    assert!(m.on(Input::Tick, now + s(2)).is_empty());
    let fx = m.on(Input::Tick, now + s(5));
    assert_eq!(fx, [log("partner dead: activating lvs"), Action::Activate]);
}

#[test]
fn reconfigure_changes_timers_not_role() {
    let now = t0();
    let (mut m, _) = Machine::start(cfg(true), now);
    m.reconfigure(
        Config {
            master: false,
            keepalive: Duration::from_millis(100),
            deadtime: Duration::from_millis(300),
            ..cfg(true)
        },
        now + s(1),
    );
    assert_eq!(m.next_deadline(), now + s(1) + Duration::from_millis(100));
    assert_eq!(
        m.on(Input::Tick, now + s(1) + Duration::from_millis(100)),
        [Action::Send(Magic::Stopped)]
    );
    let fx = m.on(Input::Tick, now + s(1) + Duration::from_millis(300));
    assert_eq!(fx.last(), Some(&Action::Activate));
    assert!(fx.contains(&log("partner dead: activating lvs")));
    // Still the master: a RUNNING partner makes it re-announce, not step down.
    let fx = m.on(Input::Heartbeat(Magic::Running), now + s(2));
    assert_eq!(fx.last(), Some(&Action::ResendArps));
}

#[test]
fn partner_dead_after_deadtime_without_heartbeats() {
    let now = t0();
    let (mut m, _) = Machine::start(cfg(false), now);
    m.on(Input::Heartbeat(Magic::Running), now + s(3));
    // deadtime counts from the last accepted heartbeat.
    assert!(!has(&m.on(Input::Tick, now + s(5)), &Action::Activate));
    let fx = m.on(Input::Tick, now + s(8));
    assert!(has(&fx, &Action::Activate), "{fx:?}");
    assert!(m.is_active());
    assert_eq!(
        m.on(Input::Tick, now + s(10)),
        [Action::Send(Magic::Running)]
    );
}

#[test]
fn stopped_partner_is_replaced_by_either_role() {
    let now = t0();
    let (mut m, _) = Machine::start(cfg(true), now);
    let fx = m.on(Input::Heartbeat(Magic::Stopped), now + s(1));
    assert_eq!(
        fx,
        [log("backup inactive: activating lvs"), Action::Activate]
    );
    // The backup: at once when the master steps down from active...
    let (mut m, _) = Machine::start(cfg(false), now);
    m.on(Input::Heartbeat(Magic::Running), now + s(1));
    let fx = m.on(Input::Heartbeat(Magic::Stopped), now + s(2));
    assert_eq!(
        fx,
        [log("primary inactive: activating lvs"), Action::Activate]
    );
    // ...but not while both have just started inactive: that is the master's turn...
    let (mut m, _) = Machine::start(cfg(false), now);
    for i in 1..=4 {
        assert!(
            m.on(Input::Heartbeat(Magic::Stopped), now + s(i))
                .is_empty()
        );
    }
    // ...unless the master stays inactive for a whole deadtime (it cannot activate).
    let fx = m.on(Input::Heartbeat(Magic::Stopped), now + s(6));
    assert_eq!(
        fx,
        [log("primary inactive: activating lvs"), Action::Activate]
    );
}

#[test]
fn both_active_the_backup_yields_and_the_master_rearps() {
    let now = t0();
    let (mut b, _) = Machine::start(
        Config {
            force_active: true,
            ..cfg(false)
        },
        now,
    );
    let fx = b.on(Input::Heartbeat(Magic::Running), now + s(1));
    assert_eq!(
        fx,
        [
            Action::Send(Magic::Running),
            log("partner active: deactivating LVS"),
            Action::Deactivate
        ]
    );
    assert!(!b.is_active());
    let (mut m, _) = Machine::start(
        Config {
            force_active: true,
            ..cfg(true)
        },
        now,
    );
    assert_eq!(
        m.on(Input::Heartbeat(Magic::Running), now + s(1)),
        [log("partner active: resending arps"), Action::ResendArps]
    );
    assert!(m.is_active());
}

#[test]
fn no_automatic_failback() {
    let now = t0();
    // The old primary comes back and hears the backup running: it stays inactive.
    let (mut m, _) = Machine::start(cfg(true), now);
    for i in 1..20 {
        let fx = m.on(Input::Heartbeat(Magic::Running), now + s(i));
        assert!(fx.is_empty(), "{fx:?}");
        m.on(Input::Tick, now + s(i));
    }
    assert!(!m.is_active());
}

#[test]
fn childfail_inhibits_until_a_running_heartbeat() {
    let now = t0();
    let (mut m, _) = Machine::start(
        Config {
            force_active: true,
            ..cfg(true)
        },
        now,
    );
    assert_eq!(
        m.on(Input::ChildExited { failed: true }, now + s(1)),
        [
            log("CHILDFAIL: inactive until the partner's next RUNNING heartbeat"),
            Action::Deactivate
        ]
    );
    assert!(m.childfail());
    // It now sends STOPPED; the partner's STOPPED or silence does not bring it back.
    assert_eq!(
        m.on(Input::Tick, now + s(2)),
        [Action::Send(Magic::Stopped)]
    );
    assert!(
        m.on(Input::Heartbeat(Magic::Stopped), now + s(3))
            .is_empty()
    );
    assert!(!has(&m.on(Input::Tick, now + s(20)), &Action::Activate));
    // A RUNNING heartbeat clears it; a later trigger may activate again.
    m.on(Input::Heartbeat(Magic::Running), now + s(21));
    assert!(!m.childfail());
    assert!(has(
        &m.on(Input::Heartbeat(Magic::Stopped), now + s(22)),
        &Action::Activate
    ));
}

#[test]
fn linkfail_deactivates_and_inhibits() {
    let now = t0();
    let (mut m, _) = Machine::start(
        Config {
            force_active: true,
            ..cfg(true)
        },
        now,
    );
    let fx = m.on(Input::LinkFailure, now + s(1));
    assert_eq!(
        fx,
        [
            log("Local NIC link failure: Pulse disabled"),
            log("local link failure: deactivating LVS"),
            Action::Deactivate
        ]
    );
    assert!(
        m.on(Input::LinkFailure, now + s(2)).is_empty(),
        "logged once per episode"
    );
    assert!(!has(&m.on(Input::Tick, now + s(30)), &Action::Activate));
    assert_eq!(
        m.on(Input::LinkRestored, now + s(31)),
        [log("Local NIC link(s) restored: Pulse enabled")]
    );
    // Restored links do not activate by themselves; the next trigger does.
    assert!(has(&m.on(Input::Tick, now + s(40)), &Action::Activate));
}

#[test]
fn terminate_sends_stopped_at_once_when_active() {
    let now = t0();
    let (mut m, _) = Machine::start(
        Config {
            force_active: true,
            ..cfg(true)
        },
        now,
    );
    assert_eq!(
        m.on(Input::Terminate(15), now + s(1)),
        [
            log("Terminating due to signal 15"),
            Action::Send(Magic::Stopped),
            Action::Shutdown,
            Action::Exit(0)
        ]
    );
    let (mut m, _) = Machine::start(cfg(false), now);
    assert_eq!(
        m.on(Input::Terminate(2), now),
        [
            log("Terminating due to signal 2"),
            Action::Shutdown,
            Action::Exit(0)
        ]
    );
}

#[test]
fn hold_and_held_only_count_as_liveness() {
    let now = t0();
    let (mut m, _) = Machine::start(cfg(false), now);
    assert!(m.on(Input::Heartbeat(Magic::Hold), now + s(4)).is_empty());
    assert!(m.on(Input::Heartbeat(Magic::Held), now + s(8)).is_empty());
    assert!(!has(&m.on(Input::Tick, now + s(12)), &Action::Activate));
    assert!(has(&m.on(Input::Tick, now + s(13)), &Action::Activate));
}

/// Two machines wired back to back, with heartbeats delivered instantly.
fn pair(now: Instant, fa: bool, fb: bool) -> (Machine, Machine) {
    let (a, _) = Machine::start(
        Config {
            force_active: fa,
            ..cfg(true)
        },
        now,
    );
    let (b, _) = Machine::start(
        Config {
            force_active: fb,
            ..cfg(false)
        },
        now,
    );
    (a, b)
}

fn run(a: &mut Machine, b: &mut Machine, from: Instant, secs: u64, a_alive: bool) {
    for ms in (0..secs * 1000).step_by(100) {
        run_step(a, b, from + Duration::from_millis(ms), a_alive);
    }
}

fn run_step(a: &mut Machine, b: &mut Machine, now: Instant, a_alive: bool) {
    {
        let mut to_b = Vec::new();
        let mut to_a = Vec::new();
        if a_alive {
            for x in a.on(Input::Tick, now) {
                if let Action::Send(m) = x {
                    to_b.push(m);
                }
            }
        }
        for x in b.on(Input::Tick, now) {
            if let Action::Send(m) = x {
                to_a.push(m);
            }
        }
        for m in to_b {
            for x in b.on(Input::Heartbeat(m), now) {
                if let Action::Send(m) = x
                    && a_alive
                {
                    a.on(Input::Heartbeat(m), now);
                }
            }
        }
        if a_alive {
            for m in to_a {
                a.on(Input::Heartbeat(m), now);
            }
        }
    }
}

#[test]
fn exactly_one_active_after_a_simultaneous_start() {
    let now = t0();
    let (mut a, mut b) = pair(now, false, false);
    // Never both active, not even for a moment (piranha's were, bz593730).
    for i in 0..300 {
        let step = now + Duration::from_millis(100 * i);
        run_step(&mut a, &mut b, step, true);
        assert!(!(a.is_active() && b.is_active()), "both active at {i}");
    }
    assert!(a.is_active() && !b.is_active(), "the master is the one");
    assert_eq!(u8::from(a.is_active()) + u8::from(b.is_active()), 1);
    // The survivor takes over when the active one goes silent.
    let (mut x, mut y) = if a.is_active() { (a, b) } else { (b, a) };
    run(&mut x, &mut y, now + s(30), 10, false);
    assert!(y.is_active());
}

#[test]
fn forced_primary_wins_back() {
    let now = t0();
    let (mut a, mut b) = pair(now, true, true);
    run(&mut a, &mut b, now, 10, true);
    assert!(a.is_active() && !b.is_active());
}

fn fos(master: bool) -> Config {
    Config {
        mode: Mode::Fos,
        max_failovers: 2,
        ..cfg(master)
    }
}

#[test]
fn fos_start_up() {
    let now = t0();
    let (m, fx) = Machine::start(fos(false), now);
    assert_eq!(
        fx,
        [
            log("STARTING PULSE AS BACKUP"),
            log("Starting Failover Service Monitors"),
            Action::StartInactive
        ]
    );
    assert!(!m.is_active());
    let (m, fx) = Machine::start(
        Config {
            backup_active: false,
            ..fos(true)
        },
        now,
    );
    assert_eq!(
        fx,
        [
            log("STARTING PULSE AS MASTER"),
            log("Warning: FOS backup node not defined -- skipping checks"),
            Action::Activate
        ]
    );
    assert!(m.is_active());
}

/// A backup whose monitor saw the partner's service fail, and the gateway answer.
fn fos_takeover(m: &mut Machine, at: Instant) -> Vec<Action> {
    let fx = m.on(Input::ChildExited { failed: false }, at);
    assert_eq!(
        fx,
        [
            log("fos process exited -- checking network connectivity"),
            Action::CheckGateway
        ]
    );
    // A second exit while the check runs asks nothing more.
    assert!(m.on(Input::ChildExited { failed: false }, at).is_empty());
    m.on(Input::Gateway(true), at)
}

#[test]
fn fos_service_failure_moves_with_stopme() {
    let now = t0();
    let (mut b, _) = Machine::start(fos(false), now);
    let fx = fos_takeover(&mut b, now + s(1));
    assert_eq!(
        fx,
        [
            log("remote service unavailable but we can see the gateway"),
            log("seems like a remote network fault; performing service failover"),
            log("Notifying partner WE are taking control!"),
            log("partner service failed: activating fos"),
            Action::Activate,
            Action::Send(Magic::StopMe)
        ]
    );
    assert!(b.is_active() && b.failpartner());
    assert_eq!(b.on(Input::Tick, now + s(3)), [Action::Send(Magic::StopMe)]);
    // The master is still active and says so: the backup wants control and stays.
    assert_eq!(
        b.on(Input::Heartbeat(Magic::FosRunning), now + s(3)),
        [log("partner active: we want control!")]
    );
    // The active master told to go: it deactivates (and starts its monitors).
    let (mut m, _) = Machine::start(
        Config {
            force_active: true,
            ..fos(true)
        },
        now,
    );
    assert_eq!(
        m.on(Input::Heartbeat(Magic::StopMe), now + s(2)),
        [
            log("PARTNER HAS TOLD US TO GO INACTIVE!"),
            Action::Deactivate
        ]
    );
    assert!(!m.is_active());
    // Its STOPPED clears the backup's FAILPARTNER: RUNNING from then on.
    assert!(
        b.on(Input::Heartbeat(Magic::FosStopped), now + s(4))
            .is_empty()
    );
    assert!(!b.failpartner());
    assert_eq!(
        b.on(Input::Tick, now + s(5)),
        [Action::Send(Magic::FosRunning)]
    );
    // fos exiting on the active node is restarted there.
    assert_eq!(
        b.on(Input::ChildExited { failed: false }, now + s(6)),
        [
            log("fos process exited -- restarting it"),
            Action::RestartServices
        ]
    );
}

#[test]
fn fos_network_fault_then_recovery_by_itself() {
    let now = t0();
    let (mut b, _) = Machine::start(fos(false), now);
    b.on(Input::ChildExited { failed: false }, now + s(1));
    assert_eq!(
        b.on(Input::Gateway(false), now + s(2)),
        [
            log("remote service unavailable; gateway unavailable"),
            log("I SEEM TO HAVE A NETWORK FAULT!")
        ]
    );
    assert!(b.network_fault() && !b.is_active());
    assert!(b.on(Input::Gateway(false), now + s(3)).is_empty());
    assert_eq!(
        b.on(Input::Gateway(true), now + s(4)),
        [
            log("Network fault seems to be fixed"),
            Action::StartMonitors
        ]
    );
    assert!(!b.network_fault());
    // The restarted monitor fails again, the gateway answers: now it takes over.
    let fx = fos_takeover(&mut b, now + s(5));
    assert!(fx.contains(&Action::Activate), "{fx:?}");
}

#[test]
fn fos_hold_down_stops_the_ping_pong() {
    let now = t0();
    let (mut b, _) = Machine::start(fos(false), now);
    for round in 0..2u64 {
        let t = now + s(10 * round);
        assert!(fos_takeover(&mut b, t + s(1)).contains(&Action::Activate));
        // The partner stops, then takes over again with STOPME.
        b.on(Input::Heartbeat(Magic::FosStopped), t + s(2));
        let fx = b.on(Input::Heartbeat(Magic::StopMe), t + s(3));
        assert!(fx.contains(&Action::Deactivate), "{fx:?}");
    }
    let fx = fos_takeover(&mut b, now + s(30));
    assert_eq!(fx.len(), 1, "{fx:?}");
    assert!(
        matches!(&fx[0], Action::Log(l) if l == "HOLD-DOWN: 2 takeovers for failed services within 600 s; \
            this node will not take over for a service failure again until pulse is reloaded or restarted"),
        "{fx:?}"
    );
    assert!(b.held() && !b.is_active());
    // Held, it still replaces a partner that stops or dies.
    let fx = b.on(Input::Heartbeat(Magic::FosStopped), now + s(31));
    assert!(fx.contains(&Action::Activate), "{fx:?}");
    b.on(Input::Heartbeat(Magic::StopMe), now + s(32));
    // A reload clears the hold-down and restarts the monitors.
    assert_eq!(
        b.on(Input::Reloaded { fos_changed: false }, now + s(40)),
        [log("hold-down cleared"), Action::StartMonitors]
    );
    assert!(!b.held());
    // Outside the window, old takeovers no longer count.
    let (mut c, _) = Machine::start(
        Config {
            failover_window: Duration::from_secs(20),
            ..fos(false)
        },
        now,
    );
    for round in 0..4u64 {
        let t = now + s(30 * round);
        assert!(fos_takeover(&mut c, t + s(1)).contains(&Action::Activate));
        c.on(Input::Heartbeat(Magic::FosStopped), t + s(2));
        c.on(Input::Heartbeat(Magic::StopMe), t + s(3));
    }
}

#[test]
fn silence_resets_what_the_partner_said() {
    let now = t0();
    let (mut b, _) = Machine::start(cfg(false), now);
    // The master says STOPPED for a while, then goes silent and the backup takes over.
    b.on(Input::Heartbeat(Magic::Stopped), now + s(1));
    b.on(Input::Heartbeat(Magic::Stopped), now + s(2));
    let fx = b.on(Input::Tick, now + s(7));
    assert!(fx.contains(&Action::Activate), "{fx:?}");
    // The master restarts; both are fresh: its first STOPPED is not a cue to stay
    // active or to count as a whole deadtime of STOPPED.
    let (mut c, _) = Machine::start(cfg(false), now);
    c.on(Input::Heartbeat(Magic::Stopped), now + s(1));
    c.on(Input::Tick, now + s(6));
    assert!(c.is_active());
    let (mut d, _) = Machine::start(cfg(false), now);
    d.on(Input::Heartbeat(Magic::Stopped), now + s(1));
    d.on(Input::Heartbeat(Magic::Stopped), now + s(5));
    // Silence (no heartbeat from 5 to 10 would activate; use a link failure to stay
    // inactive) then a new STOPPED must not count the old run of STOPPED.
    d.on(Input::LinkFailure, now + s(6));
    d.on(Input::Tick, now + s(10));
    d.on(Input::LinkRestored, now + s(11));
    let fx = d.on(Input::Heartbeat(Magic::Stopped), now + s(12));
    assert!(!fx.contains(&Action::Activate), "{fx:?}");
}

#[test]
fn fos_link_restored_restarts_the_monitors() {
    let now = t0();
    let (mut b, _) = Machine::start(fos(false), now);
    b.on(Input::LinkFailure, now + s(1));
    assert_eq!(
        b.on(Input::LinkRestored, now + s(2)),
        [
            log("Local NIC link(s) restored: Pulse enabled"),
            Action::StartMonitors
        ]
    );
}

#[test]
fn fos_failing_here_is_retried_in_its_role_not_a_partner_failure() {
    let now = t0();
    // Inactive: a monitor fos that failed (exit status, signal, not started) is started
    // again; no gateway check, no takeover.
    let (mut b, _) = Machine::start(fos(false), now);
    assert_eq!(
        b.on(Input::ChildExited { failed: true }, now + s(1)),
        [Action::StartMonitors]
    );
    assert!(!b.is_active());
    // Active: fos --active that failed is started again, without the "exited" line.
    let (mut a, _) = Machine::start(fos(true), now);
    a.on(Input::Heartbeat(Magic::FosStopped), now + s(1));
    assert!(a.is_active());
    assert_eq!(
        a.on(Input::ChildExited { failed: true }, now + s(2)),
        [Action::RestartServices]
    );
    // During a network fault a failure is not retried: the gateway decides.
    let (mut c, _) = Machine::start(fos(false), now);
    c.on(Input::ChildExited { failed: false }, now + s(1));
    c.on(Input::Gateway(false), now + s(2));
    assert!(c.network_fault());
    assert_eq!(
        c.on(Input::ChildExited { failed: true }, now + s(3)),
        [
            log("fos process exited -- checking network connectivity"),
            Action::CheckGateway
        ]
    );
}

#[test]
fn changed_failover_blocks_start_fos_again_in_its_role() {
    let now = t0();
    let (mut b, _) = Machine::start(fos(false), now);
    let again = log("the failover services changed: starting fos again");
    assert_eq!(
        b.on(Input::Reloaded { fos_changed: true }, now + s(1)),
        [again.clone(), Action::StartMonitors]
    );
    assert!(
        b.on(Input::Reloaded { fos_changed: false }, now + s(2))
            .is_empty()
    );
    let (mut a, _) = Machine::start(fos(true), now);
    a.on(Input::Heartbeat(Magic::FosStopped), now + s(1));
    assert_eq!(
        a.on(Input::Reloaded { fos_changed: true }, now + s(2)),
        [again, Action::RestartServices]
    );
    // In a network fault the monitors wait for the gateway.
    let (mut c, _) = Machine::start(fos(false), now);
    c.on(Input::ChildExited { failed: false }, now + s(1));
    c.on(Input::Gateway(false), now + s(2));
    assert!(
        c.on(Input::Reloaded { fos_changed: true }, now + s(3))
            .is_empty()
    );
    // LVS mode has no fos to start.
    let (mut l, _) = Machine::start(cfg(true), now);
    assert!(
        l.on(Input::Reloaded { fos_changed: true }, now + s(1))
            .is_empty()
    );
}

#[test]
fn a_reload_ending_the_hold_down_starts_the_monitors_once() {
    let now = t0();
    let (mut b, _) = Machine::start(
        Config {
            max_failovers: 1,
            ..fos(false)
        },
        now,
    );
    assert!(fos_takeover(&mut b, now + s(1)).contains(&Action::Activate));
    b.on(Input::Heartbeat(Magic::FosStopped), now + s(2));
    b.on(Input::Heartbeat(Magic::StopMe), now + s(3));
    assert!(!b.is_active());
    fos_takeover(&mut b, now + s(4));
    assert!(b.held());
    // Changed blocks and the end of the hold-down: one start of the monitors, not two.
    assert_eq!(
        b.on(Input::Reloaded { fos_changed: true }, now + s(8)),
        [log("hold-down cleared"), Action::StartMonitors]
    );
}

#[test]
fn an_active_fos_master_hearing_its_partner_active_announces_again() {
    let now = t0();
    let (mut a, _) = Machine::start(
        Config {
            force_active: true,
            ..fos(true)
        },
        now,
    );
    // The backup that yields to it announced the addresses last: the master re-ARPs.
    assert_eq!(
        a.on(Input::Heartbeat(Magic::FosRunning), now + s(1)),
        [log("partner active: resending arps"), Action::ResendArps]
    );
    assert!(a.is_active());
}

#[test]
fn a_restored_link_gives_the_partner_a_whole_deadtime() {
    let now = t0();
    let (mut m, _) = Machine::start(cfg(true), now);
    m.on(Input::Heartbeat(Magic::Running), now + s(1));
    m.on(Input::LinkFailure, now + s(2));
    // Silence while the link is down: no takeover (LINKFAIL), deadlines pass.
    assert!(!m.on(Input::Tick, now + s(7)).contains(&Action::Activate));
    // Restored just before the deadline of that silence: the partner is not judged on it.
    m.on(Input::LinkRestored, now + s(11));
    assert!(!m.on(Input::Tick, now + s(12)).contains(&Action::Activate));
    assert!(!m.is_active());
    // A partner still silent a whole deadtime after the restore is dead.
    assert!(m.on(Input::Tick, now + s(16)).contains(&Action::Activate));
}
