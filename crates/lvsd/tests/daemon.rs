//! lvsd as a process with real nannies against real listeners, in a network namespace, on the
//! in-memory table (`--memory-table`; the VM test does the same on the kernel's IPVS):
//! readiness, status, health changes, the sorry server, reload, a broken reload, dead nannies,
//! and shutdown.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lvsd::status::{RealStatus, Status};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testkit::netns::in_new_netns as in_netns;
use testkit::process::Proc;
use testkit::servers::TcpServer;
use testkit::status::read_json;
use testkit::tempdir::TempDir;
use testkit::{S, root_or_skip};

/// A TCP server on 127.0.0.1 answering `OK <name>` (`OK ` for [`server`]); stopping it
/// closes the listener.
fn named(port: u16, name: &str) -> TcpServer {
    TcpServer::reply(("127.0.0.1", port), format!("OK {name}\n"))
}

fn server(port: u16) -> TcpServer {
    named(port, "")
}

/// lvsd with its output, in a scratch directory that goes with it.
struct Lvsd {
    proc: Proc,
    dir: TempDir,
}

impl Lvsd {
    fn socket(&self) -> PathBuf {
        self.dir.join("lvsd.sock")
    }

    fn status(&self) -> Option<Status> {
        read_json(&self.socket())
    }

    /// Wait until `pred` holds for the status report.
    fn until(&self, what: &str, within: Duration, pred: impl Fn(&Status) -> bool) -> Status {
        testkit::wait::expect(
            within,
            || self.status().filter(|s| pred(s)),
            || {
                format!(
                    "{what}: last status {:#?}\noutput:\n{}",
                    self.status(),
                    self.output()
                )
            },
        )
    }

    fn signal(&self, s: Signal) {
        self.proc.signal(s);
    }

    fn output(&self) -> String {
        self.proc.text()
    }

    /// The exit code; panics with the output if lvsd still runs after `within`.
    fn wait(&mut self, within: Duration) -> Option<i32> {
        self.proc.exit_code(within)
    }
}

fn real<'a>(s: &'a Status, name: &str) -> &'a RealStatus {
    s.virtual_servers[0]
        .real_servers
        .iter()
        .find(|r| r.name == name)
        .unwrap()
}

fn config(hard_shutdown: u8, weight_b: u32) -> String {
    format!(
        "primary = 10.0.0.1\nservice = lvs\nhard_shutdown = {hard_shutdown}\n\
         virtual web {{\n active = 1\n address = 192.0.2.10 eth0:1\n port = 80\n expect = \"OK\"\n\
         timeout = 1\n reentry = 1\n sorry_server = 127.0.0.9\n\
         server a {{\n  address = 127.0.0.1\n  port = 7201\n  weight = 2\n  active = 1\n }}\n\
         server b {{\n  address = 127.0.0.1\n  port = 7202\n  weight = {weight_b}\n  active = 1\n }}\n}}\n"
    )
}

/// Start lvsd on `cfg` and wait for READY=1 on its notify socket.
fn start(name: &str, cfg: &str) -> Lvsd {
    start_with(name, cfg, &["--memory-table"])
}

fn start_with(name: &str, cfg: &str, extra: &[&str]) -> Lvsd {
    let dir = TempDir::new(&format!("lvsd-test-{name}"));
    dir.write("lvs.cf", cfg);
    let notify = UnixDatagram::bind(dir.join("notify")).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let proc = Proc::spawn(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .arg("-n")
            .args(extra)
            .arg("--nanny")
            .arg(testkit::bins::bin("nanny"))
            .arg("-c")
            .arg(dir.join("lvs.cf"))
            .arg("--socket")
            .arg(dir.join("lvsd.sock"))
            .env("NOTIFY_SOCKET", dir.join("notify")),
    );
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY=1 from lvsd");
    assert_eq!(&buf[..n], b"READY=1");
    Lvsd { proc, dir }
}

fn cmdline(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .replace('\0', " ")
}

