//! ipvsadm's listings on the host (spec A.7, A.8): exact strings anchored on the spec's
//! verbatim renders, then insta snapshots of every format over a rich `MemoryTable` with
//! live counters.
//!
//! Snapshots end every line with `$` (as `cat -A` does) so that the trailing spaces of
//! `%-10u` columns are visible on review and cannot be trimmed away by an editor or by insta;
//! `snap()` also checks that the raw output ends with a newline.

use std::net::IpAddr;
use std::path::PathBuf;

use ipvs::{
    Dest, Forward, Info, MemoryTable, Protocol, Service, ServiceId, Stats, Timeouts, TunnelType,
};
use ipvsadm_rs::list::{self, Format};
use ipvsadm_rs::run::{Io, run};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `ipvsadm <line>` on `table`, reading connections from `conn_file`: (stdout, stderr, status).
fn ipvsadm_conn(table: &mut MemoryTable, line: &str, conn_file: PathBuf) -> (String, String, u8) {
    let args: Vec<String> = line.split_whitespace().map(String::from).collect();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut input: &[u8] = b"";
    let mut io = Io {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        program: "ipvsadm".into(),
        conn_file,
    };
    let status = run(&args, table, &mut io, false).status();
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        status,
    )
}

/// Run and expect success; the stdout.
fn ok(table: &mut MemoryTable, line: &str) -> String {
    let (out, err, status) = ipvsadm_conn(
        table,
        line,
        std::env::temp_dir().join("ipvsadm-rs-formats-no-such-file"),
    );
    assert_eq!((status, err.as_str()), (0, ""), "ipvsadm {line}");
    out
}

/// The text to snapshot: each line ends with `$`.
fn snap(out: &str) -> String {
    assert!(out.is_empty() || out.ends_with('\n'), "{out:?}");
    out.lines().map(|l| format!("{l}$\n")).collect()
}

// ------------------------------------------------------------------------------------------
// Exact strings from the spec's verbatim renders (A.7)

fn fmt() -> Format {
    Format::default()
}

#[test]
fn banner_and_titles() {
    assert_eq!(
        list::banner(&Info {
            version: 0x010201,
            conn_tab_size: 4096
        }),
        "IP Virtual Server version 1.2.1 (size=4096)\n"
    );
    assert_eq!(
        list::title(fmt()),
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    );
    assert_eq!(
        list::title(Format {
            stats: true,
            ..fmt()
        }),
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n"
    );
    assert_eq!(
        list::title(Format {
            rate: true,
            ..fmt()
        }),
        "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\n"
    );
    // The trailing space: %-10s pads "InActConn" to 10.
    assert_eq!(
        list::title(Format {
            thresholds: true,
            ..fmt()
        }),
        "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n  -> RemoteAddress:Port\n"
    );
    assert_eq!(
        list::title(Format {
            persistent_conn: true,
            ..fmt()
        }),
        "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n  -> RemoteAddress:Port\n"
    );
    assert_eq!(
        list::title(Format {
            tun_info: true,
            ..fmt()
        }),
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
    );
    // Precedence: stats > rate > thresholds > persistent-conn > tun-info > default.
    let all = Format {
        stats: true,
        rate: true,
        thresholds: true,
        persistent_conn: true,
        tun_info: true,
        ..fmt()
    };
    assert_eq!(
        list::title(all),
        list::title(Format {
            stats: true,
            ..fmt()
        })
    );
    assert_eq!(
        list::title(Format {
            stats: false,
            ..all
        }),
        list::title(Format {
            rate: true,
            ..fmt()
        })
    );
    assert_eq!(
        list::title(Format {
            persistent_conn: true,
            tun_info: true,
            ..fmt()
        }),
        list::title(Format {
            persistent_conn: true,
            ..fmt()
        })
    );
}

fn largenum(i: u64, exact: bool) -> String {
    let mut s = String::new();
    list::largenum(&mut s, i, exact);
    s
}

