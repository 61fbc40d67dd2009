//! IPVS generic-netlink messages: requests built exactly as ipvsadm 1.31's libipvs builds
//! them, and kernel replies decoded into the model. No I/O here.

use std::net::IpAddr;

use netlink_packet_core::{
    DecodeError, Emitable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
    ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

use crate::attr::{Attr, Attrs, Value};
use crate::consts::{
    self, cmd, cmd_attr, daemon_attr, dest_attr, info_attr, stats_attr, svc_attr, svc_flags,
};
use crate::model::{
    Daemon, Dest, Forward, Info, Protocol, Service, ServiceId, Stats, SyncState, Timeouts,
    TunnelType, addr_bytes, addr_from,
};

/// One message of the IPVS family: a command and its attributes. Received messages keep
/// their payload bytes, read with [`IpvsMessage::attrs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: u8,
    pub attrs: Vec<Attr>,
    /// The payload as received (empty for messages we build).
    pub raw: Vec<u8>,
}

impl IpvsMessage {
    pub fn new(cmd: u8, attrs: Vec<Attr>) -> IpvsMessage {
        IpvsMessage {
            cmd,
            attrs,
            raw: Vec::new(),
        }
    }

    /// The attributes of a received message.
    pub fn attrs(&self) -> Result<Attrs<'_>, DecodeError> {
        Attrs::parse(&self.raw)
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        consts::IPVS_GENL_NAME
    }
    fn command(&self) -> u8 {
        self.cmd
    }
    fn version(&self) -> u8 {
        consts::IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(IpvsMessage {
            cmd: header.cmd,
            attrs: Vec::new(),
            raw: buf.to_vec(),
        })
    }
}

/// A request and whether it is a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub message: IpvsMessage,
    pub dump: bool,
}

impl Request {
    fn doit(cmd: u8, attrs: Vec<Attr>) -> Request {
        Request {
            message: IpvsMessage::new(cmd, attrs),
            dump: false,
        }
    }

    fn dump(cmd: u8, attrs: Vec<Attr>) -> Request {
        Request {
            message: IpvsMessage::new(cmd, attrs),
            dump: true,
        }
    }

    /// The whole netlink message (`nlmsghdr` + `genlmsghdr` + attributes) as sent, with
    /// libipvs's flags: `REQUEST|ACK`, plus `DUMP` for dumps.
    pub fn to_bytes(&self, family_id: u16, seq: u32, port: u32) -> Vec<u8> {
        let mut genl = GenlMessage::from_payload(self.message.clone());
        genl.set_resolved_family_id(family_id);
        let mut nl = NetlinkMessage::from(genl);
        let mut flags = NLM_F_REQUEST | NLM_F_ACK;
        if self.dump {
            flags |= NLM_F_DUMP;
        }
        nl.header.flags = flags;
        nl.header.sequence_number = seq;
        nl.header.port_number = port;
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        buf
    }
}

/// A decoded netlink message of the IPVS family.
pub type IpvsNetlink = NetlinkMessage<GenlMessage<IpvsMessage>>;

/// Decode one netlink message from the front of `buf`.
pub fn decode(buf: &[u8]) -> Result<IpvsNetlink, DecodeError> {
    IpvsNetlink::deserialize(buf)
}

/// What a received message means for a request in flight.
#[derive(Debug)]
pub enum Reply {
    /// A message of the family (a dump part or a doit reply).
    Message(IpvsMessage),
    /// The end: an ACK (`Ok`) or an error (`Err(errno)`, positive).
    Done(Result<(), i32>),
    /// Anything else (noop, overrun): ignore.
    Other,
}

/// Classify a decoded message.
pub fn classify(msg: IpvsNetlink) -> Reply {
    match msg.payload {
        NetlinkPayload::InnerMessage(g) => Reply::Message(g.payload),
        // A dump that fails part-way ends with DONE carrying the negative errno.
        NetlinkPayload::Done(d) if d.code < 0 => Reply::Done(Err(d.code.saturating_neg())),
        NetlinkPayload::Done(_) => Reply::Done(Ok(())),
        NetlinkPayload::Error(e) => match e.code {
            None => Reply::Done(Ok(())),
            Some(code) => Reply::Done(Err(code.get().saturating_neg())),
        },
        _ => Reply::Other,
    }
}

