//! Two active directors (`announce = bird`) on the real kernel's IPVS, in the qemu VM: each a
//! network namespace with its own IPVS table and its own pulse (`backup_active = 0`, its own
//! address as `primary`, no BIRD running), the same `mh` UDP service in direct routing, and
//! the connection sync daemon on the link they share. The test points the client's route to
//! the VIP at one director, then at the other, as a router's ECMP would when it re-hashes.
//!
//! It shows: both directors run the master and the backup sync daemon; the same flows get the
//! same real servers from either director (each schedules them itself); and a connection made
//! through one director is in the other's table, with its real server, through the sync
//! daemon. The real servers are addresses behind a dummy interface: IPVS schedules and records
//! a connection on the first datagram whether or not anything answers.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pulse::status::Status;
use testkit::status::read_json;
use vmtest::must;

const NAME: &str = "active_directors_share_their_connections_through_the_sync_daemon";
const VIP: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const PORT: u16 = 53;
const DIRECTORS: [(&str, &str); 2] = [("d1", "10.0.1.1"), ("d2", "10.0.1.2")];
const REALS: [&str; 3] = ["192.168.22.2", "192.168.23.2", "192.168.24.2"];

/// One director's lvs.cf: only `primary` differs. BIRD's socket does not exist.
fn config(primary: &str) -> String {
    format!(
        "serial_no = 1
primary = {primary}
backup_active = 0
service = lvs
network = direct
announce = bird
bird_socket = /tmp/no-bird/bird.ctl
announce_drain = 0
syncdaemon = 1
syncd_iface = eth0
syncd_id = 9
virtual dns {{
    active = 1
    address = {VIP} eth0
    port = {PORT}
    protocol = udp
    scheduler = mh
    send_program = \"/bin/test -e /tmp/up/%h\"
    timeout = 1
    reentry = 1
    client_monitor = /bin/nanny
{servers}}}
",
        servers = REALS
            .iter()
            .enumerate()
            .map(|(i, a)| format!(
                "    server rs{i} {{\n        address = {a}\n        active = 1\n    }}\n"
            ))
            .collect::<String>()
    )
}

fn status(n: &str) -> Option<Status> {
    read_json(Path::new(&format!("/tmp/{n}.sock")))
}

fn logs() -> String {
    must("cat /tmp/d1.log /tmp/d2.log")
}

fn wait(what: &str, within: Duration, f: impl FnMut() -> bool) -> Duration {
    testkit::wait::expect_until(within, f, || {
        format!(
            "{what}\nd1: {}\nd2: {}\n{}",
            table("d1"),
            table("d2"),
            logs()
        )
    })
}

fn table(n: &str) -> String {
    must(&format!("/sbin/ip netns exec {n} ipvsadm -Ln"))
}

fn pulse(n: &str) -> Child {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "exec /sbin/ip netns exec {n} /bin/sh -c 'mount -t tmpfs tmpfs /run && exec /bin/pulse -n -v \
             -c /tmp/{n}.cf --lvsd /bin/lvsd --socket /tmp/{n}.sock' > /tmp/{n}.log 2>&1"
        ))
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// Hex `/proc/net/ip_vs_conn_sync` fields: an IPv4 address and a port.
fn hex_addr(a: &str, p: &str) -> Option<SocketAddr> {
    let a = u32::from_str_radix(a, 16).ok()?;
    let p = u16::from_str_radix(p, 16).ok()?;
    Some(SocketAddr::new(Ipv4Addr::from(a).into(), p))
}

/// A director's UDP connections to the VIP: client → (real server, origin). The origin is
/// `LOCAL` for a connection this director scheduled, `SYNC` for one its backup sync daemon
/// learnt.
fn conns(n: &str) -> HashMap<SocketAddr, (SocketAddr, String)> {
    let text = must(&format!(
        "/sbin/ip netns exec {n} cat /proc/net/ip_vs_conn_sync"
    ));
    let vip = SocketAddr::new(VIP.into(), PORT);
    let mut m = HashMap::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 9 || f[0] != "UDP" {
            continue;
        }
        if let (Some(c), Some(v), Some(d)) = (
            hex_addr(f[1], f[2]),
            hex_addr(f[3], f[4]),
            hex_addr(f[5], f[6]),
        ) && v == vip
        {
            m.insert(c, (d, f[8].to_owned()));
        }
    }
    m
}

