//! A reload whose host name lookup hangs does not stop lvsd's main loop: the status socket
//! answers and nanny verdicts are applied while the name is being resolved; a SIGHUP during
//! the lookup makes the latest file win once the lookup gives up; and a stop does not wait
//! for a lookup.
//!
//! lvsd runs in a network namespace (`ip netns exec`) whose resolv.conf names a DNS server on
//! 127.0.0.1 that never answers: an nftables rule drops port 53, so every query is lost and
//! the C library waits out its timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvsd::status::Status;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use vmtest::root_or_skip;

/// How long the C library waits for the DNS server that never answers.
const DNS_TIMEOUT_SECS: u64 = 20;
/// A name in no /etc/hosts (nsswitch: files, then dns).
const SLOW_NAME: &str = "lvsd-slow-dns-test.example.com";

/// A network namespace whose DNS never answers; removed (with /etc/netns/NAME) on drop.
struct SlowDnsNetns {
    name: String,
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SlowDnsNetns {
    fn new() -> SlowDnsNetns {
        let name = format!("lvsddns{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        sh(&["ip", "netns", "add", &name]);
        let ns = SlowDnsNetns { name };
        // `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc.
        std::fs::create_dir_all(ns.etc()).unwrap();
        std::fs::write(
            ns.etc().join("resolv.conf"),
            format!("nameserver 127.0.0.1\noptions timeout:{DNS_TIMEOUT_SECS} attempts:1\n"),
        )
        .unwrap();
        let n = ns.name.as_str();
        sh(&["ip", "netns", "exec", n, "ip", "link", "set", "lo", "up"]);
        sh(&["ip", "netns", "exec", n, "nft", "add", "table", "inet", "t"]);
        sh(&[
            "ip",
            "netns",
            "exec",
            n,
            "nft",
            "add chain inet t in { type filter hook input priority 0; }",
        ]);
        for proto in ["udp", "tcp"] {
            sh(&[
                "ip", "netns", "exec", n, "nft", "add", "rule", "inet", "t", "in", proto, "dport",
                "53", "drop",
            ]);
        }
        ns
    }

    fn etc(&self) -> PathBuf {
        Path::new("/etc/netns").join(&self.name)
    }

    /// Run `f` on a thread inside the namespace (sockets it opens stay there).
    fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let fd = std::fs::File::open(path).unwrap();
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

impl Drop for SlowDnsNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(self.etc());
    }
}

/// A TCP server answering "OK" until stopped.
struct Server {
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(ns: &SlowDnsNetns, port: u16) -> Server {
        let l = ns.enter(move || TcpListener::bind(("127.0.0.1", port)).unwrap());
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.write_all(b"OK\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Server { stop }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

struct Lvsd {
    child: Child,
    dir: PathBuf,
    out: Arc<Mutex<Vec<String>>>,
}

impl Lvsd {
    /// The status report, or `None` when lvsd does not answer within `within`.
    fn status(&self, within: Duration) -> Option<Status> {
        let mut s = UnixStream::connect(self.dir.join("lvsd.sock")).ok()?;
        s.set_read_timeout(Some(within)).ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().join("\n")
    }

    fn health(s: &Status, name: &str) -> String {
        s.virtual_servers[0]
            .real_servers
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.health.clone())
            .unwrap_or_default()
    }

    /// Wait until `pred` holds for the status report.
    fn until(&self, what: &str, within: Duration, pred: impl Fn(&Status) -> bool) -> Status {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.status(Duration::from_secs(2))
                && pred(&s)
            {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}\noutput:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Lvsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(extra_server: &str) -> String {
    format!(
        "primary = 10.0.0.1\nservice = lvs\n\
         virtual web {{\n active = 1\n address = 192.0.2.10 eth0:1\n port = 80\n expect = \"OK\"\n\
         timeout = 1\n reentry = 1\n\
         server a {{\n  address = 127.0.0.1\n  port = 7301\n  active = 1\n }}\n\
         server b {{\n  address = 127.0.0.1\n  port = 7302\n  active = 1\n }}\n{extra_server}}}\n"
    )
}

/// Start lvsd (in memory, in `ns`) on `cfg` and wait for READY=1.
fn start(ns: &SlowDnsNetns, cfg: &str) -> Lvsd {
    let dir = std::env::temp_dir().join(format!("lvsd-slowdns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lvs.cf"), cfg).unwrap();
    let notify = UnixDatagram::bind(dir.join("notify")).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let lvsd = Path::new(env!("CARGO_BIN_EXE_lvsd"));
    let nanny = lvsd.with_file_name("nanny");
    assert!(nanny.exists(), "build nanny first: cargo build -p nanny");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(lvsd)
        .args(["-n", "--memory-table", "--nanny"])
        .arg(nanny)
        .arg("-c")
        .arg(dir.join("lvs.cf"))
        .arg("--socket")
        .arg(dir.join("lvsd.sock"))
        .env("NOTIFY_SOCKET", dir.join("notify"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let out = out.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(pipe).lines().map_while(Result::ok) {
                out.lock().unwrap().push(l);
            }
        });
    }
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY=1 from lvsd");
    assert_eq!(&buf[..n], b"READY=1");
    Lvsd { child, dir, out }
}

#[test]
fn a_reload_waiting_for_dns_keeps_the_loop_running() {
    if !root_or_skip() {
        return;
    }
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    assert!(!hosts.contains(SLOW_NAME), "{SLOW_NAME} is in /etc/hosts");
    let ns = SlowDnsNetns::new();
    let _a = Server::start(&ns, 7301);
    let d = start(&ns, &config(""));
    d.until("a up, b down", Duration::from_secs(10), |s| {
        Lvsd::health(s, "a") == "up" && Lvsd::health(s, "b") == "down"
    });

    // The file now names a host whose lookup hangs; SIGHUP.
    let slow = format!("server c {{\n  address = {SLOW_NAME}\n  port = 7303\n  active = 1\n }}\n");
    std::fs::write(d.dir.join("lvs.cf"), config(&slow)).unwrap();
    let hup = Instant::now();
    kill(Pid::from_raw(d.child.id() as i32), Signal::SIGHUP).unwrap();
    let reading = Instant::now() + Duration::from_secs(10);
    while !d.output().contains("rereading configuration file") {
        assert!(Instant::now() < reading, "no reload:\n{}", d.output());
        std::thread::sleep(Duration::from_millis(20));
    }

    // While the name is being resolved, the status socket answers at once…
    for _ in 0..5 {
        let t = Instant::now();
        let s = d
            .status(Duration::from_secs(1))
            .unwrap_or_else(|| panic!("no status during the lookup:\n{}", d.output()));
        assert!(t.elapsed() < Duration::from_secs(1));
        assert_eq!(s.reloads, 0);
        assert_eq!(s.virtual_servers[0].real_servers.len(), 2);
        std::thread::sleep(Duration::from_millis(200));
    }
    // …and a nanny's verdict is applied: b comes up.
    let _b = Server::start(&ns, 7302);
    let s = d.until("b up during the lookup", Duration::from_secs(10), |s| {
        Lvsd::health(s, "b") == "up"
    });
    assert_eq!(s.reloads, 0, "the lookup ended early");

    // Another SIGHUP during the lookup, with a file that needs no DNS: when the lookup gives
    // up, its stale reading is dropped and the latest file is read and applied.
    let fast = "server c {\n  address = 127.0.0.1\n  port = 7303\n  active = 1\n }\n";
    std::fs::write(d.dir.join("lvs.cf"), config(fast)).unwrap();
    kill(Pid::from_raw(d.child.id() as i32), Signal::SIGHUP).unwrap();
    assert!(
        hup.elapsed() < Duration::from_secs(DNS_TIMEOUT_SECS),
        "too slow to show anything during the lookup"
    );
    let rereads = |d: &Lvsd| d.output().matches("rereading configuration file").count();
    assert_eq!(rereads(&d), 1, "a second reading during the first");
    let s = d.until(
        "the latest file applied",
        Duration::from_secs(4 * DNS_TIMEOUT_SECS),
        |s| s.reloads > 0,
    );
    assert_eq!(
        (s.reloads, s.virtual_servers[0].real_servers.len()),
        (1, 3),
        "{}",
        d.output()
    );
    assert_eq!(rereads(&d), 2, "{}", d.output());
    assert!(
        !d.output().contains("keeping the running configuration"),
        "the stale reading was applied:\n{}",
        d.output()
    );

    // A stop during a lookup does not wait for it.
    let mut d = d;
    std::fs::write(d.dir.join("lvs.cf"), config(&slow)).unwrap();
    let before = rereads(&d);
    kill(Pid::from_raw(d.child.id() as i32), Signal::SIGHUP).unwrap();
    let reading = Instant::now() + Duration::from_secs(10);
    while rereads(&d) == before {
        assert!(Instant::now() < reading, "no reload:\n{}", d.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    let term = Instant::now();
    kill(Pid::from_raw(d.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = loop {
        if let Some(st) = d.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            term.elapsed() < Duration::from_secs(5),
            "lvsd waits for the lookup to stop:\n{}",
            d.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", d.output());
}
