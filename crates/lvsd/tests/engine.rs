//! The engine against the in-memory IPVS table: start, reports, the sorry server, dead
//! nannies, stop, and reload (with the invariant that a reload ends where a fresh start with
//! the new file would, checked over random pairs of configurations).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipvs::{IpvsTable, MemoryTable, Service, ServiceId};
use lvsd::desired::{Desired, MonitorOptions};
use lvsd::engine::{Effect, Engine};
use nanny::monitor::{Op, Reason};
use nanny::report::Report;
use proptest::prelude::*;

fn desired(text: &str) -> Desired {
    let p = lvscf::parse(text);
    assert!(!p.has_errors(), "{text}\n{:?}", p.diagnostics);
    Desired::build(&p.model, &MonitorOptions::default(), &|h| {
        h.ip().ok_or_else(|| std::io::Error::other("no dns"))
    })
    .unwrap()
}

fn spawns(fx: &[Effect]) -> Vec<(u64, Vec<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Spawn { instance, argv, .. } => Some((*instance, argv.clone())),
            _ => None,
        })
        .collect()
}

fn logs(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

fn weight_of(argv: &[String]) -> i32 {
    let i = argv.iter().position(|a| a == "-w").unwrap();
    argv[i + 1].parse().unwrap()
}

fn up(w: i32) -> Report {
    Report {
        op: Some(Op::Add(w)),
        up: true,
        reason: Reason::Check,
    }
}

fn down() -> Report {
    Report {
        op: Some(Op::Delete),
        up: false,
        reason: Reason::Check,
    }
}

/// Every newly spawned nanny reports its server up at its configured weight (those started
/// with --assume-up already are).
fn all_healthy(e: &mut Engine, t: &mut MemoryTable, fx: &[Effect], now: Instant) {
    for (i, argv) in spawns(fx) {
        if !argv.iter().any(|a| a == "--assume-up") {
            e.on_report(t, i, up(weight_of(&argv)), now);
        }
    }
}

/// The table as comparable text: services with their destinations, sorted.
fn table(t: &mut MemoryTable) -> Vec<String> {
    let mut out = Vec::new();
    for s in t.services().unwrap() {
        let mut dests: Vec<String> = t
            .dests(s.id)
            .unwrap()
            .iter()
            .map(|d| format!("  {}:{} {:?} w{}", d.addr, d.port, d.forward, d.weight))
            .collect();
        dests.sort();
        out.push(format!(
            "{} {} f{} t{} m{:x}\n{}",
            s.id,
            s.scheduler,
            s.flags,
            s.timeout,
            s.netmask,
            dests.join("\n")
        ));
    }
    out.sort();
    out
}

const BASE: &str = "primary = 10.0.0.1\nservice = lvs\nnetwork = nat\n";

fn web(extra: &str, servers: &str) -> String {
    format!(
        "{BASE}virtual web {{\n active = 1\n address = 192.0.2.10 eth0:1\n port = 80\n expect = \"HTTP\"\n{extra}{servers}}}\n"
    )
}

fn server(name: &str, ip: &str, weight: u32) -> String {
    format!(" server {name} {{\n  address = {ip}\n  active = 1\n  weight = {weight}\n }}\n")
}

#[test]
fn start_builds_the_service_and_one_nanny_per_real_server() {
    let now = Instant::now();
    let d = desired(&web(
        " scheduler = rr\n",
        &(server("a", "10.0.1.1", 2) + &server("b", "10.0.1.2", 3)),
    ));
    let mut t = MemoryTable::new();
    let mut e = Engine::new(d, true);
    let fx = e.start(&mut t, &[], false, now);
    assert_eq!(logs(&fx)[0], "starting virtual service web active: 80");
    let sp = spawns(&fx);
    assert_eq!(sp.len(), 2);
    assert!(sp[0].1.join(" ").contains("-h 10.0.1.1 -p 80 -r 80"));
    // Servers enter the table only when their nanny says so.
    assert_eq!(table(&mut t), ["TCP 192.0.2.10:80 rr f0 t0 mffffffff\n"]);
    e.on_report(&mut t, sp[0].0, up(1), now);
    assert_eq!(
        table(&mut t),
        ["TCP 192.0.2.10:80 rr f0 t0 mffffffff\n  10.0.1.1:80 Masq w1"]
    );
    e.on_report(
        &mut t,
        sp[0].0,
        Report {
            op: Some(Op::Edit(2)),
            up: true,
            reason: Reason::Ramp,
        },
        now,
    );
    e.on_report(&mut t, sp[1].0, up(1), now);
    e.on_report(&mut t, sp[1].0, down(), now);
    assert_eq!(
        table(&mut t),
        ["TCP 192.0.2.10:80 rr f0 t0 mffffffff\n  10.0.1.1:80 Masq w2"]
    );
    // Quiesce: weight 0, entry kept.
    e.on_report(
        &mut t,
        sp[0].0,
        Report {
            op: Some(Op::Edit(0)),
            up: false,
            reason: Reason::Check,
        },
        now,
    );
    assert_eq!(
        table(&mut t),
        ["TCP 192.0.2.10:80 rr f0 t0 mffffffff\n  10.0.1.1:80 Masq w0"]
    );
    // Unknown instances are ignored.
    assert!(e.on_report(&mut t, 999, up(5), now).is_empty());
}

#[test]
fn start_keeps_foreign_services_and_removes_our_leftovers() {
    let now = Instant::now();
    let mut t = MemoryTable::new();
    let foreign = Service::new(ServiceId::tcp("198.51.100.1".parse().unwrap(), 22)).scheduler("rr");
    let stale_ours =
        Service::new(ServiceId::tcp("192.0.2.10".parse().unwrap(), 80)).scheduler("lc");
    let recorded = Service::new(ServiceId::udp("192.0.2.99".parse().unwrap(), 53)).scheduler("rr");
    for s in [&foreign, &stale_ours, &recorded] {
        t.add_service(s).unwrap();
    }
    let mut e = Engine::new(desired(&web("", &server("a", "10.0.1.1", 1))), true);
    e.start(&mut t, &[recorded.id], false, now);
    let ids: Vec<String> = t
        .services()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s.id, s.scheduler))
        .collect();
    assert_eq!(ids, ["TCP 198.51.100.1:22 rr", "TCP 192.0.2.10:80 wlc"]);
    // stop removes ours only.
    e.stop(&mut t);
    let ids: Vec<String> = t
        .services()
        .unwrap()
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(ids, ["TCP 198.51.100.1:22"]);
    // --flush empties everything first, as piranha's ipvsadm -C.
    let mut e = Engine::new(desired(&web("", "")), true);
    e.start(&mut t, &[], true, now);
    let ids: Vec<String> = t
        .services()
        .unwrap()
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(ids, ["TCP 192.0.2.10:80"]);
}

