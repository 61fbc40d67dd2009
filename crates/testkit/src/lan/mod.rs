//! The two-director LAN of the pulse and cluster tests, in network namespaces: two directors
//! (d1 = primary 10.7.0.1, d2 = backup 10.7.0.2), a client (10.7.0.100) and two real servers
//! (10.7.0.11, .12) on one bridge. Real pulse, lvsd and nanny processes (built by [`crate::bins`])
//! run in the directors' namespaces, each with a private /run (so the two lvsd's status
//! sockets and state files do not meet); the real servers and the client are threads of the
//! test that entered their namespace.
//!
//! [`Lan`] and [`Pulse`] are generic over pulse's status report `S` (`pulse::status::Status`),
//! so that this crate does not depend on the daemons: a test names it once,
//! `type Lan = testkit::lan::Lan<pulse::status::Status>;`.
//!
//! Set `PULSE_TEST_LOG` to see every line of both pulses as it comes.

pub mod fos;

use std::fmt::Debug;
use std::io::{Read, Write};
use std::marker::PhantomData;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::de::DeserializeOwned;

use crate::bins::bin;
use crate::netns::{self, Netns, in_netns};
use crate::process::Proc;
use crate::servers::TcpServer;
use crate::status::read_json;
use crate::tempdir::TempDir;

pub const VIP: &str = "10.7.0.50";
pub const NODES: [(&str, &str); 5] = [
    ("d1", "10.7.0.1"),
    ("d2", "10.7.0.2"),
    ("c", "10.7.0.100"),
    ("r1", "10.7.0.11"),
    ("r2", "10.7.0.12"),
];

/// The daemons a LAN runs, built together once.
const DAEMONS: [&str; 4] = ["pulse", "lvsd", "nanny", "fos"];

/// The namespaces, the bridge, and the files of one test.
#[derive(Debug)]
pub struct Lan<S> {
    pub prefix: String,
    pub dir: TempDir,
    servers: Vec<TcpServer>,
    /// The nodes, then the switch: dropped (processes killed, namespace deleted) in order.
    nets: Vec<Netns>,
    status: PhantomData<fn() -> S>,
}

impl<S: DeserializeOwned + Debug> Default for Lan<S> {
    fn default() -> Self {
        Lan::new()
    }
}

impl<S: DeserializeOwned + Debug> Lan<S> {
    pub fn new() -> Lan<S> {
        crate::bins::bins(&DAEMONS);
        let prefix = netns::unique_name("pt");
        let dir = TempDir::new(&prefix);
        let sw = Netns::new(&format!("{prefix}-sw"));
        netns::bridge(&sw, "br0");
        let mut nets = Vec::new();
        for (n, ip) in NODES {
            let node = Netns::new(&format!("{prefix}-{n}"));
            netns::plug(
                &sw,
                "br0",
                &format!("v{n}"),
                &node,
                "eth0",
                &format!("{ip}/24"),
            );
            nets.push(node);
        }
        nets.push(sw);
        Lan {
            prefix,
            dir,
            servers: Vec::new(),
            nets,
            status: PhantomData,
        }
    }
}

impl<S> Lan<S> {
    /// A heartbeat key file (one 32-byte key, id 1, mode 0600) in the LAN's directory, and
    /// the lvs.cf line naming it.
    pub fn heartbeat_key_line(&self) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.dir.join("heartbeat.keys");
        std::fs::write(
            &p,
            "1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        )
        .expect("write the key file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the key file");
        format!("heartbeat_key_file = {}\n", p.display())
    }

    pub fn ns(&self, n: &str) -> String {
        format!("{}-{n}", self.prefix)
    }

    fn net(&self, n: &str) -> &Netns {
        let name = self.ns(n);
        self.nets
            .iter()
            .find(|x| x.name() == name)
            .unwrap_or_else(|| panic!("no node {n}"))
    }

    /// A command in node `n`'s namespace.
    pub fn on(&self, n: &str, cmd: &str) -> String {
        self.net(n).exec(cmd)
    }

    pub fn mac(&self, n: &str) -> String {
        self.net(n).mac("eth0")
    }

    /// The link-layer address node `n` has for `ip`, if any.
    pub fn neigh(&self, n: &str, ip: &str) -> Option<String> {
        self.net(n).lladdr(ip)
    }

