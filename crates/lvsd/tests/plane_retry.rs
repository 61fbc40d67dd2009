//! No request lost to a real server that died: lvsd on the userspace data plane, with real
//! nannies, in a network namespace of its own per test. A server that refuses, one whose SYNs
//! are dropped (nftables), nginx stopped and killed under load, and every server dead: the
//! plane tries the next server (and sends a request a dying server reset unanswered to
//! another), lvsd takes the failed one out at once (before its nanny's next check),
//! and its nanny's next good check brings it back. And a VIP port another process holds:
//! the service is added once the port is free.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lvsd::status::{RealStatus, Status};
use nix::sys::signal::Signal;
use testkit::netns::in_new_netns;
use testkit::nginx::{NGINX, Nginx};
use testkit::process::Proc;
use testkit::servers::TcpServer;
use testkit::status::read_json;
use testkit::tempdir::TempDir;
use testkit::{MS, S, have, must, root_or_skip};

const VIP: &str = "127.0.0.100:8080";

struct Lvsd {
    proc: Proc,
    dir: TempDir,
}

impl Lvsd {
    /// lvsd on the userspace data plane with `cfg`, ready (READY=1).
    fn start(cfg: &str) -> Lvsd {
        let dir = TempDir::new("lvsd-retry");
        dir.write("lvs.cf", cfg);
        let proc = Proc::spawn_ready(
            Command::new(env!("CARGO_BIN_EXE_lvsd"))
                .args(["-n", "--dataplane", "userspace", "--nanny"])
                .arg(testkit::bins::bin("nanny"))
                .arg("-c")
                .arg(dir.join("lvs.cf"))
                .arg("--socket")
                .arg(dir.join("lvsd.sock"))
                .arg("--state-file")
                .arg(dir.join("lvsd.state")),
            &dir.join("notify"),
            S(20),
        );
        Lvsd { proc, dir }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("lvsd.sock")
    }

    fn status(&self) -> Option<Status> {
        read_json(&self.socket())
    }

    fn until(&self, what: &str, within: Duration, pred: impl Fn(&Status) -> bool) -> Status {
        testkit::wait::expect(
            within,
            || self.status().filter(|s| pred(s)),
            || {
                format!(
                    "{what}: last status {:#?}\noutput:\n{}",
                    self.status(),
                    self.proc.text()
                )
            },
        )
    }

    fn all_in(&self) -> Status {
        self.until("every server in the table", S(15), |s| {
            s.virtual_servers[0].real_servers.iter().all(|r| r.in_table)
        })
    }

    fn stop(mut self) {
        self.proc.signal(Signal::SIGTERM);
        assert_eq!(self.proc.exit_code(S(15)), Some(0), "{}", self.proc.text());
    }
}

fn real<'a>(s: &'a Status, name: &str) -> &'a RealStatus {
    s.virtual_servers[0]
        .real_servers
        .iter()
        .find(|r| r.name == name)
        .unwrap()
}

/// A virtual server on [`VIP`] (rr) over servers `a` and `b` on 127.0.0.1 at these ports;
/// `timeout` is the nannies' check interval, `extra` more lines of the block.
fn config(ports: [u16; 2], timeout: u32, extra: &str, send: &str) -> String {
    format!(
        "primary = 10.0.0.1\nservice = lvs\nhard_shutdown = 0\n\
         virtual web {{\n active = 1\n address = 127.0.0.100 lo:1\n port = 8080\n scheduler = rr\n\
         {send} timeout = {timeout}\n reentry = {timeout}\n{extra}\
         server a {{\n  address = 127.0.0.1\n  port = {}\n  active = 1\n }}\n\
         server b {{\n  address = 127.0.0.1\n  port = {}\n  active = 1\n }}\n}}\n",
        ports[0], ports[1]
    )
}

fn named(port: u16, name: &str) -> TcpServer {
    TcpServer::reply(("127.0.0.1", port), format!("OK {name}\n"))
}

/// One line through the VIP; `None` when the connection is reset or closed without one.
fn through() -> Option<String> {
    let s = TcpStream::connect(VIP).ok()?;
    s.set_read_timeout(Some(S(10))).ok()?;
    let mut line = String::new();
    match BufReader::new(s).read_line(&mut line) {
        Ok(n) if n > 0 => Some(line.trim().to_owned()),
        _ => None,
    }
}

