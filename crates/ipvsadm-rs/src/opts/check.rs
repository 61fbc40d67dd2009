//! ipvsadm's checks after parsing: the scheduler flags against the scheduler, the command ×
//! option matrix, the tunnel-type matrix, the semantic checks and their defaults, and then the
//! typed [`Command`] the entry stands for, so running it needs nothing "already checked".

use ipvs::consts::IPPROTO_UDP;
use ipvs::{Dest, Forward, Protocol, Service, ServiceId, Timeouts, TunnelType};

use super::command::{Command, ListOpts};
use super::fill::{Draft, flag_bits};
use super::table::{Cmd, opt};
use super::{Entry, Fail, fail};
use crate::list::Format;

/// `sh-*` and `mh-*` flags need that scheduler.
pub(super) fn check_sched_flags(sched: &str, list: &str) -> Result<(), Fail> {
    for flag in list.split(',').filter(|f| !f.is_empty()) {
        if let Some((_, Some(needs))) = flag_bits(flag)
            && needs != sched
        {
            return Err(fail(format!("incompatible scheduler flag `{flag}'")));
        }
    }
    Ok(())
}

/// Which options are required (`+`), illegal (`x`), exclusive (`1`) or optional (`.`).
fn matrix(cmd: Cmd) -> &'static [u8; 34] {
    match cmd {
        Cmd::Add | Cmd::Edit => b"xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx",
        Cmd::Del => b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        Cmd::Flush | Cmd::Timeout | Cmd::Restore => b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        Cmd::List => b".11xxxxxxxxx11.......xxxxxxx.xxxxx",
        Cmd::AddDest | Cmd::EditDest => b"xx+xxx+....xxxxxxxxxxxxxxxxxx.....",
        Cmd::DelDest => b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx",
        Cmd::StartDaemon => b"xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxx",
        Cmd::StopDaemon => b"xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxx",
        Cmd::Save => b".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        Cmd::Zero => b"xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    }
}

/// The matrix, the tunnel-type matrix and the semantic checks, then the defaults; the
/// checked entry with its typed command.
pub(super) fn check(mut e: Draft) -> Result<Entry, Fail> {
    command_matrix(&e)?;
    tunnel_matrix(&e)?;
    service_checks(&mut e)?;
    dest_checks(&mut e)?;
    list_checks(&e)?;
    let command = command(&e)?;
    Ok(Entry {
        command,
        svc: e.svc,
        dest: e.dest,
        daemon: e.daemon,
        options: e.options,
    })
}