    /// Wait until the client's neighbour entry for the VIP is director `n`'s MAC.
    pub fn wait_client_sends_to(&self, n: &str, within: Duration) {
        let mac = self.mac(n);
        crate::wait::expect_until(
            within,
            || self.neigh("c", VIP) == Some(mac.clone()),
            || {
                format!(
                    "the client still sends to {:?}, not {n}",
                    self.neigh("c", VIP)
                )
            },
        );
    }

    pub fn has_vip(&self, n: &str) -> bool {
        self.net(n).ip("-o addr show").contains(&format!(" {VIP}/"))
    }

    /// Take the bridge port of node `n` down or up (its eth0 loses or regains carrier).
    pub fn port(&self, n: &str, up: bool) {
        self.net("sw")
            .ip(&format!("link set v{n} {}", if up { "up" } else { "down" }));
    }

    /// A web server on port 80 of real server `n` answering its own name and the address
    /// the request came from (the director that forwarded it: a proxy).
    pub fn web(&mut self, n: &'static str) {
        self.web_on(n, 80);
    }

    /// The same web server on another port of real server `n`.
    pub fn web_on(&mut self, n: &'static str, port: u16) {
        let l = in_netns(&self.ns(n), move || {
            std::net::TcpListener::bind(("0.0.0.0", port)).unwrap()
        });
        self.servers.push(TcpServer::serve(l, move |mut c, peer| {
            c.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 512];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                }
            }
            let _ =
                c.write_all(format!("HTTP/1.0 200 OK\r\n\r\n{n}\nvia {}\n", peer.ip()).as_bytes());
        }));
    }

    /// One request from the client to the VIP: the name of the real server that answered.
    pub fn get(&self) -> Option<String> {
        self.get_via(Duration::from_millis(300))
            .map(|(server, _)| server)
    }

    /// One request: the real server and the director's address it came through.
    pub fn get_via(&self, connect: Duration) -> Option<(String, String)> {
        in_netns(&self.ns("c"), move || {
            let addr: SocketAddr = format!("{VIP}:80").parse().unwrap();
            let mut c = TcpStream::connect_timeout(&addr, connect).ok()?;
            c.set_read_timeout(Some(Duration::from_millis(700))).ok()?;
            c.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
            let mut s = String::new();
            c.read_to_string(&mut s).ok()?;
            let body = s.split("\r\n\r\n").nth(1)?;
            let mut lines = body.lines();
            let server = lines.next()?.trim().to_owned();
            let via = lines.next()?.strip_prefix("via ")?.to_owned();
            Some((server, via))
        })
    }

    /// Wait until the client is served through the VIP: how long it took.
    pub fn served_within(&self, limit: Duration) -> Option<Duration> {
        let t0 = Instant::now();
        crate::wait::poll_every(limit, Duration::from_millis(50), || {
            self.get().map(|_| t0.elapsed())
        })
    }

    /// lvs.cf for the two directors; `extra` is added to the global section.
    pub fn config(&self, keepalive: &str, deadtime: &str, extra: &str) -> PathBuf {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let text = pair_cf(&PairCf {
            keepalive,
            deadtime,
            extra,
            ..PairCf::default()
        });
        let p = self
            .dir
            .join(format!("lvs{}.cf", SEQ.fetch_add(1, Ordering::SeqCst)));
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// What varies in the pair's lvs.cf ([`pair_cf`]).
#[derive(Debug, Clone, Copy)]
pub struct PairCf<'a> {
    pub serial: u32,
    pub keepalive: &'a str,
    pub deadtime: &'a str,
    /// Global lines, after the others.
    pub extra: &'a str,
    /// Lines of the virtual server, after `reentry`.
    pub virtual_extra: &'a str,
    /// r1's weight, and r2's 1; no `weight` lines when `None`.
    pub r1_weight: Option<u32>,
}

impl Default for PairCf<'_> {
    fn default() -> Self {
        PairCf {
            serial: 1,
            keepalive: "1",
            deadtime: "3",
            extra: "",
            virtual_extra: "",
            r1_weight: None,
        }
    }
}

