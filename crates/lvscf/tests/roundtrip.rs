//! Properties of the writer: every model the parser can produce survives write → parse, and
//! `fmt` is idempotent and keeps comments.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lvscf::{
    ConflictAction, Dataplane, Host, Interface, LoadMonitor, LvsConfig, Netmask, Network, Protocol,
    RealServer, SchedFlag, Scheduler, Seconds, Service, Services, VirtualServer,
};
use proptest::prelude::*;
use proptest::sample::select;

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
    ]
}

fn specified_ip() -> impl Strategy<Value = IpAddr> {
    ip().prop_filter("specified", |ip| !ip.is_unspecified())
}

fn hostname() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,6}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,6}[a-z0-9])?){0,2}"
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![ip().prop_map(Host::Ip), hostname().prop_map(Host::Name)]
}

fn specified_host() -> impl Strategy<Value = Host> {
    prop_oneof![
        specified_ip().prop_map(Host::Ip),
        hostname().prop_map(Host::Name)
    ]
}

/// Values lvs.cf can hold as the first value of a statement: also bare words with both quote
/// characters, and words starting with `#` or `=`.
fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => text(),
        1 => "[#=]?[a-z]{1,3}'[a-z\"]{1,4}\"[a-z]{0,2}",
    ]
}

fn opt_value() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(value_text())
}

/// Strings lvs.cf can hold anywhere: no line breaks, never both quote characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9/%._:=#{}\\[\\]\\\\-]{0,10}",
        "[ a-zA-Z0-9/%.\\t#\\\\'-]{0,16}",
        "[ a-zA-Z0-9\"é€\\\\]{0,12}",
    ]
}

fn netmask() -> impl Strategy<Value = Netmask> {
    prop_oneof![
        (1u32..=32).prop_map(|n| Netmask::V4(Ipv4Addr::from(u32::MAX << (32 - n)))),
        (1u8..=128).prop_map(Netmask::Prefix),
    ]
}

fn seconds() -> impl Strategy<Value = Seconds> {
    (0u64..10_000_000).prop_map(Seconds::from_millis)
}

fn load_monitor() -> impl Strategy<Value = LoadMonitor> {
    prop_oneof![
        Just(LoadMonitor::None),
        Just(LoadMonitor::Uptime),
        Just(LoadMonitor::Rup),
        Just(LoadMonitor::Ruptime),
        "/[a-z/]{1,10}( %h){0,1}".prop_map(LoadMonitor::Command),
    ]
}

fn iface() -> impl Strategy<Value = Interface> {
    (host(), text()).prop_map(|(address, device)| Interface { address, device })
}

/// `nat_router` refuses 0.0.0.0.
fn nat_iface() -> impl Strategy<Value = Interface> {
    (specified_host(), text()).prop_map(|(address, device)| Interface { address, device })
}

fn real_server() -> impl Strategy<Value = RealServer> {
    (
        text(),
        proptest::option::of(host()),
        any::<bool>(),
        0u32..=i32::MAX as u32,
        any::<u16>(),
    )
        .prop_map(|(name, address, active, weight, port)| RealServer {
            name,
            address,
            active,
            weight,
            port,
        })
}

