//! pulse against a peer that speaks piranha's raw heartbeat bytes (spec §2.3), in both roles;
//! test mode's lack of side effects; start-up errors and their exit statuses.

use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::netns::in_netns as in_ns;
use testkit::root_or_skip;

type Lan = testkit::lan::Lan<pulse::status::Status>;

const RUNNING: [u8; 4] = [0xda, 0xdb, 0xad, 0xbd];
const STOPPED: [u8; 4] = [0xbd, 0xda, 0xbd, 0xad];

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A socket in node `n`'s namespace bound to `addr`.
fn peer(lan: &Lan, n: &str, addr: &'static str) -> UdpSocket {
    let u = in_ns(&lan.ns(n), move || UdpSocket::bind(addr).unwrap());
    u.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    u
}

/// The next heartbeat received, with its sender.
fn next(u: &UdpSocket, within: Duration) -> (Vec<u8>, std::net::SocketAddr) {
    let t0 = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        if let Ok((n, from)) = u.recv_from(&mut buf) {
            return (buf[..n].to_vec(), from);
        }
        assert!(t0.elapsed() < within, "no heartbeat within {within:?}");
    }
}

/// Read heartbeats until one equals `want`.
fn expect(u: &UdpSocket, want: [u8; 4], within: Duration) {
    let t0 = Instant::now();
    loop {
        let (b, _) = next(u, within);
        if b == want {
            return;
        }
        assert!(
            t0.elapsed() < within,
            "no {want:02x?} within {within:?}, last {b:02x?}"
        );
    }
}

#[test]
fn pairs_with_a_raw_piranha_backup() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let cfg = lan.config("0.2", "1", "");
    let d1 = lan.pulse("d1", &cfg, &["-t"]);
    let u = peer(&lan, "d2", "10.7.0.2:539");
    // Exactly 4 bytes, piranha's STOPPED in x86 order, from the bound address and port.
    let (b, from) = next(&u, s(3));
    assert_eq!(b, STOPPED);
    assert_eq!(from.to_string(), "10.7.0.1:539");
    // The backup says it is stopped: the master activates and says RUNNING.
    u.send_to(&STOPPED, "10.7.0.1:539").unwrap();
    expect(&u, RUNNING, s(3));
    d1.wait_log(s(3), "backup inactive: activating lvs");
    // A RUNNING backup while the master is active: the master re-announces, stays active.
    u.send_to(&RUNNING, "10.7.0.1:539").unwrap();
    d1.wait_log(s(3), "partner active: resending arps");
    assert!(d1.active());
    // Test mode: nothing started or plumbed.
    let st = d1.status().unwrap();
    assert!(st.child.is_none() && st.vips.is_empty() && st.flags.contains(&"NORUN".to_owned()));
    assert!(!lan.has_vip("d1"));
    d1.wait_log(s(3), "test mode: not starting");
    assert!(!d1.log().contains("lvs: "), "lvsd ran in test mode");
}

#[test]
fn pairs_with_a_raw_piranha_master() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let cfg = lan.config("0.2", "1", "");
    let d2 = lan.pulse("d2", &cfg, &["--test-start"]);
    let u = peer(&lan, "d1", "10.7.0.1:539");
    // The master is running: the backup stays inactive and says STOPPED.
    let t0 = Instant::now();
    while t0.elapsed() < s(2) {
        u.send_to(&RUNNING, "10.7.0.2:539").unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    let (b, from) = next(&u, s(2));
    assert_eq!(
        (b, from.to_string()),
        (STOPPED.to_vec(), "10.7.0.2:539".to_owned())
    );
    assert_eq!(d2.status().unwrap().state, "inactive");
    assert_eq!(
        d2.status().unwrap().partner_state.as_deref(),
        Some("active")
    );
    // The master falls silent: after deadtime the backup is active and says RUNNING.
    let t0 = Instant::now();
    d2.wait_for(s(5), "takeover", |s| s.state == "active");
    assert!(t0.elapsed() < Duration::from_millis(1500));
    let st = d2.status().unwrap();
    assert_eq!((st.took_over, st.gave_up), (1, 0));
    d2.wait_log(s(3), "partner dead: activating lvs");
    expect(&u, RUNNING, s(2));
    // The master is back and running: the backup sends one last RUNNING at once, steps down.
    u.send_to(&RUNNING, "10.7.0.2:539").unwrap();
    let (b, _) = next(&u, Duration::from_millis(150));
    assert_eq!(b, RUNNING, "the last heartbeat before stepping down");
    d2.wait_for(s(3), "step down", |s| s.state == "inactive");
    d2.wait_log(s(3), "partner active: deactivating LVS");
    expect(&u, STOPPED, s(2));
    let st = d2.status().unwrap();
    assert_eq!((st.took_over, st.gave_up), (1, 1));
    assert!(st.heartbeats_received >= 5, "{st:?}");
}

