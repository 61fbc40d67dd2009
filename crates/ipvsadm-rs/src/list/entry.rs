//! `print_service_entry`: a service's row and its destinations' rows, in every format.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipvs::consts::svc_flags::{ONEPACKET, PERSISTENT, SCHED1, SCHED2, SCHED3};
use ipvs::{Dest, Forward, Service, TunnelType};

use super::{
    Format, addrport, c_sort, cmp_dests, fwd_name, fwd_switch, largenum, protocol_of, sched_flags,
    svc_name, truncate, tun_flag, tun_info,
};

fn persistence(out: &mut String, s: &Service, rule: bool) {
    let _ = write!(
        out,
        "{}{}",
        if rule { " -p " } else { " persistent " },
        s.timeout
    );
    let mask_kw = if rule { " -M" } else { " mask" };
    if s.id.is_ipv6() {
        if s.netmask != 128 {
            let _ = write!(out, "{mask_kw} {}", s.netmask as i32);
        }
    } else if s.netmask != u32::MAX {
        let _ = write!(out, "{mask_kw} {}", Ipv4Addr::from(s.netmask));
    }
}

/// The 32-bit view libipvs gives of a destination's counters (it reads the 64-bit nest with
/// its 32-bit reader; the byte counters stay 64-bit).
fn dest_stats32(d: &Dest) -> ipvs::Stats {
    let mut s = d.stats;
    for v in [
        &mut s.conns,
        &mut s.inpkts,
        &mut s.outpkts,
        &mut s.cps,
        &mut s.inpps,
        &mut s.outpps,
        &mut s.inbps,
        &mut s.outbps,
    ] {
        *v &= 0xffff_ffff;
    }
    s
}

/// `print_service_entry`: the service row and its destinations.
pub fn service_entry(out: &mut String, s: &Service, dests: &[Dest], f: Format) {
    let name = svc_name(s, f);
    if f.rule {
        service_rule(out, s, &name);
    } else if f.stats || f.rate {
        service_counters(out, s, &name, f);
    } else {
        service_row(out, s, &name);
    }
    out.push('\n');

    let mut dests = dests.to_vec();
    if !f.nosort {
        c_sort(&mut dests, &cmp_dests);
    }
    let protocol = protocol_of(&s.id);
    for d in &dests {
        let mut dname = addrport(d.addr, d.port, protocol, f.numeric);
        if !f.rule && d.addr.is_ipv4() {
            dname = truncate(dname, 28);
        }
        if f.rule {
            dest_rule(out, &name, &dname, d);
        } else {
            dest_row(out, &dname, d, f);
        }
    }
}

/// The service as an `-A` rule (`-S`, `--save`), without its newline.
fn service_rule(out: &mut String, s: &Service, name: &str) {
    let _ = write!(out, "-A {name} -s {}", s.scheduler);
    if s.flags & PERSISTENT != 0 {
        persistence(out, s, true);
    }
    if let Some(pe) = &s.pe_name {
        let _ = write!(out, " --pe {pe}");
    }
    if s.flags & ONEPACKET != 0 {
        out.push_str(" -o");
    }
    if s.flags & (SCHED1 | SCHED2 | SCHED3) != 0 {
        let _ = write!(out, " -b {}", sched_flags(s));
    }
}

/// The service row of `--stats` or `--rate`, without its newline.
fn service_counters(out: &mut String, s: &Service, name: &str, f: Format) {
    let _ = write!(out, "{name:<33}");
    let st = s.stats;
    let vals = if f.stats {
        [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes]
    } else {
        [st.cps, st.inpps, st.outpps, st.inbps, st.outbps]
    };
    for v in vals {
        largenum(out, v, f.exact);
    }
}

/// The service row of the other listings, without its newline.
fn service_row(out: &mut String, s: &Service, name: &str) {
    let _ = write!(out, "{name} {}", s.scheduler);
    if s.flags & (SCHED1 | SCHED2 | SCHED3) != 0 {
        let _ = write!(out, " ({})", sched_flags(s));
    }
    if s.flags & PERSISTENT != 0 {
        persistence(out, s, false);
        if let Some(pe) = &s.pe_name {
            let _ = write!(out, " pe {pe}");
        }
    }
    if s.flags & ONEPACKET != 0 {
        out.push_str(" ops");
    }
}

/// A destination as an `-a` rule (`-S`, `--save`).
fn dest_rule(out: &mut String, name: &str, dname: &str, d: &Dest) {
    let _ = write!(
        out,
        "-a {name} -r {dname} {} -w {}",
        fwd_switch(d.forward),
        d.weight
    );
    if d.forward == Forward::Tunnel {
        match d.tun_type {
            TunnelType::Gue => {
                let _ = write!(
                    out,
                    " --tun-type gue --tun-port {} {}",
                    d.tun_port,
                    tun_flag(d.tun_flags, true)
                );
            }
            TunnelType::Gre => {
                let _ = write!(out, " --tun-type gre {}", tun_flag(d.tun_flags, true));
            }
            _ => out.push_str(" --tun-type ipip"),
        }
    }
    out.push('\n');
}

/// A destination's `  -> ` row, in the columns of the listing `f` asks for.
fn dest_row(out: &mut String, dname: &str, d: &Dest, f: Format) {
    if f.stats {
        let st = dest_stats32(d);
        let _ = write!(out, "  -> {dname:<28}");
        for v in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
            largenum(out, v, f.exact);
        }
        out.push('\n');
    } else if f.rate {
        let st = dest_stats32(d);
        let _ = write!(
            out,
            "  -> {dname:<28} {:>8} {:>8} {:>8}",
            st.cps, st.inpps, st.outpps
        );
        largenum(out, st.inbps, f.exact);
        largenum(out, st.outbps, f.exact);
        out.push('\n');
    } else if f.thresholds {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
            d.u_threshold, d.l_threshold, d.active_conns, d.inact_conns
        );
    } else if f.persistent_conn {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
            d.weight as u32, d.persist_conns, d.active_conns, d.inact_conns
        );
    } else if f.tun_info {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<7} {:<13} {:<6} {:<10} {:<10}",
            fwd_name(d.forward),
            tun_info(d),
            d.weight,
            d.active_conns,
            d.inact_conns
        );
    } else {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
            fwd_name(d.forward),
            d.weight,
            d.active_conns,
            d.inact_conns
        );
    }
}
