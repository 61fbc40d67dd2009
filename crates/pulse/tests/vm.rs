//! pulse on the real kernel's IPVS, in the qemu VM: two directors (each a network namespace
//! with its own IPVS table), a client on the public bridge, two real servers on the private
//! bridge behind the floating NAT router address. Failover moves the VIP, the NAT router, the
//! IPVS table and the sync daemon's role; the client is served before and after.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vmtest::must;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pulse::status::Status;
use testkit::status::read_json;

const NAME: &str = "pulse_failover_on_the_kernel_table";

fn status(n: &str) -> Option<Status> {
    read_json(Path::new(&format!("/tmp/{n}.sock")))
}

fn wait(what: &str, within: Duration, f: impl Fn() -> bool) {
    testkit::wait::expect_until(within, f, || {
        format!(
            "{what}\nd1: {:?}\nd2: {:?}\n{}",
            status("d1"),
            status("d2"),
            must("cat /tmp/d1.log /tmp/d2.log")
        )
    });
}

fn table(n: &str) -> String {
    must(&format!("/sbin/ip netns exec {n} ipvsadm -Ln"))
}

fn fetch() -> Option<String> {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg("timeout 3 /sbin/ip netns exec client wget -q -O - http://10.0.1.100/")
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Four requests through the VIP are answered by both real servers in turn (rr), through
/// director `n`.
fn served_in_turn(n: &str) {
    let mut got: Vec<String> = (0..4).filter_map(|_| fetch()).collect();
    got.sort();
    assert_eq!(got, ["rs1", "rs1", "rs2", "rs2"], "{}", table(n));
}

fn pulse(n: &str) -> Child {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "exec /sbin/ip netns exec {n} /bin/sh -c 'mount -t tmpfs tmpfs /run && exec /bin/pulse -n -v \
             -c /tmp/lvs.cf --lvsd /bin/lvsd --socket /tmp/{n}.sock --arp-interval 0.2' > /tmp/{n}.log 2>&1"
        ))
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

const CONFIG: &str = "serial_no = 1
primary = 10.0.1.1
backup = 10.0.1.2
backup_active = 1
service = lvs
keepalive = 0.5
deadtime = 2
network = nat
nat_router = 192.168.5.254 eth1:1
nat_nmask = 255.255.255.0
dataplane = ipvs
syncdaemon = 1
syncd_iface = eth1
syncd_id = 9
virtual web {
    active = 1
    address = 10.0.1.100 eth0:1
    port = 80
    send = \"GET / HTTP/1.0\\r\\n\\r\\n\"
    expect = \"HTTP\"
    scheduler = rr
    timeout = 1
    reentry = 1
    client_monitor = /bin/nanny
    server rs1 {
        address = 192.168.5.11
        active = 1
    }
    server rs2 {
        address = 192.168.5.12
        active = 1
    }
}
";

/// Outside the VM: boot it and run the test `name` inside; whether this is the guest.
fn in_guest_or_boot(name: &str) -> bool {
    if vmtest::in_guest() {
        return true;
    }
    if vmtest::require() {
        let dir = std::path::Path::new(env!("CARGO_BIN_EXE_pulse"));
        let mut guest = vmtest::Guest::self_test(name)
            .bin(env!("CARGO_BIN_EXE_pulse"), "pulse")
            .bin(dir.with_file_name("lvsd"), "lvsd")
            .bin(dir.with_file_name("nanny"), "nanny");
        // Four unstripped debug binaries unpack into the guest's RAM.
        guest.memory_mb = 1536;
        guest.modules.push("bridge".into());
        let out = guest.run_ok();
        out.assert_self_test_passed();
    }
    false
}

