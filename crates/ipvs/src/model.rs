//! What IPVS holds: services, destinations, counters, timeouts, sync daemons.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::consts::{self, svc_flags};

/// Transport protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    /// A number the kernel accepted but we do not name.
    Other(u16),
}

impl Protocol {
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => consts::IPPROTO_TCP,
            Protocol::Udp => consts::IPPROTO_UDP,
            Protocol::Sctp => consts::IPPROTO_SCTP,
            Protocol::Other(n) => n,
        }
    }

    pub fn from_number(n: u16) -> Protocol {
        match n {
            consts::IPPROTO_TCP => Protocol::Tcp,
            consts::IPPROTO_UDP => Protocol::Udp,
            consts::IPPROTO_SCTP => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }
}

/// How a service is addressed: protocol + address + port, or a firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceId {
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// The protocol is ignored by the kernel (it records TCP).
    Fwmark { mark: u32, ipv6: bool },
}

impl ServiceId {
    pub fn tcp(addr: IpAddr, port: u16) -> ServiceId {
        ServiceId::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }

    pub fn udp(addr: IpAddr, port: u16) -> ServiceId {
        ServiceId::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }

    /// `AF_INET` or `AF_INET6`.
    pub fn af(&self) -> u16 {
        let v6 = match self {
            ServiceId::Addr { addr, .. } => addr.is_ipv6(),
            ServiceId::Fwmark { ipv6, .. } => *ipv6,
        };
        if v6 {
            consts::AF_INET6
        } else {
            consts::AF_INET
        }
    }

    pub fn is_ipv6(&self) -> bool {
        self.af() == consts::AF_INET6
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceId::Fwmark { mark, ipv6 } => {
                write!(f, "FWM {mark}{}", if *ipv6 { " IPv6" } else { "" })
            }
            ServiceId::Addr {
                protocol,
                addr,
                port,
            } => {
                let p = match protocol {
                    Protocol::Tcp => "TCP".to_string(),
                    Protocol::Udp => "UDP".to_string(),
                    Protocol::Sctp => "SCTP".to_string(),
                    Protocol::Other(n) => format!("proto {n}"),
                };
                match addr {
                    IpAddr::V4(a) => write!(f, "{p} {a}:{port}"),
                    IpAddr::V6(a) => write!(f, "{p} [{a}]:{port}"),
                }
            }
        }
    }
}

