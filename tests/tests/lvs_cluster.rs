//! Two directors running real pulse, lvsd (userspace data plane) and nanny processes in
//! network namespaces on one bridge, a client and two real servers: start-up, failover on
//! kill -9, no fail-back, `--forceactive`, SIGTERM, CHILDFAIL, a cut heartbeat path, bogus
//! datagrams and link monitoring. The LAN and the processes are testkit's (`testkit::lan`).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pulse::status::Status;
use testkit::lan::VIP;
use testkit::netns::in_netns as in_ns;
use testkit::{must as sh, root_or_skip};

type Lan = testkit::lan::Lan<Status>;
type Pulse = testkit::lan::Pulse<Status>;

const KA: &str = "0.2";
const DT: &str = "1";
const DEADTIME: Duration = Duration::from_secs(1);

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Both directors up, d1 active and serving.
fn cluster(lan: &mut Lan, extra: &str) -> (std::path::PathBuf, Pulse, Pulse) {
    let cfg = lan.config(KA, DT, extra);
    let (d1, d2) = lan.serving_pair(&cfg);
    (cfg, d1, d2)
}

#[test]
fn one_active_failover_on_kill9_no_failback_and_forceactive() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    let (cfg, d1, d2) = cluster(&mut lan, "");
    let st1 = d1.status().unwrap();
    assert_eq!((st1.role.as_str(), st1.mode.as_str()), ("master", "lvs"));
    assert_eq!(st1.vips, ["10.7.0.50/32 eth0:1"]);
    assert_eq!(st1.child.as_ref().map(|c| c.state.as_str()), Some("ready"));
    let st2 = d2.status().unwrap();
    assert_eq!(
        (st2.role.as_str(), st2.state.as_str()),
        ("backup", "inactive")
    );
    assert!(st2.vips.is_empty() && st2.child.is_none());
    assert!(lan.has_vip("d1") && !lan.has_vip("d2"));
    // Never both active at start-up: the backup waited for the master.
    assert!(!d2.log().contains("activating lvs"), "{}", d2.log());
    d1.wait_log(s(3), "STARTING PULSE AS MASTER");
    d2.wait_log(s(3), "STARTING PULSE AS BACKUP");
    d1.wait_log(s(10), "gratuitous lvs arps finished");
    // Both real servers take turns behind the VIP.
    let mut seen: Vec<String> = (0..6).filter_map(|_| lan.get()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["r1", "r2"]);
    assert_eq!(lan.neigh("c", VIP), Some(lan.mac("d1")));

    // The active director dies (pulse and its watchdog together, as when the machine goes):
    // lvsd dies with pulse, the backup takes the VIP after deadtime and says so.
    let t0 = Instant::now();
    d1.crash();
    d2.wait_for(s(10), "takeover", |s| {
        s.state == "active" && !s.vips.is_empty()
    });
    let took = t0.elapsed();
    assert!(
        took < DEADTIME + Duration::from_millis(1500),
        "took {took:?}"
    );
    assert!(lan.has_vip("d2"));
    d2.wait_log(s(3), "partner dead: activating lvs");
    let served = lan.served_within(s(10)).expect("served through d2");
    let mac2 = lan.mac("d2");
    assert_eq!(
        lan.neigh("c", VIP),
        Some(mac2.clone()),
        "the gratuitous ARP did not arrive"
    );
    eprintln!("kill -9: d2 active after {took:?}, client served {served:?} later");

    // The old primary comes back: it removes its stale VIP and stays backup.
    assert!(lan.has_vip("d1"), "the crashed node's VIP is still there");
    let d1 = lan.pulse("d1", &cfg, &[]);
    d1.wait_log(s(5), "removing stale address 10.7.0.50/32 eth0:1");
    std::thread::sleep(DEADTIME * 3);
    assert_eq!(d1.status().unwrap().state, "inactive", "{}", d1.log());
    assert!(d2.active());
    assert!(!lan.has_vip("d1") && lan.has_vip("d2"));
    assert_eq!(
        d1.status().unwrap().partner_state.as_deref(),
        Some("active")
    );
    assert!(lan.get().is_some());

    // Started with --forceactive it takes over; the backup yields and the master re-ARPs.
    drop(d1);
    let d1 = lan.pulse("d1", &cfg, &["--forceactive"]);
    d1.wait_log(s(5), "Forced active on startup: activating lvs");
    d2.wait_for(s(10), "yield", |s| {
        s.state == "inactive" && s.vips.is_empty()
    });
    d2.wait_log(s(2), "partner active: deactivating LVS");
    d1.wait_for(s(10), "active d1", |s| s.state == "active");
    assert!(!lan.has_vip("d2") && lan.has_vip("d1"));
    lan.wait_client_sends_to("d1", s(5));
    assert!(lan.served_within(s(10)).is_some());
    assert_eq!(d2.stop(), Some(0));
    assert_eq!(d1.stop(), Some(0));
}

