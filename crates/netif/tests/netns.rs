//! netif against the kernel, in two network namespaces joined by a veth pair: addresses with
//! labels, idempotent add and remove, link events, the default gateway, and announcements that
//! move the neighbour's entry (gratuitous ARP for IPv4, unsolicited NA for IPv6).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use testkit::netns::{Netns, unique_name, veth};
use testkit::{must as sh, root_or_skip};

use netif::{LinkWatch, Netif, announce};

/// Namespaces `<p>a` (eth0 10.9.0.1/24, fd09::1/64) and `<p>b` (eth0 10.9.0.2/24,
/// fd09::2/64), each side named eth0.
struct Pair {
    a: Netns,
    b: Netns,
}

impl Pair {
    fn new() -> Pair {
        let p = unique_name("nt");
        let (a, b) = (Netns::new(&format!("{p}a")), Netns::new(&format!("{p}b")));
        veth(&a, "eth0", &b, "eth0");
        for (n, v4, v6) in [(&a, "10.9.0.1", "fd09::1"), (&b, "10.9.0.2", "fd09::2")] {
            n.ip(&format!("addr add {v4}/24 dev eth0"));
            n.ip(&format!("addr add {v6}/64 dev eth0 nodad"));
        }
        a.ip("link set eth0 up");
        b.ip("link set eth0 up");
        a.wait_oper_up("eth0", Duration::from_secs(5));
        b.wait_oper_up("eth0", Duration::from_secs(5));
        Pair { a, b }
    }

    fn side(&self, side: &str) -> &Netns {
        if side == "a" { &self.a } else { &self.b }
    }

    fn ns(&self, side: &str) -> String {
        self.side(side).name().to_owned()
    }