/// `commands_v_options`: required, illegal and mutually exclusive options of the command.
fn command_matrix(e: &Draft) -> Result<(), Fail> {
    let m = matrix(e.cmd);
    let mut first_exclusive: Option<usize> = None;
    for (i, rule) in m.iter().enumerate() {
        let set = e.options & (1 << i) != 0;
        match (rule, set) {
            (b'+', false) => {
                return Err(fail(format!(
                    "You need to supply the '{}' option for the '{}' command",
                    opt::NAMES[i],
                    e.cmd.name()
                )));
            }
            (b'x', true) => {
                return Err(fail(format!(
                    "Illegal '{}' option with the '{}' command",
                    opt::NAMES[i],
                    e.cmd.name()
                )));
            }
            (b'1', true) => match first_exclusive {
                None => first_exclusive = Some(i),
                Some(f) => {
                    return Err(fail(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' command",
                        opt::NAMES[i],
                        opt::NAMES[f],
                        e.cmd.name()
                    )));
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// The tunnel options of `-a`/`-e`: only with `-i`, and as the tunnel type allows.
fn tunnel_matrix(e: &Draft) -> Result<(), Fail> {
    let tun_opts = [
        opt::TUN_TYPE,
        opt::TUN_PORT,
        opt::TUN_NOCSUM,
        opt::TUN_CSUM,
        opt::TUN_REMCSUM,
    ];
    if matches!(e.cmd, Cmd::AddDest | Cmd::EditDest) && tun_opts.iter().any(|o| e.has(*o)) {
        if e.dest.forward != Forward::Tunnel {
            return Err(fail("Tunnel options conflict with forward method"));
        }
        // Columns: tun-port, nocsum, csum, remcsum.
        let (name, rules): (&str, &[u8; 4]) = match e.dest.tun_type {
            TunnelType::Gue => ("gue", b"+111"),
            TunnelType::Gre => ("gre", b"x11x"),
            _ => ("ipip", b"xxxx"),
        };
        let mut first: Option<u8> = None;
        for (j, o) in tun_opts[1..].iter().enumerate() {
            let set = e.has(*o);
            let oname = opt::NAMES[*o as usize];
            match (rules[j], set) {
                (b'+', false) => {
                    return Err(fail(format!(
                        "You need to supply the '{oname}' option for the '{name}' tunnel type"
                    )));
                }
                (b'x', true) => {
                    return Err(fail(format!(
                        "Illegal '{oname}' option with the '{name}' tunnel type"
                    )));
                }
                (b'1', true) => match first {
                    None => first = Some(*o),
                    Some(f) => {
                        return Err(fail(format!(
                            "The option '{oname}' conflicts with the '{}' option in the '{name}' tunnel type",
                            opt::NAMES[f as usize]
                        )));
                    }
                },
                _ => {}
            }
        }
    }
    Ok(())
}

/// `-A`/`-E`: a port unless persistent, one-packet scheduling only for UDP, the default
/// scheduler.
fn service_checks(e: &mut Draft) -> Result<(), Fail> {
    if matches!(e.cmd, Cmd::Add | Cmd::Edit) {
        if e.svc.fwmark == 0
            && e.svc.port == 0
            && e.svc.flags & ipvs::consts::svc_flags::PERSISTENT == 0
        {
            return Err(fail("Zero port specified for non-persistent service"));
        }
        if e.svc.flags & ipvs::consts::svc_flags::ONEPACKET != 0
            && e.svc.fwmark == 0
            && e.svc.protocol != IPPROTO_UDP
        {
            return Err(fail(
                "One-Packet Scheduling is only for UDP virtual services",
            ));
        }
        if e.svc.sched_name.is_empty() {
            e.svc.sched_name = "wlc".into();
        }
    }
    Ok(())
}

/// `-a`/`-e`: the real port of direct routing and tunnels, the address family.
fn dest_checks(e: &mut Draft) -> Result<(), Fail> {
    if matches!(e.cmd, Cmd::AddDest | Cmd::EditDest) {
        // Direct routing and tunnels cannot change the port.
        if matches!(e.dest.forward, Forward::Tunnel | Forward::Route) && e.svc.fwmark == 0 {
            e.dest.port = e.svc.port;
        }
        if let Some(d) = e.dest.addr
            && d.is_ipv6() != (e.svc.af == ipvs::consts::AF_INET6)
            && e.dest.forward != Forward::Tunnel
        {
            return Err(fail(
                "Different address family is allowed only for tunneling servers",
            ));
        }
    }
    Ok(())
}

/// `-L`: the listing options that conflict.
fn list_checks(e: &Draft) -> Result<(), Fail> {
    let list_conflict = e.cmd == Cmd::List
        && ((e.has(opt::CONNECTION) || e.has(opt::TIMEOUT) || e.has(opt::DAEMON))
            && (e.has(opt::STATS) || e.has(opt::RATE) || e.has(opt::THRESHOLDS))
            || (e.has(opt::TIMEOUT) || e.has(opt::DAEMON)) && e.has(opt::PERSISTENTCONN));
    if list_conflict {
        return Err(fail("options conflicts in the list command"));
    }
    Ok(())
}

/// The typed command of a checked entry.
fn command(e: &Draft) -> Result<Command, Fail> {
    let f = format_of(e);
    Ok(match e.cmd {
        Cmd::List => Command::List(if e.has(opt::CONNECTION) {
            ListOpts::Connections(f)
        } else if e.has(opt::SERVICE) {
            ListOpts::Service(required_service(e)?, f)
        } else if e.has(opt::TIMEOUT) {
            ListOpts::Timeouts
        } else if e.has(opt::DAEMON) {
            ListOpts::Daemons
        } else {
            ListOpts::All(f)
        }),
        Cmd::Save => Command::Save(f),
        Cmd::Restore => Command::Restore,
        Cmd::Flush => Command::Flush,
        Cmd::Add => Command::AddService(required_service(e)?),
        Cmd::Edit => Command::EditService(required_service(e)?),
        Cmd::Del => Command::DelService(required_service(e)?),
        Cmd::Zero => Command::Zero(service_of(e)),
        Cmd::AddDest => Command::AddDest(required_service(e)?, required_dest(e)?),
        Cmd::EditDest => Command::EditDest(required_service(e)?, required_dest(e)?),
        Cmd::DelDest => Command::DelDest(required_service(e)?, required_dest(e)?),
        Cmd::Timeout => Command::SetTimeouts(Timeouts {
            tcp: e.timeouts[0],
            tcp_fin: e.timeouts[1],
            udp: e.timeouts[2],
        }),
        Cmd::StartDaemon => Command::StartDaemon(e.daemon.clone()),
        Cmd::StopDaemon => Command::StopDaemon(e.daemon.clone()),
    })
}

/// The listing format the options ask for.
fn format_of(e: &Draft) -> Format {
    Format {
        numeric: e.has(opt::NUMERIC),
        stats: e.has(opt::STATS),
        rate: e.has(opt::RATE),
        thresholds: e.has(opt::THRESHOLDS),
        persistent_conn: e.has(opt::PERSISTENTCONN),
        nosort: e.has(opt::NOSORT),
        exact: e.has(opt::EXACT),
        tun_info: e.has(opt::TUN_INFO),
        rule: e.cmd == Cmd::Save,
    }
}

/// ipvsadm's message for a missing option (the matrix has already refused it, so this only
/// keeps the types honest).
fn missing(e: &Draft, o: u8) -> Fail {
    fail(format!(
        "You need to supply the '{}' option for the '{}' command",
        opt::NAMES[o as usize],
        e.cmd.name()
    ))
}

fn required_service(e: &Draft) -> Result<Service, Fail> {
    service_of(e).ok_or_else(|| missing(e, opt::SERVICE))
}

fn required_dest(e: &Draft) -> Result<Dest, Fail> {
    dest_of(e).ok_or_else(|| missing(e, opt::SERVER))
}

/// The service the options name (none when no service option was given).
fn service_of(e: &Draft) -> Option<Service> {
    let s = &e.svc;
    let id = if s.fwmark != 0 {
        ServiceId::Fwmark {
            mark: s.fwmark,
            ipv6: s.af == ipvs::consts::AF_INET6,
        }
    } else {
        ServiceId::Addr {
            protocol: Protocol::from_number(s.protocol),
            addr: s.addr?,
            port: s.port,
        }
    };
    Some(Service {
        id,
        scheduler: s.sched_name.clone(),
        flags: s.flags,
        timeout: s.timeout,
        netmask: s.netmask,
        pe_name: (!s.pe_name.is_empty()).then(|| s.pe_name.clone()),
        stats: Default::default(),
    })
}

/// The real server the options name.
fn dest_of(e: &Draft) -> Option<Dest> {
    let d = &e.dest;
    Some(Dest {
        addr: d.addr?,
        port: d.port,
        forward: d.forward,
        weight: d.weight,
        u_threshold: d.u_threshold,
        l_threshold: d.l_threshold,
        tun_type: d.tun_type,
        tun_port: d.tun_port,
        tun_flags: d.tun_flags,
        active_conns: 0,
        inact_conns: 0,
        persist_conns: 0,
        stats: Default::default(),
    })
}
