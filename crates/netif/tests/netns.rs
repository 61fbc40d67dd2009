//! netif against the kernel, in two network namespaces joined by a veth pair: addresses with
//! labels, idempotent add and remove, link events, the default gateway, and announcements that
//! move the neighbour's entry (gratuitous ARP for IPv4, unsolicited NA for IPv6).

use std::fs::File;
use std::net::IpAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use vmtest::{must as sh, root_or_skip};

use netif::{LinkWatch, Netif, announce};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Namespaces `<p>a` (eth0 10.9.0.1/24, fd09::1/64) and `<p>b` (eth0 10.9.0.2/24,
/// fd09::2/64), each side named eth0.
struct Pair(String);

impl Pair {
    fn new() -> Pair {
        let p = format!(
            "nt{}x{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        sh(&format!(
            "ip netns add {p}a && ip netns add {p}b && \
             ip -n {p}a link add eth0 type veth peer name eth0 netns {p}b && \
             ip -n {p}a addr add 10.9.0.1/24 dev eth0 && ip -n {p}b addr add 10.9.0.2/24 dev eth0 && \
             ip -n {p}a addr add fd09::1/64 dev eth0 nodad && ip -n {p}b addr add fd09::2/64 dev eth0 nodad && \
             ip -n {p}a link set eth0 up && ip -n {p}b link set eth0 up && \
             ip -n {p}a link set lo up && ip -n {p}b link set lo up"
        ));
        // Until the kernel's link watch has run, a new veth drops what it is given.
        let t0 = Instant::now();
        for side in ["a", "b"] {
            while sh(&format!(
                "ip netns exec {p}{side} cat /sys/class/net/eth0/operstate"
            ))
            .trim()
                != "up"
            {
                assert!(t0.elapsed() < Duration::from_secs(5), "veth not up");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Pair(p)
    }

    fn ns(&self, side: &str) -> String {
        format!("{}{side}", self.0)
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
        let path = format!("/run/netns/{}", self.ns(side));
        std::thread::spawn(move || {
            let fd = File::open(path).unwrap();
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move { f(Netif::new().unwrap()).await })
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    fn mac(&self, side: &str) -> String {
        sh(&format!(
            "ip netns exec {} cat /sys/class/net/eth0/address",
            self.ns(side)
        ))
        .trim()
        .to_owned()
    }

    fn neigh(&self, side: &str, ip: &str) -> String {
        sh(&format!("ip -n {} neigh show {ip}", self.ns(side)))
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("ip netns del {0}a; ip netns del {0}b", self.0))
            .status();
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
    let t0 = Instant::now();
    loop {
        let v4 = p.neigh("b", "10.9.0.50");
        let v6 = p.neigh("b", "fd09::50");
        if v4.contains(&mac) && v6.contains(&mac) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "b still has {v4:?} and {v6:?}, a is {mac}\n{}\n{}",
            sh(&format!(
                "ip netns exec {} grep Icmp6Out /proc/net/snmp6",
                p.ns("a")
            )),
            sh(&format!(
                "ip netns exec {} grep Icmp6In /proc/net/snmp6",
                p.ns("b")
            ))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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
