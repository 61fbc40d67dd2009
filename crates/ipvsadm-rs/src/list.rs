//! ipvsadm's listings, byte for byte: the banner, the titles, service and destination rows
//! of every format, `-S` rules, timeouts, sync daemons, and connections.

mod entry;

pub use entry::service_entry;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs::consts::svc_flags::{SCHED1, SCHED2, SCHED3};
use ipvs::{Daemon, Dest, Forward, Info, Protocol, Service, ServiceId, Timeouts, TunnelType};

use crate::Error;
use crate::names;

/// ipvsadm's `FMT_*` flags, as a struct.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Format {
    pub numeric: bool,
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub nosort: bool,
    pub exact: bool,
    pub tun_info: bool,
    /// `-S`: rules for `-R`.
    pub rule: bool,
}

/// `IP Virtual Server version 1.2.1 (size=4096)`.
pub fn banner(info: &Info) -> String {
    let v = info.version;
    format!(
        "IP Virtual Server version {}.{}.{} (size={})\n",
        (v >> 16) & 0xff,
        (v >> 8) & 0xff,
        v & 0xff,
        info.conn_tab_size as i32
    )
}

/// `print_title`.
pub fn title(f: Format) -> String {
    const PROT: &str = "Prot LocalAddress:Port";
    if f.stats {
        format!(
            "{PROT:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        )
    } else if f.rate {
        format!(
            "{PROT:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        )
    } else if f.thresholds {
        format!(
            "{PROT:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        )
    } else if f.persistent_conn {
        format!(
            "{PROT:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        )
    } else if f.tun_info {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n".into()
    } else {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n".into()
    }
}

/// `print_largenum`.
pub fn largenum(out: &mut String, i: u64, exact: bool) {
    if exact {
        let len = i.to_string().len();
        let width = if len <= 8 { 9 } else { len + 1 };
        let _ = write!(out, "{i:>width$}");
    } else if i < 100_000_000 {
        let _ = write!(out, "{i:>9}");
    } else if i < 1_000_000_000 {
        let _ = write!(out, "{:>8}K", i / 1000);
    } else if i < 100_000_000_000 {
        let _ = write!(out, "{:>8}M", i / 1_000_000);
    } else if i < 100_000_000_000_000 {
        let _ = write!(out, "{:>8}G", i / 1_000_000_000);
    } else {
        let _ = write!(out, "{:>8}T", i / 1_000_000_000_000);
    }
}

fn proto_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
        Protocol::Other(_) => "?",
    }
}

fn protocol_of(id: &ServiceId) -> Protocol {
    match id {
        ServiceId::Addr { protocol, .. } => *protocol,
        // The kernel records TCP for fwmark services.
        ServiceId::Fwmark { .. } => Protocol::Tcp,
    }
}

/// `addrport_to_anyname` (60-byte buffer): numeric, or host and service names.
pub fn addrport(addr: IpAddr, port: u16, protocol: Protocol, numeric: bool) -> String {
    let (open, close) = if addr.is_ipv4() { ("", "") } else { ("[", "]") };
    let s = if numeric {
        format!("{open}{}{close}:{port}", names::ntop(addr))
    } else {
        let host = names::addr_to_host(addr).unwrap_or_else(|| names::ntop(addr));
        match names::port_to_service(port, protocol.number()) {
            Some(svc) => format!("{open}{host}{close}:{svc}"),
            None => format!("{open}{host}{close}:{port}"),
        }
    };
    truncate(s, 59)
}

fn truncate(mut s: String, n: usize) -> String {
    if s.len() > n {
        let mut cut = n;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn fwd_name(f: Forward) -> &'static str {
    match f {
        Forward::Masq => "Masq",
        Forward::Local => "Local",
        Forward::Tunnel => "Tunnel",
        Forward::Route => "Route",
        // ipvsadm prints a NULL pointer here; glibc shows it as "(null)".
        _ => "(null)",
    }
}

fn fwd_switch(f: Forward) -> &'static str {
    match f {
        Forward::Masq => "-m",
        Forward::Tunnel => "-i",
        _ => "-g",
    }
}

fn tun_flag(flags: u16, rule: bool) -> &'static str {
    match (flags, rule) {
        (1, false) => "+c",
        (2, false) => "r+c",
        (_, false) => "-c",
        (1, true) => "--tun-csum",
        (2, true) => "--tun-remcsum",
        (_, true) => "--tun-nocsum",
    }
}

/// `fwd_tun_info`: tunnel type, port and checksum flags of a tunnel destination.
fn tun_info(d: &Dest) -> String {
    if d.forward != Forward::Tunnel {
        return "n/a".into();
    }
    let s = match d.tun_type {
        TunnelType::Ipip => "ipip".to_string(),
        TunnelType::Gue => format!("gue:{}:{}", d.tun_port, tun_flag(d.tun_flags, false)),
        TunnelType::Gre => format!("gre:{}", tun_flag(d.tun_flags, false)),
        TunnelType::Other(_) => "n/a".into(),
    };
    truncate(s, 15)
}

/// `print_sched_flags`.
fn sched_flags(s: &Service) -> String {
    let names: [&str; 3] = match s.scheduler.as_str() {
        "sh" => ["sh-fallback", "sh-port", "flag-3"],
        "mh" => ["mh-fallback", "mh-port", "flag-3"],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    [SCHED1, SCHED2, SCHED3]
        .iter()
        .zip(names)
        .filter(|(bit, _)| s.flags & **bit != 0)
        .map(|(_, n)| n)
        .collect::<Vec<_>>()
        .join(",")
}

/// C's `int r = a - b` on unsigned values: the wrapping difference, as a sign.
fn cmp_wrapping(a: u32, b: u32) -> std::cmp::Ordering {
    (a.wrapping_sub(b) as i32).cmp(&0)
}

fn addr_words(a: IpAddr) -> Vec<u32> {
    match a {
        IpAddr::V4(v4) => vec![u32::from(v4)],
        IpAddr::V6(v6) => v6
            .octets()
            .chunks(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    }
}

fn cmp_addr(a: IpAddr, b: IpAddr) -> std::cmp::Ordering {
    let (wa, wb) = (addr_words(a), addr_words(b));
    for (x, y) in wa.iter().zip(&wb) {
        let r = cmp_wrapping(*x, *y);
        if r.is_ne() {
            return r;
        }
    }
    std::cmp::Ordering::Equal
}

/// glibc's `qsort` as ipvsadm's C library runs it: a top-down merge sort (`msort`) that
/// takes the left element on ties. With ipvsadm's comparators, which are not always a total
/// order (C int wrap-around), this gives the same order as the real tool, where Rust's sort
/// would panic.
pub fn c_sort<T: Clone>(v: &mut [T], cmp: &impl Fn(&T, &T) -> std::cmp::Ordering) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    c_sort(&mut v[..n1], cmp);
    c_sort(&mut v[n1..], cmp);
    let (left, right) = (v[..n1].to_vec(), v[n1..].to_vec());
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        if cmp(&left[i], &right[j]).is_le() {
            v[k] = left[i].clone();
            i += 1;
        } else {
            v[k] = right[j].clone();
            j += 1;
        }
        k += 1;
    }
    for x in left[i..].iter().chain(&right[j..]) {
        v[k] = x.clone();
        k += 1;
    }
}

/// `ipvs_cmp_services`: fwmark, address family, protocol, address, port (C int
/// differences, wrap-around included).
pub fn cmp_services(a: &Service, b: &Service) -> std::cmp::Ordering {
    let mark = |s: &Service| match s.id {
        ServiceId::Fwmark { mark, .. } => mark,
        _ => 0,
    };
    cmp_wrapping(mark(a), mark(b))
        .then((a.id.af() as i32).cmp(&(b.id.af() as i32)))
        .then(
            protocol_of(&a.id)
                .number()
                .cmp(&protocol_of(&b.id).number()),
        )
        .then_with(|| match (a.id, b.id) {
            (
                ServiceId::Addr {
                    addr: x, port: px, ..
                },
                ServiceId::Addr {
                    addr: y, port: py, ..
                },
            ) => cmp_addr(x, y).then(px.cmp(&py)),
            _ => std::cmp::Ordering::Equal,
        })
}

/// `ipvs_cmp_dests`: address, then port.
pub fn cmp_dests(a: &Dest, b: &Dest) -> std::cmp::Ordering {
    cmp_addr(a.addr, b.addr).then(a.port.cmp(&b.port))
}

/// The service's name column.
fn svc_name(s: &Service, f: Format) -> String {
    match s.id {
        ServiceId::Fwmark { mark, ipv6 } => {
            let m = mark as i32; // ipvsadm 1.31 prints the mark with %d
            match (f.rule, ipv6) {
                (true, false) => format!("-f {m}"),
                (true, true) => format!("-f {m} -6"),
                (false, false) => format!("FWM  {m}"),
                (false, true) => format!("FWM  {m} IPv6"),
            }
        }
        ServiceId::Addr {
            protocol,
            addr,
            port,
        } => {
            let v = addrport(addr, port, protocol, f.numeric);
            if f.rule {
                let sw = match protocol {
                    Protocol::Tcp => "-t",
                    Protocol::Udp => "-u",
                    Protocol::Sctp => "--sctp-service",
                    Protocol::Other(_) => "--xxx-service",
                };
                format!("{sw} {v}")
            } else {
                let s = format!("{:<4} {v}", proto_name(protocol));
                if addr.is_ipv4() { truncate(s, 33) } else { s }
            }
        }
    }
}

/// `list_timeout`.
pub fn timeouts(t: &Timeouts) -> String {
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        t.tcp as i32, t.tcp_fin as i32, t.udp as i32
    )
}

