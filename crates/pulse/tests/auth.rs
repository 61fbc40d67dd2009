//! Authenticated heartbeats (`heartbeat_key_file`) between real pulse processes in network
//! namespaces (testkit's LAN): a normal pair and its failover; forged, plain and replayed
//! heartbeats from a third host that pretends to be the master; directors with different
//! keys; key rotation one director at a time; permissive mode beside a plain piranha peer;
//! refused key files.

use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pulse::status::Status;
use testkit::netns::in_netns as in_ns;
use testkit::root_or_skip;

type Lan = testkit::lan::Lan<Status>;

const K1: &str = "1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
const K2: &str = "2 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n";
/// Key id 1 with another secret than `K1`.
const K1_OTHER: &str = "1 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n";

const RUNNING: [u8; 4] = [0xda, 0xdb, 0xad, 0xbd];
const STOPPED: [u8; 4] = [0xbd, 0xda, 0xbd, 0xad];

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A key file of mode 600 in the test's directory.
fn key_file(lan: &Lan, name: &str, text: &str) -> PathBuf {
    let p = lan.dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// lvs.cf (keepalive 0.2, deadtime 1) with this key file and these more lines.
fn config(lan: &Lan, keys: &Path, more: &str) -> PathBuf {
    lan.config(
        "0.2",
        "1",
        &format!("heartbeat_key_file = {}\n{more}", keys.display()),
    )
}

/// Wait until both have accepted a few heartbeats of the other.
fn paired(a: &testkit::lan::Pulse<Status>, b: &testkit::lan::Pulse<Status>) {
    for d in [a, b] {
        d.wait_for(s(10), "authenticated heartbeats", |st| {
            st.heartbeats_received >= 3
                && st
                    .auth
                    .as_ref()
                    .is_some_and(|a| a.partner_sender_id.is_some())
        });
    }
}

/// Heartbeats accepted by `d` from now on: wait until `n` more came.
fn more_heartbeats(d: &testkit::lan::Pulse<Status>, n: u64) {
    let base = d.status().unwrap().heartbeats_received;
    d.wait_for(s(10), "more heartbeats", |st| {
        st.heartbeats_received >= base + n
    });
}

#[test]
fn same_key_pair_fails_over_as_before() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    lan.web("r1");
    lan.web("r2");
    let keys = key_file(&lan, "keys", K1);
    let cfg = config(&lan, &keys, "");
    let d1 = lan.pulse("d1", &cfg, &[]);
    let d2 = lan.pulse("d2", &cfg, &[]);
    paired(&d1, &d2);
    d1.wait_active_with_vips(s(10), "active d1");
    assert!(lan.served_within(s(10)).is_some(), "{}", d1.log());
    let st = d2.status().unwrap();
    assert_eq!(st.state, "inactive");
    let a = st.auth.unwrap();
    assert_eq!(
        (a.mode.as_str(), a.signing_key, a.keys),
        ("enforce", 1, vec![1])
    );
    assert_eq!(a.partner_starts, 1);
    let r = st.heartbeats_rejected_by_cause;
    assert_eq!(
        r.forged + r.replayed + r.unknown_key + r.unauthenticated,
        0,
        "{r:?}"
    );
    // The master dies: the backup takes over after deadtime and serves.
    d1.kill9();
    d2.wait_active_with_vips(s(10), "takeover by d2");
    assert!(lan.served_within(s(10)).is_some(), "{}", d2.log());
    // The master comes back (a new sender id): accepted after its challenge, no fail-back.
    let d1 = lan.pulse("d1", &cfg, &[]);
    d2.wait_for(s(10), "the restarted master", |st| {
        st.auth.as_ref().is_some_and(|a| a.partner_starts == 2)
    });
    d2.wait_log(s(5), "partner's heartbeats authenticated");
    more_heartbeats(&d1, 3);
    assert!(d2.active() && !d1.active());
    assert_eq!(d2.status().unwrap().gave_up, 0);
}

/// Node `c` gets the address `ip` on its loopback, without answering ARP for it, so that a
/// socket there sends datagrams with the partner's source address.
fn impersonate(lan: &Lan, ip: &str) {
    lan.on("c", &format!("ip addr add {ip}/32 dev lo"));
    lan.on(
        "c",
        "sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
    );
}

