//! Every sample configuration from the seeds and the spec parses, with the meaning piranha
//! gave it.

use std::net::IpAddr;

use lvscf::{
    ConflictAction, Host, LoadMonitor, LvsConfig, Netmask, Network, Protocol, Scheduler, Seconds,
    Service, Services,
};

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("fixture")
}

/// Parse with the built-in service table so results do not depend on the machine.
fn valid(src: &str) -> LvsConfig {
    let p = lvscf::parse_with(src, &Services::builtin());
    assert!(
        !p.has_errors(),
        "{}",
        lvscf::cli::render("<test>", src, &p.diagnostics)
    );
    p.model
}

fn ip(s: &str) -> Host {
    Host::Ip(s.parse().unwrap())
}

#[test]
fn seed_0_4_sample() {
    let cfg = valid(&data("seed-0.4-sample.cf"));
    assert_eq!(cfg.service, Service::Lvs);
    assert_eq!(cfg.primary, Some(ip("207.175.44.150")));
    assert_eq!(cfg.backup, Some(ip("207.175.44.196")));
    // No primary_private: both private addresses are copies of the public ones.
    assert_eq!(cfg.primary_private, cfg.primary);
    assert_eq!(cfg.backup_private, cfg.backup);
    assert!(cfg.backup_active && cfg.heartbeat);
    assert_eq!(cfg.heartbeat_port, 1050);
    assert_eq!(cfg.keepalive, Seconds::from_secs(6));
    assert_eq!(cfg.deadtime, Seconds::from_secs(18));
    assert_eq!(cfg.network, Network::Nat);
    let nat = cfg.nat_router.as_ref().unwrap();
    assert_eq!(
        (nat.address.clone(), nat.device.as_str()),
        (ip("192.168.10.100"), "eth1:1")
    );

    assert_eq!(cfg.virtual_servers.len(), 2);
    let s1 = &cfg.virtual_servers[0];
    assert_eq!(s1.name, "server1");
    assert!(s1.active);
    assert_eq!(s1.address.as_ref().unwrap().device, "eth0:1");
    assert_eq!(s1.port, 80, "port = http is the service name");
    assert_eq!(
        s1.send.as_deref(),
        Some(r"GET / HTTP/1.0\r\n\r\n"),
        "escapes stay literal"
    );
    assert_eq!(s1.expect.as_deref(), Some("HTTP"));
    assert_eq!(s1.load_monitor, Some(LoadMonitor::Uptime));
    assert_eq!((s1.timeout, s1.reentry), (5, 10));
    assert_eq!(s1.persistent, Some(60));
    assert_eq!(s1.pmask, None, "255.255.255.255 means no mask");
    assert_eq!(s1.scheduler, Scheduler::Wlc);
    assert_eq!(s1.servers.len(), 2);
    assert_eq!(s1.servers[1].address, Some(ip("192.168.10.3")));
    assert_eq!(
        s1.servers[1].port, 80,
        "real port defaults to the virtual port"
    );

    let s2 = &cfg.virtual_servers[1];
    assert!(!s2.active);
    assert_eq!(s2.send.as_deref(), Some(r"\n"));
    assert_eq!(s2.servers[0].port, 21);
    assert_eq!(s2.servers[0].weight, 1, "weight defaults to 1");
    assert_eq!(s2.protocol, Protocol::Tcp);
    assert_eq!(s2.scheduler, Scheduler::Wlc);

    assert_eq!(cfg.failover_services.len(), 2);
    let web1 = &cfg.failover_services[0];
    assert!(web1.active);
    assert_eq!(web1.port, 1010);
    assert_eq!(
        web1.start_cmd.as_deref(),
        Some("/etc/rc.d/init.d/httpd start")
    );
    assert_eq!(
        web1.stop_cmd.as_deref(),
        Some("/etc/rc.d/init.d/httpd stop")
    );
    assert_eq!(cfg.failover_services[1].name, "ftp");
}