#[test]
fn sigterm_hands_over_at_once_and_childfail_moves_service() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    // The commands write to each director's private /run.
    let (_cfg, d1, d2) = cluster(
        &mut lan,
        "active_cmd = \"/bin/sh -c 'echo active >> /run/cmds'\"\n\
         inactive_cmd = \"/bin/sh -c 'echo inactive >> /run/cmds'\"",
    );
    let cmds = |p: &Pulse| {
        std::fs::read_to_string(format!("/proc/{}/root/run/cmds", p.pid())).unwrap_or_default()
    };
    let wait_cmds = |p: &Pulse, want: &str| {
        testkit::wait::expect_until(
            s(5),
            || cmds(p) == want,
            || format!("{}: commands ran {:?}, not {want:?}", p.name, cmds(p)),
        );
    };
    // inactive_cmd at start-up, active_cmd on activation.
    wait_cmds(&d1, "inactive\nactive\n");
    wait_cmds(&d2, "inactive\n");
    // lvsd killed on the active node: CHILDFAIL there, the partner takes over.
    let lvsd = d1.status().unwrap().child.unwrap().pid;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(lvsd as i32), Signal::SIGKILL).unwrap();
    d2.wait_for(s(10), "takeover after CHILDFAIL", |s| {
        s.state == "active" && !s.vips.is_empty()
    });
    d1.wait_for(s(5), "deactivation", |s| {
        s.state == "inactive" && s.vips.is_empty()
    });
    assert!(
        d1.log()
            .contains(&format!("Child process {lvsd} terminated with signal 9"))
    );
    d1.wait_log(s(3), "CHILDFAIL");
    assert!(lan.served_within(s(10)).is_some());
    wait_cmds(&d1, "inactive\nactive\ninactive\n");
    wait_cmds(&d2, "inactive\nactive\n");
    // d2's RUNNING clears the flag; d1 stays backup.
    d1.wait_for(s(5), "CHILDFAIL cleared", |s| s.flags.is_empty());
    assert_eq!(d1.status().unwrap().state, "inactive");

    // SIGTERM of the active node: STOPPED goes out at once, the partner is active in < 1 s.
    let t0 = Instant::now();
    d2.signal(Signal::SIGTERM);
    d1.wait_for(s(5), "takeover after SIGTERM", |s| s.state == "active");
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // "backup inactive" or "primary inactive", whichever d1 is.
    d1.wait_log(s(3), " inactive: activating lvs");
    let mut d2 = d2;
    let code = d2.proc.exit_code(s(10));
    assert_eq!(code, Some(0));
    d2.wait_log(s(3), "Terminating due to signal 15");
    assert!(!lan.has_vip("d2"));
    assert!(lan.served_within(s(10)).is_some());
}

#[test]
fn cut_heartbeat_path_both_active_then_one() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    let (_cfg, d1, d2) = cluster(&mut lan, "");
    // Drop heartbeats arriving at d2: it hears nothing and takes over as well.
    lan.on(
        "d2",
        "nft 'add table inet cut ; add chain inet cut in { type filter hook input priority 0 ; } ; \
         add rule inet cut in udp dport 539 drop'",
    );
    d2.wait_for(s(10), "split brain", |s| s.state == "active");
    assert!(d1.active(), "the master stays active");
    // Healed: d1's RUNNING reaches d2, which yields; d1 re-ARPs on d2's last RUNNING.
    lan.on("d2", "nft delete table inet cut");
    d2.wait_for(s(10), "yield", |s| {
        s.state == "inactive" && s.vips.is_empty()
    });
    d2.wait_log(s(3), "partner active: deactivating LVS");
    d1.wait_log(s(5), "partner active: resending arps");
    assert!(d1.active());
    lan.wait_client_sends_to("d1", s(5));
    assert!(lan.served_within(s(10)).is_some());
}