// ---- Requests ------------------------------------------------------------------------------

/// AF, then FWMARK or PROTOCOL+ADDR+PORT.
fn identity_attrs(id: ServiceId) -> Vec<Attr> {
    let mut v = vec![Attr::new(svc_attr::AF, Value::U16(id.af()))];
    match id {
        ServiceId::Fwmark { mark, .. } => v.push(Attr::new(svc_attr::FWMARK, Value::U32(mark))),
        ServiceId::Addr {
            protocol,
            addr,
            port,
        } => {
            v.push(Attr::new(svc_attr::PROTOCOL, Value::U16(protocol.number())));
            v.push(Attr::new(
                svc_attr::ADDR,
                Value::Bytes(addr_bytes(addr).to_vec()),
            ));
            v.push(Attr::new(svc_attr::PORT, Value::Be16(port)));
        }
    }
    v
}

/// The service nest, in libipvs's order: AF, FWMARK or PROTOCOL+ADDR+PORT, SCHED_NAME,
/// `[PE_NAME]`, FLAGS {flags, ~0}, TIMEOUT, NETMASK.
pub fn service_attrs(s: &Service) -> Vec<Attr> {
    let mut v = identity_attrs(s.id);
    v.push(Attr::new(
        svc_attr::SCHED_NAME,
        Value::Str(s.scheduler.clone()),
    ));
    if let Some(pe) = &s.pe_name {
        v.push(Attr::new(svc_attr::PE_NAME, Value::Str(pe.clone())));
    }
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&s.flags.to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    v.push(Attr::new(svc_attr::FLAGS, Value::Bytes(flags.to_vec())));
    v.push(Attr::new(svc_attr::TIMEOUT, Value::U32(s.timeout)));
    let netmask = if s.id.is_ipv6() {
        s.netmask.to_ne_bytes()
    } else {
        // IPv4: the mask's bytes in network order.
        s.netmask.to_be_bytes()
    };
    v.push(Attr::new(svc_attr::NETMASK, Value::Bytes(netmask.to_vec())));
    v
}

/// The dest nest, in libipvs's order: ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT, TUN_TYPE,
/// TUN_PORT, TUN_FLAGS, U_THRESH, L_THRESH.
pub fn dest_attrs(d: &Dest) -> Vec<Attr> {
    let af = if d.addr.is_ipv6() {
        consts::AF_INET6
    } else {
        consts::AF_INET
    };
    vec![
        Attr::new(dest_attr::ADDR_FAMILY, Value::U16(af)),
        Attr::new(dest_attr::ADDR, Value::Bytes(addr_bytes(d.addr).to_vec())),
        Attr::new(dest_attr::PORT, Value::Be16(d.port)),
        Attr::new(dest_attr::FWD_METHOD, Value::U32(d.forward.code())),
        Attr::new(dest_attr::WEIGHT, Value::U32(d.weight as u32)),
        Attr::new(dest_attr::TUN_TYPE, Value::U8(d.tun_type.code())),
        Attr::new(dest_attr::TUN_PORT, Value::Be16(d.tun_port)),
        Attr::new(dest_attr::TUN_FLAGS, Value::U16(d.tun_flags)),
        Attr::new(dest_attr::U_THRESH, Value::U32(d.u_threshold)),
        Attr::new(dest_attr::L_THRESH, Value::U32(d.l_threshold)),
    ]
}

fn service_nest(s: &Service) -> Attr {
    Attr::new(cmd_attr::SERVICE, Value::Nest(service_attrs(s)))
}

/// The service nest libipvs sends to name a service in a lookup: the identity, an empty
/// scheduler, and zero flags, timeout and netmask.
fn lookup_nest(id: ServiceId) -> Attr {
    let mut s = Service::new(id);
    s.scheduler.clear();
    s.netmask = 0;
    service_nest(&s)
}

pub fn add_service(s: &Service) -> Request {
    Request::doit(cmd::NEW_SERVICE, vec![service_nest(s)])
}