#[test]
fn spec_0_8_sample() {
    let cfg = valid(&data("sample-0.8.cf"));
    assert_eq!(cfg.primary_private, Some(ip("10.11.12.1")));
    assert_eq!(cfg.backup_private, Some(ip("10.11.12.2")));
    assert_eq!(
        cfg.nat_nmask,
        Some(Netmask::V4("255.255.255.255".parse().unwrap()))
    );
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.fwmark, Some(100));
    assert_eq!(
        vs.vip_nmask,
        Some(Netmask::V4("255.255.255.255".parse().unwrap()))
    );
    assert_eq!(
        vs.sorry_server, None,
        "a commented-out sorry_server is not set"
    );
    let web1 = &cfg.failover_services[0];
    assert_eq!(
        web1.vip_nmask,
        Some(Netmask::V4("255.255.255.255".parse().unwrap()))
    );
    assert_eq!(web1.timeout, 10);
    // Defaults that the sample does not set.
    assert_eq!(cfg.rsh_command, "rsh");
    assert!(cfg.hard_shutdown);
    assert_eq!(cfg.syncd_iface, "eth0");
    assert_eq!(cfg.ipvsadm, "/sbin/ipvsadm");
    assert_eq!(vs.client_monitor, "/usr/sbin/nanny");
}

#[test]
fn spec_0_8_full_sample_warns_only_about_the_repeated_key() {
    let src = data("sample-0.8-full.cf");
    let p = lvscf::parse_with(&src, &Services::builtin());
    assert!(!p.has_errors());
    let warnings: Vec<_> = p.warnings().map(|d| d.message.as_str()).collect();
    assert_eq!(
        warnings,
        ["`backup_active` is set again; this value replaces the earlier one"]
    );
    let cfg = p.model;
    assert_eq!(cfg.primary_shared.as_deref(), Some("/dev/sdb"));
    assert_eq!(
        cfg.reservation_conflict_action,
        Some(ConflictAction::Preempt)
    );
    assert_eq!(cfg.debug_level, "NONE");
}

#[test]
fn gui_written_rhel6_file() {
    let cfg = valid(&data("gui-rhel6.cf"));
    assert_eq!(cfg.serial_no, 42);
    assert_eq!(cfg.network, Network::Direct);
    assert!(!cfg.monitor_links && !cfg.syncdaemon);
    let www = &cfg.virtual_servers[0];
    assert_eq!(www.load_monitor, Some(LoadMonitor::None));
    assert_eq!((www.timeout, www.reentry), (6, 15));
    assert_eq!(www.servers[1].weight, 2);
    assert_eq!(cfg.virtual_servers[1].scheduler, Scheduler::Rr);
}

#[test]
fn dos_line_endings_parse_the_same_and_count_physical_lines() {
    let unix = data("seed-0.4-sample.cf");
    let dos = unix.replace('\n', "\r\n");
    assert_eq!(valid(&dos), valid(&unix));
    // An error on physical line 3 is reported on line 3, not 5 as piranha did.
    let bad = "service = lvs\r\nprimary = 10.0.0.1\r\nkeepalive = x\r\n";
    let p = lvscf::parse(bad);
    let text = lvscf::cli::render("f", bad, &p.diagnostics);
    assert!(
        text.starts_with("f:3:13: error: integer expected"),
        "{text}"
    );
}

#[test]
fn old_mac_endings_and_mixed_endings_work() {
    let src = "service = lvs\rprimary = 10.0.0.1\nvirtual v {\r\n active = 1\r address = 10.0.0.2 eth0:1\n server r {\n address = 10.0.1.1\r\n active = 1\n }\n}";
    let cfg = valid(src);
    assert_eq!(
        cfg.virtual_servers[0].servers[0].address,
        Some(ip("10.0.1.1"))
    );
}

#[test]
fn faithful_value_forms() {
    let cfg = valid(
        "primary = 10.1\nkeepalive = 010\ndeadtime = 0x1F\nheartbeat_port = https\n\
         virtual v {\n active = 0x1\n address = 10.0.0.2 eth0:1\n timeout = 07\n\
         persistent = 0\n fwmark = 0\n server r {\n address = 10.0.1.1\n active = 1\n }\n}\n",
    );
    assert_eq!(cfg.primary, Some(ip("10.0.0.1")), "inet_aton short form");
    assert_eq!(cfg.keepalive, Seconds::from_secs(8), "octal");
    assert_eq!(cfg.deadtime, Seconds::from_secs(31), "hex");
    assert_eq!(cfg.heartbeat_port, 443);
    let vs = &cfg.virtual_servers[0];
    assert!(vs.active);
    assert_eq!(vs.timeout, 7);
    assert_eq!(vs.persistent, None, "0 is no persistence");
    assert_eq!(vs.fwmark, None, "0 is no mark");
}