#[test]
fn bogus_datagrams_are_ignored_and_logged() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    let (_cfg, d1, d2) = cluster(&mut lan, "");
    let before = d1.status().unwrap();
    // From a third address: even a valid RUNNING magic is not a heartbeat.
    in_ns(&lan.ns("c"), || {
        let u = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        for _ in 0..3 {
            u.send_to(&[0xda, 0xdb, 0xad, 0xbd], "10.7.0.1:539")
                .unwrap();
        }
    });
    d1.wait_log(s(5), "Unexpected heartbeat from 10.7.0.100");
    // From the partner's address but malformed: short, garbage, big-endian, FOS.
    in_ns(&lan.ns("d2"), || {
        let u = std::net::UdpSocket::bind("10.7.0.2:0").unwrap();
        for d in [
            &[1u8, 2][..],
            &[],
            b"garbage!",
            &[0xbd, 0xad, 0xdb, 0xda],
            &[0xbe, 0xba, 0xef, 0xbe],
        ] {
            u.send_to(d, "10.7.0.1:539").unwrap();
        }
    });
    d1.wait_log(s(5), "bad heartbeat packet");
    d1.wait_log(
        s(5),
        "Incompatible heartbeat received -- other system not using identical services",
    );
    // Each is counted just after its log line: wait for the count itself.
    d1.wait_for(s(5), "the 8 datagrams counted", |st| {
        st.heartbeats_rejected >= before.heartbeats_rejected + 8
    });
    let after = d1.status().unwrap();
    assert_eq!(after.state, "active");
    assert!(d2.status().unwrap().state == "inactive");
    assert!(
        !d1.log().contains("partner active"),
        "a third party's RUNNING was taken"
    );
}

#[test]
fn link_failure_hands_over() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    let (cfg, d1, d2) = cluster(&mut lan, "monitor_links = 1");
    lan.port("d1", false);
    d1.wait_for(s(5), "LINKFAIL", |s| {
        s.flags.contains(&"LINKFAIL".to_owned()) && s.state == "inactive" && s.vips.is_empty()
    });
    d1.wait_log(s(3), "Primary NIC: link down");
    d1.wait_log(s(3), "local link failure: deactivating LVS");
    d2.wait_for(s(10), "takeover", |s| {
        s.state == "active" && !s.vips.is_empty()
    });
    assert!(lan.served_within(s(10)).is_some());
    lan.port("d1", true);
    d1.wait_log(s(5), "Local NIC link(s) restored: Pulse enabled");
    d1.wait_for(s(5), "link back", |s| s.flags.is_empty());
    std::thread::sleep(DEADTIME * 2);
    assert_eq!(
        d1.status().unwrap().state,
        "inactive",
        "no fail-back\n{}",
        d1.log()
    );
    assert!(d2.active());
    // The link fails again, and the admin turns link monitoring off: nothing will report
    // the link back, so the reload ends LINKFAIL itself.
    lan.port("d1", false);
    d1.wait_for(s(5), "LINKFAIL", |s| {
        s.flags.contains(&"LINKFAIL".to_owned())
    });
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("monitor_links = 1", "monitor_links = 0")).unwrap();
    d1.signal(Signal::SIGHUP);
    d1.wait_for(s(5), "LINKFAIL cleared", |s| {
        s.reloads == 1 && s.flags.is_empty()
    });
    lan.port("d1", true);
    // With the link back, exactly one director ends up active.
    testkit::wait::expect_until(
        s(15),
        || d1.active() != d2.active() && lan.has_vip("d1") != lan.has_vip("d2"),
        || format!("d1 {:?}\nd2 {:?}", d1.status(), d2.status()),
    );
    // No readiness socket file is left behind once lvsd is gone (it stays while lvsd runs:
    // its keep-alives come on it).
    assert_eq!(d1.stop(), Some(0));
    assert_eq!(d2.stop(), Some(0));
    let left: Vec<_> = std::fs::read_dir(&lan.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".pulse-ready"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn sighup_reloads_pulse_and_lvsd_and_keeps_a_broken_file_out() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    let (cfg, d1, d2) = cluster(&mut lan, "");
    let lvsd = d1.status().unwrap().child.unwrap().pid;
    // A second virtual server on a new address, and faster heartbeats.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let second = text
        .split("virtual web {")
        .nth(1)
        .unwrap()
        .replace(VIP, "10.7.0.51")
        .replace("eth0:1", "eth0:2");
    // And a private heartbeat path (only it changes: the public socket is kept).
    lan.on("d1", "ip addr add 10.7.1.1/24 dev eth0");
    lan.on("d2", "ip addr add 10.7.1.2/24 dev eth0");
    let new = format!(
        "{}virtual web2 {{{second}",
        text.replace("keepalive = 0.2", "keepalive = 0.1").replace(
            "backup = 10.7.0.2\n",
            "backup = 10.7.0.2\nprimary_private = 10.7.1.1\nbackup_private = 10.7.1.2\n"
        )
    );
    std::fs::write(&cfg, &new).unwrap();
    d1.signal(Signal::SIGHUP);
    d2.signal(Signal::SIGHUP);
    d1.wait_for(s(5), "the new address", |s| {
        s.vips.contains(&"10.7.0.51/32 eth0:2".to_owned())
            && s.keepalive_ms == 100
            && s.reloads == 1
    });
    d1.wait_log(s(3), "rereading configuration file");
    let sockets = lan.on("d1", "ss -uln");
    assert!(
        sockets.contains("10.7.1.1:539") && sockets.contains("10.7.0.1:539"),
        "{sockets}\n{}",
        d1.log()
    );
    // lvsd got the signal too (the same process, now serving both addresses).
    assert_eq!(d1.status().unwrap().child.unwrap().pid, lvsd);
    d1.wait_log(s(5), "lvs: rereading configuration file");
    testkit::wait::expect_until(
        s(10),
        || {
            let got = in_ns(&lan.ns("c"), || {
                use std::io::{Read, Write};
                let mut c = std::net::TcpStream::connect("10.7.0.51:80").ok()?;
                c.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
                let mut s = String::new();
                c.read_to_string(&mut s).ok()?;
                Some(s)
            });
            got.is_some_and(|s| s.contains("200 OK"))
        },
        || format!("10.7.0.51 not served\n{}", d1.log()),
    );
    // The inactive node has no lvsd: SIGHUP must not signal its own process group.
    d2.wait_for(s(5), "reload on d2", |s| {
        s.reloads == 1 && s.keepalive_ms == 100
    });
    assert_eq!(d2.status().unwrap().state, "inactive");
    // USR1 and USR2 are harmless.
    d1.signal(Signal::SIGUSR1);
    d1.signal(Signal::SIGUSR2);
    d1.wait_log(s(5), "ignoring signal 12 (SIGUSR2)");
    // A broken file: said, and the running configuration kept.
    std::fs::write(&cfg, new.replace("port = 80", "port = 80 80")).unwrap();
    d1.signal(Signal::SIGHUP);
    d1.wait_log(s(5), "keeping the running configuration");
    let st = d1.status().unwrap();
    assert_eq!(st.state, "active");
    assert_eq!(st.vips.len(), 2);
    assert_eq!(st.reloads, 1);
    assert!(
        d1.log().contains(".cf:"),
        "diagnostics name the file: {}",
        d1.log()
    );
    // Back to one address: the other goes down.
    std::fs::write(&cfg, &text).unwrap();
    d1.signal(Signal::SIGHUP);
    d1.wait_for(s(5), "one address", |s| {
        s.vips == ["10.7.0.50/32 eth0:1"] && s.reloads == 2
    });
    assert!(!sh(&format!("ip -n {} -o addr", lan.ns("d1"))).contains("10.7.0.51"));
    assert!(lan.get().is_some());
}