#[test]
fn sorry_server_waits_for_verdicts_then_follows_them() {
    let now = Instant::now();
    let d = desired(&web(
        " sorry_server = 10.0.9.9\n timeout = 5\n",
        &(server("a", "10.0.1.1", 1) + &server("b", "10.0.1.2", 1)),
    ));
    let mut t = MemoryTable::new();
    let mut e = Engine::new(d, true);
    let sp = spawns(&e.start(&mut t, &[], false, now));
    // No blip: nothing before the nannies have spoken.
    assert!(
        t.dests(ServiceId::tcp("192.0.2.10".parse().unwrap(), 80))
            .unwrap()
            .is_empty()
    );
    let none = |up| Report {
        op: None,
        up,
        reason: Reason::Check,
    };
    assert!(logs(&e.on_report(&mut t, sp[0].0, none(false), now)).is_empty());
    let fx = e.on_report(&mut t, sp[1].0, none(false), now);
    assert_eq!(
        logs(&fx),
        ["Virtual Server web: No real servers; activate sorry_server 10.0.9.9"]
    );
    assert_eq!(
        table(&mut t)[0].lines().nth(1),
        Some("  10.0.9.9:80 Masq w1")
    );
    let fx = e.on_report(&mut t, sp[1].0, up(1), now);
    assert_eq!(
        logs(&fx),
        ["Virtual Server web: 1 real servers; deactivate sorry_server 10.0.9.9"]
    );
    assert_eq!(
        table(&mut t)[0].lines().nth(1),
        Some("  10.0.1.2:80 Masq w1")
    );
    // A nanny that never reports: decided at the deadline (2 × timeout + 1 s).
    let mut t = MemoryTable::new();
    let d = desired(&web(
        " sorry_server = 10.0.9.9\n timeout = 5\n",
        &server("a", "10.0.1.1", 1),
    ));
    let mut e = Engine::new(d, true);
    e.start(&mut t, &[], false, now);
    assert!(logs(&e.on_tick(&mut t, now + Duration::from_secs(10))).is_empty());
    let fx = e.on_tick(&mut t, now + Duration::from_secs(11));
    assert_eq!(
        logs(&fx),
        ["Virtual Server web: No real servers; activate sorry_server 10.0.9.9"]
    );
}