#[test]
fn print_largenum_boundaries() {
    let cases: &[(u64, &str)] = &[
        (0, "        0"),
        (99_999_999, " 99999999"),
        (100_000_000, "  100000K"),
        (999_999_999, "  999999K"),
        (1_000_000_000, "    1000M"),
        (99_999_999_999, "   99999M"),
        (100_000_000_000, "     100G"),
        (99_999_999_999_999, "   99999G"),
        (100_000_000_000_000, "     100T"),
        (u64::MAX, "18446744T"),
    ];
    for (i, want) in cases {
        assert_eq!(largenum(*i, false), *want, "{i}");
        // Always 9 columns: even u64::MAX has 8 digits of T.
        assert_eq!(largenum(*i, false).len(), 9, "{i}");
    }
    // --exact: %*llu with width 9, or len+1 when longer than 8 digits.
    assert_eq!(largenum(5, true), "        5");
    assert_eq!(largenum(99_999_999, true), " 99999999");
    assert_eq!(largenum(100_000_000, true), " 100000000");
    assert_eq!(largenum(123_456_789_012, true), " 123456789012");
    assert_eq!(largenum(u64::MAX, true), " 18446744073709551615");
}

fn svc_207() -> Service {
    Service::new(ServiceId::tcp(ip("207.175.44.110"), 80))
        .scheduler("rr")
        .persistent(360)
}

fn masq(addr: &str, port: u16) -> Dest {
    Dest::new(ip(addr), port).forward(Forward::Masq)
}

fn entry(s: &Service, dests: &[Dest], f: Format) -> String {
    let mut out = String::new();
    list::service_entry(&mut out, s, dests, f);
    out
}

/// The spec's default listing, row by row, trailing spaces included.
#[test]
fn verbatim_default_render() {
    let d2 = Dest {
        active_conns: 12,
        inact_conns: 3,
        ..masq("192.168.10.2", 80)
    };
    let f = Format {
        numeric: true,
        ..fmt()
    };
    assert_eq!(
        entry(&svc_207(), &[d2, masq("192.168.10.1", 80)], f),
        "TCP  207.175.44.110:80 rr persistent 360\n  -> 192.168.10.1:80              Masq    1      0          0         \n  -> 192.168.10.2:80              Masq    1      12         3         \n"
    );
    let fwm = Service::new(ServiceId::Fwmark {
        mark: 1,
        ipv6: false,
    });
    assert_eq!(
        entry(&fwm, &[Dest::new(ip("192.168.10.1"), 0)], f),
        "FWM  1 wlc\n  -> 192.168.10.1:0               Route   1      0          0         \n"
    );

    // The same through the command line and the in-memory table: the spec's whole block.
    let mut t = MemoryTable::new();
    for l in [
        "-A -t 207.175.44.110:80 -s rr -p",
        "-a -t 207.175.44.110:80 -r 192.168.10.2:80 -m",
        "-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m",
        "-A -f 1",
        "-a -f 1 -r 192.168.10.1:0",
    ] {
        ok(&mut t, l);
    }
    t.set_counters(
        ServiceId::tcp(ip("207.175.44.110"), 80),
        ip("192.168.10.2"),
        80,
        |d| {
            d.active_conns = 12;
            d.inact_conns = 3;
        },
    );
    assert_eq!(
        ok(&mut t, "-L -n"),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  207.175.44.110:80 rr persistent 360
  -> 192.168.10.1:80              Masq    1      0          0         
  -> 192.168.10.2:80              Masq    1      12         3         
FWM  1 wlc
  -> 192.168.10.1:0               Route   1      0          0         
"
    );
}

#[test]
fn verbatim_stats_and_rate_renders() {
    let mut s = Service::new(ServiceId::tcp(ip("207.175.44.110"), 80)).scheduler("rr");
    s.stats = Stats {
        conns: 5,
        inpkts: 40,
        inbytes: 2400,
        outbytes: 123_456_789,
        inpps: 1,
        inbps: 60,
        ..Stats::default()
    };
    let d = Dest {
        stats: Stats {
            conns: 5,
            inpkts: 40,
            inbytes: 2400,
            inpps: 1,
            inbps: 60,
            ..Stats::default()
        },
        ..masq("192.168.10.1", 80)
    };
    let f = Format {
        numeric: true,
        ..fmt()
    };
    assert_eq!(
        entry(&s, std::slice::from_ref(&d), Format { stats: true, ..f }),
        "\
TCP  207.175.44.110:80                   5       40        0     2400  123456K
  -> 192.168.10.1:80                     5       40        0     2400        0
"
    );
    assert_eq!(
        entry(&s, std::slice::from_ref(&d), Format { rate: true, ..f }),
        "\
TCP  207.175.44.110:80                   0        1        0       60        0
  -> 192.168.10.1:80                     0        1        0       60        0
"
    );
    // --exact widens only what needs it.
    assert_eq!(
        entry(
            &s,
            &[],
            Format {
                stats: true,
                exact: true,
                ..f
            }
        ),
        "TCP  207.175.44.110:80                   5       40        0     2400 123456789\n"
    );
    // The --rate quirk: dest CPS/InPPS/OutPPS are raw %8llu, the service's go through
    // print_largenum.
    s.stats.cps = 123_456_789;
    let d = Dest {
        stats: Stats {
            cps: 123_456_789,
            ..Stats::default()
        },
        ..masq("192.168.10.1", 80)
    };
    assert_eq!(
        entry(&s, &[d], Format { rate: true, ..f }),
        "\
TCP  207.175.44.110:80             123456K        1        0       60        0
  -> 192.168.10.1:80              123456789        0        0        0        0
"
    );
}