    /// Run async `f` with a Netif inside namespace `side`.
    fn run<T: Send + 'static, F>(
        &self,
        side: &str,
        f: impl FnOnce(Netif) -> F + Send + 'static,
    ) -> T
    where
        F: std::future::Future<Output = T>,
    {
        self.side(side).run(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move { f(Netif::new().unwrap()).await })
        })
    }

    fn mac(&self, side: &str) -> String {
        self.side(side).mac("eth0")
    }

    fn neigh(&self, side: &str, ip: &str) -> String {
        self.side(side).ip(&format!("neigh show {ip}"))
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn addresses_with_labels_idempotent() {
    if !root_or_skip() {
        return;
    }
    let p = Pair::new();
    let (added, again, listed) = p.run("a", |n| async move {
        let added = n.add_address("eth0:1", ip("10.9.0.50"), 24).await.unwrap();
        let again = n.add_address("eth0:1", ip("10.9.0.50"), 24).await.unwrap();
        (added, again, n.addresses().await.unwrap())
    });
    assert!(added && !again);
    let a = listed.iter().find(|a| a.ip == ip("10.9.0.50")).unwrap();
    assert_eq!((a.label.as_str(), a.prefix), ("eth0:1", 24));
    assert!(
        listed
            .iter()
            .any(|a| a.ip == ip("10.9.0.1") && a.label == "eth0")
    );
    let shown = sh(&format!("ip -n {} -o addr show dev eth0", p.ns("a")));
    assert!(
        shown.contains("inet 10.9.0.50/24 brd 10.9.0.255 scope global secondary eth0:1"),
        "{shown}"
    );
    let (gone, gone_again, missing_dev) = p.run("a", |n| async move {
        (
            n.del_address("eth0:1", ip("10.9.0.50")).await.unwrap(),
            n.del_address("eth0:1", ip("10.9.0.50")).await.unwrap(),
            n.del_address("nosuch0", ip("10.9.0.50")).await.unwrap(),
        )
    });
    assert!(gone && !gone_again && !missing_dev);
    assert!(!sh(&format!("ip -n {} -o addr", p.ns("a"))).contains("10.9.0.50"));
    // A device that is down is brought up, as `ifconfig … up` did.
    sh(&format!("ip -n {} link set eth0 down", p.ns("a")));
    let err = p.run("a", |n| async move {
        n.add_address("eth0", ip("fd09::50"), 128).await.unwrap();
        n.add_address("nosuch0:1", ip("10.9.0.51"), 32)
            .await
            .unwrap_err()
            .to_string()
    });
    assert_eq!(err, "no such network device: nosuch0");
    assert!(sh(&format!("ip -n {} link show eth0", p.ns("a"))).contains(",UP"));
    let shown = sh(&format!("ip -n {} -o addr show dev eth0", p.ns("a")));
    let line = shown.lines().find(|l| l.contains("fd09::50/128")).unwrap();
    assert!(!line.contains("tentative"), "{shown}");
}

#[test]
fn gratuitous_arp_and_unsolicited_na_move_the_neighbour_entry() {
    if !root_or_skip() {
        return;
    }
    let p = Pair::new();
    // b believes the addresses are elsewhere.
    sh(&format!(
        "ip -n {0} neigh replace 10.9.0.50 lladdr 02:00:00:00:00:99 dev eth0 nud stale && \
         ip -n {0} neigh replace fd09::50 lladdr 02:00:00:00:00:99 dev eth0 nud stale",
        p.ns("b")
    ));
    p.run("a", |n| async move {
        n.add_address("eth0:1", ip("10.9.0.50"), 32).await.unwrap();
        n.add_address("eth0", ip("fd09::50"), 128).await.unwrap();
        let l = n.link("eth0:1").await.unwrap();
        let mac = l.mac.unwrap();
        announce::send_garp(l.index, mac, "10.9.0.50".parse().unwrap()).unwrap();
        announce::send_unsolicited_na(l.index, mac, "fd09::50".parse().unwrap()).unwrap();
    });
    let mac = p.mac("a");
    testkit::wait::expect_until(
        Duration::from_secs(3),
        || p.neigh("b", "10.9.0.50").contains(&mac) && p.neigh("b", "fd09::50").contains(&mac),
        || {
            format!(
                "b still has {:?} and {:?}, a is {mac}\n{}\n{}",
                p.neigh("b", "10.9.0.50"),
                p.neigh("b", "fd09::50"),
                sh(&format!(
                    "ip netns exec {} grep Icmp6Out /proc/net/snmp6",
                    p.ns("a")
                )),
                sh(&format!(
                    "ip netns exec {} grep Icmp6In /proc/net/snmp6",
                    p.ns("b")
                ))
            )
        },
    );
}

#[test]
fn link_events_and_default_gateway() {
    if !root_or_skip() {
        return;
    }
    let p = Pair::new();
    sh(&format!(
        "ip -n {} route add default via 10.9.0.2",
        p.ns("a")
    ));
    let bns = p.ns("b");
    let (gw, events) = p.run("a", move |n| async move {
        let gw = n.default_gateway().await.unwrap();
        let mut w = LinkWatch::new().unwrap();
        let start = n.link("eth0").await.unwrap();
        assert!(start.is_up() && !start.slave);
        // The far end goes down: eth0 here loses its carrier; then it comes back.
        sh(&format!("ip -n {bns} link set eth0 down"));
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while seen.len() < 2 {
            let l = tokio::time::timeout_at(deadline, w.next())
                .await
                .unwrap()
                .unwrap();
            if l.name != "eth0" {
                continue;
            }
            if seen.last() != Some(&l.is_up()) {
                seen.push(l.is_up());
                if !l.is_up() {
                    sh(&format!("ip -n {bns} link set eth0 up"));
                }
            }
        }
        (gw, seen)
    });
    assert_eq!(gw.map(|g| g.0), Some(ip("10.9.0.2")));
    assert_eq!(events, [false, true]);
}

#[test]
fn echo_v4_and_v6_and_an_ipv6_only_gateway() {
    if !root_or_skip() {
        return;
    }
    let p = Pair::new();
    sh(&format!(
        "ip -n {} -6 route add default via fd09::2",
        p.ns("a")
    ));
    let (gw, v4, v6, none) = p.run("a", |n| async move {
        let gw = n.default_gateway().await.unwrap();
        let t = Duration::from_secs(1);
        let v4 = netif::ping::echo(ip("10.9.0.2"), 0, t).unwrap();
        let v6 = netif::ping::echo(ip("fd09::2"), 0, t).unwrap();
        let t0 = Instant::now();
        let none = netif::ping::echo(ip("10.9.0.77"), 0, Duration::from_millis(300)).unwrap();
        assert!(t0.elapsed() < Duration::from_secs(1));
        (gw, v4, v6, none)
    });
    assert_eq!(
        gw.map(|g| g.0),
        Some(ip("fd09::2")),
        "no IPv4 default: the IPv6 one"
    );
    assert!(v4 && v6 && !none);
}

#[test]
fn default_gateway_of_the_main_table_and_of_an_ecmp_route() {
    if !root_or_skip() {
        return;
    }
    let p = Pair::new();
    let b = p.ns("b");
    // Only a policy table's default: there is no default gateway.
    sh(&format!(
        "ip -n {b} route add default via 10.9.0.1 table 100"
    ));
    assert_eq!(
        p.run("b", |n| async move { n.default_gateway().await.unwrap() }),
        None
    );
    // An ECMP default: its first next hop.
    sh(&format!(
        "ip -n {b} route add default nexthop via 10.9.0.1 nexthop via 10.9.0.3"
    ));
    let gw = p.run("b", |n| async move { n.default_gateway().await.unwrap() });
    assert!(
        matches!(gw, Some((g, i)) if (g == ip("10.9.0.1") || g == ip("10.9.0.3")) && i > 0),
        "{gw:?}"
    );
}