/// Record what `from`'s pulse sends to `to`'s heartbeat port, for `n` datagrams, with a
/// socket in `to`'s namespace (whose pulse is not running).
fn record(lan: &Lan, to: &str, addr: &'static str, n: usize) -> Vec<Vec<u8>> {
    let u = in_ns(&lan.ns(to), move || UdpSocket::bind(addr).unwrap());
    u.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while got.len() < n {
        let (k, _) = u.recv_from(&mut buf).expect("a heartbeat to record");
        got.push(buf[..k].to_vec());
    }
    got
}

/// Everything an attacker at `c` sends as the master (10.7.0.1:539) to the backup.
fn attack(c: &UdpSocket, recorded: &[Vec<u8>]) {
    let to = "10.7.0.2:539";
    for d in recorded {
        c.send_to(d, to).unwrap();
        // The same, claiming STOPPED: the tag no longer matches.
        let mut stopped = d.clone();
        stopped[..4].copy_from_slice(&STOPPED);
        c.send_to(&stopped, to).unwrap();
        // Another key id.
        let mut other = d.clone();
        other[5] = 9;
        c.send_to(&other, to).unwrap();
    }
    for m in [RUNNING, STOPPED] {
        c.send_to(&m, to).unwrap();
        let mut fake = vec![0u8; 70];
        fake[..4].copy_from_slice(&m);
        fake[4] = 1;
        fake[5] = 1;
        c.send_to(&fake, to).unwrap();
        c.send_to(&fake[..40], to).unwrap();
        c.send_to(&[fake.clone(), fake.clone()].concat(), to)
            .unwrap();
    }
}

#[test]
fn forged_plain_and_replayed_heartbeats_are_ignored() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let keys = key_file(&lan, "keys", K1);
    let cfg = config(&lan, &keys, "");
    let d1 = lan.pulse("d1", &cfg, &["-t"]);
    // Genuine heartbeats of the master, recorded where the backup will listen.
    let recorded = record(&lan, "d2", "10.7.0.2:539", 10);
    assert!(recorded.iter().all(|d| d.len() == 70));
    // The first were sent while the master was still inactive: stale STOPPED heartbeats
    // that the backup never received.
    assert_eq!(recorded[0][..4], STOPPED);
    let d2 = lan.pulse("d2", &cfg, &["-t"]);
    paired(&d1, &d2);
    d1.wait_for(s(10), "active master", |st| st.state == "active");
    impersonate(&lan, "10.7.0.1");
    let c = in_ns(&lan.ns("c"), || UdpSocket::bind("10.7.0.1:539").unwrap());
    // While the master lives, nothing makes the backup active.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(1500) {
        attack(&c, &recorded);
        std::thread::sleep(Duration::from_millis(50));
    }
    let st = d2.status().unwrap();
    assert_eq!(
        (st.state.as_str(), st.took_over),
        ("inactive", 0),
        "{}",
        d2.log()
    );
    let r = st.heartbeats_rejected_by_cause;
    for (cause, n) in [
        ("replayed", r.replayed),
        ("forged", r.forged),
        ("unknown_key", r.unknown_key),
        ("unauthenticated", r.unauthenticated),
        ("truncated", r.truncated),
        ("oversized", r.oversized),
    ] {
        assert!(n >= 10, "{cause}: {n} in {r:?}");
    }
    assert_eq!(st.last_rejection.unwrap().source, "10.7.0.1:539");
    d2.wait_log(
        s(3),
        "heartbeat authentication failure: forged from 10.7.0.1:539",
    );
    // The master dies: replayed RUNNING heartbeats do not keep the backup from taking over,
    // nor make it step down.
    d1.kill9();
    let t0 = Instant::now();
    while t0.elapsed() < s(3) {
        attack(&c, &recorded);
        std::thread::sleep(Duration::from_millis(50));
    }
    let st = d2.status().unwrap();
    assert_eq!(
        (st.state.as_str(), st.took_over, st.gave_up),
        ("active", 1, 0),
        "{}",
        d2.log()
    );
    // The `pulse --status` report says why.
    let out = pulse_cmd(
        &lan,
        "d2",
        &["--status", "--socket", d2.sock.to_str().unwrap()],
    );
    assert!(
        out.contains("last rejected: ") && out.contains("replayed "),
        "{out}"
    );
    assert!(
        out.contains("authentication: enforce, signing key 1 (keys 1)"),
        "{out}"
    );
}