#[test]
fn verbatim_thresholds_persistent_conn_tun_info_renders() {
    let f = Format {
        numeric: true,
        ..fmt()
    };
    let plain = Service::new(ServiceId::tcp(ip("207.175.44.110"), 80)).scheduler("rr");
    assert_eq!(
        entry(
            &plain,
            &[masq("192.168.10.1", 80)],
            Format {
                thresholds: true,
                ..f
            }
        ),
        "TCP  207.175.44.110:80 rr\n  -> 192.168.10.1:80              0          0          0          0         \n"
    );
    assert_eq!(
        entry(
            &svc_207(),
            &[masq("192.168.10.1", 80)],
            Format {
                persistent_conn: true,
                ..f
            }
        ),
        "TCP  207.175.44.110:80 rr persistent 360\n  -> 192.168.10.1:80              1         0           0          0         \n"
    );
    let gue = Dest {
        forward: Forward::Tunnel,
        tun_type: TunnelType::Gue,
        tun_port: 6080,
        ..Dest::new(ip("192.168.10.1"), 80)
    };
    assert_eq!(
        entry(
            &plain,
            &[masq("192.168.10.2", 80), gue],
            Format {
                tun_info: true,
                ..f
            }
        ),
        "\
TCP  207.175.44.110:80 rr
  -> 192.168.10.1:80              Tunnel  gue:6080:-c   1      0          0         
  -> 192.168.10.2:80              Masq    n/a           1      0          0         
"
    );
}

#[test]
fn service_row_flags() {
    let f = Format {
        numeric: true,
        ..fmt()
    };
    let mut s = Service::new(ServiceId::udp(ip("2001:db8::80"), 53)).scheduler("sh");
    s.flags |= ipvs::consts::svc_flags::SCHED1 | ipvs::consts::svc_flags::SCHED2;
    assert_eq!(
        entry(&s, &[], f),
        "UDP  [2001:db8::80]:53 sh (sh-fallback,sh-port)\n"
    );
    // Flags, then persistence with mask and pe, then ops.
    let mut s = Service::new(ServiceId::udp(ip("10.0.0.5"), 5060))
        .scheduler("rr")
        .persistent(60);
    s.netmask = 0xffff_ff00;
    s.pe_name = Some("sip".into());
    s.flags |= ipvs::consts::svc_flags::ONEPACKET | ipvs::consts::svc_flags::SCHED3;
    assert_eq!(
        entry(&s, &[], f),
        "UDP  10.0.0.5:5060 rr (flag-3) persistent 60 mask 255.255.255.0 pe sip ops\n"
    );
    assert_eq!(
        entry(&s, &[], Format { rule: true, ..f }),
        "-A -u 10.0.0.5:5060 -s rr -p 60 -M 255.255.255.0 --pe sip -o -b flag-3\n"
    );
    // IPv6 fwmark with a prefix mask.
    let mut s = Service::new(ServiceId::Fwmark {
        mark: 2,
        ipv6: true,
    })
    .persistent(100);
    s.netmask = 64;
    assert_eq!(
        entry(&s, &[], f),
        "FWM  2 IPv6 wlc persistent 100 mask 64\n"
    );
    assert_eq!(
        entry(&s, &[], Format { rule: true, ..f }),
        "-A -f 2 -6 -s wlc -p 100 -M 64\n"
    );
    // The longest numeric IPv4 name still fits the %-33s column.
    let long = Service::new(ServiceId::Addr {
        protocol: Protocol::Sctp,
        addr: ip("255.255.255.255"),
        port: 65535,
    });
    assert_eq!(
        entry(&long, &[], Format { stats: true, ..f }),
        "SCTP 255.255.255.255:65535               0        0        0        0        0\n"
    );
}

