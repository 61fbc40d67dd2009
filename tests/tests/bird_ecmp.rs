//! Several active directors behind an ECMP router (`announce = bird`): each director's lvsd
//! announces the VIPs it can serve through its BIRD, the router's BIRD merges them into one
//! multipath route per VIP. Real BIRD 2, lvsd (userspace data plane), nanny and real servers
//! in network namespaces (`testkit::ecmp`).
//!
//! Shown: both directors are next hops of each VIP and both serve a client's connections; a
//! director whose real servers of one VIP are all gone withdraws that VIP only (and announces
//! it again when they are back); SIGTERM of one director's lvsd takes its next hop out of the
//! route before its listeners close, without a failed request; a crashed director leaves the
//! route after the BGP hold time; `lvsd --withdraw` clears what an lvsd killed alone left;
//! with three directors, `mh` with `mh-port` gives a flow the same real server whichever
//! director the router sends it to.

use std::time::Duration;

use nix::sys::signal::Signal;
use testkit::ecmp::{
    DIRECTORS, Ecmp, Failure, Load, RouteWatch, VIP_A, VIP_B, request, request_from,
};
use testkit::{bird, root_or_skip};

const BOTH: [&str; 2] = [DIRECTORS[0], DIRECTORS[1]];

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` requests to `vip` from the client: the directors that served them, or the failures.
fn requests(net: &Ecmp, vip: &'static str, n: usize) -> Vec<Result<(String, String), String>> {
    net.client
        .run(move || (0..n).map(|_| request(vip)).collect())
}

#[test]
fn directors_share_a_vip_withdraw_it_when_they_cannot_serve_and_before_they_stop() {
    if !root_or_skip() || !bird::available() {
        return;
    }
    let net = Ecmp::new();
    let d1 = net.director(0, "2");
    let d2 = net.director(1, "2");

    // One multipath route per VIP, both directors as next hops.
    net.wait_hops(VIP_A, &BOTH, s(30));
    net.wait_hops(VIP_B, &BOTH, s(30));
    let shown = net.router.ip(&format!("route show {VIP_A}"));
    assert_eq!(shown.matches("nexthop via").count(), 2, "{shown}");

    // Connections from many source ports all succeed, and each director serves some.
    let got = requests(&net, VIP_A, 60);
    let served: Vec<&(String, String)> = got.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(served.len(), 60, "{got:?}");
    for d in BOTH {
        assert!(
            served.iter().any(|(_, via)| via == d),
            "{d} served none: {got:?}"
        );
    }

    // Every real server of VIP A unreachable from d1 (its port refused there): d1 withdraws
    // VIP A, and only it.
    net.directors[0].exec(
        "nft -f - <<'EOF'\ntable inet cut {\n chain out {\n  type filter hook output priority 0;\n  \
         tcp dport 8001 reject with tcp reset\n }\n}\nEOF",
    );
    net.wait_hops(VIP_A, &[DIRECTORS[1]], s(20));
    assert_eq!(net.next_hops(VIP_B), BOTH, "VIP B stays announced by both");
    let got = requests(&net, VIP_A, 20);
    assert!(
        got.iter()
            .all(|r| r.as_ref().is_ok_and(|(_, d)| d == DIRECTORS[1])),
        "{got:?}"
    );
    let status = std::fs::read_to_string(d1.dir.join("announce.conf")).unwrap();
    assert!(
        status.contains(&format!("route {VIP_B}/32 blackhole;"))
            && !status.contains(&format!("route {VIP_A}/32")),
        "{status}"
    );
    // Back: announced again.
    net.directors[0].exec("nft delete table inet cut");
    net.wait_hops(VIP_A, &BOTH, s(20));

    // SIGTERM: d1's next hop leaves both routes before its listeners close; no request fails
    // but those the router itself moved to d2 as it changed the route (`unexplained`).
    let routes = net.watch_routes();
    let load = Load::start(&net, 4);
    std::thread::sleep(Duration::from_millis(300));
    d1.lvsd.signal(Signal::SIGTERM);
    net.wait_hops(VIP_A, &[DIRECTORS[1]], s(5));
    net.wait_hops(VIP_B, &[DIRECTORS[1]], s(5));
    assert_eq!(
        d1.lvsd.count("shutting down virtual service"),
        0,
        "the listeners closed before the route changed:\n{}",
        d1.lvsd.text()
    );
    let mut d1 = d1;
    assert_eq!(d1.lvsd.exit_code(s(15)), Some(0), "{}", d1.lvsd.text());
    let (ok, failed) = load.finish();
    only_moved_flows_failed(&routes, &failed);
    assert!(ok.len() >= 40, "only {} requests", ok.len());
    assert!(
        ok.iter().any(|(d, _)| d == DIRECTORS[0]),
        "d1 served none before it stopped"
    );
    let text = d1.lvsd.text();
    let withdrawn = text.find("BIRD announces no VIP").expect(&text);
    let closed = text.find("shutting down virtual service").expect(&text);
    assert!(withdrawn < closed, "{text}");
    drop(d2);
}

#[test]
fn a_crashed_director_leaves_the_route_after_the_hold_time_and_requests_recover() {
    if !root_or_skip() || !bird::available() {
        return;
    }
    let net = Ecmp::new();
    let d1 = net.director(0, "2");
    let mut d2 = net.director(1, "2");
    net.wait_hops(VIP_A, &BOTH, s(30));
    // A crash: the link goes silent first (no FIN ever reaches the router), then every
    // process of the director dies at once.
    let t0 = std::time::Instant::now();
    net.directors[0].ip("link set eth0 down");
    d1.lvsd.signal(Signal::SIGKILL);
    d1.bird.proc.signal(Signal::SIGKILL);
    net.wait_hops(VIP_A, &[DIRECTORS[1]], s(10));
    let took = t0.elapsed();
    // The router noticed through the BGP hold time (3 s after the last keepalive, which
    // came at most 1 s before the crash), not through a closed session.
    assert!(took >= Duration::from_millis(1500), "gone after {took:?}");
    net.wait_hops(VIP_B, &[DIRECTORS[1]], s(5));
    let got = requests(&net, VIP_A, 40);
    assert!(
        got.iter()
            .all(|r| r.as_ref().is_ok_and(|(_, d)| d == DIRECTORS[1])),
        "{got:?}"
    );

    // lvsd alone killed: BIRD goes on announcing what lvsd last wrote, until
    // `lvsd --withdraw` (which pulse runs when it deactivates) empties the file.
    d2.lvsd.signal(Signal::SIGKILL);
    let _ = d2.lvsd.wait_exit(s(5));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(net.next_hops(VIP_A), [DIRECTORS[1]]);
    let lvsd = testkit::bins::bin("lvsd");
    let out = net.directors[1].exec(&format!(
        "{} --withdraw -c {dir}/lvs.cf --socket {dir}/lvsd.sock",
        lvsd.display(),
        dir = d2.dir.display()
    ));
    assert_eq!(out.trim(), "lvsd: BIRD announces no VIP (Reconfigured)");
    net.wait_hops(VIP_A, &[], s(5));
    net.wait_hops(VIP_B, &[], s(5));
}

#[test]
fn three_directors_share_the_vips_and_give_a_flow_the_same_real_server() {
    if !root_or_skip() || !bird::available() {
        return;
    }
    let net = Ecmp::with_directors(3);
    let ds: Vec<_> = (0..3).map(|i| net.director(i, "2")).collect();
    net.wait_hops(VIP_A, &DIRECTORS, s(30));
    net.wait_hops(VIP_B, &DIRECTORS, s(30));

    // The router spreads connections from many source ports over all three.
    let got = requests(&net, VIP_A, 90);
    let served: Vec<&(String, String)> = got.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(served.len(), 90, "{got:?}");
    for d in DIRECTORS {
        assert!(
            served.iter().any(|(_, via)| via == d),
            "{d} served none: {got:?}"
        );
    }

    // The same flows (client address and port) sent through each director in turn: each
    // director's mh table picks the same real server for a flow, and the flows use both.
    // Below the ephemeral range, so no earlier connection of the client holds one of them.
    let ports: Vec<u16> = (0..30).map(|k| 20_000 + 7 * k).collect();
    let mut picks: Vec<Vec<String>> = vec![Vec::new(); ports.len()];
    for (i, d) in DIRECTORS.iter().enumerate() {
        net.pin(Some(i));
        let list = ports.clone();
        let got: Vec<Result<(String, String), String>> = net
            .client
            .run(move || list.iter().map(|&p| request_from(VIP_A, p)).collect());
        for (k, r) in got.into_iter().enumerate() {
            let (rs, via) = r.unwrap_or_else(|e| panic!("through {d}: {e}"));
            assert_eq!(via, *d, "pinned to {d}, served by {via}");
            picks[k].push(rs);
        }
    }
    net.pin(None);
    for (k, p) in picks.iter().enumerate() {
        assert!(
            p.iter().all(|rs| rs == &p[0]),
            "port {}: real servers {p:?} through {DIRECTORS:?}",
            ports[k]
        );
    }
    let first: std::collections::BTreeSet<&String> = picks.iter().map(|p| &p[0]).collect();
    assert_eq!(first.len(), 2, "every flow went to {first:?}");

    // SIGTERM of the third: it leaves both routes, the two others go on, nothing fails but
    // what the router moved as it changed the routes.
    let routes = net.watch_routes();
    let load = Load::start(&net, 4);
    std::thread::sleep(Duration::from_millis(300));
    ds[2].lvsd.signal(Signal::SIGTERM);
    net.wait_hops(VIP_A, &BOTH, s(5));
    net.wait_hops(VIP_B, &BOTH, s(5));
    std::thread::sleep(Duration::from_millis(500));
    let (ok, failed) = load.finish();
    only_moved_flows_failed(&routes, &failed);
    for d in DIRECTORS {
        assert!(ok.iter().any(|(via, _)| via == d), "{d} served none");
    }
    drop(ds);
}

/// No request of a [`Load`] failed but those the router reset as it changed the route to
/// their VIP (`RouteWatch::unexplained`), at most one per client (4) and route (2); and the
/// watch saw both routes change, or it would excuse nothing.
fn only_moved_flows_failed(routes: &RouteWatch, failed: &[Failure]) {
    for vip in [VIP_A, VIP_B] {
        testkit::wait::expect_until(
            s(5),
            || !routes.changes(vip).is_empty(),
            || format!("no change of the route to {vip} seen"),
        );
    }
    let bad = routes.unexplained(failed);
    assert!(bad.is_empty(), "{} failed: {bad:?}", bad.len());
    assert!(
        failed.len() <= 8,
        "more than 4 clients × 2 routes: {failed:?}"
    );
}