/// Point the client's route to the VIP at director `n`.
fn route_to(n: usize) {
    must(&format!(
        "/sbin/ip -n client route replace {VIP}/32 via {}",
        DIRECTORS[n].1
    ));
}

/// Send `count` datagrams to the VIP from each client address and port, from the client
/// namespace.
fn send(flows: &[SocketAddr], count: usize) {
    let flows = flows.to_vec();
    std::thread::spawn(move || {
        let ns = std::fs::File::open("/run/netns/client").unwrap();
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        for f in flows {
            let s = UdpSocket::bind(f).unwrap_or_else(|e| panic!("bind {f}: {e}"));
            for _ in 0..count {
                s.send_to(b"x", (VIP, PORT)).unwrap();
            }
        }
    })
    .join()
    .unwrap();
}

fn flows(addrs: std::ops::RangeInclusive<u8>, port: u16) -> Vec<SocketAddr> {
    addrs
        .map(|i| SocketAddr::new(Ipv4Addr::new(10, 0, 2, i).into(), port))
        .collect()
}

fn setup_network() {
    must(
        "/sbin/ip netns add sw && /sbin/ip -n sw link add br0 type bridge \
         && /sbin/ip -n sw link set br0 up",
    );
    let plug = |port: usize, ns: &str, addr: &str| {
        must(&format!(
            "/sbin/ip netns add {ns} && /sbin/ip -n {ns} link set lo up \
             && /sbin/ip -n sw link add p{port} type veth peer name eth0 netns {ns} \
             && /sbin/ip -n sw link set p{port} master br0 up \
             && /sbin/ip -n {ns} addr add {addr}/24 dev eth0 && /sbin/ip -n {ns} link set eth0 up"
        ));
    };
    for (i, (d, addr)) in DIRECTORS.iter().enumerate() {
        plug(i, d, addr);
        // The real servers' addresses lie behind a dummy interface; the clients' behind the
        // client.
        must(&format!(
            "/sbin/ip -n {d} link add rs type dummy && /sbin/ip -n {d} addr add 192.168.0.1/16 dev rs \
             && /sbin/ip -n {d} link set rs up && /sbin/ip -n {d} route add 10.0.2.0/24 via 10.0.1.50"
        ));
    }
    plug(9, "client", "10.0.1.50");
    let batch: String = (1..=120)
        .map(|i| format!("addr add 10.0.2.{i}/32 dev eth0\n"))
        .collect();
    std::fs::write("/tmp/client-addrs", batch).unwrap();
    must("/sbin/ip -n client -batch /tmp/client-addrs && mkdir -p /tmp/up");
}

