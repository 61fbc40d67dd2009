//! The userspace data plane with real sockets on loopback: scheduling over real connections,
//! persistence, quiesce, drain, half-close, a 100 MB transfer, 1,000 concurrent connections,
//! a destination dying mid-connection, UDP, and resources after 100,000 connections.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ipvs::{Dest, Forward, IpvsTable, Service, ServiceId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use uplane::Userspace;

/// A backend that writes its name, then echoes until EOF, then closes.
async fn named_backend(name: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                if s.write_all(format!("{name}\n").as_bytes()).await.is_err() {
                    return;
                }
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    at
}

fn vip(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

async fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A table with one TCP service on a fresh VIP port and these backends.
async fn service(
    sched: &str,
    backends: &[(SocketAddr, i32)],
    persistent: Option<u32>,
) -> (Userspace, Service, SocketAddr) {
    let ip = vip(10);
    let port = free_port(ip).await;
    let mut t =
        Userspace::new(tokio::runtime::Handle::current()).with_drain(Duration::from_millis(500));
    let mut s = Service::new(ServiceId::tcp(ip, port)).scheduler(sched);
    if let Some(p) = persistent {
        s = s.persistent(p);
    }
    t.add_service(&s).unwrap();
    for (a, w) in backends {
        t.add_dest(
            &s,
            &Dest::new(a.ip(), a.port())
                .forward(Forward::Masq)
                .weight(*w),
        )
        .unwrap();
    }
    (t, s, SocketAddr::new(ip, port))
}

async fn first_line(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b).await.unwrap_or(0) == 1 && b[0] != b'\n' {
        out.push(b[0]);
    }
    String::from_utf8(out).unwrap()
}

async fn who(at: SocketAddr) -> String {
    let mut s = TcpStream::connect(at).await.unwrap();
    first_line(&mut s).await
}