#[test]
fn real_server_port_is_the_virtual_port_when_the_server_line_is_read() {
    let src = "primary = 10.0.0.1\nvirtual v {\n active = 1\n address = 10.0.0.2 eth0:1\n\
               server a {\n address = 10.0.1.1\n active = 1\n }\n port = 443\n\
               server b {\n address = 10.0.1.2\n active = 1\n }\n\
               server c {\n address = 10.0.1.3\n active = 1\n port = 8443\n }\n}\n";
    let p = lvscf::parse(src);
    assert!(!p.has_errors());
    let ports: Vec<u16> = p.model.virtual_servers[0]
        .servers
        .iter()
        .map(|s| s.port)
        .collect();
    assert_eq!(ports, [80, 443, 8443]);
    let w: Vec<_> = p.warnings().collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].message.starts_with("real server `a` uses port 80"),
        "{}",
        w[0].message
    );
}

#[test]
fn private_addresses_follow_piranhas_copy_rule() {
    // primary_private set: backup_private is taken as written.
    let cfg = valid(
        "primary = 10.0.0.1\nprimary_private = 192.168.0.1\nbackup = 10.0.0.2\n\
         backup_private = 192.168.0.2\nbackup_active = 1\n\
         virtual v {\n active = 1\n address = 10.0.0.9 eth0:1\n server r {\n address = 10.0.1.1\n active = 1\n }\n}\n",
    );
    assert_eq!(cfg.backup_private, Some(ip("192.168.0.2")));
    // primary_private absent: backup_private is overwritten by backup (with a warning).
    let src = "primary = 10.0.0.1\nbackup = 10.0.0.2\nbackup_private = 192.168.0.2\n\
               virtual v {\n active = 1\n address = 10.0.0.9 eth0:1\n server r {\n address = 10.0.1.1\n active = 1\n }\n}\n";
    let p = lvscf::parse(src);
    assert!(!p.has_errors());
    assert_eq!(p.model.primary_private, Some(ip("10.0.0.1")));
    assert_eq!(p.model.backup_private, Some(ip("10.0.0.2")));
    assert!(
        p.warnings()
            .any(|w| w.message.contains("`backup_private` is ignored"))
    );
}

#[test]
fn extensions() {
    let cfg = valid(
        "primary=2001:db8::1\nkeepalive = 0.1\ndeadtime = 0.5 # fast failover\n\
         virtual v6 {\n active = 1\n address = 2001:db8::100 eth0\n scheduler = mh\n\
         persistent = 300\n pmask = 64\n server r {\n address = 2001:db8:1::1\n active = 1\n port = http\n }\n}\n\
         virtual named {\n active = 1\n address = www.example.com eth0:2\n scheduler = sed\n\
         server r {\n address = web1.example.com\n active = 1\n }\n}\n",
    );
    assert_eq!(cfg.primary, Some(ip("2001:db8::1")));
    assert_eq!(cfg.keepalive, Seconds::from_millis(100));
    assert_eq!(cfg.deadtime, Seconds::from_millis(500));
    let v6 = &cfg.virtual_servers[0];
    assert_eq!(v6.vip(), Some("2001:db8::100".parse::<IpAddr>().unwrap()));
    assert_eq!(v6.scheduler, Scheduler::Mh);
    assert_eq!(v6.pmask, Some(Netmask::Prefix(64)));
    assert_eq!(v6.servers[0].port, 80);
    let named = &cfg.virtual_servers[1];
    assert_eq!(
        named.address.as_ref().unwrap().address,
        Host::Name("www.example.com".into())
    );
    assert_eq!(
        named.servers[0].address,
        Some(Host::Name("web1.example.com".into()))
    );
}

