//! lvsd as a process with real nannies against real listeners, in a network namespace, on the
//! in-memory table (`--memory-table`; the VM test does the same on the kernel's IPVS):
//! readiness, status, health changes, the sorry server, reload, a broken reload, dead nannies,
//! and shutdown; and on the userspace data plane, the runtime server controls of the status
//! socket.

use std::io::{BufRead, BufReader};
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
    launch(dir, extra)
}

/// Start lvsd on the `lvs.cf` of `dir`, with its socket and state file there, and wait for
/// READY=1.
fn launch(dir: TempDir, extra: &[&str]) -> Lvsd {
    let proc = Proc::spawn_ready(
        Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .arg("-n")
            .args(extra)
            .arg("--nanny")
            .arg(testkit::bins::bin("nanny"))
            .arg("-c")
            .arg(dir.join("lvs.cf"))
            .arg("--socket")
            .arg(dir.join("lvsd.sock"))
            .arg("--state-file")
            .arg(dir.join("lvsd.state")),
        &dir.join("notify"),
        Duration::from_secs(20),
    );
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
        // The nannies' checks are counted and timed, not echoed as human lines.
        for r in &s.virtual_servers[0].real_servers {
            let last = r.last_check_duration_us.unwrap_or(0);
            assert!(r.checks >= 1 && r.checks_failed == 0, "{r:?}");
            assert!(last > 0 && r.check_duration_us_sum >= last, "{r:?}");
        }
        assert!(!d.output().contains("check="), "{}", d.output());
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
        assert!(real(&s, "a").checks_failed >= 1, "{:?}", real(&s, "a"));
        assert_eq!(real(&s, "b").checks_failed, 0);
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
        assert_eq!((s3.reloads, s3.reloads_failed), (1, 1));
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
        // The restarted nanny's checks add to the count.
        let before = real(&s4, "a").checks;
        d.until("a checked again", S(6), |s| real(s, "a").checks > before);
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

/// A TCP server on 127.0.0.1 that greets with `OK <name>` and then answers every line `l`
/// with `<name>: l`, so that a connection kept open shows where it goes.
fn echo(port: u16, name: &'static str) -> TcpServer {
    TcpServer::bind(("127.0.0.1", port), move |c, _| {
        use std::io::Write;
        let mut w = c.try_clone().unwrap();
        if w.write_all(format!("OK {name}\n").as_bytes()).is_err() {
            return;
        }
        for line in BufReader::new(c).lines() {
            let Ok(line) = line else { return };
            if w.write_all(format!("{name}: {line}\n").as_bytes()).is_err() {
                return;
            }
        }
    })
}

/// `lvsd ARGS --socket SOCKET`: (exit status, stderr).
fn ctl(d: &Lvsd, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(args)
        .arg("--socket")
        .arg(d.socket())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Write `bytes` to the status socket (then shut the writing side) and read the reply.
fn raw(d: &Lvsd, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut c = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    c.set_read_timeout(Some(S(5))).unwrap();
    c.write_all(bytes).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

fn admin(s: &Status, name: &str) -> Option<String> {
    real(s, name).admin.clone()
}

#[test]
fn runtime_controls_over_the_status_socket() {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let _a = echo(7201, "a");
        let _b = echo(7202, "b");
        let cfg = config(0, 1)
            .replace(
                "address = 192.0.2.10 eth0:1\n port = 80",
                "address = 127.0.0.100 lo:1\n port = 8080\n scheduler = rr",
            )
            .replace(" sorry_server = 127.0.0.9\n", "");
        let extra = ["--dataplane", "userspace", "--socket-group", "adm"];
        let d = start_with("controls", &cfg, &extra);
        // The socket belongs to the group, mode 0660.
        let md = std::fs::metadata(d.socket()).unwrap();
        let adm = nix::unistd::Group::from_name("adm").unwrap().unwrap();
        assert_eq!((md.gid(), md.mode() & 0o777), (adm.gid.as_raw(), 0o660));
        d.until("both up", S(10), |s| {
            s.virtual_servers[0].real_servers.iter().all(|r| r.in_table)
        });

        // A connection kept open, to x; the other server is y.
        let held = std::net::TcpStream::connect("127.0.0.100:8080").unwrap();
        held.set_read_timeout(Some(S(5))).unwrap();
        let mut lines = BufReader::new(held.try_clone().unwrap()).lines();
        let greeting = lines.next().unwrap().unwrap();
        let (x, y) = if greeting == "OK a" {
            ("a", "b")
        } else {
            ("b", "a")
        };

        // Drain x: weight 0, new clients go to y, the open connection goes on.
        assert_eq!(
            ctl(&d, &["--drain", &format!("web/{x}")]),
            (Some(0), String::new())
        );
        let s = d.until("x drained", S(5), |s| admin(s, x).is_some());
        assert_eq!(admin(&s, x).as_deref(), Some("drained"));
        assert!(real(&s, x).in_table && real(&s, x).weight == 0);
        d.proc
            .expect_line(&format!("lvs: web/{x}: drained by request"), S(5));
        for _ in 0..4 {
            assert_eq!(through("127.0.0.100:8080"), format!("OK {y}"));
        }
        (&held).write_all(b"still there?\n").unwrap();
        assert_eq!(lines.next().unwrap().unwrap(), format!("{x}: still there?"));

        // Disable x: out of the table, its nanny still checks it.
        let pid = real(&s, x).nanny_pid.unwrap();
        assert_eq!(ctl(&d, &["--disable", &format!("web/{x}")]).0, Some(0));
        let s = d.until("x disabled", S(5), |s| !real(s, x).in_table);
        assert_eq!(admin(&s, x).as_deref(), Some("disabled"));
        assert_eq!(
            (real(&s, x).health.as_str(), real(&s, x).nanny_pid),
            ("up", Some(pid))
        );
        d.proc
            .expect_line(&format!("lvs: web/{x}: disabled by request"), S(5));

        // Enable: back by its nanny's verdict.
        assert_eq!(ctl(&d, &["--enable", &format!("web/{x}")]).0, Some(0));
        let s = d.until("x back", S(5), |s| real(s, x).in_table);
        assert!(admin(&s, x).is_none() && real(&s, x).weight >= 1);
        d.proc
            .expect_line(&format!("lvs: web/{x}: enabled by request"), S(5));

        // An admin weight for b (configured 1): 5 in the table.
        assert_eq!(ctl(&d, &["--weight", "web/b", "5"]).0, Some(0));
        let s = d.until("b at 5", S(5), |s| real(s, "b").weight == 5);
        assert_eq!(admin(&s, "b").as_deref(), Some("weight 5"));
        d.proc.expect_line("lvs: web/b: weight 5 by request", S(5));
        assert_eq!(ctl(&d, &["--drain", "web/a"]).0, Some(0));

        // A reload (SIGHUP, then --reload) keeps them.
        d.signal(Signal::SIGHUP);
        let s = d.until("reloaded", S(5), |s| s.reloads == 1);
        assert_eq!(
            (admin(&s, "a").as_deref(), admin(&s, "b").as_deref()),
            (Some("drained"), Some("weight 5"))
        );
        assert_eq!(ctl(&d, &["--reload"]), (Some(0), String::new()));
        let s = d.until("reloaded again", S(5), |s| s.reloads == 2);
        assert_eq!((real(&s, "a").weight, real(&s, "b").weight), (0, 5));

        // Errors: an unknown server, a line too long, an unknown request; lvsd answers on.
        assert_eq!(
            ctl(&d, &["--drain", "web/r9"]),
            (Some(3), "lvsd: no real server web/r9\n".into())
        );
        let long = raw(&d, &[b'x'; 5 * 1024]);
        assert_eq!(
            long,
            "{\"ok\":false,\"error\":\"request line longer than 4096 bytes\"}\n"
        );
        assert_eq!(raw(&d, &[b'y'; 100 * 1024]), long);
        assert!(raw(&d, b"frobnicate\n").starts_with("{\"ok\":false,\"error\":\"unknown request"));
        assert!(raw(&d, b"drain w\xffb/a\n").contains("not UTF-8"));
        // A client that only closes its writing side gets the status.
        assert!(serde_json::from_str::<Status>(&raw(&d, b"")).is_ok());
        // A silent client does not hold lvsd, and is dropped after its time.
        let mut silent = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
        assert!(d.status().is_some(), "answers while a client is silent");
        silent.set_read_timeout(Some(S(5))).unwrap();
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut silent, &mut rest).unwrap();
        assert!(rest.is_empty());

        // A restart with the same state file keeps the controls.
        d.signal(Signal::SIGTERM);
        let Lvsd { mut proc, dir } = d;
        assert_eq!(proc.exit_code(S(15)), Some(0), "{}", proc.text());
        let state = std::fs::read_to_string(dir.join("lvsd.state")).unwrap();
        assert_eq!(state, "control\tdrained\tweb/a\ncontrol\tweight 5\tweb/b\n");
        let mut d = launch(dir, &extra);
        let s = d.until("both back", S(10), |s| {
            s.virtual_servers[0].real_servers.iter().all(|r| r.in_table)
        });
        assert_eq!((real(&s, "a").weight, real(&s, "b").weight), (0, 5));
        assert_eq!(
            (admin(&s, "a").as_deref(), admin(&s, "b").as_deref()),
            (Some("drained"), Some("weight 5"))
        );
        assert!(
            d.output()
                .contains("lvs: web/a: drained (kept from before)")
        );
        d.signal(Signal::SIGTERM);
        assert_eq!(d.wait(S(15)), Some(0), "{}", d.output());
    });
    // An unknown group is refused before anything starts, with the usage status.
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["-n", "-t", "--socket-group", "no-such-group-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "lvsd: --socket-group: no group no-such-group-here\n"
    );
}