#[test]
fn a_stopped_lvsd_is_killed_as_hung_and_the_partner_takes_over() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    lan.web("r1");
    lan.web("r2");
    let cfg = lan.config(KA, DT, "");
    let d1 = lan.pulse("d1", &cfg, &["--child-watchdog", "1"]);
    let d2 = lan.pulse("d2", &cfg, &["--child-watchdog", "1"]);
    d1.wait_for(s(10), "active d1", |s| {
        s.state == "active" && s.child.as_ref().is_some_and(|c| c.state == "ready")
    });
    assert!(lan.served_within(s(10)).is_some());
    // A ready lvsd that keeps sending its keep-alives is left alone.
    std::thread::sleep(Duration::from_secs(2));
    assert!(d1.active(), "{}", d1.log());
    // lvsd stopped: its keep-alives stop, pulse kills it after a second, CHILDFAIL moves the
    // service to d2.
    let lvsd = d1.status().unwrap().child.unwrap().pid;
    let t0 = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(lvsd as i32), Signal::SIGSTOP).unwrap();
    d2.wait_for(s(10), "takeover after a hung lvsd", |s| {
        s.state == "active" && !s.vips.is_empty()
    });
    let took = t0.elapsed();
    d1.wait_log(
        s(3),
        &format!("lvsd (pid {lvsd}) sent no keep-alive for 1s: killing it as hung"),
    );
    d1.wait_log(s(3), "CHILDFAIL");
    assert!(took < s(4), "took {took:?}");
    assert!(lan.served_within(s(10)).is_some(), "{}", d2.log());
    assert!(
        !std::path::Path::new(&format!("/proc/{lvsd}")).exists(),
        "the stopped lvsd is still there"
    );
    assert_eq!(d1.stop(), Some(0));
    assert_eq!(d2.stop(), Some(0));
}
