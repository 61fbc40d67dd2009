//! A reload whose host name lookup hangs does not stop lvsd's main loop: the status socket
//! answers and nanny verdicts are applied while the name is being resolved; a SIGHUP during
//! the lookup makes the latest file win once the lookup gives up; and a stop does not wait
//! for a lookup.
//!
//! lvsd runs in a network namespace (`ip netns exec`) whose resolv.conf names a DNS server on
//! 127.0.0.1 that never answers: an nftables rule drops port 53, so every query is lost and
//! the C library waits out its timeout.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lvsd::status::Status;
use nix::sys::signal::Signal;
use testkit::dns::SilentDns;
use testkit::netns::{Netns, unique_name};
use testkit::process::Proc;
use testkit::root_or_skip;
use testkit::servers::TcpServer;
use testkit::tempdir::TempDir;

/// How long the C library waits for the DNS server that never answers.
const DNS_TIMEOUT_SECS: u64 = 20;

/// A namespace whose DNS never answers (dropped in this order: the resolver's files, then the
/// namespace).
struct SlowDnsNetns {
    dns: SilentDns,
    ns: Netns,
}

impl SlowDnsNetns {
    fn new() -> SlowDnsNetns {
        let ns = Netns::new(&unique_name("lvsddns"));
        let dns = SilentDns::new(ns.name(), DNS_TIMEOUT_SECS as u32);
        SlowDnsNetns { dns, ns }
    }
}

/// A TCP server in the namespace answering "OK".
fn server(ns: &SlowDnsNetns, port: u16) -> TcpServer {
    let l = ns
        .ns
        .run(move || TcpListener::bind(("127.0.0.1", port)).unwrap());
    TcpServer::serve(l, |mut c, _| {
        use std::io::Write;
        let _ = c.write_all(b"OK\n");
    })
}

struct Lvsd {
    proc: Proc,
    dir: TempDir,
}

impl Lvsd {
    /// The status report, or `None` when lvsd does not answer within `within`.
    fn status(&self, within: Duration) -> Option<Status> {
        let mut s = UnixStream::connect(self.dir.path().join("lvsd.sock")).ok()?;
        s.set_read_timeout(Some(within)).ok()?;
        std::io::Write::write_all(&mut s, b"status\n").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn output(&self) -> String {
        self.proc.text()
    }

    fn file(&self) -> std::path::PathBuf {
        self.dir.path().join("lvs.cf")
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
    let dir = TempDir::new("lvsd-slowdns");
    let file = dir.write("lvs.cf", cfg);
    let notify = UnixDatagram::bind(dir.path().join("notify")).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let lvsd = Path::new(env!("CARGO_BIN_EXE_lvsd"));
    let proc = Proc::spawn(
        Command::new("ip")
            .args(["netns", "exec", ns.ns.name()])
            .arg(lvsd)
            .args(["-n", "--memory-table", "--nanny"])
            .arg(testkit::bins::bin("nanny"))
            .arg("-c")
            .arg(file)
            .arg("--socket")
            .arg(dir.path().join("lvsd.sock"))
            .env("NOTIFY_SOCKET", dir.path().join("notify")),
    );
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY=1 from lvsd");
    assert_eq!(&buf[..n], b"READY=1");
    Lvsd { proc, dir }
}

#[test]
fn a_reload_waiting_for_dns_keeps_the_loop_running() {
    if !root_or_skip() {
        return;
    }
    let ns = SlowDnsNetns::new();
    let slow_name = ns.dns.slow_name("lvsd-slow-dns");
    let _a = server(&ns, 7301);
    let d = start(&ns, &config(""));
    d.until("a up, b down", Duration::from_secs(10), |s| {
        Lvsd::health(s, "a") == "up" && Lvsd::health(s, "b") == "down"
    });

    // The file now names a host whose lookup hangs; SIGHUP.
    let slow = format!("server c {{\n  address = {slow_name}\n  port = 7303\n  active = 1\n }}\n");
    std::fs::write(d.file(), config(&slow)).unwrap();
    let hup = Instant::now();
    d.proc.signal(Signal::SIGHUP);
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
    let _b = server(&ns, 7302);
    let s = d.until("b up during the lookup", Duration::from_secs(10), |s| {
        Lvsd::health(s, "b") == "up"
    });
    assert_eq!(s.reloads, 0, "the lookup ended early");

    // Another SIGHUP during the lookup, with a file that needs no DNS: when the lookup gives
    // up, its stale reading is dropped and the latest file is read and applied.
    let fast = "server c {\n  address = 127.0.0.1\n  port = 7303\n  active = 1\n }\n";
    std::fs::write(d.file(), config(fast)).unwrap();
    d.proc.signal(Signal::SIGHUP);
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
    std::fs::write(d.file(), config(&slow)).unwrap();
    let before = rereads(&d);
    d.proc.signal(Signal::SIGHUP);
    let reading = Instant::now() + Duration::from_secs(10);
    while rereads(&d) == before {
        assert!(Instant::now() < reading, "no reload:\n{}", d.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    let term = Instant::now();
    d.proc.signal(Signal::SIGTERM);
    let code = d.proc.exit_code(Duration::from_secs(5));
    assert!(
        term.elapsed() < Duration::from_secs(5),
        "lvsd waits for the lookup to stop:\n{}",
        d.output()
    );
    assert_eq!(code, Some(0), "{}", d.output());
}
