//! Active directors behind an ECMP router, for the tests and the bench of VIPs announced
//! through BIRD (`announce = bird`).
//!
//! ```text
//!  client 10.1.0.2 ── router 10.1.0.1 / 10.2.0.1 ── bridge ─┬─ director d1 10.2.0.11 (VIPs on lo)
//!                     (BIRD, merge paths)               ├─ director d2 10.2.0.12 (VIPs on lo)
//!                                                       ├─ (director d3 10.2.0.13, if asked)
//!                                                       ├─ real server rs1 10.2.0.21
//!                                                       └─ real server rs2 10.2.0.22
//! ```
//!
//! The router runs BIRD with one BGP session per director (AS 65000 to AS 65001) and
//! `merge paths on` in its kernel protocol, so its kernel table has one multipath route per
//! VIP; a layer-4 multipath hash spreads one client's connections over the directors. Each
//! director runs BIRD (including lvsd's announce file) and lvsd on the userspace data plane
//! with its nannies, scheduling with `mh` and `mh-port`, so a flow (client address and port)
//! gets the same real server whichever director the router picks; [`Ecmp::pin`] makes the
//! router send the client's traffic to one director, to show it. Each real server answers `NAME DIRECTOR\n` on ports 8001 (VIP A) and
//! 8002 (VIP B), `DIRECTOR` being the address the connection came from, so a client learns
//! which director served it. BGP timers: hold 3 s, keepalive 1 s, connect retry 1 s, and
//! 1 to 5 s before a session that failed is tried again (BIRD waits 60 s by default).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::bird::Bird;
use crate::netns::{Netns, bridge, plug, unique_name, veth};
use crate::process::Proc;
use crate::servers::TcpServer;
use crate::tempdir::TempDir;

/// The two VIPs: A (real servers on port 8001) and B (port 8002).
pub const VIP_A: &str = "10.9.0.1";
pub const VIP_B: &str = "10.9.0.2";
/// The directors' addresses ([`Ecmp::new`] has the first two, [`Ecmp::with_directors`] up
/// to all three).
pub const DIRECTORS: [&str; 3] = ["10.2.0.11", "10.2.0.12", "10.2.0.13"];
/// The routing table the router looks in while [`Ecmp::pin`] holds.
const PIN_TABLE: &str = "100";
const REALS: [&str; 2] = ["10.2.0.21", "10.2.0.22"];
const TIMERS: &str =
    "hold time 3;\n    keepalive time 1;\n    connect retry time 1;\n    error wait time 1, 5;";

/// The network, the router's BIRD and the real servers.
#[derive(Debug)]
pub struct Ecmp {
    pub router: Netns,
    pub client: Netns,
    pub directors: Vec<Netns>,
    pub reals: Vec<Netns>,
    pub router_bird: Bird,
    _servers: Vec<TcpServer>,
    _sw: Netns,
}

/// One director's BIRD and lvsd.
#[derive(Debug)]
pub struct Director {
    pub bird: Bird,
    pub lvsd: Proc,
    pub dir: PathBuf,
}

fn sysctl(ns: &Netns, kv: &str) {
    ns.exec(&format!("sysctl -qw {kv}"));
}

impl Ecmp {
    /// The namespaces for two directors, the router's BIRD and the real servers.
    pub fn new() -> Ecmp {
        Ecmp::with_directors(2)
    }