/// `list_daemon`: master, then backup.
pub fn daemons(list: &[Daemon]) -> String {
    let mut out = String::new();
    for state in [ipvs::SyncState::Master, ipvs::SyncState::Backup] {
        let Some(d) = list.iter().find(|d| d.state == state) else {
            continue;
        };
        let _ = write!(
            out,
            "{} sync daemon (mcast={}, syncid={}",
            state.name(),
            d.mcast_ifn,
            d.syncid as i32
        );
        if d.sync_maxlen != 0 {
            let _ = write!(out, ", maxlen={}", d.sync_maxlen);
        }
        if let Some(g) = d.mcast_group {
            let _ = write!(out, ", group={}", names::ntop(g));
        }
        if d.mcast_port != 0 {
            let _ = write!(out, ", port={}", d.mcast_port);
        }
        if d.mcast_ttl != 0 {
            let _ = write!(out, ", ttl={}", d.mcast_ttl);
        }
        out.push_str(")\n");
    }
    out
}

/// One line of /proc/net/ip_vs_conn, as ipvsadm's `sscanf` reads it.
fn conn_addr(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| IpAddr::V4(Ipv4Addr::from(v)))
    }
}

/// `list_conn`: the connection table from the text of /proc/net/ip_vs_conn. The error's text
/// is the message ipvsadm prints before exiting 1.
pub fn connections(proc_text: &str, f: Format) -> Result<String, Error> {
    let mut lines = proc_text.lines();
    if lines.next().is_none() {
        return Err(Error::ConnInput);
    }
    let mut out = String::from("IPVS connection entries\n");
    if f.persistent_conn {
        let _ = writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} pe_data",
            "state", "source", "virtual", "destination", "pe name"
        );
    } else {
        let _ = writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} destination",
            "state", "source", "virtual"
        );
    }
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 9 {
            continue;
        }
        let proto = w[0];
        let pnum = match proto {
            "UDP" => Protocol::Udp,
            "SCTP" => Protocol::Sctp,
            _ => Protocol::Tcp,
        };
        let hex16 = |s: &str| u16::from_str_radix(s, 16).ok();
        let (Some(ca), Some(cp), Some(va), Some(vp), Some(da), Some(dp)) = (
            conn_addr(w[1]),
            hex16(w[2]),
            conn_addr(w[3]),
            hex16(w[4]),
            conn_addr(w[5]),
            hex16(w[6]),
        ) else {
            continue;
        };
        let expires: i64 = w[8].parse().unwrap_or(0);
        let expire = format!("{:02}:{:02}", expires / 60, expires % 60);
        let state = w[7];
        let c = addrport(ca, cp, pnum, f.numeric);
        let v = addrport(va, vp, pnum, f.numeric);
        let d = addrport(da, dp, pnum, f.numeric);
        // The 8-column row only when the kernel gave a persistence engine (sscanf read all
        // 11 fields); note its widths differ from the title's.
        if f.persistent_conn && w.len() >= 11 {
            let (pe_name, pe_data) = (w[9], w[10]);
            let _ = writeln!(
                out,
                "{proto:<3} {expire:<6} {state:<11} {c:<18} {v:<18} {d:<16} {pe_name:<18} {pe_data}"
            );
        } else {
            let _ = writeln!(
                out,
                "{proto:<3} {expire:<6} {state:<11} {c:<18} {v:<18} {d}"
            );
        }
    }
    Ok(out)
}
