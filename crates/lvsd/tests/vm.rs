//! lvsd on the real kernel's IPVS, in the qemu VM: a client, the director (the guest's root
//! namespace) and three real servers plus a sorry server in namespaces, with busybox httpd.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use vmtest::must;

use lvsd::status::Status;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testkit::status::read_json;

const NAME: &str = "lvsd_on_the_kernel_table";

/// `ipvsadm -Ln` rows of the VIP's service as "addr fwd weight", sorted.
fn dests() -> Vec<String> {
    let t = must("ipvsadm -Ln -t 10.0.1.100:80");
    let mut v: Vec<String> = t
        .lines()
        .filter(|l| l.trim_start().starts_with("->") && !l.contains("RemoteAddress"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {}", w[1], w[2], w[3])
        })
        .collect();
    v.sort();
    v
}

fn wait_dests(what: &str, want: &[&str], within: Duration) {
    testkit::wait::expect_until(
        within,
        || dests() == want,
        || {
            format!(
                "{what}: table {:?}, wanted {want:?}\n{}",
                dests(),
                must("ipvsadm -Ln")
            )
        },
    );
}

fn httpd(ns: &str) -> Child {
    Command::new("/sbin/ip")
        .args([
            "netns",
            "exec",
            ns,
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            &format!("/tmp/www-{ns}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

fn fetch() -> String {
    must("timeout 10 /sbin/ip netns exec client wget -q -O - http://10.0.1.100/")
        .trim()
        .to_owned()
}

fn status() -> Status {
    read_json(Path::new("/tmp/lvsd.sock")).expect("lvsd's status")
}

fn service_conns() -> u64 {
    // The estimator folds counters every 2 s.
    std::thread::sleep(Duration::from_millis(2500));
    let t = must("ipvsadm -Ln --stats --exact -t 10.0.1.100:80");
    t.lines()
        .find(|l| l.starts_with("TCP"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|c| c.parse().ok())
        .unwrap()
}

fn config(extra: &str, rs2_weight: u32, servers: &[&str]) -> String {
    let mut s = format!(
        "primary = 10.0.1.1\nservice = lvs\nnetwork = nat\n{extra}\
         virtual web {{\n active = 1\n address = 10.0.1.100 h0\n port = 80\n\
         send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n expect = \"HTTP\"\n scheduler = rr\n\
         timeout = 1\n reentry = 2\n sorry_server = 192.168.25.2\n"
    );
    for (i, name) in ["rs1", "rs2", "rs3"].iter().enumerate() {
        if servers.contains(name) {
            let w = if *name == "rs2" { rs2_weight } else { 1 };
            s += &format!(
                " server {name} {{\n  address = 192.168.2{}.2\n  active = 1\n  weight = {w}\n }}\n",
                i + 2
            );
        }
    }
    s + "}\n"
}

struct Lvsd(Child);

impl Lvsd {
    fn start(cfg: &str) -> Lvsd {
        std::fs::write("/tmp/lvs.cf", cfg).unwrap();
        let _ = std::fs::remove_file("/tmp/notify");
        let n = UnixDatagram::bind("/tmp/notify").unwrap();
        n.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let child = Command::new("/bin/lvsd")
            .args([
                "-n",
                "--nanny",
                "/bin/nanny",
                "-c",
                "/tmp/lvs.cf",
                "--socket",
                "/tmp/lvsd.sock",
                "--state-file",
                "/tmp/lvsd.state",
            ])
            .env("NOTIFY_SOCKET", "/tmp/notify")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut buf = [0u8; 64];
        let k = n.recv(&mut buf).expect("READY=1");
        assert_eq!(&buf[..k], b"READY=1");
        Lvsd(child)
    }

    fn signal(&self, s: Signal) {
        kill(Pid::from_raw(self.0.id() as i32), s).unwrap();
    }

    fn reload(&self, cfg: &str) {
        let before = status().reloads;
        std::fs::write("/tmp/lvs.cf", cfg).unwrap();
        self.signal(Signal::SIGHUP);
        testkit::wait::expect_until(
            Duration::from_secs(10),
            || status().reloads != before,
            || "no reload".to_owned(),
        );
    }

    fn wait(&mut self) -> Option<i32> {
        testkit::wait::exit(&mut self.0, Duration::from_secs(20)).and_then(|s| s.code())
    }
}

/// A TCP connection from the client namespace to the VIP, opened on its own thread (setns
/// affects only the calling thread).
fn long_lived_connection() -> TcpStream {
    std::thread::spawn(|| {
        let ns = std::fs::File::open("/run/netns/client").unwrap();
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        TcpStream::connect("10.0.1.100:80").unwrap()
    })
    .join()
    .unwrap()
}

#[test]
fn lvsd_on_the_kernel_table() {
    if !vmtest::in_guest() {
        if vmtest::require() {
            let out = vmtest::Guest::self_test(NAME)
                .bin(env!("CARGO_BIN_EXE_lvsd"), "lvsd")
                .bin(
                    std::path::Path::new(env!("CARGO_BIN_EXE_lvsd")).with_file_name("nanny"),
                    "nanny",
                )
                .run_ok();
            out.assert_self_test_passed();
        }
        return;
    }
    must("echo 1 > /proc/sys/net/ipv4/ip_forward; /sbin/ip link set lo up");
    must(
        "/sbin/ip netns add client && /sbin/ip link add h0 type veth peer name c0 netns client \
         && /sbin/ip addr add 10.0.1.1/24 dev h0 && /sbin/ip addr add 10.0.1.100/32 dev h0 && /sbin/ip link set h0 up \
         && /sbin/ip -n client addr add 10.0.1.2/24 dev c0 && /sbin/ip -n client link set c0 up \
         && /sbin/ip -n client link set lo up && /sbin/ip -n client route add default via 10.0.1.1",
    );
    let mut web = Vec::new();
    for (i, ns) in ["rs1", "rs2", "rs3", "sorry"].iter().enumerate() {
        let n = i + 2;
        must(&format!(
            "/sbin/ip netns add {ns} && /sbin/ip link add d{n} type veth peer name e0 netns {ns} \
             && /sbin/ip addr add 192.168.2{n}.1/24 dev d{n} && /sbin/ip link set d{n} up \
             && /sbin/ip -n {ns} addr add 192.168.2{n}.2/24 dev e0 && /sbin/ip -n {ns} link set e0 up \
             && /sbin/ip -n {ns} link set lo up && /sbin/ip -n {ns} route add default via 192.168.2{n}.1 \
             && mkdir -p /tmp/www-{ns} && echo {ns} > /tmp/www-{ns}/index.html"
        ));
        web.push(Some(httpd(ns)));
    }
    // Someone else's service: lvsd must never touch it.
    must("ipvsadm -A -t 10.9.9.9:22 -s rr && ipvsadm -a -t 10.9.9.9:22 -r 192.168.22.2:22 -m");
    let foreign = || must("ipvsadm -Ln -t 10.9.9.9:22").contains("192.168.22.2:22");
    let all = ["rs1", "rs2", "rs3"];

    // Start: the table matches the file once the nannies have checked.
    let mut d = Lvsd::start(&config("hard_shutdown = 0\n", 1, &all));
    wait_dests(
        "start",
        &[
            "192.168.22.2:80 Masq 1",
            "192.168.23.2:80 Masq 1",
            "192.168.24.2:80 Masq 1",
        ],
        Duration::from_secs(20),
    );
    assert!(must("ipvsadm -Ln").contains("TCP  10.0.1.100:80 rr"));
    assert!(foreign(), "the foreign service survived start-up");
    // Round robin over the three.
    let mut got: Vec<String> = (0..6).map(|_| fetch()).collect();
    got.sort();
    assert_eq!(got, ["rs1", "rs1", "rs2", "rs2", "rs3", "rs3"]);

    // rs1's web server stops: out within about one interval; traffic goes on.
    stop(web[0].take().unwrap());
    wait_dests(
        "rs1 down",
        &["192.168.23.2:80 Masq 1", "192.168.24.2:80 Masq 1"],
        Duration::from_secs(6),
    );
    for _ in 0..4 {
        assert_ne!(fetch(), "rs1");
    }
    // Back after reentry (2 s = 2 checks).
    web[0] = Some(httpd("rs1"));
    wait_dests(
        "rs1 back",
        &[
            "192.168.22.2:80 Masq 1",
            "192.168.23.2:80 Masq 1",
            "192.168.24.2:80 Masq 1",
        ],
        Duration::from_secs(10),
    );

    // Reload that changes rs2's weight: one destination edited in place; a connection opened
    // before the reload still works after it; the service was not re-created (counters kept).
    let mut conn = long_lived_connection();
    let conns = service_conns();
    d.reload(&config("hard_shutdown = 0\n", 3, &all));
    wait_dests(
        "weight",
        &[
            "192.168.22.2:80 Masq 1",
            "192.168.23.2:80 Masq 3",
            "192.168.24.2:80 Masq 1",
        ],
        Duration::from_secs(5),
    );
    conn.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.") && reply.contains("rs"),
        "{reply}"
    );
    // A re-created service would count from 0 again.
    assert!(conns >= 10, "{conns}");
    assert!(service_conns() >= conns, "the service kept its counters");

    // Scheduler change: edited in place.
    d.reload(&config("hard_shutdown = 0\n", 3, &all).replace("scheduler = rr", "scheduler = wlc"));
    assert!(must("ipvsadm -Ln").contains("TCP  10.0.1.100:80 wlc"));
    assert!(service_conns() >= conns);
    // A real server removed, then added back.
    d.reload(
        &config("hard_shutdown = 0\n", 3, &["rs1", "rs2"])
            .replace("scheduler = rr", "scheduler = wlc"),
    );
    wait_dests(
        "rs3 removed",
        &["192.168.22.2:80 Masq 1", "192.168.23.2:80 Masq 3"],
        Duration::from_secs(5),
    );
    d.reload(&config("hard_shutdown = 0\n", 3, &all).replace("scheduler = rr", "scheduler = wlc"));
    wait_dests(
        "rs3 added",
        &[
            "192.168.22.2:80 Masq 1",
            "192.168.23.2:80 Masq 3",
            "192.168.24.2:80 Masq 1",
        ],
        Duration::from_secs(8),
    );
    // A broken file: nothing changes.
    let before = must("ipvsadm -Ln");
    std::fs::write(
        "/tmp/lvs.cf",
        "primary = 10.0.1.1\nservice = lvs\nvirtual web {\n active = 7\n}\n",
    )
    .unwrap();
    d.signal(Signal::SIGHUP);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(must("ipvsadm -Ln"), before);
    assert_eq!(status().reloads, 4);

    // Quiesce: a failed server stays in the table at weight 0, then comes back.
    d.reload(
        &config("hard_shutdown = 0\n", 3, &all)
            .replace("reentry = 2", "reentry = 2\n quiesce_server = 1"),
    );
    stop(web[2].take().unwrap());
    wait_dests(
        "rs3 quiesced",
        &[
            "192.168.22.2:80 Masq 1",
            "192.168.23.2:80 Masq 3",
            "192.168.24.2:80 Masq 0",
        ],
        Duration::from_secs(6),
    );
    web[2] = Some(httpd("rs3"));
    wait_dests(
        "rs3 back",
        &[
            "192.168.22.2:80 Masq 1",
            "192.168.23.2:80 Masq 3",
            "192.168.24.2:80 Masq 1",
        ],
        Duration::from_secs(10),
    );
    d.reload(&config("hard_shutdown = 0\n", 3, &all));

    // Everything down: the sorry server answers; one back: it goes.
    for w in web.iter_mut().take(3) {
        stop(w.take().unwrap());
    }
    wait_dests("sorry", &["192.168.25.2:80 Masq 1"], Duration::from_secs(8));
    assert_eq!(fetch(), "sorry");
    web[1] = Some(httpd("rs2"));
    // Back at weight 3 >> 5 = 1, as piranha's nanny re-adds a server (the ramp to 3 comes later).
    wait_dests(
        "sorry gone",
        &["192.168.23.2:80 Masq 1"],
        Duration::from_secs(10),
    );

    // kill -9 of a nanny with hard_shutdown = 0: restarted, the server stays.
    let pid = status().virtual_servers[0]
        .real_servers
        .iter()
        .find(|r| r.name == "rs2")
        .unwrap()
        .nanny_pid
        .unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let rs2 = status().virtual_servers[0]
        .real_servers
        .iter()
        .find(|r| r.name == "rs2")
        .cloned()
        .unwrap();
    assert_eq!(rs2.nanny_restarts, 1);
    assert!(rs2.nanny_pid.is_some_and(|p| p != pid));
    assert_eq!(dests(), ["192.168.23.2:80 Masq 1"]);

    // SIGTERM: our service goes, the foreign one stays.
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(), Some(0));
    assert!(!must("ipvsadm -Ln").contains("10.0.1.100"));
    assert!(foreign());

    // hard_shutdown = 1: a nanny's death takes lvsd down, with its service only.
    let mut d = Lvsd::start(&config("hard_shutdown = 1\n", 3, &all));
    wait_dests(
        "restart",
        &["192.168.23.2:80 Masq 1"],
        Duration::from_secs(15),
    );
    let pid = status().virtual_servers[0].real_servers[0]
        .nanny_pid
        .unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    assert_eq!(d.wait(), Some(1));
    assert!(!must("ipvsadm -Ln").contains("10.0.1.100"));
    assert!(foreign());
}