    /// The same with `n` directors (2 or 3): the router peers with each.
    pub fn with_directors(n: usize) -> Ecmp {
        assert!((1..=DIRECTORS.len()).contains(&n), "{n} directors");
        let p = unique_name("ec");
        let ns = |n: &str| Netns::new(&format!("{p}{n}"));
        let (sw, router, client) = (ns("sw"), ns("rt"), ns("cl"));
        let directors: Vec<Netns> = (1..=n).map(|i| ns(&format!("d{i}"))).collect();
        let reals = vec![ns("r1"), ns("r2")];
        bridge(&sw, "br0");
        plug(&sw, "br0", "prt", &router, "eth0", "10.2.0.1/24");
        for (i, d) in directors.iter().enumerate() {
            plug(
                &sw,
                "br0",
                &format!("pd{i}"),
                d,
                "eth0",
                &format!("{}/24", DIRECTORS[i]),
            );
            d.ip("route add default via 10.2.0.1");
            d.ip(&format!("addr add {VIP_A}/32 dev lo"));
            d.ip(&format!("addr add {VIP_B}/32 dev lo"));
        }
        for (i, r) in reals.iter().enumerate() {
            plug(
                &sw,
                "br0",
                &format!("pr{i}"),
                r,
                "eth0",
                &format!("{}/24", REALS[i]),
            );
        }
        veth(&router, "eth1", &client, "eth0");
        router.ip("addr add 10.1.0.1/24 dev eth1");
        router.ip("link set eth1 up");
        client.ip("addr add 10.1.0.2/24 dev eth0");
        client.ip("link set eth0 up");
        client.ip("route add default via 10.1.0.1");
        sysctl(&router, "net.ipv4.ip_forward=1");
        sysctl(&router, "net.ipv4.fib_multipath_hash_policy=1");
        // The pinned flows of `request_from` reuse a source port towards another director.
        sysctl(&client, "net.ipv4.tcp_tw_reuse=1");
        let mut servers = Vec::new();
        for (i, r) in reals.iter().enumerate() {
            for port in [8001u16, 8002] {
                let name = format!("rs{}", i + 1);
                let addr: SocketAddr = format!("{}:{port}", REALS[i]).parse().unwrap();
                servers.push(r.run(move || {
                    TcpServer::bind(addr, move |mut c, peer| {
                        let _ = c.write_all(format!("{name} {}\n", peer.ip()).as_bytes());
                    })
                }));
            }
        }
        let sessions: String = DIRECTORS[..n]
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    "protocol bgp d{i} {{\n    local 10.2.0.1 as 65000;\n    neighbor {d} as 65001;\n    \
                     {TIMERS}\n    ipv4 {{ import all; export none; }};\n}}\n"
                )
            })
            .collect();
        let conf = format!(
            "router id 10.2.0.1;\nprotocol device {{}}\n\
             protocol kernel {{\n    merge paths on;\n    ipv4 {{ import none; export all; }};\n}}\n{sessions}"
        );
        let router_bird = router.run(move || Bird::start("ecmp-router", &conf));
        Ecmp {
            router,
            client,
            directors,
            reals,
            router_bird,
            _servers: servers,
            _sw: sw,
        }
    }

    /// Start director `i`: its BIRD (peering with the router) and lvsd with `drain` seconds
    /// of `announce_drain`, ready (READY=1).
    pub fn director(&self, i: usize, drain: &str) -> Director {
        let addr = DIRECTORS[i];
        let dir = TempDir::new("ecmp-director");
        let d = dir.display().to_string();
        dir.write(
            "announce.conf",
            "protocol static piranha_vips { ipv4; }\nprotocol static piranha_vips6 { ipv6; }\n",
        );
        let conf = format!(
            "router id {addr};\nprotocol device {{}}\ninclude \"{d}/announce.conf\";\n\
             protocol bgp uplink {{\n    local {addr} as 65001;\n    neighbor 10.2.0.1 as 65000;\n    \
             {TIMERS}\n    ipv4 {{ import none; export where proto = \"piranha_vips\"; }};\n}}\n"
        );
        let conf_path = dir.write("bird.conf", &conf);
        let vs = |name: &str, vip: &str, port: u16| {
            let servers: String = REALS
                .iter()
                .enumerate()
                .map(|(k, r)| {
                    format!(
                        " server rs{} {{\n  address = {r}\n  port = {port}\n  active = 1\n }}\n",
                        k + 1
                    )
                })
                .collect();
            format!(
                "virtual {name} {{\n active = 1\n address = {vip} lo\n port = 80\n scheduler = mh\n sched_flags = mh-port\n expect = \"rs\"\n \
                 timeout = 1\n reentry = 1\n{servers}}}\n"
            )
        };
        let lvs_cf = format!(
            "primary = {addr}\nservice = lvs\nbackup_active = 0\nnetwork = nat\nhard_shutdown = 0\n\
             announce = bird\nbird_socket = {d}/bird.ctl\nannounce_file = {d}/announce.conf\n\
             announce_drain = {drain}\n{}{}",
            vs("a", VIP_A, 8001),
            vs("b", VIP_B, 8002)
        );
        dir.write("lvs.cf", &lvs_cf);
        let ns = &self.directors[i];
        let path = dir.to_path_buf();
        // BIRD owns the scratch directory; its socket is the `bird_socket` of lvs.cf.
        let bird = ns.run(move || Bird::start_in(dir, conf_path));
        let (lvsd, nanny) = (crate::bins::bin("lvsd"), crate::bins::bin("nanny"));
        let lvsd_path = path.clone();
        let lvsd = ns.run(move || {
            Proc::spawn_ready(
                Command::new(lvsd)
                    .args(["-n", "--dataplane", "userspace", "--nanny"])
                    .arg(nanny)
                    .arg("-c")
                    .arg(lvsd_path.join("lvs.cf"))
                    .arg("--socket")
                    .arg(lvsd_path.join("lvsd.sock"))
                    .arg("--state-file")
                    .arg(lvsd_path.join("lvsd.state"))
                    .arg("--pidfile")
                    .arg(lvsd_path.join("lvsd.pid")),
                &lvsd_path.join("notify"),
                Duration::from_secs(20),
            )
        });
        Director {
            bird,
            lvsd,
            dir: path,
        }
    }

    /// Make the router send the client's traffic for both VIPs to director `i` alone
    /// (policy routing beside BIRD's multipath routes), or with `None` to the multipath
    /// routes again.
    pub fn pin(&self, i: Option<usize>) {
        let _ = Command::new("ip")
            .args(["-n", self.router.name(), "rule", "del", "pref", "100"])
            .output();
        let _ = Command::new("ip")
            .args([
                "-n",
                self.router.name(),
                "route",
                "flush",
                "table",
                PIN_TABLE,
            ])
            .output();
        let Some(i) = i else { return };
        for vip in [VIP_A, VIP_B] {
            self.router.ip(&format!(
                "route add {vip} via {} table {PIN_TABLE}",
                DIRECTORS[i]
            ));
        }
        self.router
            .ip(&format!("rule add pref 100 iif eth1 lookup {PIN_TABLE}"));
    }

    /// The next hops of the router's kernel route to `vip` (none when there is no route).
    pub fn next_hops(&self, vip: &str) -> Vec<String> {
        let out = Command::new("ip")
            .args(["-n", self.router.name(), "route", "show", vip])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let w: Vec<&str> = out.split_whitespace().collect();
        let mut hops: Vec<String> = w
            .windows(2)
            .filter(|p| p[0] == "via")
            .map(|p| p[1].to_owned())
            .collect();
        hops.sort();
        hops
    }

    /// Wait until the route to `vip` has exactly these next hops; how long it took.
    pub fn wait_hops(&self, vip: &str, want: &[&str], within: Duration) -> Duration {
        crate::wait::expect_until(
            within,
            || self.next_hops(vip) == want,
            || {
                format!(
                    "route to {vip}: {:?}, not {want:?}\nrouter's BIRD:\n{}",
                    self.next_hops(vip),
                    self.router_bird.cmd("show protocols").unwrap_or_default()
                )
            },
        )
    }
}