#[test]
fn every_scheduler_of_the_kernel_is_accepted() {
    for name in [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
    ] {
        let cfg = valid(&format!(
            "primary = 10.0.0.1\nvirtual v {{\n active = 1\n address = 10.0.0.2 eth0:1\n scheduler = {name}\n\
             server r {{\n address = 10.0.1.1\n active = 1\n }}\n}}\n"
        ));
        assert_eq!(cfg.virtual_servers[0].scheduler.as_str(), name);
    }
}

#[test]
fn single_and_double_quotes_are_stripped_alike() {
    let cfg = valid(
        "primary = 10.0.0.1\nvirtual v {\n active = 1\n address = 10.0.0.2 eth0:1\n\
         send = 'GET / HTTP/1.0\\r\\n\\r\\n'\n expect = \"HTTP\"\n send_program = '/bin/check %h'\n\
         server r {\n address = 10.0.1.1\n active = 1\n }\n}\n",
    );
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.send.as_deref(), Some(r"GET / HTTP/1.0\r\n\r\n"));
    assert_eq!(vs.expect.as_deref(), Some("HTTP"));
    assert_eq!(vs.send_program.as_deref(), Some("/bin/check %h"));
}

#[test]
fn service_selects_failover_blocks() {
    let cfg = valid(
        "service = fos\nprimary = 10.0.0.1\nbackup = 10.0.0.2\nbackup_active = 1\n\
         virtual v {\n active = 1\n address = 10.0.0.2 eth0:1\n}\n\
         failover f {\n active = 1\n address = 10.0.0.3 eth0:2\n port = 21\n\
         start_cmd = \"/etc/init.d/vsftpd start\"\n stop_cmd = \"/etc/init.d/vsftpd stop\"\n}\n",
    );
    assert_eq!(cfg.selected_blocks().len(), 1);
    assert_eq!(cfg.selected_blocks()[0].name, "f");
}

#[test]
fn invalid_utf8_in_a_comment_does_not_stop_the_parse() {
    let mut bytes = b"# caf\xe9 (latin-1)\nprimary = 10.0.0.1\n".to_vec();
    bytes.extend_from_slice(b"virtual v {\n active = 1\n address = 10.0.0.2 eth0:1\n server r {\n address = 10.0.1.1\n active = 1\n }\n}\n");
    let dir = std::env::temp_dir().join(format!("lvscf-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lvs.cf");
    std::fs::write(&path, &bytes).unwrap();
    let loaded = lvscf::load(&path).unwrap();
    assert!(loaded.text.starts_with("# caf\u{fffd} (latin-1)\n"));
    assert!(loaded.parsed.config().is_some());
}

#[test]
fn load_reports_the_first_error_line_for_piranha_style_log_lines() {
    let dir = std::env::temp_dir().join(format!("lvscf-first-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lvs.cf");
    std::fs::write(
        &path,
        "primary = 10.0.0.1\r\n\r\nkeepalive = x\r\nport = 1\r\n",
    )
    .unwrap();
    let loaded = lvscf::load(&path).unwrap();
    assert_eq!(loaded.first_error_line(), Some(3));
    let err = lvscf::load(dir.join("missing.cf")).unwrap_err();
    assert!(err.to_string().starts_with("cannot read "), "{err}");
}

#[test]
fn hosts_resolve_when_asked_not_when_parsed() {
    let ip = Host::Ip("192.0.2.7".parse().unwrap());
    assert_eq!(
        ip.resolve().unwrap(),
        "192.0.2.7".parse::<IpAddr>().unwrap()
    );
    let local = Host::Name("localhost".into());
    assert!(local.resolve().unwrap().is_loopback());
    // An unresolvable name is kept by the parser; only resolve() fails.
    let cfg = valid(
        "primary = no-such-host.invalid\nvirtual v {\n active = 1\n address = 10.0.0.2 eth0:1\n server r {\n address = 10.0.1.1\n active = 1\n }\n}\n",
    );
    let primary = cfg.primary.unwrap();
    assert_eq!(primary, Host::Name("no-such-host.invalid".into()));
    assert!(primary.resolve().is_err());
}