/// lvs.cf for d1 (primary) and d2 (backup) on the userspace plane: one virtual server `web`
/// on the VIP, port 80, `rr`, r1 and r2 checked every second (`timeout = 1`, `reentry = 1`).
pub fn pair_cf(c: &PairCf<'_>) -> String {
    let weight = |w: Option<u32>| w.map_or(String::new(), |w| format!("        weight = {w}\n"));
    let virtual_extra: String = c
        .virtual_extra
        .lines()
        .map(|l| format!("    {}\n", l.trim()))
        .collect();
    format!(
        "serial_no = {}\n\
         primary = 10.7.0.1\n\
         backup = 10.7.0.2\n\
         backup_active = 1\n\
         service = lvs\n\
         heartbeat_port = 539\n\
         keepalive = {}\n\
         deadtime = {}\n\
         network = nat\n\
         dataplane = userspace\n\
         {}\n\
         virtual web {{\n\
         \x20   active = 1\n\
         \x20   address = {VIP} eth0:1\n\
         \x20   port = 80\n\
         \x20   scheduler = rr\n\
         \x20   timeout = 1\n\
         \x20   reentry = 1\n\
         {virtual_extra}\
         \x20   client_monitor = {}\n\
         \x20   server r1 {{\n\
         \x20       address = 10.7.0.11\n\
         \x20       active = 1\n\
         {}\
         \x20   }}\n\
         \x20   server r2 {{\n\
         \x20       address = 10.7.0.12\n\
         \x20       active = 1\n\
         {}\
         \x20   }}\n\
         }}\n",
        c.serial,
        c.keepalive,
        c.deadtime,
        c.extra,
        bin("nanny").display(),
        weight(c.r1_weight),
        weight(c.r1_weight.map(|_| 1)),
    )
}

impl<S: DeserializeOwned + Debug> Lan<S> {
    /// Start pulse on director `n` with `-n -v` and these arguments; returns once its status
    /// socket answers.
    pub fn pulse(&self, n: &str, cfg: &Path, args: &[&str]) -> Pulse<S> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(n), "sh", "-c"])
            .arg("mount -t tmpfs tmpfs /run && exec \"$0\" \"$@\"")
            .arg(bin("pulse"));
        self.start_pulse(n, cmd, cfg, args)
    }

    /// Start pulse on director `n` as [`Lan::pulse`] does, but inside the network and mount
    /// namespaces of process `pid` (a process of an earlier pulse's namespaces, which still
    /// runs), so it finds the /run that pulse and its lvsd left: a restart of pulse and lvsd.
    pub fn pulse_entering(&self, n: &str, pid: u32, cfg: &Path, args: &[&str]) -> Pulse<S> {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &pid.to_string(), "-m", "-n", "--"])
            .arg(bin("pulse"));
        self.start_pulse(n, cmd, cfg, args)
    }

    /// The web servers of r1 and r2 and both directors on `cfg`; returns once d1 is active
    /// with its VIPs and the client is served through it.
    pub fn serving_pair(&mut self, cfg: &Path) -> (Pulse<S>, Pulse<S>) {
        self.web("r1");
        self.web("r2");
        let d1 = self.pulse("d1", cfg, &[]);
        let d2 = self.pulse("d2", cfg, &[]);
        d1.wait_active_with_vips(Duration::from_secs(10), "active d1");
        assert!(
            self.served_within(Duration::from_secs(10)).is_some(),
            "not served through d1\n{}",
            d1.log()
        );
        (d1, d2)
    }

    fn start_pulse(&self, n: &str, mut cmd: Command, cfg: &Path, args: &[&str]) -> Pulse<S> {
        let sock = self.dir.join(format!("{n}.sock"));
        cmd.args(["-n", "-v", "-c"])
            .arg(cfg)
            .arg("--lvsd")
            .arg(bin("lvsd"))
            .arg("--socket")
            .arg(&sock)
            .args(args);
        let echo = std::env::var_os("PULSE_TEST_LOG").map(|_| n);
        let p = Pulse {
            proc: Proc::spawn_echo(&mut cmd, echo),
            sock,
            name: n.to_owned(),
            status: PhantomData,
        };
        p.wait_for(Duration::from_secs(10), "status socket", |_| true);
        p
    }
}

impl<S> Drop for Lan<S> {
    fn drop(&mut self) {
        // The servers first, then each namespace with what runs in it.
        self.servers.clear();
        self.nets.clear();
    }
}

