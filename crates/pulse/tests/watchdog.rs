//! pulse's watchdog (`pulse-watchdog`) between real pulse and lvsd processes (userspace data
//! plane) in network namespaces (testkit's LAN): kill -9 of the active pulse alone takes its
//! VIP off the old node and the partner takes over at once (its last STOPPED, long before a
//! deadtime of 10 s), with plain and with authenticated heartbeats; a killed watchdog is
//! replaced; an orderly stop sends the watchdog away without it acting; when the watchdog
//! dies with pulse, `pulse --clean-up` (the unit's `ExecStopPost=`) does its work; FOS mode
//! too.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testkit::root_or_skip;

type Lan = testkit::lan::Lan<pulse::status::Status>;
type Pulse = testkit::lan::Pulse<pulse::status::Status>;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(st) => st
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn watchdog_of(d: &Pulse) -> u32 {
    d.wait_for(s(10), "a watchdog", |st| st.watchdog_pid.is_some());
    d.watchdog_pid().unwrap()
}

/// lvs.cf with a long deadtime (10 s), so a takeover before it can only come from the last
/// STOPPED; authenticated heartbeats when `auth`.
fn config(lan: &Lan, auth: bool) -> std::path::PathBuf {
    let extra = if auth {
        lan.heartbeat_key_line()
    } else {
        String::new()
    };
    lan.config("0.2", "10", &extra)
}

fn pulse_alone_dies(auth: bool) {
    let mut lan = Lan::new();
    lan.web("r1");
    lan.web("r2");
    let cfg = config(&lan, auth);
    let mut d1 = lan.pulse("d1", &cfg, &[]);
    let d2 = lan.pulse("d2", &cfg, &[]);
    d1.wait_active_with_vips(s(20), "active d1");
    assert!(lan.served_within(s(10)).is_some(), "{}", d1.log());
    d2.wait_for(s(10), "the active master heard", |st| {
        st.partner_state.as_deref() == Some("active") && st.heartbeats_received >= 3
    });

    // The watchdog runs under its own name; killed, it is replaced.
    let w = watchdog_of(&d1);
    let comm = std::fs::read_to_string(format!("/proc/{w}/comm")).unwrap();
    assert_eq!(comm.trim(), "pulse-watchdog");
    kill(Pid::from_raw(w as i32), Signal::SIGKILL).unwrap();
    d1.wait_log(
        s(5),
        &format!("pulse-watchdog {w} was killed by signal 9: starting another"),
    );
    d1.wait_for(s(10), "another watchdog", |st| {
        st.watchdog_pid.is_some_and(|p| p != w)
    });
    let w = watchdog_of(&d1);
    // The new one has been told: let a heartbeat or two pass.
    std::thread::sleep(Duration::from_millis(500));

    // kill -9 of pulse alone: the VIP leaves d1 and d2 takes over on the last STOPPED.
    d1.signal(Signal::SIGKILL);
    testkit::wait::expect_until(
        s(5),
        || !lan.has_vip("d1"),
        || format!("d1 still holds the VIP\n{}", d1.log()),
    );
    d2.wait_active_with_vips(s(5), "takeover by d2");
    d2.wait_log(s(3), "primary inactive: activating lvs");
    assert!(!d2.log().contains("partner dead"), "{}", d2.log());
    assert!(lan.has_vip("d2") && !lan.has_vip("d1"));
    let served = testkit::wait::poll_every(s(10), Duration::from_millis(50), || {
        lan.get_via(Duration::from_millis(300))
            .filter(|(_, via)| via == "10.7.0.2")
    });
    assert!(served.is_some(), "not served through d2\n{}", d2.log());
    d1.proc.wait_exit(s(10));
    let log = d1.log();
    for line in [
        "pulse-watchdog: pulse ",
        "pulse-watchdog: child ",
        "pulse-watchdog: removed 10.7.0.50 from eth0:1",
        "pulse-watchdog: told 10.7.0.2:539 that this node stopped",
    ] {
        assert!(log.contains(line), "no `{line}` in\n{log}");
    }
    testkit::wait::expect_until(s(5), || gone(w), || format!("watchdog {w} still runs"));
    let st = d2.status().unwrap();
    assert_eq!(st.partner_state.as_deref(), Some("inactive"));
    // (One `unchallenged` at start-up is the handshake's.)
    let r = st.heartbeats_rejected_by_cause;
    assert_eq!((r.forged, r.replayed, r.unknown_key), (0, 0, 0), "{r:?}");
    assert_eq!(st.auth.is_some(), auth);

    // An orderly stop: pulse cleans up itself, and its watchdog leaves without acting.
    let w = watchdog_of(&d2);
    let mut d2 = d2;
    d2.signal(Signal::SIGTERM);
    assert_eq!(d2.proc.exit_code(s(30)), Some(0));
    testkit::wait::expect_until(s(5), || gone(w), || format!("watchdog {w} still runs"));
    assert!(!lan.has_vip("d2"));
    assert!(!d2.log().contains("pulse-watchdog: pulse "), "{}", d2.log());
}

