//! Golden bytes of the IPVS netlink protocol, both directions.
//!
//! The fixtures in `tests/golden/` were captured from the real ipvsadm 1.31 talking to a real
//! kernel (strace in the qemu VM). On the host, our encoder must produce the same request
//! bytes and our decoder must read the kernel's replies; in the VM, the fixtures are checked
//! against a live capture again, so they cannot drift from the truth. Regenerate them with
//! `IPVS_GOLDEN_UPDATE=1 cargo test -p ipvs --test golden`.

use std::net::IpAddr;

use ipvs::consts::{cmd, svc_flags};
use ipvs::message::{self, Request};
use ipvs::{Daemon, Dest, Forward, Protocol, Service, ServiceId, SyncState, Timeouts, TunnelType};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn web() -> Service {
    let mut s = Service::new(ServiceId::tcp(ip("207.175.44.110"), 80))
        .scheduler("rr")
        .persistent(360);
    s.netmask = 0xffffff00;
    s
}

/// One captured exchange: what ipvsadm ran, and the request our library builds for it.
struct Case {
    name: &'static str,
    /// Shell commands run before the captured one (setup, not captured).
    setup: &'static str,
    args: &'static str,
    expect: fn() -> Vec<Request>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "add-service",
            setup: "",
            args: "-A -t 207.175.44.110:80 -s rr -p 360 -M 255.255.255.0",
            expect: || vec![message::add_service(&web())],
        },
        Case {
            name: "add-service-udp6-sched-flags",
            setup: "",
            args: "-A -u [2001:db8::80]:53 -s sh -b sh-fallback,sh-port",
            expect: || {
                let mut s = Service::new(ServiceId::Addr {
                    protocol: Protocol::Udp,
                    addr: ip("2001:db8::80"),
                    port: 53,
                })
                .scheduler("sh");
                s.flags = svc_flags::SCHED1 | svc_flags::SCHED2;
                vec![message::add_service(&s)]
            },
        },
        Case {
            name: "add-service-fwmark6-ops",
            setup: "",
            args: "-A -f 3 -6 -s rr -o",
            expect: || {
                let mut s = Service::new(ServiceId::Fwmark {
                    mark: 3,
                    ipv6: true,
                })
                .scheduler("rr");
                s.flags = svc_flags::ONEPACKET;
                vec![message::add_service(&s)]
            },
        },
        Case {
            name: "add-service-pe",
            setup: "",
            args: "-A -u 10.0.0.5:5060 -s rr -p 60 --pe sip",
            expect: || {
                let mut s = Service::new(ServiceId::udp(ip("10.0.0.5"), 5060))
                    .scheduler("rr")
                    .persistent(60);
                s.pe_name = Some("sip".into());
                vec![message::add_service(&s)]
            },
        },
        Case {
            name: "edit-service",
            setup: "ipvsadm -A -t 207.175.44.110:80 -s rr",
            args: "-E -t 207.175.44.110:80 -s wlc",
            expect: || {
                vec![message::edit_service(&Service::new(ServiceId::tcp(
                    ip("207.175.44.110"),
                    80,
                )))]
            },
        },
        Case {
            name: "del-service",
            setup: "ipvsadm -A -t 207.175.44.110:80 -s rr",
            args: "-D -t 207.175.44.110:80",
            expect: || {
                vec![message::del_service(&Service::named(ServiceId::tcp(
                    ip("207.175.44.110"),
                    80,
                )))]
            },
        },
        Case {
            name: "add-dest-masq",
            setup: "ipvsadm -A -t 207.175.44.110:80 -s rr",
            args: "-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 2",
            expect: || {
                vec![message::add_dest(
                    &Service::named(ServiceId::tcp(ip("207.175.44.110"), 80)),
                    &Dest::new(ip("192.168.10.1"), 80)
                        .forward(Forward::Masq)
                        .weight(2),
                )]
            },
        },
        Case {
            name: "add-dest-gue",
            setup: "ipvsadm -A -f 1 -s wlc",
            args: "-a -f 1 -r 192.168.10.3 -i --tun-type gue --tun-port 6080 --tun-csum",
            expect: || {
                let mut d = Dest::new(ip("192.168.10.3"), 0).forward(Forward::Tunnel);
                d.tun_type = TunnelType::Gue;
                d.tun_port = 6080;
                d.tun_flags = ipvs::model::tun_flags::CSUM;
                vec![message::add_dest(
                    &Service::named(ServiceId::Fwmark {
                        mark: 1,
                        ipv6: false,
                    }),
                    &d,
                )]
            },
        },
        Case {
            name: "edit-dest-thresholds",
            setup: "ipvsadm -A -t 207.175.44.110:80 -s rr; ipvsadm -a -t 207.175.44.110:80 -r 192.168.10.1:80 -m",
            args: "-e -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 0 -x 100 -y 10",
            expect: || {
                let mut d = Dest::new(ip("192.168.10.1"), 80)
                    .forward(Forward::Masq)
                    .weight(0);
                d.u_threshold = 100;
                d.l_threshold = 10;
                vec![message::edit_dest(
                    &Service::named(ServiceId::tcp(ip("207.175.44.110"), 80)),
                    &d,
                )]
            },
        },
        Case {
            name: "del-dest",
            setup: "ipvsadm -A -t 207.175.44.110:80 -s rr; ipvsadm -a -t 207.175.44.110:80 -r 192.168.10.1:80 -m",
            args: "-d -t 207.175.44.110:80 -r 192.168.10.1:80",
            expect: || {
                vec![message::del_dest(
                    &Service::named(ServiceId::tcp(ip("207.175.44.110"), 80)),
                    &Dest::new(ip("192.168.10.1"), 80),
                )]
            },
        },
        Case {
            name: "list-one",
            setup: "ipvsadm -A -t 207.175.44.110:80 -s rr",
            args: "-L -n -t 207.175.44.110:80",
            expect: || {
                let id = ServiceId::tcp(ip("207.175.44.110"), 80);
                vec![message::get_service(id), message::get_dests(id)]
            },
        },
        Case {
            name: "zero-one",
            setup: "ipvsadm -A -t 207.175.44.110:80 -s rr",
            args: "-Z -t 207.175.44.110:80",
            expect: || {
                vec![message::zero(Some(&Service::named(ServiceId::tcp(
                    ip("207.175.44.110"),
                    80,
                ))))]
            },
        },
        Case {
            name: "info",
            setup: "",
            args: "-L --timeout",
            expect: || vec![message::get_info()],
        },
        Case {
            name: "zero-all",
            setup: "",
            args: "-Z",
            expect: || vec![message::zero(None)],
        },
        Case {
            name: "flush",
            setup: "",
            args: "-C",
            expect: || vec![message::flush()],
        },
        Case {
            name: "set-timeouts",
            setup: "",
            args: "--set 900 120 300",
            expect: || {
                vec![message::set_timeouts(Timeouts {
                    tcp: 900,
                    tcp_fin: 120,
                    udp: 300,
                })]
            },
        },
        Case {
            name: "start-daemon",
            setup: "",
            args: "--start-daemon master --mcast-interface v0 --syncid 5",
            expect: || {
                vec![message::start_daemon(&Daemon::new(
                    SyncState::Master,
                    "v0",
                    5,
                ))]
            },
        },
        Case {
            name: "stop-daemon",
            setup: "ipvsadm --start-daemon backup --mcast-interface v0",
            args: "--stop-daemon backup",
            expect: || vec![message::stop_daemon(&Daemon::new(SyncState::Backup, "", 0))],
        },
        Case {
            name: "list-timeouts",
            setup: "",
            args: "-L --timeout",
            expect: || vec![message::get_timeouts()],
        },
        Case {
            name: "list-daemons",
            setup: "",
            args: "-L --daemon",
            expect: || vec![message::get_daemons()],
        },
        Case {
            name: "list",
            setup: "ipvsadm -A -t 207.175.44.110:80 -s rr; ipvsadm -a -t 207.175.44.110:80 -r 192.168.10.1:80 -m",
            args: "-L -n",
            expect: || {
                vec![
                    message::get_services(),
                    message::get_dests(ServiceId::tcp(ip("207.175.44.110"), 80)),
                ]
            },
        },
    ]
}