/// Traffic counters; `STATS64` values (the 32-bit `STATS` nest widened when that is all the
/// kernel sends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    pub id: ServiceId,
    /// Scheduler module name (`wlc`); the kernel reports `none` for a service without one.
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` bits (the kernel's `HASHED` is dropped when reading).
    pub flags: u32,
    /// Persistence timeout in seconds (meaningful with `PERSISTENT`).
    pub timeout: u32,
    /// Persistence granularity: for IPv4 the mask as an integer (`0xffffff00` is /24), for
    /// IPv6 the prefix length.
    pub netmask: u32,
    /// Persistence engine (`sip`).
    pub pe_name: Option<String>,
    /// Counters; zero in requests.
    pub stats: Stats,
}

impl Service {
    /// A service with ipvsadm's defaults: scheduler `wlc`, no persistence, full mask.
    pub fn new(id: ServiceId) -> Service {
        Service {
            id,
            scheduler: "wlc".into(),
            flags: 0,
            timeout: 0,
            netmask: if id.is_ipv6() { 128 } else { u32::MAX },
            pe_name: None,
            stats: Stats::default(),
        }
    }

    /// Only the identity, as ipvsadm sends a service it names but does not define (`-D`,
    /// `-a`, `-d`, ...): no scheduler, no flags, the full mask.
    pub fn named(id: ServiceId) -> Service {
        Service {
            scheduler: String::new(),
            ..Service::new(id)
        }
    }

    pub fn is_persistent(&self) -> bool {
        self.flags & svc_flags::PERSISTENT != 0
    }

    /// Make the service persistent for `timeout` seconds.
    pub fn persistent(mut self, timeout: u32) -> Service {
        self.flags |= svc_flags::PERSISTENT;
        self.timeout = timeout;
        self
    }

    pub fn scheduler(mut self, name: &str) -> Service {
        self.scheduler = name.to_string();
        self
    }
}

/// How IPVS forwards to a destination (`IP_VS_CONN_F_*` forwarding bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT (`-m`).
    Masq,
    Local,
    /// IP-in-IP or another tunnel (`-i`).
    Tunnel,
    /// Direct routing (`-g`).
    Route,
    Bypass,
    Other(u32),
}

impl Forward {
    pub fn code(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel => 2,
            Forward::Route => 3,
            Forward::Bypass => 4,
            Forward::Other(n) => n,
        }
    }

    pub fn from_code(n: u32) -> Forward {
        match n & consts::FWD_MASK {
            0 => Forward::Masq,
            1 => Forward::Local,
            2 => Forward::Tunnel,
            3 => Forward::Route,
            4 => Forward::Bypass,
            n => Forward::Other(n),
        }
    }
}

/// Tunnel encapsulation of a `Tunnel` destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
    Other(u8),
}

impl TunnelType {
    pub fn code(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Other(n) => n,
        }
    }

    pub fn from_code(n: u8) -> TunnelType {
        match n {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            n => TunnelType::Other(n),
        }
    }
}

/// Tunnel checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
pub mod tun_flags {
    pub const NOCSUM: u16 = 0;
    pub const CSUM: u16 = 1;
    pub const REMCSUM: u16 = 2;
}

/// A destination (real server) of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dest {
    pub addr: IpAddr,
    pub port: u16,
    pub forward: Forward,
    /// The kernel stores an `int`; a negative weight is refused with ERANGE.
    pub weight: i32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub tun_type: TunnelType,
    pub tun_port: u16,
    pub tun_flags: u16,
    /// Read-only counters.
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
    pub stats: Stats,
}

impl Dest {
    /// A destination with ipvsadm's defaults: direct routing, weight 1.
    pub fn new(addr: IpAddr, port: u16) -> Dest {
        Dest {
            addr,
            port,
            forward: Forward::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: TunnelType::Ipip,
            tun_port: 0,
            tun_flags: 0,
            active_conns: 0,
            inact_conns: 0,
            persist_conns: 0,
            stats: Stats::default(),
        }
    }

    pub fn forward(mut self, f: Forward) -> Dest {
        self.forward = f;
        self
    }

    pub fn weight(mut self, w: i32) -> Dest {
        self.weight = w;
        self
    }
}

/// The IPVS version and connection table size (`GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `0x010201` is 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

/// Connection timeouts in seconds; 0 in a request means "keep the current value".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// Role of a connection-sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    Master,
    Backup,
}

impl SyncState {
    pub fn code(self) -> u32 {
        match self {
            SyncState::Master => consts::STATE_MASTER,
            SyncState::Backup => consts::STATE_BACKUP,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        }
    }
}

/// A connection-sync daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    pub state: SyncState,
    pub mcast_ifn: String,
    pub syncid: u32,
    /// 0: derived from the interface MTU.
    pub sync_maxlen: u16,
    /// `None`: the kernel default group 224.0.0.81.
    pub mcast_group: Option<IpAddr>,
    /// 0: the kernel default 8848.
    pub mcast_port: u16,
    /// 0: the kernel default 1.
    pub mcast_ttl: u8,
}

impl Daemon {
    pub fn new(state: SyncState, ifname: &str, syncid: u32) -> Daemon {
        Daemon {
            state,
            mcast_ifn: ifname.to_string(),
            syncid,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        }
    }
}

/// Raw 16-byte address field of the kernel (`union nf_inet_addr`).
pub(crate) fn addr_bytes(addr: IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match addr {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
    b
}

/// Read an address field for address family `af`.
pub(crate) fn addr_from(af: u16, bytes: &[u8]) -> Option<IpAddr> {
    match af {
        consts::AF_INET if bytes.len() >= 4 => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        consts::AF_INET6 if bytes.len() >= 16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&bytes[..16]);
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}
