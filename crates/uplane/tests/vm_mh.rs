//! The kernel's `mh` (and `sh`, `dh`) and the userspace data plane's pick the same real
//! server for the same flows: in the qemu VM, the same services and real servers (same order of
//! additions, weights, a quiesced server, a removed and re-added one) go into the kernel's
//! IPVS and into a [`Userspace`] table; 620 UDP flows from a client namespace make the
//! kernel choose (read back from `/proc/net/ip_vs_conn`), and the userspace table
//! schedules the same client addresses and ports. Every choice must agree.
//!
//! The real servers are addresses behind a dummy interface: IPVS schedules and records a
//! connection on the first datagram whether or not anything answers.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ipvs::{Dest, Forward, IpvsTable, NetlinkIpvs, Service, ServiceId};
use uplane::Userspace;
use uplane::sched::{FLAG_FALLBACK, FLAG_PORT};
use vmtest::must;

const NAME: &str = "kernel_and_userspace_mh_and_sh_pick_the_same_servers";
const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 100);

/// The real servers: address, port offset from the service's port, weight.
const SERVERS: &[(Ipv4Addr, u16, i32)] = &[
    (Ipv4Addr::new(192, 168, 22, 2), 0, 1),
    (Ipv4Addr::new(192, 168, 23, 2), 0, 2),
    (Ipv4Addr::new(192, 168, 24, 2), 0, 3),
    (Ipv4Addr::new(192, 168, 25, 2), 1000, 1),
    (Ipv4Addr::new(192, 168, 26, 2), 0, 5),
];

fn dest(i: usize, vport: u16) -> Dest {
    let (a, off, w) = SERVERS[i];
    Dest::new(a.into(), vport + off)
        .forward(Forward::Masq)
        .weight(w)
}

/// The same change applied to both tables.
struct Both {
    kernel: NetlinkIpvs,
    user: Userspace,
}

impl Both {
    fn apply(
        &mut self,
        f: impl Fn(&mut dyn IpvsTable, &Service),
        kernel: &Service,
        user: &Service,
    ) {
        f(&mut self.kernel, kernel);
        f(&mut self.user, user);
    }
}

/// The kernel's service on the VIP and the userspace one on the loopback (the flow's
/// virtual address plays no part in mh and sh), or on the VIP too for dh (which hashes
/// it; the kernel takes the datagrams before the userspace socket would see them).
fn services(port: u16, sched: &str, flags: u32) -> (Service, Service) {
    let mut k = Service::new(ServiceId::udp(VIP.into(), port)).scheduler(sched);
    k.flags |= flags;
    let uvip = if sched == "dh" {
        VIP
    } else {
        Ipv4Addr::LOCALHOST
    };
    let mut u = Service::new(ServiceId::udp(uvip.into(), port)).scheduler(sched);
    u.flags |= flags;
    (k, u)
}

/// Send one datagram to VIP:port from each client address and port, from the client
/// namespace.
fn send_flows(flows: &[SocketAddr], port: u16) {
    let flows = flows.to_vec();
    std::thread::spawn(move || {
        let ns = std::fs::File::open("/run/netns/client").unwrap();
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        for f in flows {
            let s = UdpSocket::bind(f).unwrap_or_else(|e| panic!("bind {f}: {e}"));
            s.send_to(b"x", (VIP, port)).unwrap();
        }
    })
    .join()
    .unwrap();
}

/// Hex `/proc/net/ip_vs_conn` fields: an IPv4 address and a port.
fn hex_addr(a: &str, p: &str) -> Option<SocketAddr> {
    let a = u32::from_str_radix(a, 16).ok()?;
    let p = u16::from_str_radix(p, 16).ok()?;
    Some(SocketAddr::new(Ipv4Addr::from(a).into(), p))
}

/// The kernel's connections to VIP:port: client → real server.
fn kernel_choices(port: u16) -> HashMap<SocketAddr, SocketAddr> {
    let text = std::fs::read_to_string("/proc/net/ip_vs_conn").unwrap();
    let mut m = HashMap::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 7 || f[0] != "UDP" {
            continue;
        }
        let (Some(c), Some(v), Some(d)) = (
            hex_addr(f[1], f[2]),
            hex_addr(f[3], f[4]),
            hex_addr(f[5], f[6]),
        ) else {
            continue;
        };
        if v == SocketAddr::new(VIP.into(), port) {
            m.insert(c, d);
        }
    }
    m
}

/// Send the flows, wait for the kernel to have scheduled them all, and compare with the
/// userspace table's picks; returns how many flows each real server got.
fn compare(
    both: &Both,
    user: &Service,
    port: u16,
    flows: &[SocketAddr],
) -> HashMap<SocketAddr, usize> {
    send_flows(flows, port);
    let mut kernel = HashMap::new();
    testkit::wait::expect_until(
        Duration::from_secs(60),
        || {
            kernel = kernel_choices(port);
            kernel.len() >= flows.len()
        },
        || {
            format!(
                "the kernel scheduled {} of {} flows",
                kernel_choices(port).len(),
                flows.len()
            )
        },
    );
    let mut per_server: HashMap<SocketAddr, usize> = HashMap::new();
    let mut st = both.user.state();
    for &f in flows {
        let k = kernel[&f];
        let u = st
            .schedule(user.id, f, Instant::now())
            .map(|p| p.addr)
            .unwrap_or_else(|| panic!("userspace mh refused {f}"));
        // The userspace real server's port is the kernel's (same dests), so compare whole.
        assert_eq!(u, k, "flow {f} to port {port}: kernel {k}, userspace {u}");
        *per_server.entry(k).or_default() += 1;
    }
    per_server
}