impl Default for Ecmp {
    fn default() -> Self {
        Ecmp::new()
    }
}

/// One request from the client's namespace (call it there) to `vip:80`: the real server's
/// name and the director it came through, or the error.
pub fn request(vip: &str) -> Result<(String, String), String> {
    let addr: SocketAddr = format!("{vip}:80").parse().map_err(|e| format!("{e}"))?;
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let mut w = line.split_whitespace();
    match (w.next(), w.next()) {
        (Some(rs), Some(d)) => Ok((rs.to_owned(), d.to_owned())),
        _ => Err(format!("bad answer {line:?}")),
    }
}

/// One request from the client's namespace (call it there) to `vip:80` from source port
/// `port`, so that the same flow can be sent to each director in turn: the real server's
/// name and the director, or the error. The answer is read to its end, so the director
/// closes first and the client keeps no TIME-WAIT on the port.
pub fn request_from(vip: &str, port: u16) -> Result<(String, String), String> {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, setsockopt, socket, sockopt,
    };
    use nix::sys::time::TimeVal;
    use std::io::Read;
    let to = |e: nix::Error| format!("{vip} from port {port}: {e}");
    let dst: std::net::SocketAddrV4 = format!("{vip}:80").parse().map_err(|e| format!("{e}"))?;
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(to)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(to)?;
    // Bounds connect() as well as writes.
    setsockopt(&fd, sockopt::SendTimeout, &TimeVal::new(3, 0)).map_err(to)?;
    let src = std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, port);
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(src)).map_err(to)?;
    connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(dst)).map_err(to)?;
    let mut s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let mut w = text.split_whitespace();
    match (w.next(), w.next()) {
        (Some(rs), Some(d)) => Ok((rs.to_owned(), d.to_owned())),
        _ => Err(format!("bad answer {text:?}")),
    }
}