/// The two bridges, the directors, the client and the real servers (busybox httpd, whose
/// processes are returned).
fn lan() -> Vec<Child> {
    // Two bridges in a switch namespace: public (directors, client), private (directors,
    // real servers).
    must(
        "/sbin/ip netns add sw && /sbin/ip -n sw link add br0 type bridge && /sbin/ip -n sw link add br1 type bridge \
         && /sbin/ip -n sw link set br0 up && /sbin/ip -n sw link set br1 up",
    );
    let mut port = 0;
    let mut plug = |ns: &str, dev: &str, br: &str, addr: &str| {
        port += 1;
        must(&format!(
            "/sbin/ip -n sw link add p{port} type veth peer name {dev} netns {ns} \
             && /sbin/ip -n sw link set p{port} master {br} up \
             && /sbin/ip -n {ns} addr add {addr} dev {dev} && /sbin/ip -n {ns} link set {dev} up"
        ));
    };
    for (i, d) in ["d1", "d2"].iter().enumerate() {
        must(&format!(
            "/sbin/ip netns add {d} && /sbin/ip -n {d} link set lo up \
             && /sbin/ip netns exec {d} /bin/sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'"
        ));
        plug(d, "eth0", "br0", &format!("10.0.1.{}/24", i + 1));
        plug(d, "eth1", "br1", &format!("192.168.5.{}/24", i + 1));
    }
    must("/sbin/ip netns add client && /sbin/ip -n client link set lo up");
    plug("client", "eth0", "br0", "10.0.1.50/24");
    let mut web = Vec::new();
    for (i, rs) in ["rs1", "rs2"].iter().enumerate() {
        must(&format!(
            "/sbin/ip netns add {rs} && /sbin/ip -n {rs} link set lo up \
             && mkdir -p /tmp/www-{rs} && echo {rs} > /tmp/www-{rs}/index.html"
        ));
        plug(rs, "eth0", "br1", &format!("192.168.5.{}/24", 11 + i));
        // Replies go back through the floating NAT router address.
        must(&format!(
            "/sbin/ip -n {rs} route add default via 192.168.5.254"
        ));
        web.push(
            Command::new("/sbin/ip")
                .args(["netns", "exec", rs, "httpd", "-f", "-p", "80", "-h"])
                .arg(format!("/tmp/www-{rs}"))
                .spawn()
                .unwrap(),
        );
    }
    web
}

#[test]
fn pulse_failover_on_the_kernel_table() {
    if !in_guest_or_boot(NAME) {
        return;
    }
    let web = lan();
    std::fs::write("/tmp/lvs.cf", CONFIG).unwrap();
    let mut d1 = pulse("d1");
    let d2 = pulse("d2");
    let active = |n: &str| status(n).is_some_and(|s| s.state == "active" && s.vips.len() == 2);
    wait("d1 active", Duration::from_secs(30), || active("d1"));
    wait("d1's table", Duration::from_secs(30), || {
        let t = table("d1");
        t.contains("TCP  10.0.1.100:80 rr")
            && t.contains("192.168.5.11:80")
            && t.contains("192.168.5.12:80")
    });
    assert!(!table("d2").contains("10.0.1.100"), "{}", table("d2"));
    assert!(status("d2").is_some_and(|s| s.state == "inactive" && s.vips.is_empty()));
    // The sync daemon: master on the active director, backup on the other.
    let daemons = || {
        format!(
            "d1: {}d2: {}",
            must("/sbin/ip netns exec d1 ipvsadm -L --daemon"),
            must("/sbin/ip netns exec d2 ipvsadm -L --daemon")
        )
    };
    wait("sync daemons", Duration::from_secs(10), || {
        let d = daemons();
        let (d1, d2) = d.split_once("d2: ").unwrap();
        d1.contains("master sync daemon (mcast=eth1, syncid=9,")
            && !d1.contains("backup")
            && d2.contains("backup sync daemon (mcast=eth1, syncid=9,")
            && !d2.contains("master")
    });
    served_in_turn("d1");

    // The active director's pulse dies: lvsd goes with it and empties d1's table; d2 takes
    // the VIP, the NAT router and the service.
    let _ = kill(Pid::from_raw(d1_pid()), Signal::SIGKILL);
    let _ = d1.wait();
    let t0 = Instant::now();
    wait("d2 active", Duration::from_secs(30), || active("d2"));
    let took = t0.elapsed();
    wait("d2's table", Duration::from_secs(30), || {
        let t = table("d2");
        t.contains("TCP  10.0.1.100:80 rr")
            && t.contains("192.168.5.11:80")
            && t.contains("192.168.5.12:80")
    });
    wait(
        "d1's table emptied by its lvsd",
        Duration::from_secs(10),
        || !table("d1").contains("10.0.1.100"),
    );
    wait(
        "d2's sync daemon is master",
        Duration::from_secs(10),
        || must("/sbin/ip netns exec d2 ipvsadm -L --daemon").contains("master sync daemon"),
    );
    wait("served through d2", Duration::from_secs(30), || {
        fetch().is_some()
    });
    served_in_turn("d2");
    eprintln!("kill -9 on the kernel table: d2 active after {took:?}");
    drop(d2);
    for mut w in web {
        let _ = w.kill();
    }
}