#[test]
fn lvsd_runs_nannies_and_follows_their_verdicts() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let a = server(7201);
        let b = server(7202);
        let mut d = start("main", &config(0, 3));
        let s = d.until("both up", S(10), |s| {
            s.virtual_servers[0]
                .real_servers
                .iter()
                .all(|r| r.health == "up" && r.in_table)
        });
        let v = &s.virtual_servers[0];
        assert_eq!(
            (v.service.as_str(), v.scheduler.as_str(), v.sorry_active),
            ("TCP 192.0.2.10:80", "wlc", false)
        );
        // Weights start at weight >> 5, at least 1, as piranha's nanny.
        assert_eq!((real(&s, "a").weight, real(&s, "b").weight), (1, 1));
        // The nanny runs with piranha's argv shape, plus --report.
        let pid_a = real(&s, "a").nanny_pid.unwrap();
        assert!(
            cmdline(pid_a).contains("-c -h 127.0.0.1 -p 80 -r 7201 -x OK -a 1 -I /sbin/ipvsadm -t 1 -w 2 -V 192.0.2.10 -M m --nodaemon --lvs --report"),
            "{}",
            cmdline(pid_a)
        );
        assert!(
            d.output()
                .contains("starting virtual service web active: 80")
        );
        assert!(
            d.output()
                .contains(&format!("create_monitor for web/a running as pid {pid_a}"))
        );

        // One server fails: out of the table; the other stays.
        a.stop();
        let s = d.until("a down", S(6), |s| real(s, "a").health == "down");
        assert!(
            !real(&s, "a").in_table && real(&s, "b").in_table && !s.virtual_servers[0].sorry_active
        );
        // Both down: the sorry server comes in.
        b.stop();
        d.until("sorry on", S(6), |s| s.virtual_servers[0].sorry_active);
        assert!(
            d.output()
                .contains("Virtual Server web: No real servers; activate sorry_server 127.0.0.9")
        );
        // One back: the sorry server goes.
        let a = server(7201);
        let s = d.until("a back", S(6), |s| real(s, "a").in_table);
        d.until("sorry off", S(4), |s| !s.virtual_servers[0].sorry_active);
        assert!(
            d.output()
                .contains("Virtual Server web: 1 real servers; deactivate sorry_server 127.0.0.9")
        );
        let _b = server(7202);
        d.until("b back", S(6), |s| real(s, "b").in_table);

        // Reload with b's weight changed: only b's nanny is restarted, a's keeps its pid.
        std::fs::write(d.dir.join("lvs.cf"), config(0, 7)).unwrap();
        d.signal(Signal::SIGHUP);
        let s2 = d.until("reloaded", S(6), |s| {
            s.reloads == 1 && real(s, "b").configured_weight == 7
        });
        assert_eq!(real(&s2, "a").nanny_pid, real(&s, "a").nanny_pid);
        assert_ne!(real(&s2, "b").nanny_pid, None, "{}", d.output());
        assert_eq!(real(&s2, "b").weight, 7, "weight set in place");
        let pid_b = real(&s2, "b").nanny_pid.unwrap();
        assert!(
            cmdline(pid_b).contains("-w 7") && cmdline(pid_b).ends_with("--assume-up 7 "),
            "{}",
            cmdline(pid_b)
        );

        // A broken file changes nothing.
        std::fs::write(
            d.dir.join("lvs.cf"),
            config(0, 7).replace("timeout = 1", "timeout = soon"),
        )
        .unwrap();
        d.signal(Signal::SIGHUP);
        d.proc
            .expect_line("keeping the running configuration", S(5));
        assert!(d.output().contains("lvs: error parsing"), "{}", d.output());
        let s3 = d.status().unwrap();
        assert_eq!(s3.reloads, 1);
        assert_eq!(real(&s3, "a").nanny_pid, real(&s2, "a").nanny_pid);

        // kill -9 of a nanny with hard_shutdown = 0: restarted, server kept under watch.
        kill(
            Pid::from_raw(real(&s3, "a").nanny_pid.unwrap() as i32),
            Signal::SIGKILL,
        )
        .unwrap();
        let s4 = d.until("a restarted", S(8), |s| {
            real(s, "a").nanny_restarts == 1 && real(s, "a").nanny_pid.is_some()
        });
        assert_ne!(real(&s4, "a").nanny_pid, real(&s3, "a").nanny_pid);
        assert!(real(&s4, "a").in_table);
        assert!(
            d.output()
                .contains("nanny for child web/a died! restarting it in 1 s"),
            "{}",
            d.output()
        );

        // SIGTERM: nannies stopped, exit 0, socket removed.
        let pid = real(&s4, "b").nanny_pid.unwrap();
        d.signal(Signal::SIGTERM);
        assert_eq!(d.wait(S(15)), Some(0), "{}", d.output());
        assert!(!d.socket().exists());
        assert!(!Path::new(&format!("/proc/{pid}")).exists() || cmdline(pid).is_empty());
        drop(a);
    });
}