pub fn edit_service(s: &Service) -> Request {
    Request::doit(cmd::SET_SERVICE, vec![service_nest(s)])
}

pub fn del_service(s: &Service) -> Request {
    Request::doit(cmd::DEL_SERVICE, vec![service_nest(s)])
}

pub fn flush() -> Request {
    Request::doit(cmd::FLUSH, vec![])
}

/// Zero the counters of one service, or of all (`None`).
pub fn zero(s: Option<&Service>) -> Request {
    Request::doit(cmd::ZERO, s.map(service_nest).into_iter().collect())
}

pub fn get_services() -> Request {
    Request::dump(cmd::GET_SERVICE, vec![])
}

pub fn get_service(id: ServiceId) -> Request {
    Request::doit(cmd::GET_SERVICE, vec![lookup_nest(id)])
}

/// libipvs names the service of a destination dump by its identity alone.
pub fn get_dests(id: ServiceId) -> Request {
    Request::dump(
        cmd::GET_DEST,
        vec![Attr::new(
            cmd_attr::SERVICE,
            Value::Nest(identity_attrs(id)),
        )],
    )
}

pub fn add_dest(s: &Service, d: &Dest) -> Request {
    Request::doit(
        cmd::NEW_DEST,
        vec![
            service_nest(s),
            Attr::new(cmd_attr::DEST, Value::Nest(dest_attrs(d))),
        ],
    )
}

pub fn edit_dest(s: &Service, d: &Dest) -> Request {
    Request::doit(
        cmd::SET_DEST,
        vec![
            service_nest(s),
            Attr::new(cmd_attr::DEST, Value::Nest(dest_attrs(d))),
        ],
    )
}

pub fn del_dest(s: &Service, d: &Dest) -> Request {
    Request::doit(
        cmd::DEL_DEST,
        vec![
            service_nest(s),
            Attr::new(cmd_attr::DEST, Value::Nest(dest_attrs(d))),
        ],
    )
}

pub fn get_info() -> Request {
    Request::doit(cmd::GET_INFO, vec![])
}

pub fn get_timeouts() -> Request {
    Request::doit(cmd::GET_CONFIG, vec![])
}

pub fn set_timeouts(t: Timeouts) -> Request {
    Request::doit(
        cmd::SET_CONFIG,
        vec![
            Attr::new(cmd_attr::TIMEOUT_TCP, Value::U32(t.tcp)),
            Attr::new(cmd_attr::TIMEOUT_TCP_FIN, Value::U32(t.tcp_fin)),
            Attr::new(cmd_attr::TIMEOUT_UDP, Value::U32(t.udp)),
        ],
    )
}

pub fn get_daemons() -> Request {
    Request::dump(cmd::GET_DAEMON, vec![])
}

/// STATE, MCAST_IFN, SYNC_ID, then the optional fields when set, then the group.
pub fn start_daemon(d: &Daemon) -> Request {
    let mut v = vec![
        Attr::new(daemon_attr::STATE, Value::U32(d.state.code())),
        Attr::new(daemon_attr::MCAST_IFN, Value::Str(d.mcast_ifn.clone())),
        Attr::new(daemon_attr::SYNC_ID, Value::U32(d.syncid)),
    ];
    if d.sync_maxlen != 0 {
        v.push(Attr::new(
            daemon_attr::SYNC_MAXLEN,
            Value::U16(d.sync_maxlen),
        ));
    }
    if d.mcast_port != 0 {
        v.push(Attr::new(daemon_attr::MCAST_PORT, Value::U16(d.mcast_port)));
    }
    if d.mcast_ttl != 0 {
        v.push(Attr::new(daemon_attr::MCAST_TTL, Value::U8(d.mcast_ttl)));
    }
    match d.mcast_group {
        Some(IpAddr::V6(g)) => v.push(Attr::new(
            daemon_attr::MCAST_GROUP6,
            Value::Bytes(g.octets().to_vec()),
        )),
        Some(IpAddr::V4(g)) => v.push(Attr::new(
            daemon_attr::MCAST_GROUP,
            Value::Bytes(g.octets().to_vec()),
        )),
        // The kernel refuses a group that is not multicast: without one, send none.
        None => {}
    }
    Request::doit(
        cmd::NEW_DAEMON,
        vec![Attr::new(cmd_attr::DAEMON, Value::Nest(v))],
    )
}