#[test]
fn active_directors_share_their_connections_through_the_sync_daemon() {
    if !vmtest::in_guest() {
        for (_, a) in DIRECTORS {
            let p = lvscf::parse(&config(a));
            assert!(!p.has_errors(), "{:?}", p.diagnostics);
        }
        if vmtest::require() {
            let dir = Path::new(env!("CARGO_BIN_EXE_pulse"));
            let mut guest = vmtest::Guest::self_test(NAME)
                .bin(env!("CARGO_BIN_EXE_pulse"), "pulse")
                .bin(dir.with_file_name("lvsd"), "lvsd")
                .bin(dir.with_file_name("nanny"), "nanny");
            guest.memory_mb = 1536;
            guest.modules.push("bridge".into());
            guest.modules.push("dummy".into());
            let out = guest.run_ok();
            out.assert_self_test_passed();
            for l in out.script.lines().filter(|l| l.contains("active-active:")) {
                println!("{l}");
            }
        }
        return;
    }
    setup_network();
    for (d, a) in DIRECTORS {
        std::fs::write(format!("/tmp/{d}.cf"), config(a)).unwrap();
    }
    let mut pulses: Vec<Child> = DIRECTORS.iter().map(|(d, _)| pulse(d)).collect();
    for (d, _) in DIRECTORS {
        wait(&format!("{d} active"), Duration::from_secs(30), || {
            status(d).is_some_and(|s| s.state == "active" && s.vips == [format!("{VIP}/32 lo")])
        });
    }
    // BIRD absent is logged and retried; the directors go on.
    wait(
        "BIRD's absence logged and retried",
        Duration::from_secs(30),
        || {
            DIRECTORS.iter().all(|(d, _)| {
                let l = std::fs::read_to_string(format!("/tmp/{d}.log")).unwrap_or_default();
                l.contains("announce: ") && l.contains("trying again in")
            })
        },
    );

    // lvsd adds a real server when its nanny first reports it up, and the kernel fills mh's
    // lookup table in the order of the destination list: the real servers come up one at a
    // time, so that both tables are built the same way. (mh has been seen to choose alike
    // whatever the order; sh does not, see lvs.cf(5).)
    let service = format!("UDP  {VIP}:{PORT} mh");
    for (i, rs) in REALS.iter().enumerate() {
        std::fs::write(format!("/tmp/up/{rs}"), "").unwrap();
        wait(
            &format!("{rs} in both tables"),
            Duration::from_secs(30),
            || {
                DIRECTORS.iter().all(|(d, _)| {
                    let t = table(d);
                    t.contains(&service) && t.matches("Route").count() == i + 1 && t.contains(rs)
                })
            },
        );
    }

    // (a) Both directors run a master and a backup sync daemon on the shared link.
    for (d, _) in DIRECTORS {
        let daemons = must(&format!("/sbin/ip netns exec {d} ipvsadm -L --daemon"));
        assert!(
            daemons.contains("master sync daemon (mcast=eth0, syncid=9,")
                && daemons.contains("backup sync daemon (mcast=eth0, syncid=9,"),
            "{d}: {daemons}"
        );
        println!("active-active: {d}: {}", daemons.trim().replace('\n', "; "));
    }

    // (b) 100 flows of one datagram each through d1, then the same flows through d2: each
    // director schedules them itself (LOCAL; the kernel syncs a connection at its third
    // packet, net.ipv4.vs.sync_threshold) and picks the same real server.
    let same = flows(1..=100, 40000);
    route_to(0);
    send(&same, 1);
    let mut via_d1 = HashMap::new();
    wait("d1 scheduled the flows", Duration::from_secs(30), || {
        via_d1 = conns("d1");
        same.iter().all(|f| via_d1.contains_key(f))
    });
    route_to(1);
    send(&same, 1);
    let mut via_d2 = HashMap::new();
    wait("d2 scheduled the flows", Duration::from_secs(30), || {
        via_d2 = conns("d2");
        same.iter().all(|f| via_d2.contains_key(f))
    });
    let mut spread: HashMap<SocketAddr, usize> = HashMap::new();
    for f in &same {
        let (a, b) = (&via_d1[f], &via_d2[f]);
        assert_eq!(
            (&a.1, &b.1),
            (&"LOCAL".to_owned(), &"LOCAL".to_owned()),
            "{f}"
        );
        assert_eq!(a.0, b.0, "flow {f}: d1 chose {}, d2 {}", a.0, b.0);
        *spread.entry(a.0).or_default() += 1;
    }
    assert!(
        spread.len() > 1,
        "one real server got every flow: {spread:?}"
    );

    // (c) 20 flows of three datagrams each through d1 only: d2's backup daemon learns them
    // from d1's master, with the real server d1 chose.
    let moved = flows(101..=120, 41000);
    route_to(0);
    send(&moved, 3);
    let mut on_d1 = HashMap::new();
    wait("d1 scheduled the flows", Duration::from_secs(30), || {
        on_d1 = conns("d1");
        moved.iter().all(|f| on_d1.contains_key(f))
    });
    let mut on_d2 = HashMap::new();
    let took = wait(
        "d2 learnt d1's connections",
        Duration::from_secs(30),
        || {
            on_d2 = conns("d2");
            moved.iter().all(|f| on_d2.contains_key(f))
        },
    );
    for f in &moved {
        assert_eq!(on_d1[f].1, "LOCAL", "{f}");
        assert_eq!(
            on_d2[f],
            (on_d1[f].0, "SYNC".to_owned()),
            "flow {f} on d2 (d1: {:?})",
            on_d1[f]
        );
    }
    // The router moves them to d2: the synced connections carry them on, nothing new is
    // scheduled.
    route_to(1);
    send(&moved, 1);
    let after = conns("d2");
    for f in &moved {
        assert_eq!(after[f].0, on_d1[f].0, "{f}");
    }
    println!(
        "active-active: {} flows equal on both directors over {} real servers; \
         20 connections synced to d2 within {took:?}",
        same.len(),
        spread.len()
    );
    println!(
        "active-active: {}",
        must("grep -h 'announce: ' /tmp/d1.log | head -n 1")
    );
    for (d, _) in DIRECTORS {
        assert!(
            status(d).is_some_and(|s| s.state == "active"),
            "{d} stays active without BIRD"
        );
    }
    for p in &mut pulses {
        let _ = p.kill();
    }
}