#[test]
fn dead_nanny_with_and_without_hard_shutdown() {
    let now = Instant::now();
    let mut t = MemoryTable::new();
    let mut e = Engine::new(
        desired(
            &web(" hard_shutdown = 1\n", &server("a", "10.0.1.1", 4))
                .replace(" hard_shutdown = 1\n", "")
                .replacen("network = nat\n", "network = nat\nhard_shutdown = 1\n", 1),
        ),
        true,
    );
    let sp = spawns(&e.start(&mut t, &[], false, now));
    let fx = e.on_exit(&mut t, sp[0].0, "signal: 9 (SIGKILL)", now);
    assert!(logs(&fx)[0].starts_with("nanny for child web/a died! shutting down lvs"));
    assert_eq!(fx.last(), Some(&Effect::Exit(1)));
    assert!(t.services().unwrap().is_empty());

    let text = web("", &server("a", "10.0.1.1", 4)).replacen(
        "network = nat\n",
        "network = nat\nhard_shutdown = 0\n",
        1,
    );
    let mut t = MemoryTable::new();
    let mut e = Engine::new(desired(&text), true);
    let sp = spawns(&e.start(&mut t, &[], false, now));
    e.on_report(&mut t, sp[0].0, up(4), now);
    let fx = e.on_exit(&mut t, sp[0].0, "signal: 9 (SIGKILL)", now);
    assert_eq!(
        logs(&fx),
        ["nanny for child web/a died! restarting it in 1 s (signal: 9 (SIGKILL))"]
    );
    assert!(spawns(&e.on_tick(&mut t, now + Duration::from_millis(500))).is_empty());
    let sp2 = spawns(&e.on_tick(&mut t, now + Duration::from_secs(1)));
    assert_eq!(sp2.len(), 1);
    // The server is still in the table: the new nanny takes it over.
    assert_eq!(sp2[0].1[sp2[0].1.len() - 2..], ["--assume-up", "4"]);
    // Reports of the dead instance are ignored; the new one's count.
    assert!(e.on_report(&mut t, sp[0].0, down(), now).is_empty());
    // Dying again doubles the wait.
    let fx = e.on_exit(
        &mut t,
        sp2[0].0,
        "exit status: 255",
        now + Duration::from_secs(2),
    );
    assert!(logs(&fx)[0].contains("restarting it in 2 s"));
}

/// Run a reload from `old` to `new` with every server healthy; returns the operations made and
/// the plan, and checks the table equals a fresh start with `new`.
fn reload_case(old: &str, new: &str) -> (Vec<String>, lvsd::diff::Plan, Vec<Effect>) {
    let now = Instant::now();
    let mut t = MemoryTable::new();
    let mut e = Engine::new(desired(old), true);
    let fx = e.start(&mut t, &[], false, now);
    all_healthy(&mut e, &mut t, &fx, now);
    let before = t.log.len();
    let (plan, fx) = e.reload(&mut t, desired(new), now);
    all_healthy(&mut e, &mut t, &fx, now);
    let ops = t.log[before..].to_vec();
    let mut fresh = MemoryTable::new();
    let mut f = Engine::new(desired(new), true);
    let ffx = f.start(&mut fresh, &[], false, now);
    all_healthy(&mut f, &mut fresh, &ffx, now);
    assert_eq!(table(&mut t), table(&mut fresh), "reload\n{old}\n→\n{new}");
    (ops, plan, fx)
}

fn kills(fx: &[Effect]) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::Kill { .. }))
        .count()
}