fn setup_network() {
    must(
        "echo 1 > /proc/sys/net/ipv4/ip_forward; /sbin/ip link set lo up \
         && /sbin/ip netns add client && /sbin/ip link add h0 type veth peer name c0 netns client \
         && /sbin/ip addr add 10.0.1.1/24 dev h0 && /sbin/ip addr add 10.0.1.100/32 dev h0 \
         && /sbin/ip link set h0 up && /sbin/ip route add 10.0.2.0/24 via 10.0.1.2 \
         && /sbin/ip -n client addr add 10.0.1.2/24 dev c0 && /sbin/ip -n client link set c0 up \
         && /sbin/ip -n client link set lo up && /sbin/ip -n client route add default via 10.0.1.1 \
         && /sbin/ip link add rs type dummy && /sbin/ip addr add 192.168.0.1/16 dev rs \
         && /sbin/ip link set rs up",
    );
    let batch: String = (1..=200)
        .map(|i| format!("addr add 10.0.2.{i}/32 dev c0\n"))
        .collect();
    std::fs::write("/tmp/client-addrs", batch).unwrap();
    must("/sbin/ip -n client -batch /tmp/client-addrs");
}

fn client(i: u8) -> IpAddr {
    Ipv4Addr::new(10, 0, 2, i).into()
}

#[test]
fn kernel_and_userspace_mh_and_sh_pick_the_same_servers() {
    if !vmtest::in_guest() {
        if vmtest::require() {
            let mut g = vmtest::Guest::self_test(NAME);
            g.modules.push("dummy".into());
            let out = g.run_ok();
            out.assert_self_test_passed();
            for l in out.script.lines().filter(|l| l.contains("agreement")) {
                println!("{l}");
            }
        }
        return;
    }
    setup_network();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut both = Both {
        kernel: NetlinkIpvs::new().expect("the kernel's IPVS"),
        user: Userspace::new(rt.handle().clone()),
    };

    // 1. mh without flags: the client address alone decides; 200 addresses.
    let (k53, u53) = services(53, "mh", 0);
    both.apply(|t, s| t.add_service(s).unwrap(), &k53, &u53);
    for i in 0..SERVERS.len() {
        both.apply(|t, s| t.add_dest(s, &dest(i, 53)).unwrap(), &k53, &u53);
    }
    let flows: Vec<SocketAddr> = (1..=200)
        .map(|i| SocketAddr::new(client(i), 40000))
        .collect();
    let spread = compare(&both, &u53, 53, &flows);
    assert_eq!(
        spread.len(),
        SERVERS.len(),
        "every server got flows: {spread:?}"
    );

    // 2. mh-port and mh-fallback, then 3. sh with sh-port and sh-fallback: the first
    // server removed and added back (so it is now the newest, first in the kernel's list),
    // the third one's weight raised, the second one quiesced (weight 0: its slots stay,
    // its flows fall back to others); 20 ports of 10 addresses.
    for (port, sched) in [(54, "mh"), (55, "sh")] {
        let (k, u) = services(port, sched, FLAG_FALLBACK | FLAG_PORT);
        both.apply(|t, s| t.add_service(s).unwrap(), &k, &u);
        for i in 0..SERVERS.len() {
            both.apply(|t, s| t.add_dest(s, &dest(i, port)).unwrap(), &k, &u);
        }
        both.apply(|t, s| t.del_dest(s, &dest(0, port)).unwrap(), &k, &u);
        both.apply(|t, s| t.add_dest(s, &dest(0, port)).unwrap(), &k, &u);
        both.apply(
            |t, s| t.edit_dest(s, &dest(2, port).weight(6)).unwrap(),
            &k,
            &u,
        );
        both.apply(
            |t, s| t.edit_dest(s, &dest(1, port).weight(0)).unwrap(),
            &k,
            &u,
        );
        let flows: Vec<SocketAddr> = (1..=10)
            .flat_map(|i| (0..20).map(move |p| SocketAddr::new(client(i), 41000 + p * 7)))
            .collect();
        let spread = compare(&both, &u, port, &flows);
        let quiesced = SocketAddr::new(SERVERS[1].0.into(), port);
        assert!(!spread.contains_key(&quiesced), "{sched}: {spread:?}");
        assert_eq!(spread.len(), SERVERS.len() - 1, "{sched}: {spread:?}");
    }

    // 4. dh: the VIP alone decides, among the servers in the kernel's order (the first
    // one re-added, so the newest).
    let (k, u) = services(56, "dh", 0);
    both.apply(|t, s| t.add_service(s).unwrap(), &k, &u);
    for i in 0..SERVERS.len() {
        both.apply(|t, s| t.add_dest(s, &dest(i, 56)).unwrap(), &k, &u);
    }
    both.apply(|t, s| t.del_dest(s, &dest(0, 56)).unwrap(), &k, &u);
    both.apply(|t, s| t.add_dest(s, &dest(0, 56)).unwrap(), &k, &u);
    let flows: Vec<SocketAddr> = (1..=20)
        .map(|i| SocketAddr::new(client(i), 42000))
        .collect();
    let spread = compare(&both, &u, 56, &flows);
    assert_eq!(spread.len(), 1, "dh: {spread:?}");
    println!("mh, sh and dh agreement: 620 of 620 flows");
}