#[test]
fn counters_follow_heartbeats_rejections_and_reloads() {
    use nix::sys::signal::Signal;
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let cfg1 = lan.config("0.2", "1", "");
    let cfg2 = lan.config("0.2", "1", "");
    let d1 = lan.pulse("d1", &cfg1, &["-t"]);
    let d2 = lan.pulse("d2", &cfg2, &["-t"]);
    // Two pulses exchange heartbeats: both count what they send and accept.
    for d in [&d1, &d2] {
        d.wait_for(s(5), "heartbeats both ways", |st| {
            st.heartbeats_sent >= 3 && st.heartbeats_received >= 3
        });
    }
    d1.wait_for(s(5), "the master active", |st| st.state == "active");
    let st = d1.status().unwrap();
    assert_eq!((st.took_over, st.gave_up), (1, 0), "{st:?}");
    assert_eq!(st.heartbeats_rejected, 0, "{st:?}");
    // A datagram too short, from the partner's address: rejected as too_short.
    let u = peer(&lan, "d2", "10.7.0.2:0");
    u.send_to(&[0xda, 0xdb], "10.7.0.1:539").unwrap();
    d1.wait_for(s(5), "too_short", |st| {
        st.heartbeats_rejected_by_cause.too_short == 1
    });
    // Another mode's magic (FOS running): bad_magic.
    u.send_to(&[0xbe, 0xba, 0xef, 0xbe], "10.7.0.1:539")
        .unwrap();
    d1.wait_for(s(5), "bad_magic", |st| {
        st.heartbeats_rejected_by_cause.bad_magic == 1
    });
    // A valid heartbeat from a stranger: unexpected_source.
    let c = peer(&lan, "c", "10.7.0.100:0");
    c.send_to(&RUNNING, "10.7.0.1:539").unwrap();
    d1.wait_for(s(5), "unexpected_source", |st| {
        st.heartbeats_rejected_by_cause.unexpected_source == 1
    });
    let st = d1.status().unwrap();
    assert_eq!(st.heartbeats_rejected, 3, "{st:?}");
    assert!(st.state == "active" && st.took_over == 1, "{st:?}");
    // SIGHUP with a broken file: a failed reload; with a good one again: a reload.
    let good = std::fs::read_to_string(&cfg1).unwrap();
    std::fs::write(&cfg1, good.replace("keepalive = 0.2", "keepalive = x")).unwrap();
    d1.signal(Signal::SIGHUP);
    d1.wait_for(s(5), "a failed reload", |st| st.reloads_failed == 1);
    assert_eq!(d1.status().unwrap().reloads, 0);
    std::fs::write(&cfg1, good).unwrap();
    d1.signal(Signal::SIGHUP);
    d1.wait_for(s(5), "a reload", |st| st.reloads == 1);
    assert_eq!(d1.status().unwrap().reloads_failed, 1);
    // `pulse --status` shows them.
    let sock = d1.sock.to_str().unwrap().to_owned();
    let (code, out) = pulse(&lan, "d1", &["--status", "--socket", &sock]);
    assert_eq!(code, Some(0));
    for want in [
        "rejected: too_short 1, bad_magic 1, unexpected_source 1\n",
        "failovers: took over 1, gave up 0; reloads: 1 ok, 1 failed\n",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
}

fn pulse(lan: &Lan, n: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &lan.ns(n)])
        .arg(env!("CARGO_BIN_EXE_pulse"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn start_up_errors_and_exit_statuses() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let sock = lan.dir.join("x.sock");
    let sock = sock.to_str().unwrap();
    let (code, out) = pulse(&lan, "d1", &["--bogus"]);
    assert_eq!(code, Some(1));
    assert!(out.starts_with("pulse: bad argument"), "{out}");
    let (code, out) = pulse(&lan, "d1", &["-n", "extra"]);
    assert_eq!((code, out.trim()), (Some(1), "pulse: unexpected arguments"));
    // A broken file: the diagnostics, exit 1.
    let bad = lan.dir.join("bad.cf");
    std::fs::write(&bad, "primary = 10.7.0.1\nkeepalive = x\n").unwrap();
    let (code, out) = pulse(
        &lan,
        "d1",
        &["-n", "-c", bad.to_str().unwrap(), "--socket", sock],
    );
    assert_eq!(code, Some(1));
    assert!(out.contains("bad.cf:2:"), "{out}");
    // The backup of a cluster without an active backup leaves with 255.
    let cfg = lan.config("0.2", "1", "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("backup_active = 1", "backup_active = 0");
    std::fs::write(&cfg, text).unwrap();
    let (code, out) = pulse(
        &lan,
        "d2",
        &["-n", "-t", "-c", cfg.to_str().unwrap(), "--socket", sock],
    );
    assert_eq!(code, Some(255), "{out}");
    assert!(out.contains("We are backup node and backup is marked inactive -- exiting pulse"));
    // A host that holds neither address cannot bind the heartbeat socket.
    let cfg = lan.config("0.2", "1", "");
    let (code, out) = pulse(
        &lan,
        "c",
        &["-n", "-t", "-c", cfg.to_str().unwrap(), "--socket", sock],
    );
    assert_eq!(code, Some(1));
    assert!(
        out.contains("pulse: cannot create heartbeat socket. running as root?"),
        "{out}"
    );
    // --status with nobody there.
    let (code, _) = pulse(&lan, "c", &["--status", "--socket", sock]);
    assert_eq!(code, Some(3));
    // --status of a running pulse, text and JSON.
    let d1 = lan.pulse("d1", &cfg, &["-t"]);
    let sock = d1.sock.to_str().unwrap().to_owned();
    let (code, out) = pulse(&lan, "d1", &["--status", "--socket", &sock]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with(&format!("pulse {} (lvs): master ", d1.pid())),
        "{out}"
    );
    assert!(out.contains("partner: 10.7.0.2"), "{out}");
    let (code, out) = pulse(&lan, "d1", &["--status", "--json", "--socket", &sock]);
    assert_eq!(code, Some(0));
    let st: pulse::status::Status = serde_json::from_str(&out).unwrap();
    assert_eq!(st.role, "master");
    // A second pulse on the same socket is refused.
    let (code, out) = pulse(
        &lan,
        "d1",
        &["-n", "-t", "-c", cfg.to_str().unwrap(), "--socket", &sock],
    );
    assert_eq!(code, Some(1));
    assert!(out.contains("another pulse answers"), "{out}");
}

#[test]
fn socket_group_shares_the_status_socket() {
    use std::os::unix::fs::MetadataExt;
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let cfg = lan.config("0.2", "1", "");
    let d1 = lan.pulse("d1", &cfg, &["-t", "--socket-group", "adm"]);
    d1.wait_for(s(5), "status", |_| true);
    let md = std::fs::metadata(&d1.sock).unwrap();
    let adm = nix::unistd::Group::from_name("adm").unwrap().unwrap();
    assert_eq!((md.gid(), md.mode() & 0o777), (adm.gid.as_raw(), 0o660));
    // An unknown group is refused at start-up with pulse's usage status.
    let out = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .args(["-n", "-c"])
        .arg(&cfg)
        .args(["--socket-group", "no-such-group-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "pulse: --socket-group: no group no-such-group-here\n"
    );
}