#[test]
fn recordings_from_before_a_restart_do_not_work_after_it() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let keys = key_file(&lan, "keys", K1);
    let cfg = config(&lan, &keys, "");
    let d1 = lan.pulse("d1", &cfg, &["-t"]);
    let d2 = lan.pulse("d2", &cfg, &["-t"]);
    paired(&d1, &d2);
    // The backup restarts; meanwhile the master's heartbeats (which answer the old
    // backup's challenge) are recorded.
    d2.kill9();
    let recorded = record(&lan, "d2", "10.7.0.2:539", 5);
    let d2 = lan.pulse("d2", &cfg, &["-t"]);
    paired(&d1, &d2);
    // Then the master restarts too (a new sender id).
    d1.kill9();
    let d1 = lan.pulse("d1", &cfg, &["-t"]);
    d2.wait_for(s(10), "the restarted master", |st| {
        st.auth.as_ref().is_some_and(|a| a.partner_starts == 2)
    });
    impersonate(&lan, "10.7.0.1");
    let c = in_ns(&lan.ns("c"), || UdpSocket::bind("10.7.0.1:539").unwrap());
    let before = d2.status().unwrap().heartbeats_rejected_by_cause.replayed;
    for d in &recorded {
        c.send_to(d, "10.7.0.2:539").unwrap();
    }
    d2.wait_for(s(5), "the recordings refused", |st| {
        st.heartbeats_rejected_by_cause.replayed >= before + 5
    });
    let (a1, a2) = (d1.active(), d2.active());
    more_heartbeats(&d2, 3);
    assert_eq!((d1.active(), d2.active()), (a1, a2));
    assert!(a1 != a2, "exactly one active");
}

#[test]
fn different_keys_see_each_other_dead_and_log_it() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let k1 = key_file(&lan, "k1", K1);
    let k2 = key_file(&lan, "k2", K1_OTHER);
    let d1 = lan.pulse("d1", &config(&lan, &k1, ""), &["-t"]);
    let d2 = lan.pulse("d2", &config(&lan, &k2, ""), &["-t"]);
    // The documented consequence: both become active.
    for d in [&d1, &d2] {
        d.wait_for(s(10), "active alone", |st| {
            st.state == "active" && st.heartbeats_rejected_by_cause.forged >= 3
        });
        d.wait_log(
            s(3),
            "heartbeat authentication failure: forged from 10.7.0.",
        );
        let st = d.status().unwrap();
        assert_eq!(
            (st.heartbeats_received, st.partner_last_heard_ms),
            (0, None)
        );
    }
}

/// Rewrite a key file and reload that pulse; wait until it took it.
fn rekey(d: &testkit::lan::Pulse<Status>, keys: &Path, text: &str, signing: u8, reloads: u64) {
    std::fs::write(keys, text).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for(s(10), "the new keys", |st| {
        st.reloads == reloads && st.auth.as_ref().is_some_and(|a| a.signing_key == signing)
    });
}

#[test]
fn keys_rotate_one_director_at_a_time_without_failover() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let k1 = key_file(&lan, "k1", K1);
    let k2 = key_file(&lan, "k2", K1);
    let d1 = lan.pulse("d1", &config(&lan, &k1, ""), &["-t"]);
    let d2 = lan.pulse("d2", &config(&lan, &k2, ""), &["-t"]);
    paired(&d1, &d2);
    d1.wait_for(s(10), "active master", |st| st.state == "active");
    let both = format!("{K1}{K2}");
    let new_first = format!("{K2}{K1}");
    let steps: [(&testkit::lan::Pulse<Status>, &PathBuf, &str, u8, u64); 6] = [
        (&d1, &k1, &both, 1, 1),
        (&d2, &k2, &both, 1, 1),
        (&d1, &k1, &new_first, 2, 2),
        (&d2, &k2, &new_first, 2, 2),
        (&d1, &k1, K2, 2, 3),
        (&d2, &k2, K2, 2, 3),
    ];
    for (d, path, text, signing, reloads) in steps {
        rekey(d, path, text, signing, reloads);
        more_heartbeats(&d1, 3);
        more_heartbeats(&d2, 3);
    }
    for (d, took) in [(&d1, 1), (&d2, 0)] {
        let st = d.status().unwrap();
        assert_eq!((st.took_over, st.gave_up), (took, 0), "{}", d.log());
        let r = st.heartbeats_rejected_by_cause;
        assert_eq!((r.forged, r.unknown_key, r.replayed), (0, 0, 0), "{r:?}");
        assert_eq!(st.auth.unwrap().keys, [2]);
    }
}