pub fn stop_daemon(d: &Daemon) -> Request {
    Request::doit(
        cmd::DEL_DAEMON,
        vec![Attr::new(
            cmd_attr::DAEMON,
            Value::Nest(vec![
                Attr::new(daemon_attr::STATE, Value::U32(d.state.code())),
                Attr::new(daemon_attr::MCAST_IFN, Value::Str(d.mcast_ifn.clone())),
                Attr::new(daemon_attr::SYNC_ID, Value::U32(d.syncid)),
            ]),
        )],
    )
}

// ---- Replies -------------------------------------------------------------------------------

fn missing(what: &str) -> DecodeError {
    DecodeError::from(format!("IPVS reply without {what}"))
}

fn stats(a: &Attrs<'_>) -> Result<Stats, DecodeError> {
    Ok(Stats {
        conns: a.counter(stats_attr::CONNS)?,
        inpkts: a.counter(stats_attr::INPKTS)?,
        outpkts: a.counter(stats_attr::OUTPKTS)?,
        inbytes: a.counter(stats_attr::INBYTES)?,
        outbytes: a.counter(stats_attr::OUTBYTES)?,
        cps: a.counter(stats_attr::CPS)?,
        inpps: a.counter(stats_attr::INPPS)?,
        outpps: a.counter(stats_attr::OUTPPS)?,
        inbps: a.counter(stats_attr::INBPS)?,
        outbps: a.counter(stats_attr::OUTBPS)?,
    })
}

/// Prefer the 64-bit counters; fall back to the 32-bit nest.
fn stats_of(a: &Attrs<'_>, s64: u16, s32: u16) -> Result<Stats, DecodeError> {
    match a.nest(s64)? {
        Some(n) => stats(&n),
        None => a.nest(s32)?.map_or(Ok(Stats::default()), |n| stats(&n)),
    }
}

/// A service from the attributes of a `SERVICE` nest.
pub fn parse_service(a: &Attrs<'_>) -> Result<Service, DecodeError> {
    let af = a.u16(svc_attr::AF)?.ok_or_else(|| missing("AF"))?;
    let ipv6 = af == consts::AF_INET6;
    let id = match a.u32(svc_attr::FWMARK)? {
        Some(mark) if mark != 0 => ServiceId::Fwmark { mark, ipv6 },
        _ => {
            let protocol = a
                .u16(svc_attr::PROTOCOL)?
                .ok_or_else(|| missing("PROTOCOL"))?;
            let addr = a.get(svc_attr::ADDR).ok_or_else(|| missing("ADDR"))?;
            ServiceId::Addr {
                protocol: Protocol::from_number(protocol),
                addr: addr_from(af, addr).ok_or_else(|| missing("a valid ADDR"))?,
                port: a.be16(svc_attr::PORT)?.ok_or_else(|| missing("PORT"))?,
            }
        }
    };
    let flags = match a.get(svc_attr::FLAGS) {
        Some(f) if f.len() >= 4 => u32::from_ne_bytes([f[0], f[1], f[2], f[3]]),
        _ => 0,
    };
    let netmask = match a.get(svc_attr::NETMASK) {
        Some(m) if m.len() >= 4 => {
            let b = [m[0], m[1], m[2], m[3]];
            if ipv6 {
                u32::from_ne_bytes(b)
            } else {
                u32::from_be_bytes(b)
            }
        }
        _ => 0,
    };
    Ok(Service {
        id,
        scheduler: a.string(svc_attr::SCHED_NAME).unwrap_or_default(),
        flags: flags & !svc_flags::HASHED,
        timeout: a.u32(svc_attr::TIMEOUT)?.unwrap_or(0),
        netmask,
        pe_name: a.string(svc_attr::PE_NAME).filter(|p| !p.is_empty()),
        stats: stats_of(a, svc_attr::STATS64, svc_attr::STATS)?,
    })
}

