//! ipvsadm's `parse_options` switch: each option fills the command entry (`Draft`), refusing
//! a repeated option and an invalid value with ipvsadm's message.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs::consts::{IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use ipvs::{Forward, TunnelType, tun_flags};

use super::addr::{atoi, c_name, fwmark, number, parse_addr};
use super::table::{Cmd, DaemonKey, DestKey, Key, SvcKey, opt};
use super::{DestSpec, Fail, Svc, fail};
use crate::names;

/// ipvsadm's `struct ipvs_command_entry` while the options fill it; the checks turn it into
/// an [`Entry`](super::Entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Draft {
    pub(super) cmd: Cmd,
    pub(super) svc: Svc,
    pub(super) dest: DestSpec,
    /// The sync daemon of `--start-daemon`/`--stop-daemon` (ipvsadm's `ipvs_daemon_t`).
    pub(super) daemon: ipvs::Daemon,
    pub(super) timeouts: [u32; 3],
    pub(super) options: u64,
    /// The `-b` list as written (checked against the final scheduler).
    pub(super) sched_flags_text: String,
}

pub(super) const MAX_TIMEOUT: i64 = 86400 * 31;
const DEF_PERSISTENT_TIMEOUT: u32 = 360;

impl Draft {
    pub(super) fn has(&self, o: u8) -> bool {
        self.options & (1 << o) != 0
    }

    fn set_option(&mut self, o: u8) -> Result<(), Fail> {
        if self.has(o) {
            return Err(fail(format!(
                "multiple '{}' options specified",
                opt::NAMES[o as usize]
            )));
        }
        self.options |= 1 << o;
        Ok(())
    }
}