#[test]
fn reload_changes_only_what_changed() {
    let two = server("a", "10.0.1.1", 1) + &server("b", "10.0.1.2", 1);
    // Nothing changed: nothing done.
    let (ops, plan, fx) = reload_case(&web("", &two), &web("", &two));
    assert!(ops.is_empty() && plan.is_empty() && fx.is_empty());
    // Weight: one edit in place, that nanny restarted with --assume-up.
    let (ops, _, fx) = reload_case(
        &web("", &two),
        &web(
            "",
            &(server("a", "10.0.1.1", 1) + &server("b", "10.0.1.2", 7)),
        ),
    );
    assert_eq!(
        ops,
        ["edit dest TCP 192.0.2.10:80 -> 10.0.1.2:80"]
            .map(String::from)
            .to_vec()
    );
    assert_eq!((kills(&fx), spawns(&fx).len()), (1, 1));
    assert!(spawns(&fx)[0].1.iter().any(|a| a == "--assume-up"));
    // Scheduler and persistence: one service edit, no nanny touched.
    let (ops, _, fx) = reload_case(
        &web("", &two),
        &web(" scheduler = rr\n persistent = 60\n", &two),
    );
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(ops[0].starts_with("edit service"), "{ops:?}");
    assert!(fx.is_empty(), "{fx:?}");
    // A real server removed: one delete, the other keeps running (piranha dropped the service).
    let (ops, _, fx) = reload_case(&web("", &two), &web("", &server("a", "10.0.1.1", 1)));
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0], "delete dest TCP 192.0.2.10:80 -> 10.0.1.2:80");
    assert_eq!((kills(&fx), spawns(&fx).len()), (1, 0));
    // A real server added: a nanny started, no table change until it reports.
    let (_, plan, fx) = reload_case(&web("", &server("a", "10.0.1.1", 1)), &web("", &two));
    assert_eq!(plan.change[0].add_reals.len(), 1);
    assert_eq!((kills(&fx), spawns(&fx).len()), (0, 1));
    // Check parameters: that nanny restarted, the table untouched.
    let (ops, _, fx) = reload_case(
        &web("", &two),
        &web("", &two).replace("expect = \"HTTP\"", "expect = \"HTTP/1.1\""),
    );
    assert!(ops.is_empty(), "{ops:?}");
    assert_eq!((kills(&fx), spawns(&fx).len()), (2, 2));
    // A virtual server deactivated, then another added.
    let other = "virtual mail {\n active = 1\n address = 192.0.2.25 eth0:2\n port = 25\n server m {\n  address = 10.0.2.1\n  active = 1\n }\n}\n";
    let (ops, _, _) = reload_case(&web("", &two), &(web("", &two) + other));
    assert_eq!(ops.len(), 2, "service + its server: {ops:?}");
    let (ops, _, fx) = reload_case(
        &(web("", &two) + other),
        &(web("", &two)
            + &other.replace(
                " active = 1\n address = 192.0.2.25",
                " active = 0\n address = 192.0.2.25",
            )),
    );
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(ops[0].starts_with("delete service"), "{ops:?}");
    assert_eq!(kills(&fx), 1);
    // Forwarding method: the destinations are edited in place.
    let (ops, _, _) = reload_case(
        &web("", &two),
        &web("", &two).replace("network = nat", "network = direct"),
    );
    assert_eq!(ops.len(), 2, "{ops:?}");
}

#[test]
fn reload_moves_the_sorry_server() {
    let (ops, _, _) = reload_case(
        &web(" sorry_server = 10.0.9.9\n", ""),
        &web(" sorry_server = 10.0.9.8\n", ""),
    );
    assert_eq!(ops.len(), 2, "{ops:?}");
}