/// A request of a [`Load`] that failed: to which VIP, when it started and ended, and why.
#[derive(Debug, Clone)]
pub struct Failure {
    pub vip: &'static str,
    pub start: Instant,
    pub end: Instant,
    pub error: String,
}

/// What a [`Load`] saw: each served request's director and how long it took, and each
/// failure.
pub type Served = (Vec<(String, Duration)>, Vec<Failure>);

/// Client threads asking VIP A and B in turn, 5 ms apart, until stopped.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Served>>,
}

impl Load {
    /// `threads` clients in the client's namespace.
    pub fn start(net: &Ecmp, threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                let ns = net.client.name().to_owned();
                std::thread::spawn(move || {
                    crate::netns::in_netns(&ns, move || {
                        let (mut ok, mut failed) = (Vec::new(), Vec::new());
                        let mut n = 0u64;
                        while !stop.load(Ordering::SeqCst) {
                            let vip = if n.is_multiple_of(2) { VIP_A } else { VIP_B };
                            n += 1;
                            let t0 = Instant::now();
                            match request(vip) {
                                Ok((_, d)) => ok.push((d, t0.elapsed())),
                                Err(error) => failed.push(Failure {
                                    vip,
                                    start: t0,
                                    end: Instant::now(),
                                    error,
                                }),
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        (ok, failed)
                    })
                })
            })
            .collect();
        Load { stop, threads }
    }

    /// Stop: the director and duration of each request served, and each failure.
    pub fn finish(self) -> Served {
        self.stop.store(true, Ordering::SeqCst);
        let (mut ok, mut failed) = (Vec::new(), Vec::new());
        for t in self.threads {
            let (o, f) = t.join().unwrap_or_default();
            ok.extend(o);
            failed.extend(f);
        }
        (ok, failed)
    }
}

/// The router's kernel route changes as `ip monitor route` reports them, each stamped when it
/// was read ([`Ecmp::watch_routes`]).
#[derive(Debug)]
pub struct RouteWatch {
    proc: Proc,
}

impl Ecmp {
    /// Follow the router's route changes from now on (start it a moment before the change).
    pub fn watch_routes(&self) -> RouteWatch {
        RouteWatch {
            proc: Proc::spawn(Command::new("ip").args([
                "-n",
                self.router.name(),
                "monitor",
                "route",
            ])),
        }
    }
}

impl RouteWatch {
    /// When the router's route to `vip` changed (replaced, added or deleted), as read.
    pub fn changes(&self, vip: &str) -> Vec<Instant> {
        let head = format!("{vip} ");
        self.proc
            .timed_lines()
            .into_iter()
            .filter(|(_, l)| l.trim_start_matches("Deleted ").starts_with(&head))
            .map(|(t, _)| t)
            .collect()
    }

    /// The failures a route change does not explain. When the router's multipath route to
    /// a VIP changes, the kernel shares the hash space out anew among the next hops
    /// (hash-threshold), so some flows under way move to another director, which knows
    /// nothing of them and resets them: a request reset while the route to its VIP changed
    /// (read up to 200 ms after its end) is the router's doing, anything else is not.
    pub fn unexplained(&self, failed: &[Failure]) -> Vec<Failure> {
        let slack = Duration::from_millis(200);
        failed
            .iter()
            .filter(|f| {
                let reset = f.error.contains("reset by peer");
                let moved = self
                    .changes(f.vip)
                    .iter()
                    .any(|&t| t >= f.start && t <= f.end + slack);
                !(reset && moved)
            })
            .cloned()
            .collect()
    }
}