#[test]
fn a_refusing_server_costs_no_request_and_leaves_rotation_at_once() {
    if !root_or_skip() {
        return;
    }
    in_new_netns(|| {
        let a = named(7201, "a");
        let _b = named(7202, "b");
        // A 30 s check interval: anything faster than that is the data plane's doing.
        let d = Lvsd::start(&config([7201, 7202], 30, "", " expect = \"OK\"\n"));
        d.all_in();
        a.stop();
        let got: Vec<Option<String>> = (0..20).map(|_| through()).collect();
        assert!(
            got.iter().all(|g| g.as_deref() == Some("OK b")),
            "{got:?}\n{}",
            d.proc.text()
        );
        let s = d.until("a out of rotation", S(5), |s| !real(s, "a").in_table);
        let ra = real(&s, "a");
        assert!(ra.plane_down, "{ra:?}");
        assert!(ra.plane_failures >= 1, "{ra:?}");
        assert_eq!(ra.checks_failed, 0, "its nanny has not noticed yet: {ra:?}");
        assert!(
            d.proc
                .text()
                .contains("web/a: connecting failed (refused): out of rotation"),
            "{}",
            d.proc.text()
        );
        d.stop();
    });
}

#[test]
fn a_blackholed_server_costs_connect_timeout_and_leaves_before_its_nannys_next_check() {
    if !root_or_skip() || !have("nft", "nftables") {
        return;
    }
    in_new_netns(|| {
        let _a = named(7201, "a");
        let _b = named(7202, "b");
        let d = Lvsd::start(&config(
            [7201, 7202],
            30,
            " connect_timeout = 0.5\n",
            " expect = \"OK\"\n",
        ));
        let before = d.all_in();
        let checks = real(&before, "a").checks;
        // SYNs to a are dropped: connecting to it times out.
        must(
            "nft 'add table inet hole; add chain inet hole out { type filter hook output priority 0; }; \
             add rule inet hole out tcp dport 7201 tcp flags syn drop'",
        );
        let t = Instant::now();
        let got: Vec<Option<String>> = (0..6).map(|_| through()).collect();
        let took = t.elapsed();
        assert!(
            got.iter().all(|g| g.as_deref() == Some("OK b")),
            "{got:?}\n{}",
            d.proc.text()
        );
        // One client waited for the timeout; the server was out before the next one.
        assert!(took >= MS(500), "{took:?}");
        let s = d.until("a out of rotation", S(5), |s| !real(s, "a").in_table);
        let ra = real(&s, "a");
        assert!(ra.plane_down && ra.health == "up", "{ra:?}");
        assert_eq!(
            (ra.checks, ra.checks_failed),
            (checks, 0),
            "out before its nanny's next check: {ra:?}"
        );
        assert!(
            d.proc
                .text()
                .contains("web/a: connecting failed (timeout): out of rotation"),
            "{}",
            d.proc.text()
        );
        d.stop();
    });
}

/// A minimal HTTP client: whether `GET /` through the VIP got a 200.
fn get() -> bool {
    let Ok(mut s) = TcpStream::connect(VIP) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(S(10)));
    if s.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n").is_err() {
        return false;
    }
    let mut body = Vec::new();
    s.read_to_end(&mut body).is_ok() && body.starts_with(b"HTTP/1.1 200")
}