/// Netlink messages of a byte stream (several may share one datagram).
fn split(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if len < 16 || len > b.len() {
            break;
        }
        out.push(b[..len].to_vec());
        b = &b[(len + 3) & !3.min(b.len())..];
    }
    out
}

/// Zero the fields that differ between runs: sequence number and port id.
fn masked(msg: &[u8]) -> Vec<u8> {
    let mut m = msg.to_vec();
    m[8..16].fill(0);
    m
}

fn hex(b: &[u8]) -> String {
    b.chunks(16)
        .map(|c| {
            c.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn unhex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).expect("hex byte"))
        .collect()
}

/// A fixture: request messages (`>`) and reply messages (`<`), one hex block each.
struct Fixture {
    sent: Vec<Vec<u8>>,
    received: Vec<Vec<u8>>,
}

fn fixture_text(f: &Fixture) -> String {
    let mut s = String::new();
    for m in &f.sent {
        s.push_str("> request\n");
        s.push_str(&hex(m));
        s.push('\n');
    }
    for m in &f.received {
        s.push_str("< reply\n");
        s.push_str(&hex(m));
        s.push('\n');
    }
    s
}

fn parse_fixture(text: &str) -> Fixture {
    let mut f = Fixture {
        sent: Vec::new(),
        received: Vec::new(),
    };
    let mut cur: Option<(bool, String)> = None;
    let flush = |cur: &mut Option<(bool, String)>, f: &mut Fixture| {
        if let Some((sent, h)) = cur.take() {
            if sent {
                f.sent.push(unhex(&h));
            } else {
                f.received.push(unhex(&h));
            }
        }
    };
    for line in text.lines() {
        if line.starts_with("> ") || line.starts_with("< ") {
            flush(&mut cur, &mut f);
            cur = Some((line.starts_with('>'), String::new()));
        } else if let Some((_, h)) = &mut cur {
            h.push(' ');
            h.push_str(line);
        }
    }
    flush(&mut cur, &mut f);
    f
}

fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.hex"))
}

/// The IPVS family id used in the fixtures (the kernel assigns it; 0x20 in the VM).
fn family_of(f: &Fixture) -> u16 {
    let m = &f.sent[0];
    u16::from_ne_bytes([m[4], m[5]])
}

#[test]
fn our_requests_match_the_captured_ipvsadm_bytes() {
    let mut failures = Vec::new();
    for case in cases() {
        let path = fixture_path(case.name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            panic!(
                "missing fixture {}: run with IPVS_GOLDEN_UPDATE=1",
                path.display()
            );
        };
        let f = parse_fixture(&text);
        let family = family_of(&f);
        let ours: Vec<Vec<u8>> = (case.expect)()
            .iter()
            .map(|r| masked(&r.to_bytes(family, 0, 0)))
            .collect();
        if ours.len() != f.sent.len() {
            failures.push(format!(
                "{}: {} requests, ipvsadm sent {}",
                case.name,
                ours.len(),
                f.sent.len()
            ));
            continue;
        }
        for (i, (a, b)) in ours.iter().zip(&f.sent).enumerate() {
            if a != b {
                failures.push(format!(
                    "{}: request {i} differs\n ours:\n{}\n ipvsadm:\n{}",
                    case.name,
                    hex(a),
                    hex(b)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn captured_kernel_replies_decode() {
    let f = parse_fixture(&std::fs::read_to_string(fixture_path("list")).unwrap());
    let msgs: Vec<_> = f
        .received
        .iter()
        .map(|b| message::decode(b).expect("decodes"))
        .collect();
    let mut services = Vec::new();
    let mut dests = Vec::new();
    let mut done = 0;
    for m in msgs {
        match message::classify(m) {
            message::Reply::Message(m) if m.cmd == cmd::NEW_SERVICE => {
                services.push(message::service_of(&m).unwrap())
            }
            message::Reply::Message(m) if m.cmd == cmd::NEW_DEST => {
                dests.push(message::dest_of(&m, ipvs::consts::AF_INET).unwrap())
            }
            message::Reply::Done(Ok(())) => done += 1,
            other => panic!("unexpected reply {other:?}"),
        }
    }
    assert_eq!(done, 2, "two dumps, each ending with DONE");
    assert_eq!(services.len(), 1);
    let s = &services[0];
    assert_eq!(s.id, ServiceId::tcp(ip("207.175.44.110"), 80));
    assert_eq!(
        (s.scheduler.as_str(), s.flags, s.netmask),
        ("rr", 0, u32::MAX)
    );
    assert_eq!(dests.len(), 1);
    let d = &dests[0];
    assert_eq!(
        (d.addr, d.port, d.forward, d.weight),
        (ip("192.168.10.1"), 80, Forward::Masq, 1)
    );

    let f = parse_fixture(&std::fs::read_to_string(fixture_path("info")).unwrap());
    let m = match message::classify(message::decode(&f.received[0]).unwrap()) {
        message::Reply::Message(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(m.cmd, cmd::SET_INFO);
    let info = message::info_of(&m).unwrap();
    assert_eq!((info.version, info.conn_tab_size), (0x010201, 4096));

    for (name, check) in [
        ("list-timeouts", cmd::SET_CONFIG),
        ("list-daemons", cmd::NEW_DAEMON),
    ] {
        let f = parse_fixture(&std::fs::read_to_string(fixture_path(name)).unwrap());
        let got: Vec<u8> = f
            .received
            .iter()
            .filter_map(|b| match message::classify(message::decode(b).unwrap()) {
                message::Reply::Message(m) => Some(m.cmd),
                _ => None,
            })
            .collect();
        if name == "list-timeouts" {
            let m = f
                .received
                .iter()
                .find_map(|b| match message::classify(message::decode(b).unwrap()) {
                    message::Reply::Message(m) => Some(m),
                    _ => None,
                })
                .unwrap();
            assert_eq!(
                message::timeouts_of(&m).unwrap(),
                Timeouts {
                    tcp: 900,
                    tcp_fin: 120,
                    udp: 300
                }
            );
        }
        assert!(got.iter().all(|c| *c == check), "{name}: {got:?}");
    }
}

// ---- The VM side: capture ipvsadm with strace, compare with (or write) the fixtures -------

/// The bytes of each sendmsg/recvmsg in an `strace -e write=3 -e read=3` log.
fn strace_buffers(log: &str) -> Vec<(bool, Vec<u8>)> {
    let mut out: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut cur: Option<(bool, Vec<u8>)> = None;
    for line in log.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("| ") {
            if let Some((_, b)) = &mut cur {
                // "00000  20 00 ...  ascii |": the hex is between the offset and the ascii.
                let hexpart = &rest[7.min(rest.len())..rest.len().min(7 + 49)];
                b.extend(
                    hexpart
                        .split_whitespace()
                        .map(|h| u8::from_str_radix(h, 16).unwrap()),
                );
            }
            continue;
        }
        if t.starts_with("* ") {
            continue;
        }
        if let Some(c) = cur.take() {
            out.push(c);
        }
        // Only the data actually received counts (not the MSG_PEEK of the same bytes).
        if t.contains("sendmsg(3") {
            cur = Some((true, Vec::new()));
        } else if t.contains("recvmsg(3") && !t.contains("MSG_PEEK") {
            cur = Some((false, Vec::new()));
        }
    }
    if let Some(c) = cur {
        out.push(c);
    }
    out
}

fn guest_capture() -> String {
    let mut k = ipvs::NetlinkIpvs::new().expect("IPVS");
    let family = k.family_id();
    let sh = |c: &str| {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(c)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    sh(
        "/sbin/ip link add v0 type veth peer name v1; /sbin/ip addr add 192.168.10.254/24 dev v0; \
        /sbin/ip link set v0 up; /sbin/ip link set v1 up",
    );
    let mut report = String::new();
    for case in cases() {
        use ipvs::IpvsTable;
        k.flush().unwrap();
        for d in k.daemons().unwrap() {
            k.stop_daemon(&d).unwrap();
        }
        if !case.setup.is_empty() {
            sh(case.setup);
        }
        sh(&format!(
            "strace -f -e trace=sendmsg,recvmsg -e write=3 -e read=3 -e verbose=none -o /tmp/st ipvsadm {} >/dev/null 2>&1",
            case.args
        ));
        let log = std::fs::read_to_string("/tmp/st").unwrap();
        let mut f = Fixture {
            sent: Vec::new(),
            received: Vec::new(),
        };
        for (sent, buf) in strace_buffers(&log) {
            for m in split(&buf) {
                let ty = u16::from_ne_bytes([m[4], m[5]]);
                let genl_cmd = m.get(16).copied();
                let ipvs_msg = ty == family;
                // ipvsadm asks GET_INFO at start-up: part of the "info" case only.
                let info = matches!(genl_cmd, Some(cmd::GET_INFO | cmd::SET_INFO));
                if info != (case.name == "info") {
                    continue;
                }
                if sent && ipvs_msg {
                    f.sent.push(masked(&m));
                } else if !sent && (ipvs_msg || ty == 3 && case.name != "info") {
                    // IPVS replies and the DONE that ends a dump (type 3).
                    f.received.push(masked(&m));
                }
            }
        }
        report.push_str(&format!(
            "==== BEGIN {} ====\n{}==== END {} ====\n",
            case.name,
            fixture_text(&f),
            case.name
        ));
    }
    report
}

#[test]
fn fixtures_match_a_live_capture_of_ipvsadm() {
    if vmtest::in_guest() {
        print!("{}", guest_capture());
        return;
    }
    if !vmtest::require() {
        return;
    }
    let out = vmtest::Guest::self_test("fixtures_match_a_live_capture_of_ipvsadm")
        .bin("/usr/bin/strace", "strace")
        .run_ok();
    out.assert_self_test_passed();
    let update = std::env::var_os("IPVS_GOLDEN_UPDATE").is_some();
    for case in cases() {
        let live = out
            .section(case.name)
            .unwrap_or_else(|| panic!("no capture for {}:\n{}", case.name, out.console));
        let path = fixture_path(case.name);
        if update {
            std::fs::write(&path, &live).unwrap();
            continue;
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        // Replies carry live counters and hash order: compare requests exactly, replies by count.
        let (a, b) = (parse_fixture(&live), parse_fixture(&stored));
        assert_eq!(
            a.sent.iter().map(|m| hex(m)).collect::<Vec<_>>(),
            b.sent.iter().map(|m| hex(m)).collect::<Vec<_>>(),
            "{}: ipvsadm now sends other bytes than the fixture",
            case.name
        );
        assert_eq!(a.received.len(), b.received.len(), "{}: replies", case.name);
    }
}