fn virtual_server() -> impl Strategy<Value = VirtualServer> {
    let a = (
        text(),
        proptest::option::of(iface()),
        proptest::option::of(netmask()),
        any::<bool>(),
        any::<u16>(),
        select(Protocol::ALL.iter().map(|p| p.0).collect::<Vec<_>>()),
        // 0 is also "no mark" / "no persistence": normalize() maps it to None.
        proptest::option::of(any::<u32>()),
        select(Scheduler::ALL.iter().map(|p| p.0).collect::<Vec<_>>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(prop_oneof![
            netmask(),
            Just(Netmask::V4(Ipv4Addr::BROADCAST)),
            Just(Netmask::V4(Ipv4Addr::new(255, 0, 255, 0))),
        ]),
    );
    let b = (
        opt_value(),
        opt_value(),
        any::<bool>(),
        opt_value(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of(load_monitor()),
        any::<bool>(),
        proptest::option::of(ip()),
        value_text(),
        (opt_value(), opt_value(), any::<bool>()),
        (
            proptest::option::of(host()),
            proptest::option::of(proptest::collection::vec(text(), 0..4)),
            proptest::option::of(seconds()),
            proptest::option::of(any::<u32>()),
            proptest::sample::subsequence(
                SchedFlag::ALL.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
                0..=4,
            ),
        ),
    );
    (a, b, proptest::collection::vec(real_server(), 0..4)).prop_map(
        |(
            (
                name,
                address,
                vip_nmask,
                active,
                port,
                protocol,
                fwmark,
                scheduler,
                persistent,
                pmask,
            ),
            (
                send,
                expect,
                use_regex,
                send_program,
                timeout,
                reentry,
                load_monitor,
                quiesce_server,
                sorry_server,
                client_monitor,
                (start_cmd, stop_cmd, hot_standby),
                (master, dirs, connect_timeout, retries, sched_flags),
            ),
            servers,
        )| VirtualServer {
            name,
            address,
            vip_nmask,
            active,
            port,
            protocol,
            fwmark,
            scheduler,
            persistent,
            pmask,
            send,
            expect,
            use_regex,
            send_program,
            timeout,
            reentry,
            load_monitor,
            quiesce_server,
            sorry_server,
            client_monitor,
            start_cmd,
            stop_cmd,
            master,
            dirs,
            connect_timeout,
            retries,
            sched_flags,
            hot_standby,
            servers,
        },
    )
}

prop_compose! {
    fn config()(
        a in (
            -1_000_000_000_000i64..1_000_000_000_000,
            select(vec![Service::Lvs, Service::Fos]),
            proptest::option::of(specified_host()),
            proptest::option::of(specified_host()),
            opt_value(),
            // backup may be 0.0.0.0, lvs.cf's "unset"
            proptest::option::of(host()),
            proptest::option::of(host()),
            opt_value(),
            any::<bool>(),
            any::<bool>(),
            any::<u16>(),
            (seconds(), seconds(), any::<bool>()),
        ),
        b in (
            value_text(),
            select(Network::ALL.iter().map(|p| p.0).collect::<Vec<_>>()),
            proptest::option::of(nat_iface()),
            proptest::option::of(netmask()),
            value_text(),
            any::<bool>(),
            any::<bool>(),
            value_text(),
            any::<u8>(),
            (any::<u32>(), any::<u32>(), any::<u32>()),
            any::<bool>(),
            (opt_value(), opt_value()),
        ),
        c in (
            value_text(),
            proptest::option::of(select(vec![ConflictAction::Nothing, ConflictAction::Preempt])),
            any::<bool>(),
            proptest::collection::vec(virtual_server(), 0..3),
            proptest::collection::vec(virtual_server(), 0..2),
            select(Dataplane::ALL.iter().map(|p| p.0).collect::<Vec<_>>()),
        ),
        d in (
            any::<bool>(),
            opt_value(),
            opt_value(),
            proptest::option::of(seconds()),
            any::<bool>(),
        ),
    ) -> LvsConfig {
        let (serial_no, service, primary, mut primary_private, primary_shared, backup, mut backup_private,
             backup_shared, backup_active, heartbeat, heartbeat_port, (keepalive, deadtime, copy)) = a;
        let (rsh_command, network, nat_router, nat_nmask, debug_level, monitor_links, syncdaemon,
             syncd_iface, syncd_id, (tcp_timeout, tcpfin_timeout, udp_timeout), hard_shutdown,
             (active_cmd, inactive_cmd)) = b;
        let (ipvsadm, reservation_conflict_action, sync, virtual_servers, failover_services, dataplane) = c;
        let (bird, bird_socket, announce_file, announce_drain, hot_standby) = d;
        // Half the models follow the parser's copy rule (without primary_private, both
        // privates copy the publics); the others leave it to normalize().
        if copy && primary.is_some() && primary_private.is_none() {
            primary_private = primary.clone();
            backup_private = backup.clone();
        }
        LvsConfig {
            serial_no, service, primary, primary_private, primary_shared, backup, backup_private,
            backup_shared, backup_active, heartbeat, heartbeat_port, keepalive, deadtime,
            rsh_command, network, nat_router, nat_nmask, debug_level, monitor_links, syncdaemon,
            syncd_iface, syncd_id, tcp_timeout, tcpfin_timeout, udp_timeout, hard_shutdown,
            dataplane, active_cmd, inactive_cmd, ipvsadm, reservation_conflict_action, sync,
            heartbeat_key_file: None, heartbeat_auth: None, config_sync: false, sync_port: None,
            announce: if bird { lvscf::Announce::Bird } else { lvscf::Announce::None },
            bird_socket, announce_file, announce_drain, hot_standby,
            virtual_servers, failover_services,
        }
    }
}

/// Parse and return the model, failing on any error that is not a semantic check.
fn reparse(text: &str) -> lvscf::Parsed {
    let p = lvscf::parse_with(text, &Services::builtin());
    let syntax: Vec<_> = p
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.category != lvscf::Category::Semantic)
        .collect();
    assert!(syntax.is_empty(), "{syntax:?}\n{text}");
    p
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn write_then_parse_gives_the_normalized_model_back(cfg in config()) {
        let text = lvscf::writer::write(&cfg).expect("representable");
        let norm = lvscf::writer::normalize(&cfg).unwrap();
        prop_assert_eq!(&reparse(&text).model, &norm, "{}", text);
        let all = lvscf::writer::write_with(&cfg, lvscf::WriteOptions { explicit: true, ..Default::default() }).unwrap();
        prop_assert_eq!(&reparse(&all).model, &norm, "{}", all);
        // A normalized model is a fixed point.
        prop_assert_eq!(&lvscf::writer::normalize(&norm).unwrap(), &norm);
    }

    #[test]
    fn fmt_is_idempotent_and_keeps_every_comment(
        cfg in config(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..5), 0..12),
    ) {
        let text = lvscf::writer::write(&cfg).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut comments = Vec::new();
        for (n, (at, kind)) in edits.into_iter().enumerate() {
            let c = format!("# note {n}");
            let i = at.index(lines.len() + 1);
            let stmt = i < lines.len() && lines[i].contains(" = ");
            match kind {
                // A comment after a statement.
                1 if stmt => {
                    lines[i].push(' ');
                    lines[i].push_str(&c);
                }
                // A blank line, then a comment line.
                2 => {
                    lines.insert(i, c.clone());
                    lines.insert(i, String::new());
                }
                // The same statement again, with a comment: same model, a warning.
                3 if stmt => {
                    let dup = format!("{} {c}", lines[i]);
                    lines.insert(i + 1, dup);
                }
                // A legacy keyword (accepted everywhere with a warning, ignored).
                4 => lines.insert(i, format!("nmask = 255.255.255.0 {c}")),
                _ => lines.insert(i, c.clone()),
            }
            comments.push(c);
        }
        let commented = lines.join("\n") + "\n";
        let cfg = lvscf::writer::normalize(&cfg).unwrap();
        let p1 = reparse(&commented);
        prop_assert_eq!(&p1.model, &cfg);
        let f1 = p1.format().unwrap();
        for c in &comments {
            prop_assert!(f1.contains(c.as_str()), "lost {c}\n--- input\n{commented}\n--- fmt\n{f1}");
        }
        let p2 = reparse(&f1);
        prop_assert_eq!(&p2.model, &cfg);
        let f2 = p2.format().unwrap();
        prop_assert_eq!(f1, f2);
    }

    #[test]
    fn the_syntax_tree_is_lossless_for_any_text(src in "(\\PC|[ \\t\\r\\n\"'#={}])*") {
        let (tree, _) = lvscf::syntax::parse(&src);
        prop_assert_eq!(tree.reconstruct(&src), src);
    }
}

#[test]
fn fmt_of_the_samples_is_idempotent() {
    for name in [
        "seed-0.4-sample.cf",
        "sample-0.8.cf",
        "sample-0.8-full.cf",
        "gui-rhel6.cf",
    ] {
        let src =
            std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let p = reparse(&src);
        let f1 = p.format().unwrap();
        let p2 = reparse(&f1);
        assert_eq!(p2.model, p.model, "{name}");
        assert_eq!(p2.format().unwrap(), f1, "{name}");
        // Every comment line of the original survives.
        for line in src.lines().map(str::trim).filter(|l| l.starts_with('#')) {
            assert!(f1.contains(line), "{name}: lost {line:?}");
        }
    }
}