async fn counts(at: SocketAddr, n: usize) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for _ in 0..n {
        *m.entry(who(at).await).or_default() += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_and_weighted_round_robin_are_exact() {
    let (a, b, c) = (
        named_backend("a").await,
        named_backend("b").await,
        named_backend("c").await,
    );
    let (_t, _s, at) = service("rr", &[(a, 1), (b, 1), (c, 1)], None).await;
    let m = counts(at, 300).await;
    assert_eq!((m["a"], m["b"], m["c"]), (100, 100, 100));
    let (_t, _s, at) = service("wrr", &[(a, 3), (b, 2), (c, 1)], None).await;
    let m = counts(at, 600).await;
    assert_eq!((m["a"], m["b"], m["c"]), (300, 200, 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_connection_follows_open_connections() {
    let (a, b) = (named_backend("a").await, named_backend("b").await);
    let (_t, _s, at) = service("wlc", &[(a, 1), (b, 3)], None).await;
    // Connections held open: wlc keeps active/weight even, so b gets three for each of a's.
    let mut held = Vec::new();
    let mut m: HashMap<String, usize> = HashMap::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(at).await.unwrap();
        *m.entry(first_line(&mut s).await).or_default() += 1;
        held.push(s);
    }
    assert_eq!((m["a"], m["b"]), (10, 30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_keeps_a_client_on_one_destination() {
    let (a, b) = (named_backend("a").await, named_backend("b").await);
    let (_t, _s, at) = service("rr", &[(a, 1), (b, 1)], Some(300)).await;
    let m = counts(at, 20).await;
    assert_eq!(m.len(), 1, "one client address, one destination: {m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiesce_and_drain() {
    let (a, b) = (named_backend("a").await, named_backend("b").await);
    let (mut t, s, at) = service("rr", &[(a, 1), (b, 1)], None).await;
    // Hold a connection to each.
    let mut c1 = TcpStream::connect(at).await.unwrap();
    let n1 = first_line(&mut c1).await;
    let mut c2 = TcpStream::connect(at).await.unwrap();
    let _n2 = first_line(&mut c2).await;
    let addr = if n1 == "a" { a } else { b };
    // Weight 0: no new connections there, the old one goes on.
    t.edit_dest(
        &s,
        &Dest::new(addr.ip(), addr.port())
            .forward(Forward::Masq)
            .weight(0),
    )
    .unwrap();
    let m = counts(at, 10).await;
    assert_eq!(m.get(&n1), None, "{m:?}");
    c1.write_all(b"ping\n").await.unwrap();
    assert_eq!(first_line(&mut c1).await, "ping");
    // Removed: the connection drains for 0.5 s, then it is reset.
    t.del_dest(&s, &Dest::new(addr.ip(), addr.port())).unwrap();
    c1.write_all(b"still\n").await.unwrap();
    assert_eq!(first_line(&mut c1).await, "still");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_secs(5), c1.read(&mut buf))
        .await
        .unwrap();
    assert!(
        matches!(r, Ok(0) | Err(_)),
        "drained connection closed: {r:?}"
    );
    // The table reports the service and the remaining destination.
    let d = t.dests(s.id).unwrap();
    assert_eq!(d.len(), 1);
    assert!(d[0].stats.conns >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_close_and_a_hundred_megabytes() {
    // A backend that reads everything until EOF, then answers with the byte count and a
    // checksum of 100 MB it sends back.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let be = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        s.write_all(format!("{}\n", got.len()).as_bytes())
            .await
            .unwrap();
        let mut x: u32 = 1;
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..100 {
            for b in chunk.iter_mut() {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *b = (x >> 24) as u8;
            }
            s.write_all(&chunk).await.unwrap();
        }
    });
    let (_t, _s, at) = service("rr", &[(be, 1)], None).await;
    let mut c = TcpStream::connect(at).await.unwrap();
    c.write_all(b"hello").await.unwrap();
    // Half-close: the backend sees EOF, answers, and the answer still arrives.
    c.shutdown().await.unwrap();
    assert_eq!(first_line(&mut c).await, "5");
    let mut x: u32 = 1;
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = c.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        for b in &buf[..n] {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            assert_eq!(*b, (x >> 24) as u8, "byte {total} differs");
            total += 1;
        }
    }
    assert_eq!(total, 100 << 20);
}

fn raise_fd_limit() {
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, hard, hard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_connections() {
    raise_fd_limit();
    let (a, b) = (named_backend("a").await, named_backend("b").await);
    let (_t, _s, at) = service("rr", &[(a, 1), (b, 1)], None).await;
    let ok = Arc::new(AtomicUsize::new(0));
    let mut conns = Vec::new();
    for _ in 0..1000 {
        conns.push(TcpStream::connect(at).await.unwrap());
    }
    let mut tasks = Vec::new();
    for (i, mut c) in conns.into_iter().enumerate() {
        let ok = ok.clone();
        tasks.push(tokio::spawn(async move {
            let name = first_line(&mut c).await;
            c.write_all(format!("{i}\n").as_bytes()).await.unwrap();
            if first_line(&mut c).await == i.to_string() && (name == "a" || name == "b") {
                ok.fetch_add(1, Ordering::Relaxed);
            }
            c
        }));
    }
    let mut open = Vec::new();
    for t in tasks {
        open.push(t.await.unwrap());
    }
    assert_eq!(ok.load(Ordering::Relaxed), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_dying_mid_connection_resets_the_client() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let be = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf).await;
        // Die with a reset.
        let zero = nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Linger, &zero).unwrap();
    });
    let (t, s, at) = service("rr", &[(be, 1)], None).await;
    let mut c = TcpStream::connect(at).await.unwrap();
    c.write_all(b"x").await.unwrap();
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
        .await
        .unwrap();
    assert_eq!(
        r.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset)
    );
    // Nothing leaks: no active connection left.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut t = t;
    assert_eq!(t.dests(s.id).unwrap()[0].active_conns, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_flows() {
    async fn udp_backend(name: &'static str) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let at = s.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = s.recv_from(&mut buf).await {
                let mut reply = name.as_bytes().to_vec();
                reply.extend_from_slice(&buf[..n]);
                let _ = s.send_to(&reply, peer).await;
            }
        });
        at
    }
    let (a, b) = (udp_backend("a:").await, udp_backend("b:").await);
    let ip = vip(11);
    let port = UdpSocket::bind((ip, 0))
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut t = Userspace::new(tokio::runtime::Handle::current());
    let s = Service::new(ServiceId::udp(ip, port)).scheduler("rr");
    t.add_service(&s).unwrap();
    for d in [a, b] {
        t.add_dest(&s, &Dest::new(d.ip(), d.port()).forward(Forward::Masq))
            .unwrap();
    }
    let mut seen = HashMap::new();
    for i in 0..6 {
        // Each client socket is a flow; its datagrams stay on one destination.
        let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        c.connect((ip, port)).await.unwrap();
        let mut names = Vec::new();
        for j in 0..3 {
            c.send(format!("{i}.{j}").as_bytes()).await.unwrap();
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(5), c.recv(&mut buf))
                .await
                .unwrap()
                .unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            assert!(text.ends_with(&format!("{i}.{j}")), "{text}");
            names.push(text[..2].to_string());
        }
        assert!(names.iter().all(|n| *n == names[0]), "{names:?}");
        *seen.entry(names[0].clone()).or_insert(0) += 1;
    }
    assert_eq!((seen["a:"], seen["b:"]), (3, 3));
    let svc = t.service(s.id).unwrap();
    assert_eq!(svc.stats.conns, 6);
    assert_eq!(svc.stats.inpkts, 18);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_userspace_plane_refuses() {
    let mut t = Userspace::new(tokio::runtime::Handle::current());
    let e = t
        .add_service(
            &Service::new(ServiceId::Fwmark {
                mark: 1,
                ipv6: false,
            })
            .scheduler("rr"),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("firewall-mark services need the kernel's IPVS"),
        "{e}"
    );
    let e = t
        .add_service(&Service::new(ServiceId::tcp(vip(12), 80)).scheduler("fifo"))
        .unwrap_err();
    assert!(
        e.to_string().contains("scheduler fifo is not implemented"),
        "{e}"
    );
    // The address is taken: the bind error comes back.
    let l = std::net::TcpListener::bind("127.0.0.13:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let e = t
        .add_service(&Service::new(ServiceId::tcp(vip(13), port)).scheduler("rr"))
        .unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_are_flat_after_a_hundred_thousand_connections() {
    raise_fd_limit();
    let a = named_backend("a").await;
    let (_t, _s, at) = service("rr", &[(a, 1)], None).await;
    let round = |n: usize| async move {
        let mut tasks = Vec::new();
        for _ in 0..50 {
            tasks.push(tokio::spawn(async move {
                for _ in 0..n / 50 {
                    let mut s = TcpStream::connect(at).await.unwrap();
                    assert_eq!(first_line(&mut s).await, "a");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    };
    round(10_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (f0, r0) = (fds(), rss_kib());
    round(100_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (f1, r1) = (fds(), rss_kib());
    assert!(f1 <= f0 + 5, "file descriptors {f0} → {f1}");
    assert!(r1 < r0 + 8 * 1024, "RSS {r0} → {r1} KiB");
}

/// Connect from a chosen loopback source address (127/8 is all local).
async fn connect_from(src: IpAddr, at: SocketAddr) -> TcpStream {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(src, 0)).unwrap();
    s.connect(at).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scheduler_over_600_connections() {
    raise_fd_limit();
    let (a, b, c) = (
        named_backend("a").await,
        named_backend("b").await,
        named_backend("c").await,
    );
    let weights = [(a, 3), (b, 2), (c, 1)];
    for name in uplane::sched::NAMES {
        let (_t, _s, at) = service(name, &weights, None).await;
        let mut m: HashMap<String, usize> = HashMap::new();
        let mut held = Vec::new();
        for i in 0..600u32 {
            // Distinct client addresses, for the hashing schedulers.
            let src = IpAddr::from([127, 1, (i / 250) as u8, (i % 250 + 1) as u8]);
            // A refused connection (ovf past every weight) may be reset before or after
            // it is established: it counts as "".
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.bind(SocketAddr::new(src, 0)).unwrap();
            let Ok(mut s) = sock.connect(at).await else {
                *m.entry(String::new()).or_default() += 1;
                continue;
            };
            *m.entry(first_line(&mut s).await).or_default() += 1;
            // The least-connection family counts open connections: keep them open.
            held.push(s);
        }
        let got = (
            m.get("a").copied().unwrap_or(0),
            m.get("b").copied().unwrap_or(0),
            m.get("c").copied().unwrap_or(0),
        );
        let within = |x: usize, want: usize, tol: usize| x.abs_diff(want) <= tol;
        match *name {
            // Exact shares: 3:2:1.
            "rr" => assert_eq!(got, (200, 200, 200), "{name}"),
            "wrr" | "wlc" | "sed" | "nq" => assert!(
                within(got.0, 300, 2) && within(got.1, 200, 2) && within(got.2, 100, 2),
                "{name}: {got:?}"
            ),
            // Least connections ignores weights: an even split of open connections.
            "lc" => assert_eq!(got, (200, 200, 200), "{name}"),
            // Buckets shared 3:2:1 over 600 hashed client addresses: within 10 percentage points.
            "sh" => assert!(
                within(got.0, 300, 60) && within(got.1, 200, 60) && within(got.2, 100, 60),
                "{name}: {got:?}"
            ),
            // Destination hashing: one VIP, one destination for everyone.
            "dh" => assert_eq!(
                [got.0, got.1, got.2].iter().filter(|&&x| x == 600).count(),
                1,
                "{name}: {got:?}"
            ),
            // Maglev's table is shared 3:2:1 too.
            "mh" => assert!(
                within(got.0, 300, 60) && within(got.1, 200, 60) && within(got.2, 100, 60),
                "{name}: {got:?}"
            ),
            // Failover: all on the heaviest.
            "fo" => assert_eq!(got, (600, 0, 0), "{name}"),
            // Overflow: each takes connections while its active ones do not exceed its
            // weight (4, 3, 2); the rest are refused (closed without a byte).
            "ovf" => {
                assert_eq!(got, (4, 3, 2), "{name}");
                assert_eq!(m.get("").copied(), Some(591), "{name}: {m:?}");
            }
            // lblc: c (the last added) while it is not overloaded, then b, then a keeps
            // the VIP once nobody has fewer than half its weight in connections.
            "lblc" => assert_eq!(got, (595, 3, 2), "{name}"),
            // lblcr: every server joins the VIP's set under load; wlc within it.
            "lblcr" => assert_eq!(got, (300, 200, 100), "{name}"),
            // Two random choices, the less loaded per weight: close to 3:2:1.
            "twos" => assert!(
                within(got.0, 300, 20) && within(got.1, 200, 20) && within(got.2, 100, 20),
                "{name}: {got:?}"
            ),
            other => panic!("untested scheduler {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scheduler_over_300_udp_flows() {
    raise_fd_limit();
    async fn udp_named(name: &'static str) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let at = s.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            while let Ok((_, peer)) = s.recv_from(&mut buf).await {
                let _ = s.send_to(name.as_bytes(), peer).await;
            }
        });
        at
    }
    let (a, b, c) = (
        udp_named("a").await,
        udp_named("b").await,
        udp_named("c").await,
    );
    for name in uplane::sched::NAMES {
        let ip = vip(20);
        let port = UdpSocket::bind((ip, 0))
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut t = Userspace::new(tokio::runtime::Handle::current());
        let s = Service::new(ServiceId::udp(ip, port)).scheduler(name);
        t.add_service(&s).unwrap();
        for (d, w) in [(a, 3), (b, 2), (c, 1)] {
            t.add_dest(
                &s,
                &Dest::new(d.ip(), d.port()).forward(Forward::Masq).weight(w),
            )
            .unwrap();
        }
        let mut m: HashMap<String, usize> = HashMap::new();
        let mut flows = Vec::new();
        for i in 0..300u32 {
            // A flow per client address and port; distinct addresses for the hashing schedulers.
            let src = IpAddr::from([127, 2, (i / 250) as u8, (i % 250 + 1) as u8]);
            let cl = UdpSocket::bind((src, 0)).await.unwrap();
            cl.connect((ip, port)).await.unwrap();
            cl.send(b"?").await.unwrap();
            let mut buf = [0u8; 8];
            let n = tokio::time::timeout(Duration::from_secs(5), cl.recv(&mut buf))
                .await
                .unwrap()
                .unwrap();
            *m.entry(String::from_utf8_lossy(&buf[..n]).into_owned())
                .or_default() += 1;
            // Flows stay open (until the UDP timeout) and count as inactive connections.
            flows.push(cl);
        }
        let got = (
            m.get("a").copied().unwrap_or(0),
            m.get("b").copied().unwrap_or(0),
            m.get("c").copied().unwrap_or(0),
        );
        let within = |x: usize, want: usize, tol: usize| x.abs_diff(want) <= tol;
        match *name {
            "rr" | "lc" => assert_eq!(got, (100, 100, 100), "{name}"),
            "wrr" | "wlc" => assert!(
                within(got.0, 150, 1) && within(got.1, 100, 1) && within(got.2, 50, 1),
                "{name}: {got:?}"
            ),
            // UDP flows are never "active": expected delay (0+1)/weight puts all on the heaviest.
            "sed" | "nq" => assert_eq!(got, (300, 0, 0), "{name}"),
            "sh" => assert!(
                within(got.0, 150, 35) && within(got.1, 100, 35) && within(got.2, 50, 35),
                "{name}: {got:?}"
            ),
            "dh" => assert_eq!(
                [got.0, got.1, got.2].iter().filter(|&&x| x == 300).count(),
                1,
                "{name}: {got:?}"
            ),
            "mh" => assert!(
                within(got.0, 150, 35) && within(got.1, 100, 35) && within(got.2, 50, 35),
                "{name}: {got:?}"
            ),
            // UDP flows are never active: the heaviest is never over its weight.
            "fo" | "ovf" => assert_eq!(got, (300, 0, 0), "{name}"),
            // Never overloaded (no active connections): the first choice, c, keeps the VIP.
            "lblc" | "lblcr" => assert_eq!(got, (0, 0, 300), "{name}"),
            // Inactive flows count as overhead: close to 3:2:1.
            "twos" => assert!(
                within(got.0, 150, 20) && within(got.1, 100, 20) && within(got.2, 50, 20),
                "{name}: {got:?}"
            ),
            other => panic!("untested scheduler {other}"),
        }
        assert_eq!(t.service(s.id).unwrap().stats.conns, 300);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_is_per_masked_network() {
    let (a, b) = (named_backend("a").await, named_backend("b").await);
    let ip = vip(21);
    let port = free_port(ip).await;
    let mut t = Userspace::new(tokio::runtime::Handle::current());
    let mut s = Service::new(ServiceId::tcp(ip, port))
        .scheduler("rr")
        .persistent(300);
    s.netmask = 0xffff_ff00;
    t.add_service(&s).unwrap();
    for d in [a, b] {
        t.add_dest(&s, &Dest::new(d.ip(), d.port()).forward(Forward::Masq))
            .unwrap();
    }
    let at = SocketAddr::new(ip, port);
    let mut first = Vec::new();
    for host in 1..=10u8 {
        let mut c = connect_from(IpAddr::from([127, 3, 0, host]), at).await;
        first.push(first_line(&mut c).await);
    }
    assert!(
        first.iter().all(|n| *n == first[0]),
        "one /24, one destination: {first:?}"
    );
    // Another /24 is a new client for the scheduler: round robin moves on.
    let mut c = connect_from(IpAddr::from([127, 3, 1, 1]), at).await;
    assert_ne!(first_line(&mut c).await, first[0]);
    // Without persistence, the same clients spread.
    s.flags = 0;
    t.edit_service(&s).unwrap();
    let mut names = std::collections::HashSet::new();
    for host in 1..=4u8 {
        let mut c = connect_from(IpAddr::from([127, 3, 0, host]), at).await;
        names.insert(first_line(&mut c).await);
    }
    assert_eq!(names.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mh_port_flag_set_by_editing_the_service() {
    let (a, b, c) = (
        named_backend("a").await,
        named_backend("b").await,
        named_backend("c").await,
    );
    let (mut t, mut s, at) = service("mh", &[(a, 1), (b, 1), (c, 1)], None).await;
    let src = IpAddr::from([127, 4, 0, 1]);
    let names = |n: usize| async move {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..n {
            let mut c = connect_from(src, at).await;
            seen.insert(first_line(&mut c).await);
        }
        seen
    };
    // Without mh-port, one client address is one real server, whatever its port.
    assert_eq!(names(30).await.len(), 1);
    // With it (an edit of the service's flags), the client's ports spread.
    s.flags |= uplane::sched::FLAG_PORT;
    t.edit_service(&s).unwrap();
    assert_eq!(names(30).await.len(), 3);
}
