//! A small LAN in network namespaces for pulse: two directors (d1 = primary 10.7.0.1,
//! d2 = backup 10.7.0.2), a client (10.7.0.100) and two real servers (10.7.0.11, .12) on one
//! bridge. Real pulse, lvsd and nanny processes run in the directors' namespaces, each with a
//! private /run (so the two lvsd's status sockets and state files do not meet); the real
//! servers and the client are threads of the test that entered their namespace.
#![allow(dead_code)]

pub mod fos;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
pub use vmtest::{must as sh, root_or_skip};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pulse::status::Status;

pub const VIP: &str = "10.7.0.50";
pub const NODES: [(&str, &str); 5] = [
    ("d1", "10.7.0.1"),
    ("d2", "10.7.0.2"),
    ("c", "10.7.0.100"),
    ("r1", "10.7.0.11"),
    ("r2", "10.7.0.12"),
];

/// A sibling binary of the test's pulse (cargo builds all of the workspace's binaries for
/// `cargo test --workspace`).
pub fn bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_pulse")).with_file_name(name);
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        p.display()
    );
    p
}

/// Run `f` on a thread inside namespace `ns`.
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = File::open(&path).unwrap();
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// The namespaces, the bridge, and the files of one test.
pub struct Lan {
    pub prefix: String,
    pub dir: PathBuf,
    servers: Vec<Arc<AtomicBool>>,
}