#[test]
fn kill9_of_pulse_alone_takes_its_vip_down_and_the_partner_over_at_once() {
    if !root_or_skip() {
        return;
    }
    pulse_alone_dies(false);
}

#[test]
fn kill9_of_pulse_alone_with_authenticated_heartbeats() {
    if !root_or_skip() {
        return;
    }
    pulse_alone_dies(true);
}

/// `pulse --clean-up` (the service unit's `ExecStopPost=`) in director `n`'s namespace: its
/// exit code and output.
fn clean_up(lan: &Lan, n: &str, sock: &std::path::Path) -> (Option<i32>, String) {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &lan.ns(n)])
        .arg(testkit::bins::bin("pulse"))
        .arg("--clean-up")
        .arg("--socket")
        .arg(sock)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn when_the_watchdog_dies_too_the_units_clean_up_does_its_work() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let cfg = config(&lan, true);
    let d1 = lan.pulse("d1", &cfg, &[]);
    let d2 = lan.pulse("d2", &cfg, &[]);
    d1.wait_active_with_vips(s(20), "active d1");
    d2.wait_for(s(10), "the active master heard", |st| {
        st.partner_state.as_deref() == Some("active") && st.heartbeats_received >= 3
    });
    // pulse keeps its report next to its socket, for root only.
    let file = lan.dir.join("d1.watchdog");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Refused while pulse lives.
    let (code, out) = clean_up(&lan, "d1", &d1.sock);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("pulse still answers"), "{out}");
    assert!(lan.has_vip("d1"));
    // pulse and its watchdog die together (as under systemd, which kills what is left of
    // the unit): nothing is cleaned up and the partner waits, deadtime being 10 s...
    let d1_sock = d1.sock.clone();
    d1.crash();
    std::thread::sleep(Duration::from_millis(600));
    assert!(lan.has_vip("d1") && !d2.active());
    // ...until ExecStopPost's `pulse --clean-up` does the watchdog's work from the file.
    let (code, out) = clean_up(&lan, "d1", &d1_sock);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("removed 10.7.0.50 from eth0:1"), "{out}");
    assert!(!lan.has_vip("d1") && !file.exists());
    d2.wait_active_with_vips(s(5), "takeover by d2");
    d2.wait_log(s(3), "primary inactive: activating lvs");
    // Once is enough: a second run finds nothing to do.
    let (code, out) = clean_up(&lan, "d1", &d1_sock);
    assert_eq!((code, out.as_str()), (Some(0), ""));
}

#[test]
fn a_crashed_machine_still_waits_for_deadtime() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let cfg = lan.config("0.2", "1", "");
    let d1 = lan.pulse("d1", &cfg, &[]);
    let d2 = lan.pulse("d2", &cfg, &[]);
    d1.wait_active_with_vips(s(20), "active d1");
    d2.wait_for(s(10), "the active master heard", |st| {
        st.partner_state.as_deref() == Some("active")
    });
    // pulse and its watchdog die together: nothing is cleaned up, the partner hears nothing.
    d1.crash();
    d2.wait_active_with_vips(s(10), "takeover by d2");
    d2.wait_log(s(3), "partner dead: activating lvs");
    assert!(lan.has_vip("d1"), "the crashed node's VIP is still there");
}

#[test]
fn fos_mode_kill9_of_pulse_alone_moves_the_service_at_once() {
    use testkit::lan::fos::{fos_config, fos_lan, started, wait_page};
    if !root_or_skip() {
        return;
    }
    let lan: Lan = fos_lan();
    // A deadtime of 10 s: a takeover within it comes from the last FOS STOPPED.
    let cfg = fos_config(&lan, 1, None);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("deadtime = 2", "deadtime = 10")).unwrap();
    let (mut d1, d2) = started(&lan, &cfg, &[]);
    d2.wait_for(s(10), "the active master heard", |st| {
        st.partner_state.as_deref() == Some("active")
    });
    d1.signal(Signal::SIGKILL);
    d2.wait_active_with_vips(s(5), "takeover by d2");
    d2.wait_log(s(3), "primary inactive: activating fos");
    wait_page(&lan, "d2", s(10));
    assert!(!lan.has_vip("d1"));
    d1.proc.wait_exit(s(10));
    assert!(
        d1.log()
            .contains("pulse-watchdog: told 10.7.0.2:539 that this node stopped"),
        "{}",
        d1.log()
    );
}