#[test]
fn permissive_mode_pairs_with_a_plain_peer() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let keys = key_file(&lan, "keys", K1);
    let d1 = lan.pulse(
        "d1",
        &config(&lan, &keys, "heartbeat_auth = permissive\n"),
        &["-t"],
    );
    let u = in_ns(&lan.ns("d2"), || UdpSocket::bind("10.7.0.2:539").unwrap());
    u.set_read_timeout(Some(s(3))).unwrap();
    // The plain peer says it is stopped: the master takes it and activates.
    let t0 = Instant::now();
    let mut buf = [0u8; 512];
    while t0.elapsed() < Duration::from_millis(800) {
        u.send_to(&STOPPED, "10.7.0.1:539").unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    d1.wait_for(s(5), "plain heartbeats taken", |st| {
        st.state == "active"
            && st.partner_state.as_deref() == Some("inactive")
            && st
                .auth
                .as_ref()
                .is_some_and(|a| a.plain_accepted >= 3 && a.mode == "permissive")
    });
    d1.wait_log(s(3), "accepted a plain heartbeat from 10.7.0.2:539");
    // What it sends starts with piranha's RUNNING: a piranha reads that much.
    let (n, _) = u.recv_from(&mut buf).unwrap();
    let (n2, _) = u.recv_from(&mut buf).unwrap();
    assert_eq!((n, n2), (70, 70));
    assert_eq!(buf[..4], RUNNING);
}

fn pulse_cmd(lan: &Lan, n: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &lan.ns(n)])
        .arg(env!("CARGO_BIN_EXE_pulse"))
        .args(args)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn unsafe_or_short_key_files_are_refused_at_start() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let sock = lan.dir.join("x.sock");
    let run = |keys: &Path| {
        let cfg = config(&lan, keys, "");
        let out = Command::new("ip")
            .args(["netns", "exec", &lan.ns("d1")])
            .arg(env!("CARGO_BIN_EXE_pulse"))
            .args(["-n", "-t", "-c"])
            .arg(&cfg)
            .arg("--socket")
            .arg(&sock)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let open = key_file(&lan, "open", K1);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = run(&open);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        format!(
            "pulse: heartbeat key file {0} is accessible by group or others (mode 0644); run chmod 600 {0}\n",
            open.display()
        )
    );
    let short = key_file(&lan, "short", "1 00112233\n");
    let (code, err) = run(&short);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(":1: key 1 is 4 bytes; at least 32 are needed"),
        "{err}"
    );
    let (code, err) = run(&lan.dir.join("missing"));
    assert_eq!(code, Some(1));
    assert!(err.starts_with("pulse: heartbeat key file "), "{err}");
}

/// Wait until `d` reports this `config_sync` state, with the partner's serial.
fn sync_state(d: &testkit::lan::Pulse<Status>, state: &str, partner_serial: i64) {
    d.wait_for(s(10), state, |st| {
        st.config_sync
            .as_ref()
            .is_some_and(|c| c.state == state && c.partner_serial == Some(partner_serial))
    });
}