// Random configurations over a small pool, so that pairs share services and servers.
fn arb_config() -> impl Strategy<Value = String> {
    let real = (
        0u8..4,
        prop::sample::select(vec![80u16, 8080]),
        prop::sample::select(vec![1u32, 3]),
        any::<bool>(),
        prop::sample::select(vec!["HTTP", "OK"]),
    );
    let vs = (
        0u8..3,
        prop::sample::select(vec![80u16, 443]),
        prop::sample::select(vec!["tcp", "udp"]),
        prop::sample::select(vec!["wlc", "rr", "lc"]),
        prop::option::of(prop::sample::select(vec![60u32, 300])),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["10.0.9.9", "10.0.9.8"])),
        prop::collection::vec(real, 0..4),
    );
    (prop::sample::select(vec!["nat", "direct"]), prop::sample::select(vec![0u32, 900]), prop::collection::vec(vs, 0..4)).prop_map(
        |(network, tcp, vss)| {
            // One fixed active service: lvs.cf needs at least one.
            let mut s = format!("primary = 10.0.0.1\nservice = lvs\nnetwork = {network}\ntcp_timeout = {tcp}\n\
                virtual anchor {{\n active = 1\n address = 192.0.2.200 eth0:9\n server x {{\n  address = 10.0.3.1\n  active = 1\n }}\n}}\n");
            let mut seen = std::collections::HashSet::new();
            for (i, (vip, port, proto, sched, pers, active, sorry, reals)) in vss.into_iter().enumerate() {
                if !seen.insert((vip, port, proto)) {
                    continue;
                }
                s += &format!(
                    "virtual v{i} {{\n active = {}\n address = 192.0.2.{} eth0:{i}\n port = {port}\n protocol = {proto}\n scheduler = {sched}\n",
                    u8::from(active),
                    vip + 1
                );
                if let Some(p) = pers {
                    s += &format!(" persistent = {p}\n");
                }
                if let Some(sorry) = sorry {
                    s += &format!(" sorry_server = {sorry}\n");
                }
                let mut rseen = std::collections::HashSet::new();
                for (j, (rip, rport, w, ractive, expect)) in reals.into_iter().enumerate() {
                    if !rseen.insert((rip, rport)) {
                        continue;
                    }
                    s += &format!(
                        " server r{j} {{\n  address = 10.0.1.{}\n  port = {rport}\n  weight = {w}\n  active = {}\n }}\n",
                        rip + 1,
                        u8::from(ractive)
                    );
                    let _ = expect;
                }
                s += " expect = \"HTTP\"\n}\n";
            }
            s
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_reload_ends_where_a_fresh_start_would(old in arb_config(), new in arb_config()) {
        let (ops, plan, _) = reload_case(&old, &new);
        if plan.is_empty() {
            prop_assert!(ops.is_empty());
        }
        // Reloading to the same file does nothing at all.
        let (ops, plan, fx) = reload_case(&new, &new);
        prop_assert!(ops.is_empty() && plan.is_empty() && fx.is_empty());
    }
}

#[allow(dead_code)]
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_vip_is_announced_while_a_service_on_it_serves_and_withdrawn_on_stop() {
    let now = Instant::now();
    let vips =
        |e: &Engine| -> Vec<String> { e.announced().iter().map(|v| v.to_string()).collect() };
    // Two services on one VIP (80 and 443) and one with a sorry server on another VIP.
    let text = format!(
        "{BASE}announce = bird\n\
         virtual web {{\n active = 1\n address = 192.0.2.10 eth0:1\n port = 80\n{}}}\n\
         virtual webs {{\n active = 1\n address = 192.0.2.10 eth0:1\n port = 443\n{}}}\n\
         virtual mail {{\n active = 1\n address = 192.0.2.20 eth0:2\n port = 25\n timeout = 5\n sorry_server = 10.0.9.9\n{}}}\n",
        server("a", "10.0.1.1", 1),
        server("b", "10.0.1.2", 1),
        server("m", "10.0.1.3", 1),
    );
    let d = desired(&text);
    assert!(d.announce.is_some());
    assert_eq!(d.virtuals[2].vip, ip("192.0.2.20"));
    let mut t = MemoryTable::new();
    let mut e = Engine::new(d, true);
    let sp = spawns(&e.start(&mut t, &[], false, now));
    assert!(
        vips(&e).is_empty(),
        "nothing before a real server is in the table"
    );
    e.on_report(&mut t, sp[0].0, up(1), now);
    assert_eq!(vips(&e), ["192.0.2.10"]);
    e.on_report(&mut t, sp[1].0, up(1), now);
    e.on_report(&mut t, sp[0].0, down(), now);
    assert_eq!(vips(&e), ["192.0.2.10"], "443 still serves on the VIP");
    e.on_report(&mut t, sp[1].0, down(), now);
    assert!(vips(&e).is_empty(), "no service of the VIP serves");
    // Weight 0 takes no new clients: not serving.
    e.on_report(&mut t, sp[0].0, up(0), now);
    assert!(vips(&e).is_empty());
    // The sorry server counts as serving.
    e.on_report(&mut t, sp[2].0, down(), now);
    assert_eq!(vips(&e), ["192.0.2.20"]);
    e.on_report(&mut t, sp[1].0, up(1), now);
    assert_eq!(vips(&e), ["192.0.2.10", "192.0.2.20"]);
    e.stop(&mut t);
    assert!(vips(&e).is_empty(), "a stopping lvsd announces nothing");
}