/// pulse's pid in d1 (the shell wrappers exec into it).
fn d1_pid() -> i32 {
    status("d1").map(|s| s.pid as i32).expect("d1 answers")
}

/// Director `n`'s kernel table has the virtual server with both real servers.
fn full_table(n: &str) -> bool {
    let t = table(n);
    t.contains("TCP  10.0.1.100:80 rr")
        && t.contains("192.168.5.11:80")
        && t.contains("192.168.5.12:80")
}

/// The packets director `n`'s kernel table forwarded for the virtual server (`InPkts`).
fn in_packets(n: &str) -> u64 {
    let out = must(&format!(
        "/sbin/ip netns exec {n} ipvsadm -Ln --stats --exact -t 10.0.1.100:80"
    ));
    out.lines()
        .find(|l| l.starts_with("TCP  10.0.1.100:80"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn pulse_hot_standby_on_the_kernel_table() {
    if !in_guest_or_boot("pulse_hot_standby_on_the_kernel_table") {
        return;
    }
    let web = lan();
    std::fs::write("/tmp/lvs.cf", format!("{CONFIG}hot_standby = 1\n")).unwrap();
    let mut d1 = pulse("d1");
    let d2 = pulse("d2");
    let active = |n: &str| status(n).is_some_and(|s| s.state == "active" && s.vips.len() == 2);
    wait("d1 active", Duration::from_secs(30), || active("d1"));
    // The standby's table is complete, health-checked, and carries nothing: no VIP there.
    wait("both tables", Duration::from_secs(30), || {
        full_table("d1") && full_table("d2")
    });
    let st2 = status("d2").unwrap();
    assert!(
        st2.state == "inactive" && st2.vips.is_empty() && st2.hot_standby,
        "{st2:?}"
    );
    let lvsd2 = st2.child.as_ref().map(|c| (c.pid, c.state.clone()));
    assert_eq!(lvsd2.as_ref().map(|c| c.1.as_str()), Some("ready"));
    wait("sync daemons", Duration::from_secs(10), || {
        must("/sbin/ip netns exec d1 ipvsadm -L --daemon").contains("master sync daemon")
            && must("/sbin/ip netns exec d2 ipvsadm -L --daemon").contains("backup sync daemon")
    });
    served_in_turn("d1");
    let stats = |n: &str| {
        must(&format!(
            "/sbin/ip netns exec {n} ipvsadm -Ln --stats --exact"
        ))
    };
    // The kernel sums its per-CPU counters every few seconds.
    wait("d1's counters", Duration::from_secs(15), || {
        in_packets("d1") > 0
    });
    assert_eq!(
        in_packets("d2"),
        0,
        "the standby forwarded traffic\n{}",
        stats("d2")
    );

    // The active director's pulse dies: d2 takes over with the table it already has (same
    // lvsd), its sync daemon becomes the master, and it serves.
    let _ = kill(Pid::from_raw(d1_pid()), Signal::SIGKILL);
    let _ = d1.wait();
    let t0 = Instant::now();
    wait("d2 active", Duration::from_secs(30), || active("d2"));
    let took = t0.elapsed();
    let st2 = status("d2").unwrap();
    assert_eq!(
        st2.child.as_ref().map(|c| c.pid),
        lvsd2.map(|c| c.0),
        "d2's lvsd was started again"
    );
    assert!(full_table("d2"));
    wait(
        "d2's sync daemon is master",
        Duration::from_secs(10),
        || must("/sbin/ip netns exec d2 ipvsadm -L --daemon").contains("master sync daemon"),
    );
    wait("served through d2", Duration::from_secs(30), || {
        fetch().is_some()
    });
    served_in_turn("d2");
    wait("d2's counters", Duration::from_secs(15), || {
        in_packets("d2") > 0
    });
    eprintln!("kill -9 with hot standby on the kernel table: d2 active after {took:?}");
    drop(d2);
    for mut w in web {
        let _ = w.kill();
    }
}

/// Step the wall clock by `secs` (the guest's: every director in the VM sees it).
fn step_clock(secs: i64) {
    use nix::sys::time::TimeSpec;
    use nix::time::{ClockId, clock_gettime, clock_settime};
    let now = clock_gettime(ClockId::CLOCK_REALTIME).unwrap();
    clock_settime(ClockId::CLOCK_REALTIME, now + TimeSpec::new(secs, 0)).unwrap();
}

/// The fault matrix's clock row (issue 20): the wall clock stepped forward and back by an
/// hour moves nothing, because pulse, lvsd and nanny time heartbeats, deadlines and checks
/// with the monotonic clock. Only a VM can step its clock without disturbing the host.
#[test]
fn pulse_keeps_its_roles_when_the_clock_steps() {
    if !in_guest_or_boot("pulse_keeps_its_roles_when_the_clock_steps") {
        return;
    }
    let web = lan();
    std::fs::write("/tmp/lvs.cf", CONFIG).unwrap();
    let d1 = pulse("d1");
    let d2 = pulse("d2");
    let active = |n: &str| status(n).is_some_and(|s| s.state == "active" && s.vips.len() == 2);
    wait("d1 active", Duration::from_secs(30), || active("d1"));
    wait("d1's table", Duration::from_secs(30), || full_table("d1"));
    wait("d2 inactive", Duration::from_secs(10), || {
        status("d2").is_some_and(|s| s.state == "inactive")
    });
    served_in_turn("d1");
    // Forward an hour, back to now, an hour behind, back to now: each held three deadtimes
    // (deadtime 2 s), the client asking all along.
    let mut seen = Vec::new();
    for step in [3600, -3600, -3600, 3600] {
        step_clock(step);
        let t0 = Instant::now();
        let mut asked = 0;
        while t0.elapsed() < Duration::from_secs(6) {
            assert!(
                fetch().is_some(),
                "not served {:?} after stepping the clock by {step} s\n{}",
                t0.elapsed(),
                must("cat /tmp/d1.log /tmp/d2.log")
            );
            let (s1, s2) = (status("d1").unwrap(), status("d2").unwrap());
            assert!(
                s1.state == "active" && s1.vips.len() == 2 && s2.state == "inactive",
                "roles moved after stepping the clock by {step} s: {s1:?} {s2:?}"
            );
            asked += 1;
            std::thread::sleep(Duration::from_millis(200));
        }
        seen.push(format!("{step:+} s: {asked} requests served"));
    }
    eprintln!("clock stepped, roles unchanged: {}", seen.join(", "));
    let (s1, s2) = (status("d1").unwrap(), status("d2").unwrap());
    assert_eq!((s1.took_over, s1.gave_up), (1, 0), "{s1:?}");
    assert_eq!((s2.took_over, s2.gave_up), (0, 0), "{s2:?}");
    assert!(full_table("d1") && !table("d2").contains("10.0.1.100"));
    served_in_turn("d1");
    drop((d1, d2));
    for mut w in web {
        let _ = w.kill();
    }
}