/// What the helpers read of pulse's status report themselves.
#[derive(Debug, serde::Deserialize)]
struct Brief {
    state: String,
    #[serde(default)]
    vips: Vec<String>,
    #[serde(default)]
    watchdog_pid: Option<u32>,
}

/// A pulse process (started through `ip netns exec` and `sh`, which exec into it).
#[derive(Debug)]
pub struct Pulse<S> {
    pub proc: Proc,
    pub sock: PathBuf,
    pub name: String,
    status: PhantomData<fn() -> S>,
}

impl<S: DeserializeOwned + Debug> Pulse<S> {
    pub fn status(&self) -> Option<S> {
        read_json(&self.sock)
    }

    fn brief(&self) -> Option<Brief> {
        read_json(&self.sock)
    }

    pub fn active(&self) -> bool {
        self.brief().is_some_and(|s| s.state == "active")
    }

    /// Wait until it is active and has brought up its floating addresses.
    pub fn wait_active_with_vips(&self, within: Duration, what: &str) -> Duration {
        self.wait_until(within, what, || {
            self.brief()
                .is_some_and(|s| s.state == "active" && !s.vips.is_empty())
        })
    }

    pub fn log(&self) -> String {
        self.proc.text()
    }

    /// Wait until the status satisfies `f`; panics with the log otherwise.
    pub fn wait_for(&self, within: Duration, what: &str, f: impl Fn(&S) -> bool) -> Duration {
        self.wait_until(within, what, || self.status().is_some_and(|s| f(&s)))
    }

    fn wait_until(&self, within: Duration, what: &str, cond: impl FnMut() -> bool) -> Duration {
        crate::wait::expect_until(within, cond, || {
            format!(
                "{}: no {what}; status {:?}\nlog:\n{}",
                self.name,
                self.status(),
                self.log()
            )
        })
    }

    /// Wait for a log line containing `needle`; panics with the log otherwise.
    pub fn wait_log(&self, within: Duration, needle: &str) {
        self.wait_log_after(within, needle, 0);
    }

    /// Wait for a log line containing `needle` after the first `skip` of them (say those
    /// logged before a fault: `proc.count(needle)`); panics with the log otherwise.
    pub fn wait_log_after(&self, within: Duration, needle: &str, skip: usize) {
        if self.proc.wait_nth(needle, skip, within).is_none() {
            panic!(
                "{}: no `{needle}` (after {skip}) within {within:?}\nlog:\n{}",
                self.name,
                self.log()
            );
        }
    }

    /// The pid of pulse itself (`ip netns exec` and `sh` exec into it).
    pub fn pid(&self) -> i32 {
        self.proc.pid() as i32
    }

    pub fn signal(&self, s: Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), s);
    }

    /// kill -9 of pulse alone: its watchdog (`pulse-watchdog`) takes its addresses down and
    /// tells the partner, as on a machine that lives on.
    pub fn kill9(mut self) {
        self.signal(Signal::SIGKILL);
        self.proc.wait_exit(Duration::from_secs(10));
    }

    /// The pid of pulse's watchdog, once one runs.
    pub fn watchdog_pid(&self) -> Option<u32> {
        self.brief().and_then(|b| b.watchdog_pid)
    }

    /// The machine dies (power loss, kernel panic), as far as the partner can tell: pulse
    /// and its watchdog are killed together, so nothing is cleaned up and the partner hears
    /// nothing more (the watchdog is stopped first, then pulse killed, then the watchdog).
    pub fn crash(mut self) {
        use nix::sys::signal::kill;
        use nix::unistd::Pid;
        let w = crate::wait::poll_every(Duration::from_secs(10), Duration::from_millis(20), || {
            self.watchdog_pid()
        })
        .unwrap_or_else(|| panic!("{}: no watchdog\n{}", self.name, self.log()));
        let w = Pid::from_raw(w as i32);
        let _ = kill(w, Signal::SIGSTOP);
        self.signal(Signal::SIGKILL);
        let _ = kill(w, Signal::SIGKILL);
        self.proc.wait_exit(Duration::from_secs(10));
    }

    /// SIGTERM and wait (at most 30 s); the exit code.
    pub fn stop(mut self) -> Option<i32> {
        self.signal(Signal::SIGTERM);
        self.proc.exit_code(Duration::from_secs(30))
    }
}
