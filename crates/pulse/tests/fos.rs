//! pulse in FOS mode with real fos and nanny processes: two nodes in network namespaces, a
//! client that is also their default gateway, and a web service (busybox httpd) that
//! `start_cmd`/`stop_cmd` scripts start and stop in each node's private /run.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::Signal;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The service scripts and the FOS file; `start` replaces the start script's body.
fn fos_config(lan: &Lan, timeout: u32, start: Option<&str>) -> PathBuf {
    let d = &lan.dir;
    let start_sh = d.join("start.sh");
    let body = start.map(str::to_owned).unwrap_or_else(|| {
        "mkdir -p /run/www\n\
         if ip -o addr show dev eth0 | grep -q ' 10.7.0.1/'; then echo d1; else echo d2; fi > /run/www/index.html\n\
         busybox httpd -f -p 8080 -h /run/www > /dev/null 2>&1 &\n\
         echo $! > /run/httpd.pid\n"
            .to_owned()
    });
    std::fs::write(&start_sh, body).unwrap();
    std::fs::write(
        d.join("stop.sh"),
        "if [ -f /run/httpd.pid ]; then kill $(cat /run/httpd.pid) 2>/dev/null; rm -f /run/httpd.pid; fi\n\
         echo stopped >> /run/stops\n",
    )
    .unwrap();
    let text = format!(
        "serial_no = 1\nprimary = 10.7.0.1\nbackup = 10.7.0.2\nbackup_active = 1\nservice = fos\n\
         keepalive = 0.5\ndeadtime = 2\n\
         failover web {{\n\
         \x20   active = 1\n\
         \x20   address = {VIP} eth0:1\n\
         \x20   port = 8080\n\
         \x20   send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n\
         \x20   expect = \"HTTP\"\n\
         \x20   timeout = {timeout}\n\
         \x20   client_monitor = {}\n\
         \x20   start_cmd = \"/bin/sh {}\"\n\
         \x20   stop_cmd = \"/bin/sh {}\"\n\
         }}\n",
        bin("nanny").display(),
        start_sh.display(),
        d.join("stop.sh").display()
    );
    let p = d.join(format!("fos{timeout}.cf"));
    std::fs::write(&p, text).unwrap();
    p
}

/// The two nodes route through the client, which answers their gateway pings.
fn fos_lan() -> Lan {
    if !have_busybox() {
        panic!("busybox is missing: apt-get install busybox-static");
    }
    let lan = Lan::new();
    lan.on("d1", "ip route add default via 10.7.0.100");
    lan.on("d2", "ip route add default via 10.7.0.100");
    lan
}

fn have_busybox() -> bool {
    std::process::Command::new("busybox")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
}

fn fos_pulse(lan: &Lan, n: &str, cfg: &Path, extra: &[&str]) -> Pulse {
    let fos = bin("fos");
    let mut args = vec!["--fos", fos.to_str().unwrap()];
    args.extend_from_slice(extra);
    lan.pulse(n, cfg, &args)
}

/// The page through the VIP: which node serves it.
fn page(lan: &Lan) -> Option<String> {
    in_ns(&lan.ns("c"), || {
        let addr: SocketAddr = format!("{VIP}:8080").parse().unwrap();
        let mut c = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
        c.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
        c.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
        let mut t = String::new();
        c.read_to_string(&mut t).ok()?;
        t.split("\r\n\r\n").nth(1).map(|b| b.trim().to_owned())
    })
}

fn wait_page(lan: &Lan, want: &str, within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        if page(lan).as_deref() == Some(want) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < within,
            "not served by {want} within {within:?} (got {:?})",
            page(lan)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pid of the web server a node runs, if any.
fn httpd(p: &Pulse) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{}/root/run/httpd.pid", p.pid()))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn kill_service(p: &Pulse) {
    let pid = httpd(p).expect("the active node runs the service");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).unwrap();
}

fn started(lan: &Lan, cfg: &Path) -> (Pulse, Pulse) {
    let d1 = fos_pulse(lan, "d1", cfg, &[]);
    let d2 = fos_pulse(lan, "d2", cfg, &[]);
    d1.wait_for(s(10), "active d1", |s| {
        s.state == "active" && !s.vips.is_empty()
    });
    wait_page(lan, "d1", s(15));
    (d1, d2)
}