#[test]
fn hard_shutdown_stops_lvsd_when_a_nanny_dies() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let _a = server(7201);
        let _b = server(7202);
        let mut d = start("hard", &config(1, 3));
        let s = d.until("up", S(10), |s| real(s, "a").in_table);
        kill(
            Pid::from_raw(real(&s, "a").nanny_pid.unwrap() as i32),
            Signal::SIGKILL,
        )
        .unwrap();
        assert_eq!(d.wait(S(15)), Some(1), "{}", d.output());
        assert!(
            d.output()
                .contains("nanny for child web/a died! shutting down lvs"),
            "{}",
            d.output()
        );
    });
}

#[test]
fn test_start_builds_in_memory_and_starts_no_nanny() {
    let dir = TempDir::new("lvsd-ts");
    dir.write("lvs.cf", &config(1, 3));
    let proc = Proc::spawn(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["-n", "-t", "-c"])
            .arg(dir.join("lvs.cf"))
            .arg("--socket")
            .arg(dir.join("lvsd.sock")),
    );
    let mut d = Lvsd { proc, dir };
    let s = d.until("status", S(10), |_| true);
    assert!(s.test_start);
    assert_eq!(s.virtual_servers[0].real_servers.len(), 2);
    assert!(
        s.virtual_servers[0]
            .real_servers
            .iter()
            .all(|r| r.nanny_pid.is_none() && r.health == "unknown")
    );
    // The human view.
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .arg("--status")
        .arg("--socket")
        .arg(d.socket())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("web TCP 192.0.2.10:80 wlc sorry 127.0.0.9"),
        "{text}"
    );
    assert!(text.contains("127.0.0.1:7201"), "{text}");
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(S(10)), Some(0));
}

#[test]
fn errors_before_start() {
    let dir = TempDir::new("lvsd-err");
    dir.write(
        "bad.cf",
        "primary = 10.0.0.1\nservice = lvs\nvirtual web {\n active = 2\n}\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["-n", "-c"])
        .arg(dir.join("bad.cf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lvs: error parsing"), "{err}");
    assert!(
        err.contains("bad.cf:4:"),
        "diagnostics with file:line:column: {err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["--status", "--socket", "/nonexistent/sock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// Read one line from the VIP.
fn through(vip: &str) -> String {
    let s = std::net::TcpStream::connect(vip).unwrap();
    s.set_read_timeout(Some(S(5))).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line.trim().to_owned()
}

#[test]
fn userspace_dataplane_balances_and_drops_a_dead_server() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let a = named(7201, "a");
        let _b = named(7202, "b");
        let cfg = config(0, 1)
            .replace(
                "address = 192.0.2.10 eth0:1\n port = 80",
                "address = 127.0.0.100 lo:1\n port = 8080\n scheduler = rr",
            )
            .replace(" sorry_server = 127.0.0.9\n", "");
        let mut d = start_with("uplane", &cfg, &["--dataplane", "userspace"]);
        d.until("both up", S(10), |s| {
            s.virtual_servers[0].real_servers.iter().all(|r| r.in_table)
        });
        let mut got: Vec<String> = (0..4).map(|_| through("127.0.0.100:8080")).collect();
        got.sort();
        assert_eq!(got, ["OK a", "OK a", "OK b", "OK b"], "{}", d.output());
        // The status shows the data plane's counters (a connection's bytes are counted when
        // its copy ends, which may be just after the client has read the reply).
        let s = d.until("the counters of 4 connections", S(5), |s| {
            s.virtual_servers[0]
                .real_servers
                .iter()
                .filter_map(|r| r.traffic)
                .map(|t| t.outbytes)
                .sum::<u64>()
                == 20
        });
        assert_eq!(s.dataplane, "userspace");
        assert_eq!(s.virtual_servers[0].traffic.map(|t| t.conns), Some(4));
        assert_eq!(
            real(&s, "a").traffic.map(|t| (t.conns, t.outbytes)),
            Some((2, 10))
        );
        // A dead backend leaves rotation within about one interval (timeout = 1).
        a.stop();
        let t = Instant::now();
        d.until("a out", S(5), |s| !real(s, "a").in_table);
        assert!(t.elapsed() < S(3), "{:?}", t.elapsed());
        for _ in 0..4 {
            assert_eq!(through("127.0.0.100:8080"), "OK b");
        }
        d.signal(Signal::SIGTERM);
        assert_eq!(d.wait(S(15)), Some(0), "{}", d.output());
        // The VIP's port is free again: the listener went with the service.
        assert!(std::net::TcpListener::bind("127.0.0.100:8080").is_ok());
    });
}