impl Lan {
    pub fn new() -> Lan {
        let prefix = format!(
            "pt{}x{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).unwrap();
        let sw = format!("{prefix}-sw");
        sh(&format!(
            "ip netns add {sw} && ip -n {sw} link set lo up && \
             ip -n {sw} link add br0 type bridge && ip -n {sw} link set br0 up"
        ));
        for (n, ip) in NODES {
            let ns = format!("{prefix}-{n}");
            sh(&format!(
                "ip netns add {ns} && ip -n {ns} link set lo up && \
                 ip -n {sw} link add v{n} type veth peer name eth0 netns {ns} && \
                 ip -n {sw} link set v{n} master br0 up && \
                 ip -n {ns} addr add {ip}/24 dev eth0 && ip -n {ns} link set eth0 up"
            ));
        }
        Lan {
            prefix,
            dir,
            servers: Vec::new(),
        }
    }

    pub fn ns(&self, n: &str) -> String {
        format!("{}-{n}", self.prefix)
    }

    /// A command in node `n`'s namespace.
    pub fn on(&self, n: &str, cmd: &str) -> String {
        sh(&format!("ip netns exec {} {cmd}", self.ns(n)))
    }

    pub fn mac(&self, n: &str) -> String {
        let t = self.on(n, "cat /sys/class/net/eth0/address");
        t.trim().to_owned()
    }

    /// The link-layer address node `n` has for `ip`, if any.
    pub fn neigh(&self, n: &str, ip: &str) -> Option<String> {
        let t = sh(&format!("ip -n {} neigh show {ip}", self.ns(n)));
        let w: Vec<&str> = t.split_whitespace().collect();
        w.iter()
            .position(|x| *x == "lladdr")
            .and_then(|i| w.get(i + 1))
            .map(|s| s.to_string())
    }

    /// Wait until the client's neighbour entry for the VIP is director `n`'s MAC.
    pub fn wait_client_sends_to(&self, n: &str, within: Duration) {
        let t0 = Instant::now();
        while self.neigh("c", VIP) != Some(self.mac(n)) {
            assert!(
                t0.elapsed() < within,
                "the client still sends to {:?}, not {n}",
                self.neigh("c", VIP)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn has_vip(&self, n: &str) -> bool {
        sh(&format!("ip -n {} -o addr show", self.ns(n))).contains(&format!(" {VIP}/"))
    }

    /// Take the bridge port of node `n` down or up (its eth0 loses or regains carrier).
    pub fn port(&self, n: &str, up: bool) {
        sh(&format!(
            "ip -n {} link set v{n} {}",
            self.ns("sw"),
            if up { "up" } else { "down" }
        ));
    }

    /// A web server on port 80 of real server `n` answering its own name.
    pub fn web(&mut self, n: &'static str) {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let l = in_ns(&self.ns(n), || TcpListener::bind("0.0.0.0:80").unwrap());
        l.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut c, peer)) => {
                        std::thread::spawn(move || {
                            c.set_nonblocking(false).unwrap();
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
                            // The director that forwarded the request is the peer (a proxy).
                            let _ = c.write_all(
                                format!("HTTP/1.0 200 OK\r\n\r\n{n}\nvia {}\n", peer.ip())
                                    .as_bytes(),
                            );
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        self.servers.push(stop);
    }

    /// One request from the client to the VIP: the name of the real server that answered.
    pub fn get(&self) -> Option<String> {
        self.get_via(Duration::from_millis(300))
            .map(|(server, _)| server)
    }

    /// One request: the real server and the director's address it came through.
    pub fn get_via(&self, connect: Duration) -> Option<(String, String)> {
        in_ns(&self.ns("c"), move || {
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

    /// Wait until the client is served through the VIP.
    pub fn served_within(&self, limit: Duration) -> Option<Duration> {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if self.get().is_some() {
                return Some(t0.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// lvs.cf for the two directors; `extra` is added to the global section.
    pub fn config(&self, keepalive: &str, deadtime: &str, extra: &str) -> PathBuf {
        let nanny = bin("nanny");
        let text = format!(
            "serial_no = 1\n\
             primary = 10.7.0.1\n\
             backup = 10.7.0.2\n\
             backup_active = 1\n\
             service = lvs\n\
             heartbeat_port = 539\n\
             keepalive = {keepalive}\n\
             deadtime = {deadtime}\n\
             network = nat\n\
             dataplane = userspace\n\
             {extra}\n\
             virtual web {{\n\
             \x20   active = 1\n\
             \x20   address = {VIP} eth0:1\n\
             \x20   port = 80\n\
             \x20   scheduler = rr\n\
             \x20   timeout = 1\n\
             \x20   reentry = 1\n\
             \x20   client_monitor = {}\n\
             \x20   server r1 {{\n\
             \x20       address = 10.7.0.11\n\
             \x20       active = 1\n\
             \x20   }}\n\
             \x20   server r2 {{\n\
             \x20       address = 10.7.0.12\n\
             \x20       active = 1\n\
             \x20   }}\n\
             }}\n",
            nanny.display()
        );
        let p = self
            .dir
            .join(format!("lvs{}.cf", SEQ.fetch_add(1, Ordering::SeqCst)));
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Start pulse on director `n` with `-n -v` and these arguments.
    pub fn pulse(&self, n: &str, cfg: &Path, args: &[&str]) -> Pulse {
        let sock = self.dir.join(format!("{n}.sock"));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(n), "sh", "-c"])
            .arg("mount -t tmpfs tmpfs /run && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_pulse"))
            .args(["-n", "-v", "-c"])
            .arg(cfg)
            .arg("--lvsd")
            .arg(bin("lvsd"))
            .arg("--socket")
            .arg(&sock)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        for r in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            let tag = n.to_owned();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if std::env::var_os("PULSE_TEST_LOG").is_some() {
                        eprintln!("[{tag}] {line}");
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let p = Pulse {
            child,
            log,
            sock,
            name: n.to_owned(),
        };
        p.wait_for(Duration::from_secs(10), "status socket", |_| true);
        p
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for s in &self.servers {
            s.store(true, Ordering::SeqCst);
        }
        for (n, _) in NODES.iter().chain([("sw", "")].iter()) {
            let ns = self.ns(n);
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "ip netns pids {ns} | xargs -r kill -9; ip netns del {ns}"
                ))
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A pulse process.
pub struct Pulse {
    pub child: Child,
    pub log: Arc<Mutex<String>>,
    pub sock: PathBuf,
    pub name: String,
}

impl Pulse {
    pub fn status(&self) -> Option<Status> {
        let mut s = String::new();
        UnixStream::connect(&self.sock)
            .and_then(|mut c| c.read_to_string(&mut s))
            .ok()?;
        serde_json::from_str(&s).ok()
    }

    pub fn active(&self) -> bool {
        self.status().is_some_and(|s| s.state == "active")
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait until the status satisfies `f`; panics with the log otherwise.
    pub fn wait_for(&self, within: Duration, what: &str, f: impl Fn(&Status) -> bool) -> Duration {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.status()
                && f(&s)
            {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < within,
                "{}: no {what} within {within:?}; status {:?}\nlog:\n{}",
                self.name,
                self.status(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_log(&self, within: Duration, needle: &str) {
        let t0 = Instant::now();
        while !self.log().contains(needle) {
            assert!(
                t0.elapsed() < within,
                "{}: no `{needle}` within {within:?}\nlog:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The pid of pulse itself (`ip netns exec` and `sh` exec into it).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, s: Signal) {
        let _ = kill(Pid::from_raw(self.pid()), s);
    }

    pub fn kill9(mut self) {
        self.signal(Signal::SIGKILL);
        let _ = self.child.wait();
    }

    /// SIGTERM and wait; the exit code.
    pub fn stop(mut self) -> Option<i32> {
        self.signal(Signal::SIGTERM);
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(Pid::from_raw(self.pid()), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// Benchmarks: a pseudo-random number of milliseconds below `max` (the clock's nanoseconds).
pub fn rand_ms(max: u64) -> u64 {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    n % max.max(1)
}

/// Benchmarks: the `p` quantile (0 to 1) of sorted durations, in seconds.
pub fn pct(v: &[Duration], p: f64) -> f64 {
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64()
}