/// Clients sending requests in a loop, each one after the other, until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let threads = (0..clients)
            .map(|_| {
                let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let c = if get() { &ok } else { &failed };
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Load {
            stop,
            ok,
            failed,
            threads,
        }
    }

    /// Wait until `n` more requests succeeded (bounded).
    fn more(&self, n: u64) {
        let want = self.ok.load(Ordering::Relaxed) + n;
        testkit::wait::expect_until(
            S(30),
            || self.ok.load(Ordering::Relaxed) >= want,
            || format!("{n} more requests did not succeed"),
        );
    }

    /// (succeeded, failed) so far.
    fn counts(&self) -> (u64, u64) {
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }

    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

#[test]
fn nginx_stopped_then_killed_under_load_loses_no_request() {
    if !root_or_skip() || !have(NGINX, "nginx-light") {
        return;
    }
    in_new_netns(|| {
        let n1 = Nginx::start("127.0.0.1:7401", "n1");
        let n2 = Nginx::start("127.0.0.1:7402", "n2");
        let _n3 = Nginx::start("127.0.0.1:7403", "n3");
        let cfg = config(
            [7401, 7402],
            30,
            "server c {\n  address = 127.0.0.1\n  port = 7403\n  active = 1\n }\n",
            " send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n expect = \"HTTP/1.1 200\"\n",
        );
        let d = Lvsd::start(&cfg);
        d.all_in();
        // Eight clients, each sending requests one after the other.
        let load = Load::start(8);
        load.more(300);
        // n1 stops (closes its listener, finishes what it has): not one request fails.
        n1.signal(Signal::SIGQUIT);
        n1.wait_exit(S(10));
        load.more(500);
        let (ok, failed) = load.counts();
        assert_eq!(failed, 0, "{ok} ok\n{}", d.proc.text());
        d.until("n1 out of rotation", S(5), |s| !real(s, "a").in_table);
        // n2 is killed: the requests it had accepted but not answered are reset, and sent
        // to n3 again (see uplane::replay); every later one goes to n3.
        n2.signal(Signal::SIGKILL);
        n2.wait_exit(S(10));
        load.more(500);
        let (ok, failed) = load.stop();
        eprintln!("after the kill: {ok} requests succeeded, {failed} failed");
        assert_eq!(failed, 0, "{ok} ok\n{}", d.proc.text());
        let s = d.status().unwrap();
        for name in ["a", "b"] {
            let r = real(&s, name);
            assert!(!r.in_table && r.plane_down, "{r:?}");
            assert_eq!(r.checks_failed, 0, "the plane was first: {r:?}");
        }
        assert!(real(&s, "c").in_table);
        d.stop();
    });
}

#[test]
fn with_every_server_dead_the_client_fails_cleanly_and_a_good_check_brings_one_back() {
    if !root_or_skip() {
        return;
    }
    in_new_netns(|| {
        let a = named(7201, "a");
        let b = named(7202, "b");
        let d = Lvsd::start(&config([7201, 7202], 2, "", " expect = \"OK\"\n"));
        d.all_in();
        a.stop();
        b.stop();
        // Both refuse: the client is reset after trying both, then lvsd has none left.
        let t = Instant::now();
        assert_eq!(through(), None);
        assert!(t.elapsed() < S(5), "{:?}", t.elapsed());
        let s = d.until("both out", S(5), |s| {
            s.virtual_servers[0]
                .real_servers
                .iter()
                .all(|r| !r.in_table && r.plane_failures >= 1)
        });
        assert!(
            s.virtual_servers[0]
                .real_servers
                .iter()
                .all(|r| r.plane_down || r.health == "down")
        );
        assert_eq!(through(), None, "no server: reset at once");
        // a comes back: its nanny's next good check puts it back, and it serves.
        let _a = named(7201, "a");
        d.until("a back", S(15), |s| real(s, "a").in_table);
        assert_eq!(through().as_deref(), Some("OK a"), "{}", d.proc.text());
        d.stop();
    });
}

/// Another process listens on the VIP's port when lvsd starts: the table refuses the service,
/// lvsd says so (log and status), runs no nanny for it, and tries again until the port is
/// free; then it serves, without a restart.
#[test]
fn a_vip_port_held_by_another_process_is_taken_when_it_is_freed() {
    if !root_or_skip() {
        return;
    }
    in_new_netns(|| {
        let _a = named(7201, "a");
        let _b = named(7202, "b");
        let squatter = std::net::TcpListener::bind(VIP).unwrap();
        let d = Lvsd::start(&config([7201, 7202], 1, "", " expect = \"OK\"\n"));
        let s = d.until("the service out of the table", S(5), |s| {
            !s.virtual_servers[0].in_table
        });
        assert!(
            s.virtual_servers[0]
                .real_servers
                .iter()
                .all(|r| r.nanny_pid.is_none() && !r.in_table),
            "{s:#?}"
        );
        d.proc.expect_line(
            "ipvsadm failed for virtual server web! (Address already in use",
            S(5),
        );
        // The human view says so too.
        let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .arg("--status")
            .arg("--socket")
            .arg(d.socket())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("web TCP 127.0.0.100:8080 rr, not in the table (trying again)"),
            "{text}"
        );
        // Freed after the second failure: the third attempt (2 s later) gets it.
        d.proc.expect_line(
            "virtual service web is not in the table: trying again in 2 s",
            S(10),
        );
        assert_eq!(
            d.proc.count("the table is complete"),
            0,
            "complete without the service:\n{}",
            d.proc.text()
        );
        drop(squatter);
        d.proc
            .expect_line("virtual service web is in the table now", S(10));
        d.all_in();
        d.proc.expect_line("the table is complete", S(10));
        let mut got: Vec<String> = (0..2).filter_map(|_| through()).collect();
        got.sort();
        assert_eq!(got, ["OK a", "OK b"], "{}", d.proc.text());
        d.stop();
    });
}