#[test]
fn config_sync_reports_conflicts_and_copies_the_newer_file() {
    use std::os::unix::fs::MetadataExt;
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let keys = key_file(&lan, "keys", K1);
    let c1 = config(&lan, &keys, "config_sync = 1\n# edited on d1\n");
    let c2 = config(&lan, &keys, "config_sync = 1\n# edited on d2\n");
    let set_serial = |p: &Path, n: i64| {
        let t = std::fs::read_to_string(p).unwrap();
        let line = t
            .lines()
            .find(|l| l.starts_with("serial_no"))
            .unwrap()
            .to_owned();
        std::fs::write(p, t.replace(&line, &format!("serial_no = {n}"))).unwrap();
    };
    set_serial(&c1, 5);
    set_serial(&c2, 5);
    std::fs::set_permissions(&c1, std::fs::Permissions::from_mode(0o640)).unwrap();
    let old1 = std::fs::read_to_string(&c1).unwrap();
    let d1 = lan.pulse("d1", &c1, &["-t"]);
    let d2 = lan.pulse("d2", &c2, &["-t"]);
    // Same serial, different files: a conflict on both, logged, nothing copied.
    sync_state(&d1, "conflict", 5);
    sync_state(&d2, "conflict", 5);
    for d in [&d1, &d2] {
        d.wait_log(
            s(3),
            "lvs.cf conflict: serial 5 here and on the partner, but the files differ",
        );
    }
    assert_eq!(std::fs::read_to_string(&c1).unwrap(), old1);
    // The backup's file is bumped and reloaded: the master takes it, byte for byte, keeps
    // its old one as .prev and its mode, and rereads it.
    set_serial(&c2, 6);
    d2.signal(Signal::SIGHUP);
    d1.wait_log(
        s(3),
        "lvs.cf: serial 5 here, 6 on the partner: this file is older",
    );
    d1.wait_log(s(5), "lvs.cf: took serial 6 from the partner; rereading it");
    sync_state(&d1, "in_sync", 6);
    sync_state(&d2, "in_sync", 6);
    let new2 = std::fs::read_to_string(&c2).unwrap();
    assert_eq!(std::fs::read_to_string(&c1).unwrap(), new2);
    let prev = c1.with_file_name(format!(
        "{}.prev",
        c1.file_name().unwrap().to_str().unwrap()
    ));
    assert_eq!(std::fs::read_to_string(&prev).unwrap(), old1);
    assert_eq!(std::fs::metadata(&c1).unwrap().mode() & 0o777, 0o640);
    d1.wait_for(s(5), "the reread file", |st| st.reloads == 1);
    let st = d1.status().unwrap().config_sync.unwrap();
    assert_eq!(st.last_sync_result.as_deref(), Some("took serial 6"));
    let out = pulse_cmd(
        &lan,
        "d1",
        &["--status", "--socket", d1.sock.to_str().unwrap()],
    );
    assert!(
        out.contains(&format!(
            "lvs.cf: serial 6 ({0}), partner 6 ({0}): in_sync\n",
            st.digest
        )),
        "{out}"
    );
    // An invalid file on the backup is refused by its own reload and never reaches the
    // master.
    std::fs::write(
        &c2,
        new2.replace("serial_no = 6", "serial_no = 7\nkeepalive = x"),
    )
    .unwrap();
    d2.signal(Signal::SIGHUP);
    d2.wait_for(s(5), "a refused reload", |st| st.reloads_failed == 1);
    more_heartbeats(&d1, 5);
    assert_eq!(std::fs::read_to_string(&c1).unwrap(), new2);
    // The master restarts with an older file: it gets the newer one again.
    std::fs::write(&c2, &new2).unwrap();
    d1.kill9();
    std::fs::write(&c1, &old1).unwrap();
    let d1 = lan.pulse("d1", &c1, &["-t"]);
    d1.wait_log(s(10), "lvs.cf: took serial 6 from the partner");
    sync_state(&d1, "in_sync", 6);
    assert_eq!(std::fs::read_to_string(&c1).unwrap(), new2);
    // Throughout, no refused heartbeat but the handshakes'.
    let r = d2.status().unwrap().heartbeats_rejected_by_cause;
    assert_eq!((r.forged, r.replayed, r.bad_version), (0, 0, 0), "{r:?}");
}

#[test]
fn config_sync_carries_an_edit_on_the_active_to_the_backups_next_activation() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    let keys = key_file(&lan, "keys", K1);
    let c1 = config(&lan, &keys, "config_sync = 1\n");
    let c2 = lan.dir.join("backup.cf");
    std::fs::copy(&c1, &c2).unwrap();
    let d1 = lan.pulse("d1", &c1, &["-t"]);
    let d2 = lan.pulse("d2", &c2, &["-t"]);
    sync_state(&d2, "in_sync", 1);
    d1.wait_for(s(10), "active master", |st| st.state == "active");
    d1.wait_log(s(3), "test mode: not bringing up 1 addresses");
    // The admin adds a virtual server on the active director, bumps and reloads.
    let text = std::fs::read_to_string(&c1)
        .unwrap()
        .replace("serial_no = 1", "serial_no = 2")
        + "virtual web2 {\n    active = 1\n    address = 10.7.0.51 eth0:2\n    port = 80\n    scheduler = rr\n    server r1 {\n        address = 10.7.0.11\n        active = 1\n    }\n}\n";
    std::fs::write(&c1, &text).unwrap();
    d1.signal(Signal::SIGHUP);
    d2.wait_log(s(10), "lvs.cf: took serial 2 from the partner");
    d1.wait_log(s(5), "lvs.cf: the partner took serial 2");
    sync_state(&d2, "in_sync", 2);
    assert_eq!(std::fs::read_to_string(&c2).unwrap(), text);
    d2.wait_for(s(5), "the reread file", |st| st.reloads == 1);
    // The master dies: the backup activates with the new file's two addresses.
    d1.kill9();
    d2.wait_for(s(10), "takeover", |st| st.state == "active");
    d2.wait_log(s(3), "test mode: not bringing up 2 addresses");
}