#[test]
fn timeouts_and_daemons() {
    assert_eq!(
        list::timeouts(&Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
    let mut t = MemoryTable::new();
    assert_eq!(ok(&mut t, "-L --daemon"), "", "nothing when no daemon runs");
    ok(&mut t, "--start-daemon master");
    assert_eq!(
        ok(&mut t, "-L --daemon"),
        "master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
    );
}

/// A /proc/net/ip_vs_conn row as the kernel prints IPv4 ones:
/// `"%-3s %08X %04X %08X %04X %08X %04X %-11s %7u%s\n"`.
fn conn_row(
    proto: &str,
    (c, cport): (&str, u16),
    (v, vport): (&str, u16),
    (d, dport): (&str, u16),
    state: &str,
    expires: u32,
    pe: &str,
) -> String {
    let hex = |a: &str| u32::from(a.parse::<std::net::Ipv4Addr>().unwrap());
    format!(
        "{proto:<3} {:08X} {cport:04X} {:08X} {vport:04X} {:08X} {dport:04X} {state:<11} {expires:>7}{pe}\n",
        hex(c),
        hex(v),
        hex(d)
    )
}

const CONN_HEADER: &str =
    "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";

fn conn_text() -> String {
    let mut s = String::from(CONN_HEADER);
    s += &conn_row(
        "TCP",
        ("10.0.0.2", 41234),
        ("207.175.44.110", 80),
        ("192.168.10.1", 80),
        "ESTABLISHED",
        898,
        "",
    );
    s += &conn_row(
        "TCP",
        ("10.0.0.3", 50000),
        ("207.175.44.110", 80),
        ("192.168.10.2", 80),
        "TIME_WAIT",
        119,
        "",
    );
    s += &conn_row(
        "TCP",
        ("10.0.0.4", 1024),
        ("10.0.0.9", 8080),
        ("10.0.0.9", 8080),
        "NONE",
        3599,
        "",
    );
    s += &conn_row(
        "UDP",
        ("10.0.0.5", 5060),
        ("10.0.0.5", 5060),
        ("192.168.10.6", 5060),
        "UDP",
        0,
        " sip 1234@example.invalid",
    );
    // IPv6 rows: %pI6, the full form.
    s += "TCP 2001:0db8:0000:0000:0000:0000:0000:0002 D431 2001:0db8:0000:0000:0000:0000:0000:0001 0050 2001:0db8:0000:0000:0000:0000:0000:0010 1F90 SYN_RECV         59\n";
    s
}

fn conn_file(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ipvsadm-rs-formats-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn kernel_conn_rows_are_what_the_spec_says() {
    assert_eq!(
        conn_row(
            "TCP",
            ("10.0.0.2", 41234),
            ("207.175.44.110", 80),
            ("192.168.10.1", 80),
            "ESTABLISHED",
            898,
            ""
        ),
        "TCP 0A000002 A112 CFAF2C6E 0050 C0A80A01 0050 ESTABLISHED     898\n"
    );
}

#[test]
fn verbatim_connection_render() {
    let text = format!(
        "{CONN_HEADER}{}",
        conn_row(
            "TCP",
            ("10.0.0.2", 41234),
            ("207.175.44.110", 80),
            ("192.168.10.1", 80),
            "ESTABLISHED",
            898,
            ""
        )
    );
    let f = Format {
        numeric: true,
        ..fmt()
    };
    assert_eq!(
        list::connections(&text, f).unwrap(),
        "\
IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:58  ESTABLISHED 10.0.0.2:41234     207.175.44.110:80  192.168.10.1:80
"
    );
    // Only the header: the two title lines.
    assert_eq!(
        list::connections(CONN_HEADER, f).unwrap(),
        "IPVS connection entries\npro expire state       source             virtual            destination\n"
    );
    assert_eq!(
        list::connections("", f).unwrap_err().to_string(),
        "unexpected input from /proc/net/ip_vs_conn"
    );
    // IPv6 rows: the kernel's %pI6 is the full form; compressed text reads the same.
    let full = format!(
        "{CONN_HEADER}TCP 2001:0db8:0000:0000:0000:0000:0000:0002 D431 2001:0db8:0000:0000:0000:0000:0000:0001 0050 2001:0db8:0000:0000:0000:0000:0000:0010 1F90 SYN_RECV         59\n"
    );
    let short = format!(
        "{CONN_HEADER}TCP 2001:db8::2 D431 2001:db8::1 0050 2001:db8::10 1F90 SYN_RECV         59\n"
    );
    let want =
        "TCP 00:59  SYN_RECV    [2001:db8::2]:54321 [2001:db8::1]:80   [2001:db8::10]:8080\n";
    assert!(list::connections(&full, f).unwrap().ends_with(want));
    assert_eq!(
        list::connections(&full, f).unwrap(),
        list::connections(&short, f).unwrap()
    );
}

/// `-c --persistent-conn` rows. ipvsadm 1.31 prints the 8-column row only when sscanf read
/// all 11 fields (a persistence engine is attached), and that row is
/// `"%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n"` (destination %-16s, pe name %-18s, unlike
/// the title's %-18s/%-16s); other rows use the plain 6-column format.
#[test]
fn persistent_conn_connection_rows() {
    let text = format!(
        "{CONN_HEADER}{}{}",
        conn_row(
            "TCP",
            ("10.0.0.2", 41234),
            ("207.175.44.110", 80),
            ("192.168.10.1", 80),
            "ESTABLISHED",
            898,
            ""
        ),
        conn_row(
            "UDP",
            ("10.0.0.5", 5060),
            ("10.0.0.5", 5060),
            ("192.168.10.6", 5060),
            "UDP",
            0,
            " sip 1234@example.invalid"
        )
    );
    let f = Format {
        numeric: true,
        persistent_conn: true,
        ..fmt()
    };
    let out = list::connections(&text, f).unwrap();
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows[1],
        "pro expire state       source             virtual            destination        pe name          pe_data"
    );
    assert_eq!(
        rows[2],
        "TCP 14:58  ESTABLISHED 10.0.0.2:41234     207.175.44.110:80  192.168.10.1:80"
    );
    assert_eq!(
        rows[3],
        "UDP 00:00  UDP         10.0.0.5:5060      10.0.0.5:5060      192.168.10.6:5060 sip                1234@example.invalid"
    );
}

/// `-S` in the spec's example form (A.8).
#[test]
fn verbatim_save_render() {
    let mut t = MemoryTable::new();
    for l in [
        "-A -t 207.175.44.110:80 -s rr -p 360 -M 255.255.255.0",
        "-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1",
        "-A -f 1 -s wlc",
        "-a -f 1 -r 192.168.10.3:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum",
        "-A -u [2001:db8::80]:53 -s sh -b sh-fallback,sh-port",
    ] {
        ok(&mut t, l);
    }
    assert_eq!(
        ok(&mut t, "-S -n"),
        "\
-A -t 207.175.44.110:80 -s rr -p 360 -M 255.255.255.0
-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1
-A -u [2001:db8::80]:53 -s sh -b sh-fallback,sh-port
-A -f 1 -s wlc
-a -f 1 -r 192.168.10.3:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
"
    );
}

// ------------------------------------------------------------------------------------------
// Sorting (A.7): ipvs_cmp_services subtracts unsigned values into a C int.

/// ipvsadm's `r = ntohl(a) - ntohl(b)` wraps: 200.0.0.1 - 10.0.0.1 = 0xBE000000, negative as
/// an int, so 200.0.0.1 sorts *before* 10.0.0.1. Addresses less than 2^31 apart sort in the
/// natural order (100.0.0.1 after 10.0.0.1, 200.0.0.1 before 220.0.0.1). The three of
/// 10.0.0.1, 200.0.0.1 and 220.0.0.1 are consistent (200 < 220 < 10); with 100.0.0.1 added
/// they would form a cycle, whose order depends on the sort algorithm. Fwmarks wrap too: 0 - 4294967295 = 1 > 0, so
/// fwmark 4294967295 sorts before the non-fwmark services (whose fwmark is 0), although the
/// spec's summary says non-fwmark services come first.
#[test]
fn service_order_follows_c_int_wraparound() {
    let mut t = MemoryTable::new();
    for l in [
        "-A -t 10.0.0.1:80",
        "-A -t 220.0.0.1:80",
        "-A -t 200.0.0.1:80",
        "-A -f 4294967295",
        "-A -f 1",
    ] {
        ok(&mut t, l);
    }
    assert_eq!(
        ok(&mut t, "-S -n"),
        "\
-A -f -1 -s wlc
-A -t 200.0.0.1:80 -s wlc
-A -t 220.0.0.1:80 -s wlc
-A -t 10.0.0.1:80 -s wlc
-A -f 1 -s wlc
"
    );
    // The comparator itself.
    let s = |a: &str| Service::new(ServiceId::tcp(ip(a), 80));
    use std::cmp::Ordering::*;
    assert_eq!(list::cmp_services(&s("200.0.0.1"), &s("10.0.0.1")), Less);
    assert_eq!(list::cmp_services(&s("10.0.0.1"), &s("200.0.0.1")), Greater);
    // Exactly 2^31 apart: INT_MIN both ways, each "less" than the other.
    assert_eq!(list::cmp_services(&s("1.0.0.1"), &s("129.0.0.1")), Less);
    assert_eq!(list::cmp_services(&s("129.0.0.1"), &s("1.0.0.1")), Less);
    assert_eq!(list::cmp_services(&s("10.0.0.1"), &s("100.0.0.1")), Less);
    assert_eq!(list::cmp_services(&s("100.0.0.1"), &s("10.0.0.1")), Greater);
    // Ports are u16 promoted to int: no wrap.
    let p = |port| Service::new(ServiceId::tcp(ip("10.0.0.1"), port));
    assert_eq!(list::cmp_services(&p(65535), &p(1)), Greater);
    // --nosort keeps the kernel's order (the in-memory table's: insertion order).
    let rows: Vec<String> = ok(&mut t, "-L -n --nosort")
        .lines()
        .skip(3)
        .map(String::from)
        .collect();
    assert_eq!(
        rows,
        [
            "TCP  10.0.0.1:80 wlc",
            "TCP  220.0.0.1:80 wlc",
            "TCP  200.0.0.1:80 wlc",
            "FWM  -1 wlc",
            "FWM  1 wlc"
        ]
    );
}

/// With many services spread over the address space the wrapping comparison is not a total
/// order (a < b < c < a happens); glibc's merge sort, which `list::c_sort` follows, still
/// lists them all (Rust's `sort_by` would panic).
#[test]
fn many_far_apart_services_are_all_listed() {
    let firsts = [
        108, 130, 165, 98, 203, 128, 141, 16, 214, 50, 190, 137, 200, 81, 62, 191, 108, 146, 159,
        52, 221,
    ];
    let mut t = MemoryTable::new();
    for (i, a) in firsts.iter().enumerate() {
        ok(&mut t, &format!("-A -t {a}.0.0.{}:80", i + 1));
    }
    // The comparator is not a total order here; the C library's merge sort still lists
    // every service (the VM test compares the exact order with the real ipvsadm).
    let out = ok(&mut t.clone(), "-L -n");
    assert_eq!(out.lines().count(), 3 + firsts.len());
    // --nosort does not sort and lists them all.
    let out = ok(&mut t, "-L -n --nosort");
    assert_eq!(out.lines().count(), 3 + firsts.len());
}

// ------------------------------------------------------------------------------------------
// Snapshots of every listing over a rich table

/// One of everything: TCP/UDP/SCTP/fwmark/IPv6 services, persistence with masks, scheduler
/// flags, one-packet, pe sip, every forwarding method, gue/gre/ipip tunnels, thresholds, and
/// live counters large enough for every unit of print_largenum.
fn rich() -> MemoryTable {
    let mut t = MemoryTable::new();
    for l in [
        "-A -t 207.175.44.110:80 -s rr -p 360 -M 255.255.255.0",
        "-a -t 207.175.44.110:80 -r 192.168.10.2:80 -m -w 3",
        "-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1 -x 100 -y 10",
        "-A -t 10.0.0.1:443 -s wlc",
        "-a -t 10.0.0.1:443 -r 192.168.10.9 -g -w 5",
        "-a -t 10.0.0.1:443 -r 127.0.0.1 -g -w 1",
        "-A -u [2001:db8::80]:53 -s sh -b sh-fallback,sh-port",
        "-a -u [2001:db8::80]:53 -r [2001:db8::5]:53 -m",
        "-a -u [2001:db8::80]:53 -r 192.168.10.7 -i",
        "-A -u 10.0.0.5:5060 -s rr -p 60 --pe sip",
        "-a -u 10.0.0.5:5060 -r 192.168.10.6:5060 -m -w 2",
        "-A -f 1 -s wlc",
        "-a -f 1 -r 192.168.10.3:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum",
        "-a -f 1 -r 192.168.10.4:0 -i -w 2 --tun-type gre --tun-csum",
        "-a -f 1 -r 192.168.10.5:0 -i -w 0",
        "-a -f 1 -r 192.168.10.8:0 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum",
        "-A -f 3 -6 -s mh -b mh-port -o",
        "-a -f 3 -6 -r [2001:db8::7]:0 -g -w 4",
        "-A -f 2 -6 -s wrr -p 100 -M 64",
        "-A --sctp-service 10.0.0.7:3868 -s lc",
        "-a --sctp-service 10.0.0.7:3868 -r 192.168.10.11:3869 -m -x 7 -y 3",
        "-A -u 10.0.0.8:1194 -s fo -o",
        "-A -t 10.0.0.9:8080 -s lblcr -p",
        "-A -t [2001:db8::1]:80 -s dh -p 10 -M 64 --pe sip",
        "-a -t [2001:db8::1]:80 -r [2001:db8::10]:8080 -m -w 7 -x 50 -y 5",
        "-A -t 200.0.0.1:80 -s rr -b flag-1,flag-2",
        "-a -t 200.0.0.1:80 -r 192.168.10.12:80 -m",
    ] {
        ok(&mut t, l);
    }
    let web = ServiceId::tcp(ip("207.175.44.110"), 80);
    assert!(t.set_counters(web, ip("192.168.10.1"), 80, |d| {
        d.stats = Stats {
            conns: 5,
            inpkts: 40,
            outpkts: 0,
            inbytes: 2400,
            outbytes: 0,
            cps: 0,
            inpps: 1,
            outpps: 0,
            inbps: 60,
            outbps: 0,
        };
    }));
    assert!(t.set_counters(web, ip("192.168.10.2"), 80, |d| {
        d.active_conns = 12;
        d.inact_conns = 3;
        d.persist_conns = 2;
        d.stats = Stats {
            conns: 99_999_999,
            inpkts: 100_000_000,
            outpkts: 999_999_999,
            inbytes: 1_000_000_000,
            outbytes: 99_999_999_999,
            cps: 123_456_789,
            inpps: 4_000_000_000,
            outpps: 7,
            inbps: 250_000_000,
            outbps: 4_000_000_000,
        };
    }));
    let https = ServiceId::tcp(ip("10.0.0.1"), 443);
    assert!(t.set_counters(https, ip("192.168.10.9"), 443, |d| {
        d.active_conns = 1_000_000;
        d.inact_conns = u32::MAX;
        d.persist_conns = 17;
        d.stats = Stats {
            conns: 4_294_967_295,
            inpkts: 1_000_000_000,
            outpkts: 1,
            inbytes: 100_000_000_000,
            outbytes: 99_999_999_999_999,
            cps: 12,
            inpps: 34,
            outpps: 56,
            inbps: 99_999_999,
            outbps: 100_000_000,
        };
    }));
    // The kernel marks a destination on a local address as Local.
    assert!(t.set_counters(https, ip("127.0.0.1"), 443, |d| {
        d.forward = Forward::Local;
        d.active_conns = 2;
    }));
    let fwm1 = ServiceId::Fwmark {
        mark: 1,
        ipv6: false,
    };
    assert!(t.set_counters(fwm1, ip("192.168.10.3"), 0, |d| {
        d.active_conns = 4;
        d.inact_conns = 40;
        d.stats = Stats {
            conns: 44,
            inpkts: 400,
            outpkts: 0,
            inbytes: u64::MAX,
            outbytes: 100_000_000_000_000,
            ..Stats::default()
        };
    }));
    let v6 = ServiceId::tcp(ip("2001:db8::1"), 80);
    assert!(t.set_counters(v6, ip("2001:db8::10"), 8080, |d| {
        d.active_conns = 9;
        d.persist_conns = 1;
        d.stats.conns = 1234;
        d.stats.inbytes = 987_654_321;
    }));
    t
}

#[test]
fn snapshot_list_numeric() {
    insta::assert_snapshot!("list_numeric", snap(&ok(&mut rich(), "-L -n")));
}

#[test]
fn snapshot_list_stats() {
    insta::assert_snapshot!("list_stats", snap(&ok(&mut rich(), "-L -n --stats")));
}

#[test]
fn snapshot_list_rate() {
    insta::assert_snapshot!("list_rate", snap(&ok(&mut rich(), "-L -n --rate")));
}

#[test]
fn snapshot_list_thresholds() {
    insta::assert_snapshot!(
        "list_thresholds",
        snap(&ok(&mut rich(), "-L -n --thresholds"))
    );
}

#[test]
fn snapshot_list_persistent_conn() {
    insta::assert_snapshot!(
        "list_persistent_conn",
        snap(&ok(&mut rich(), "-L -n --persistent-conn"))
    );
}

#[test]
fn snapshot_list_tun_info() {
    insta::assert_snapshot!("list_tun_info", snap(&ok(&mut rich(), "-L -n --tun-info")));
}

#[test]
fn snapshot_list_exact_stats() {
    insta::assert_snapshot!(
        "list_exact_stats",
        snap(&ok(&mut rich(), "-L -n --exact --stats"))
    );
}

#[test]
fn snapshot_list_nosort() {
    insta::assert_snapshot!("list_nosort", snap(&ok(&mut rich(), "-L -n --nosort")));
}

#[test]
fn snapshot_list_one_service() {
    let mut t = rich();
    let out = ok(&mut t, "-L -n -t 207.175.44.110:80");
    // No banner for one service.
    assert!(out.starts_with("Prot LocalAddress:Port Scheduler Flags\n"));
    insta::assert_snapshot!("list_one_service", snap(&out));
    insta::assert_snapshot!(
        "list_one_service_fwmark_stats",
        snap(&ok(&mut t, "-L -n -f 1 --stats"))
    );
}

#[test]
fn snapshot_save() {
    insta::assert_snapshot!("save", snap(&ok(&mut rich(), "-S -n")));
}

#[test]
fn snapshot_timeout_and_daemon() {
    let mut t = rich();
    ok(&mut t, "--set 100 20 30");
    ok(
        &mut t,
        "--start-daemon backup --mcast-interface eth1 --syncid 9 --mcast-group ff02::1 --mcast-port 9000 --mcast-ttl 3 --sync-maxlen 1000",
    );
    ok(&mut t, "--start-daemon master");
    let out = ok(&mut t, "-L --timeout") + &ok(&mut t, "-L --daemon");
    insta::assert_snapshot!("timeout_and_daemon", snap(&out));
}

#[test]
fn snapshot_connections() {
    let path = conn_file("conn", &conn_text());
    let (out, err, status) = ipvsadm_conn(&mut rich(), "-L -n -c", path.clone());
    assert_eq!((status, err.as_str()), (0, ""));
    insta::assert_snapshot!("connections", snap(&out));
    let (out, err, status) = ipvsadm_conn(&mut rich(), "-L -n -c --persistent-conn", path.clone());
    assert_eq!((status, err.as_str()), (0, ""));
    insta::assert_snapshot!("connections_persistent_conn", snap(&out));
    let _ = std::fs::remove_file(path);
}

/// The same table survives `-Z`: counters go, connection counts stay.
#[test]
fn zero_clears_counters() {
    let mut t = rich();
    ok(&mut t, "-Z -t 207.175.44.110:80");
    let out = ok(&mut t, "-L -n -t 207.175.44.110:80 --stats");
    assert_eq!(
        out,
        "\
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  207.175.44.110:80                   0        0        0        0        0
  -> 192.168.10.1:80                     0        0        0        0        0
  -> 192.168.10.2:80                     0        0        0        0        0
"
    );
    ok(&mut t, "-Z");
    let stats = ok(&mut t, "-L -n --stats --exact");
    for row in stats.lines().skip(3) {
        assert!(
            row.ends_with("        0        0        0        0        0"),
            "{row}"
        );
    }
    // Active connection counts are not counters.
    assert!(ok(&mut t, "-L -n").contains("Masq    3      12         3"));
}