/// A destination from the attributes of a `DEST` nest; `svc_af` is the family of its service
/// (used when the kernel sends no `ADDR_FAMILY`).
pub fn parse_dest(a: &Attrs<'_>, svc_af: u16) -> Result<Dest, DecodeError> {
    let af = match a.u16(dest_attr::ADDR_FAMILY)? {
        Some(0) | None => svc_af,
        Some(af) => af,
    };
    let addr = a.get(dest_attr::ADDR).ok_or_else(|| missing("dest ADDR"))?;
    Ok(Dest {
        addr: addr_from(af, addr).ok_or_else(|| missing("a valid dest ADDR"))?,
        port: a
            .be16(dest_attr::PORT)?
            .ok_or_else(|| missing("dest PORT"))?,
        forward: Forward::from_code(a.u32(dest_attr::FWD_METHOD)?.unwrap_or(0)),
        weight: a.u32(dest_attr::WEIGHT)?.unwrap_or(0) as i32,
        u_threshold: a.u32(dest_attr::U_THRESH)?.unwrap_or(0),
        l_threshold: a.u32(dest_attr::L_THRESH)?.unwrap_or(0),
        tun_type: TunnelType::from_code(a.u8(dest_attr::TUN_TYPE)?.unwrap_or(0)),
        tun_port: a.be16(dest_attr::TUN_PORT)?.unwrap_or(0),
        tun_flags: a.u16(dest_attr::TUN_FLAGS)?.unwrap_or(0),
        active_conns: a.u32(dest_attr::ACTIVE_CONNS)?.unwrap_or(0),
        inact_conns: a.u32(dest_attr::INACT_CONNS)?.unwrap_or(0),
        persist_conns: a.u32(dest_attr::PERSIST_CONNS)?.unwrap_or(0),
        stats: stats_of(a, dest_attr::STATS64, dest_attr::STATS)?,
    })
}

/// The service of a `NEW_SERVICE` reply message.
pub fn service_of(m: &IpvsMessage) -> Result<Service, DecodeError> {
    let a = m.attrs()?;
    let n = a
        .nest(cmd_attr::SERVICE)?
        .ok_or_else(|| missing("SERVICE"))?;
    parse_service(&n)
}

/// The destination of a `NEW_DEST` reply message.
pub fn dest_of(m: &IpvsMessage, svc_af: u16) -> Result<Dest, DecodeError> {
    let a = m.attrs()?;
    let n = a.nest(cmd_attr::DEST)?.ok_or_else(|| missing("DEST"))?;
    parse_dest(&n, svc_af)
}

pub fn info_of(m: &IpvsMessage) -> Result<Info, DecodeError> {
    let a = m.attrs()?;
    Ok(Info {
        version: a
            .u32(info_attr::VERSION)?
            .ok_or_else(|| missing("VERSION"))?,
        conn_tab_size: a.u32(info_attr::CONN_TAB_SIZE)?.unwrap_or(0),
    })
}

pub fn timeouts_of(m: &IpvsMessage) -> Result<Timeouts, DecodeError> {
    let a = m.attrs()?;
    Ok(Timeouts {
        tcp: a.u32(cmd_attr::TIMEOUT_TCP)?.unwrap_or(0),
        tcp_fin: a.u32(cmd_attr::TIMEOUT_TCP_FIN)?.unwrap_or(0),
        udp: a.u32(cmd_attr::TIMEOUT_UDP)?.unwrap_or(0),
    })
}

pub fn daemon_of(m: &IpvsMessage) -> Result<Daemon, DecodeError> {
    let a = m.attrs()?;
    let n = a.nest(cmd_attr::DAEMON)?.ok_or_else(|| missing("DAEMON"))?;
    let state = match n.u32(daemon_attr::STATE)? {
        Some(consts::STATE_BACKUP) => SyncState::Backup,
        _ => SyncState::Master,
    };
    let group = if let Some(g6) = n.get(daemon_attr::MCAST_GROUP6) {
        addr_from(consts::AF_INET6, g6)
    } else {
        n.get(daemon_attr::MCAST_GROUP)
            .and_then(|g| addr_from(consts::AF_INET, g))
            .filter(|g| !g.is_unspecified())
    };
    Ok(Daemon {
        state,
        mcast_ifn: n.string(daemon_attr::MCAST_IFN).unwrap_or_default(),
        syncid: n.u32(daemon_attr::SYNC_ID)?.unwrap_or(0),
        sync_maxlen: n.u16(daemon_attr::SYNC_MAXLEN)?.unwrap_or(0),
        mcast_group: group,
        mcast_port: n.u16(daemon_attr::MCAST_PORT)?.unwrap_or(0),
        mcast_ttl: n.u8(daemon_attr::MCAST_TTL)?.unwrap_or(0),
    })
}