#[test]
fn service_failure_and_node_failure_move_the_service() {
    if !root_or_skip() {
        return;
    }
    let lan = fos_lan();
    let cfg = fos_config(&lan, 1, None);
    let (d1, d2) = started(&lan, &cfg);
    let st = d1.status().unwrap();
    assert_eq!((st.mode.as_str(), st.role.as_str()), ("fos", "master"));
    assert_eq!(st.child.as_ref().map(|c| c.program.as_str()), Some("fos"));
    // The service runs on the active node only; the other monitors it.
    d2.wait_for(s(5), "monitor", |s| {
        s.state == "inactive" && s.child.is_some()
    });
    assert!(httpd(&d2).is_none() && !lan.has_vip("d2"));
    d2.wait_log(s(10), "Remote service 10.7.0.50:8080 is available");

    // The service dies on d1: d2's monitor sees it, d2 checks its gateway, takes over with
    // STOPME, and d1 goes back to monitoring.
    let t0 = Instant::now();
    kill_service(&d1);
    let took = wait_page(&lan, "d2", s(20));
    assert!(took < s(10), "took {took:?}");
    d2.wait_log(s(2), "fos process exited -- checking network connectivity");
    d2.wait_log(
        s(2),
        "seems like a remote network fault; performing service failover",
    );
    d2.wait_log(s(2), "Notifying partner WE are taking control!");
    d1.wait_log(s(5), "PARTNER HAS TOLD US TO GO INACTIVE!");
    d1.wait_for(s(10), "d1 monitoring", |s| {
        s.state == "inactive" && s.vips.is_empty()
    });
    assert!(httpd(&d1).is_none(), "the old node stopped its copy");
    assert!(lan.has_vip("d2") && !lan.has_vip("d1"));
    eprintln!(
        "service failure: served by d2 {:?} after the kill",
        t0.elapsed()
    );
    // STOPME stops once d1 says STOPPED.
    d2.wait_for(s(5), "FAILPARTNER cleared", |s| {
        !s.flags.contains(&"FAILPARTNER".to_owned())
    });

    // kill -9 of pulse on the active node: fos dies with it and stops the service; d1 takes
    // over (its monitor sees the service go, or deadtime passes, whichever comes first).
    d2.kill9();
    wait_page(&lan, "d1", s(15));
    assert!(d1.active());
    assert_eq!(d1.stop(), Some(0));
}

#[test]
fn no_takeover_without_the_gateway_and_recovery_when_it_returns() {
    if !root_or_skip() {
        return;
    }
    let lan = fos_lan();
    let cfg = fos_config(&lan, 1, None);
    let (d1, d2) = started(&lan, &cfg);
    d2.wait_log(s(10), "Remote service 10.7.0.50:8080 is available");
    // d2 cannot reach its gateway (its pings are dropped; heartbeats still flow).
    lan.on(
        "d2",
        "nft 'add table inet gw ; add chain inet gw out { type filter hook output priority 0 ; } ; \
         add rule inet gw out icmp type echo-request drop'",
    );
    kill_service(&d1);
    d2.wait_log(s(15), "I SEEM TO HAVE A NETWORK FAULT!");
    d2.wait_for(s(2), "fault flag", |s| {
        s.flags.contains(&"NETWORKFAULT".to_owned())
    });
    std::thread::sleep(s(3));
    assert_eq!(
        d2.status().unwrap().state,
        "inactive",
        "took over without a gateway"
    );
    assert!(!lan.has_vip("d2"));
    // The network comes back: d2 notices by itself, restarts its monitor, and takes over.
    lan.on("d2", "nft delete table inet gw");
    d2.wait_log(s(10), "Network fault seems to be fixed");
    wait_page(&lan, "d2", s(20));
    assert!(d2.active());
}

#[test]
fn hold_down_ends_the_ping_pong_of_a_service_that_never_starts() {
    if !root_or_skip() {
        return;
    }
    let lan = fos_lan();
    let cfg = fos_config(&lan, 1, Some("exit 1\n"));
    let d1 = fos_pulse(&lan, "d1", &cfg, &["--max-failovers", "1"]);
    let d2 = fos_pulse(&lan, "d2", &cfg, &["--max-failovers", "1"]);
    // The service moves back and forth until one node refuses to take it again.
    let t0 = Instant::now();
    loop {
        let held = [&d1, &d2].iter().any(|p| {
            p.status()
                .is_some_and(|s| s.flags.contains(&"HOLDDOWN".to_owned()))
        });
        if held {
            break;
        }
        assert!(
            t0.elapsed() < s(60),
            "no hold-down\nd1:\n{}\nd2:\n{}",
            d1.log(),
            d2.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = d1.log() + &d2.log();
    assert!(log.contains("DID NOT START after 3 attempts"), "{log}");
    assert!(log.contains("HOLD-DOWN: 1 takeovers for failed services within 600 s"));
    // From then on nothing moves.
    let states = || {
        (
            d1.status().unwrap().state,
            d2.status().unwrap().state,
            lan.has_vip("d1"),
            lan.has_vip("d2"),
        )
    };
    let before = states();
    assert!(before.0 != before.1, "exactly one active: {before:?}");
    std::thread::sleep(s(8));
    assert_eq!(states(), before, "the cluster still moves");
}