pub(super) fn blank(cmd: Cmd) -> Draft {
    Draft {
        cmd,
        svc: Svc {
            af: ipvs::consts::AF_INET,
            protocol: 0,
            addr: None,
            port: 0,
            fwmark: 0,
            sched_name: String::new(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: String::new(),
        },
        dest: DestSpec {
            addr: None,
            port: 0,
            forward: Forward::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: TunnelType::Ipip,
            tun_port: 0,
            tun_flags: 0,
        },
        daemon: ipvs::Daemon::new(ipvs::SyncState::Master, "", 0),
        timeouts: [0; 3],
        options: 0,
        sched_flags_text: String::new(),
    }
}

/// The argument of `--start-daemon`/`--stop-daemon`.
pub(super) fn command_arg(e: &mut Draft, c: Cmd, v: Option<String>) -> Result<(), Fail> {
    match c {
        Cmd::StartDaemon => {
            e.daemon.state = daemon_state(v.as_deref())
                .ok_or_else(|| fail("illegal start-daemon parameter specified"))?;
            e.daemon.mcast_ifn = "eth0".into();
        }
        Cmd::StopDaemon => {
            e.daemon.state =
                daemon_state(v.as_deref()).ok_or_else(|| fail("illegal start_daemon specified"))?;
        }
        _ => {}
    }
    Ok(())
}

fn daemon_state(v: Option<&str>) -> Option<ipvs::SyncState> {
    match v? {
        "master" => Some(ipvs::SyncState::Master),
        "backup" => Some(ipvs::SyncState::Backup),
        _ => None,
    }
}

/// One option after the command: ipvsadm's `parse_options` switch.
pub(super) fn option(e: &mut Draft, key: Key, val: Option<String>) -> Result<(), Fail> {
    match key {
        Key::Cmd(_) | Key::Help | Key::Version => unreachable!("handled by the caller"),
        Key::Svc(k) => service_option(e, k, val),
        Key::Dest(k) => dest_option(e, k, val),
        Key::Daemon(k) => daemon_option(e, k, val),
        Key::Flag(o) => e.set_option(o),
        Key::Sort => Ok(()),
    }
}

/// The options of the virtual service.
// Long (83 lines): one short arm per service option, in the order of ipvsadm's switch.
fn service_option(e: &mut Draft, key: SvcKey, val: Option<String>) -> Result<(), Fail> {
    let v = val.clone().unwrap_or_default();
    match key {
        SvcKey::Tcp | SvcKey::Udp | SvcKey::Sctp => {
            e.set_option(opt::SERVICE)?;
            e.svc.protocol = match key {
                SvcKey::Tcp => IPPROTO_TCP,
                SvcKey::Udp => IPPROTO_UDP,
                _ => IPPROTO_SCTP,
            };
            let a = parse_addr(&v, e.svc.protocol)
                .ok_or_else(|| fail("illegal virtual server address[:port] specified"))?;
            e.svc.addr = Some(a.addr);
            e.svc.af = if a.addr.is_ipv6() {
                e.svc.netmask = 128;
                ipvs::consts::AF_INET6
            } else {
                ipvs::consts::AF_INET
            };
            if let Some(port) = a.port {
                e.svc.port = port;
            }
        }
        SvcKey::Fwmark => {
            e.set_option(opt::SERVICE)?;
            e.svc.fwmark =
                fwmark(&v).ok_or_else(|| fail(format!("invalid fwmark value `{v}' specified")))?;
            e.svc.af = ipvs::consts::AF_INET;
            e.svc.protocol = IPPROTO_TCP;
        }
        SvcKey::Ipv6 => {
            if e.svc.fwmark == 0 {
                return Err(fail("-6 used before -f\n"));
            }
            e.svc.af = ipvs::consts::AF_INET6;
            e.svc.netmask = 128;
        }
        SvcKey::Scheduler => {
            e.set_option(opt::SCHEDULER)?;
            e.svc.sched_name = c_name(&v);
        }
        SvcKey::Persistent => {
            e.set_option(opt::PERSISTENT)?;
            e.svc.flags |= ipvs::consts::svc_flags::PERSISTENT;
            e.svc.timeout = match &val {
                None => DEF_PERSISTENT_TIMEOUT,
                Some(t) => number(t, 1, MAX_TIMEOUT)
                    .ok_or_else(|| fail(format!("invalid timeout value `{t}' specified")))?
                    as u32,
            };
        }
        SvcKey::Netmask => {
            e.set_option(opt::NETMASK)?;
            if e.svc.af != ipvs::consts::AF_INET6 {
                let m = names::inet_aton(&v)
                    .or_else(|| names::host_to_ipv4(&v))
                    .ok_or_else(|| fail("illegal virtual server persistent mask specified"))?;
                e.svc.netmask = u32::from(m);
            } else {
                e.svc.netmask = atoi(&v)
                    .filter(|n| (1..=128).contains(n))
                    .ok_or_else(|| fail("illegal ipv6 netmask specified"))?
                    as u32;
            }
        }
        SvcKey::Ops => {
            e.set_option(opt::ONEPACKET)?;
            e.svc.flags |= ipvs::consts::svc_flags::ONEPACKET;
        }
        SvcKey::Pe => {
            e.set_option(opt::PE)?;
            e.svc.pe_name = c_name(&v);
        }
        SvcKey::SchedFlags => {
            e.set_option(opt::SCHED_FLAGS)?;
            use ipvs::consts::svc_flags::{SCHED1, SCHED2, SCHED3};
            e.svc.flags &= !(SCHED1 | SCHED2 | SCHED3);
            e.svc.flags |= sched_flags(&v)?;
            e.sched_flags_text = v;
        }
    }
    Ok(())
}

/// The options of the real server.
fn dest_option(e: &mut Draft, key: DestKey, val: Option<String>) -> Result<(), Fail> {
    let v = val.unwrap_or_default();
    match key {
        DestKey::Server => {
            e.set_option(opt::SERVER)?;
            let a = parse_addr(&v, e.svc.protocol)
                .ok_or_else(|| fail("illegal real server address[:port] specified"))?;
            e.dest.addr = Some(a.addr);
            // Without a port, the real server listens on the virtual port (as set so far).
            e.dest.port = a.port.unwrap_or(e.svc.port);
        }
        DestKey::Gatewaying | DestKey::Ipip | DestKey::Masquerading => {
            e.set_option(opt::FORWARD)?;
            e.dest.forward = match key {
                DestKey::Gatewaying => Forward::Route,
                DestKey::Ipip => Forward::Tunnel,
                _ => Forward::Masq,
            };
        }
        DestKey::Weight => {
            e.set_option(opt::WEIGHT)?;
            e.dest.weight = number(&v, 0, i32::MAX.into())
                .ok_or_else(|| fail("illegal weight specified"))?
                as i32;
        }
        DestKey::UThreshold => {
            e.set_option(opt::UTHRESHOLD)?;
            e.dest.u_threshold = number(&v, 0, i32::MAX.into())
                .ok_or_else(|| fail("illegal u_threshold specified"))?
                as u32;
        }
        DestKey::LThreshold => {
            e.set_option(opt::LTHRESHOLD)?;
            e.dest.l_threshold = number(&v, 0, i32::MAX.into())
                .ok_or_else(|| fail("illegal l_threshold specified"))?
                as u32;
        }
        DestKey::TunType => {
            e.set_option(opt::TUN_TYPE)?;
            e.dest.tun_type = match v.as_str() {
                "ipip" => TunnelType::Ipip,
                "gue" => TunnelType::Gue,
                "gre" => TunnelType::Gre,
                _ => return Err(fail("illegal tunnel type specified")),
            };
        }
        DestKey::TunPort => {
            e.set_option(opt::TUN_PORT)?;
            e.dest.tun_port =
                number(&v, 1, 65535).ok_or_else(|| fail("illegal tunnel port specified"))? as u16;
        }
        DestKey::TunNocsum => {
            e.set_option(opt::TUN_NOCSUM)?;
        }
        DestKey::TunCsum => {
            e.set_option(opt::TUN_CSUM)?;
            e.dest.tun_flags |= tun_flags::CSUM;
        }
        DestKey::TunRemcsum => {
            e.set_option(opt::TUN_REMCSUM)?;
            e.dest.tun_flags |= tun_flags::REMCSUM;
        }
    }
    Ok(())
}

/// The options of the sync daemon.
fn daemon_option(e: &mut Draft, key: DaemonKey, val: Option<String>) -> Result<(), Fail> {
    let v = val.unwrap_or_default();
    match key {
        DaemonKey::McastInterface => {
            e.set_option(opt::MCAST)?;
            e.daemon.mcast_ifn = c_name(&v);
        }
        DaemonKey::SyncId => {
            e.set_option(opt::SYNCID)?;
            e.daemon.syncid =
                number(&v, 0, 255).ok_or_else(|| fail("illegal syncid specified"))? as u32;
        }
        DaemonKey::McastGroup => {
            e.set_option(opt::MCAST_GROUP)?;
            if v.contains(':') {
                match v.parse::<Ipv6Addr>() {
                    Ok(g) if g.is_multicast() => e.daemon.mcast_group = Some(IpAddr::V6(g)),
                    _ => return Err(fail(format!("invalid IPv6 mcast-group `{v}'"))),
                }
            } else {
                match v.parse::<Ipv4Addr>() {
                    Ok(g) if g.is_multicast() => e.daemon.mcast_group = Some(IpAddr::V4(g)),
                    _ => return Err(fail(format!("invalid IPv4 mcast-group `{v}'"))),
                }
            }
        }
        DaemonKey::McastPort => {
            e.set_option(opt::MCAST_PORT)?;
            e.daemon.mcast_port =
                number(&v, 1, 65535).ok_or_else(|| fail("illegal mcast-port specified"))? as u16;
        }
        DaemonKey::McastTtl => {
            e.set_option(opt::MCAST_TTL)?;
            e.daemon.mcast_ttl =
                number(&v, 1, 255).ok_or_else(|| fail("illegal mcast-ttl specified"))? as u8;
        }
        DaemonKey::SyncMaxlen => {
            e.set_option(opt::SYNC_MAXLEN)?;
            e.daemon.sync_maxlen = number(&v, 1, 65535 - 20 - 8)
                .ok_or_else(|| fail("illegal sync-maxlen specified"))?
                as u16;
        }
    }
    Ok(())
}

/// The flags of a `-b` list, and the scheduler each needs.
pub(super) fn flag_bits(flag: &str) -> Option<(u32, Option<&'static str>)> {
    use ipvs::consts::svc_flags::{SCHED1, SCHED2, SCHED3};
    Some(match flag {
        "flag-1" => (SCHED1, None),
        "flag-2" => (SCHED2, None),
        "flag-3" => (SCHED3, None),
        "sh-fallback" => (SCHED1, Some("sh")),
        "sh-port" => (SCHED2, Some("sh")),
        "mh-fallback" => (SCHED1, Some("mh")),
        "mh-port" => (SCHED2, Some("mh")),
        _ => return None,
    })
}

/// `parse_sched_flags`: a comma list of known flags.
fn sched_flags(list: &str) -> Result<u32, Fail> {
    let mut flags = 0;
    for flag in list.split(',').filter(|f| !f.is_empty()) {
        let (bit, _) =
            flag_bits(flag).ok_or_else(|| fail(format!("invalid scheduler flag `{flag}'")))?;
        flags |= bit;
    }
    Ok(flags)
}