// ---- Replies built here: for tests and the in-memory kernel ------------------------------------

/// The attributes the kernel puts in a `NEW_SERVICE` reply (for tests of the decoder).
pub fn service_reply_attrs(s: &Service) -> Vec<Attr> {
    let mut v = service_attrs(s);
    v.push(Attr::new(
        svc_attr::STATS,
        Value::Nest(stats_attrs(&s.stats, false)),
    ));
    v.push(Attr::new(
        svc_attr::STATS64,
        Value::Nest(stats_attrs(&s.stats, true)),
    ));
    v
}

/// The attributes the kernel puts in a `NEW_DEST` reply.
pub fn dest_reply_attrs(d: &Dest) -> Vec<Attr> {
    let mut v = dest_attrs(d);
    v.push(Attr::new(
        dest_attr::ACTIVE_CONNS,
        Value::U32(d.active_conns),
    ));
    v.push(Attr::new(dest_attr::INACT_CONNS, Value::U32(d.inact_conns)));
    v.push(Attr::new(
        dest_attr::PERSIST_CONNS,
        Value::U32(d.persist_conns),
    ));
    v.push(Attr::new(
        dest_attr::STATS,
        Value::Nest(stats_attrs(&d.stats, false)),
    ));
    v.push(Attr::new(
        dest_attr::STATS64,
        Value::Nest(stats_attrs(&d.stats, true)),
    ));
    v
}

fn stats_attrs(s: &Stats, wide: bool) -> Vec<Attr> {
    let n = |kind, v: u64| {
        if wide {
            Attr::new(kind, Value::U64(v))
        } else {
            Attr::new(kind, Value::U32(v as u32))
        }
    };
    vec![
        n(stats_attr::CONNS, s.conns),
        n(stats_attr::INPKTS, s.inpkts),
        n(stats_attr::OUTPKTS, s.outpkts),
        Attr::new(stats_attr::INBYTES, Value::U64(s.inbytes)),
        Attr::new(stats_attr::OUTBYTES, Value::U64(s.outbytes)),
        n(stats_attr::CPS, s.cps),
        n(stats_attr::INPPS, s.inpps),
        n(stats_attr::OUTPPS, s.outpps),
        n(stats_attr::INBPS, s.inbps),
        n(stats_attr::OUTBPS, s.outbps),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare netlink message: header, then `body`.
    fn raw(kind: u16, flags: u16, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&7u32.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(body);
        v
    }

    fn reply(bytes: &[u8]) -> Reply {
        classify(decode(bytes).expect("decodes"))
    }

    #[test]
    fn done_ends_a_dump_and_may_carry_an_error() {
        const NLMSG_ERROR: u16 = 2;
        const NLMSG_DONE: u16 = 3;
        const NLM_F_MULTI: u16 = 2;
        assert!(matches!(
            reply(&raw(NLMSG_DONE, NLM_F_MULTI, &0i32.to_ne_bytes())),
            Reply::Done(Ok(()))
        ));
        // A dump the kernel had to cut short ends with DONE and the negative errno.
        assert!(matches!(
            reply(&raw(NLMSG_DONE, NLM_F_MULTI, &(-4i32).to_ne_bytes())),
            Reply::Done(Err(4))
        ));
        // An error code that cannot be negated does not overflow.
        let mut body = i32::MIN.to_ne_bytes().to_vec();
        body.extend_from_slice(&raw(0x10, 0, &[])[..16]);
        assert!(matches!(
            reply(&raw(NLMSG_ERROR, 0, &body)),
            Reply::Done(Err(i32::MAX))
        ));
    }
}
