//! The kernel's IPVS table over a generic-netlink socket (synchronous).

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::{Socket, SocketAddr};

use crate::error::{IpvsError, Op, errno};
use crate::message::{self, IpvsMessage, Reply, Request};
use crate::model::{Daemon, Dest, Info, Service, ServiceId, Timeouts};
use crate::table::IpvsTable;

/// A connection to the kernel's IPVS (of the calling thread's network namespace).
#[derive(Debug)]
pub struct NetlinkIpvs {
    socket: Socket,
    family: u16,
    port: u32,
    seq: u32,
}

fn decode_err(e: impl std::fmt::Display) -> IpvsError {
    IpvsError::Decode(e.to_string())
}

impl NetlinkIpvs {
    /// Open a socket and resolve the `IPVS` family. Without IPVS in the kernel this is
    /// [`IpvsError::NoFamily`].
    pub fn new() -> Result<NetlinkIpvs, IpvsError> {
        let mut socket = Socket::new(NETLINK_GENERIC)?;
        let addr = socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        let mut me = NetlinkIpvs {
            socket,
            family: 0,
            port: addr.port_number(),
            seq: 0,
        };
        me.family = me.resolve()?;
        Ok(me)
    }

    /// The family id the kernel gave `IPVS`.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn resolve(&mut self) -> Result<u16, IpvsError> {
        let mut genl = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(
                crate::consts::IPVS_GENL_NAME.into(),
            )],
        });
        genl.finalize();
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        let seq = self.next_seq();
        nl.header.sequence_number = seq;
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        let mut id = None;
        loop {
            let (data, _) = self.socket.recv_from_full()?;
            let mut off = 0;
            while off < data.len() {
                let msg = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(&data[off..])
                    .map_err(decode_err)?;
                let len = msg.header.length as usize;
                // Answers to anything else on this socket are not ours.
                let payload = if msg.header.sequence_number == seq {
                    msg.payload
                } else {
                    NetlinkPayload::Noop
                };
                match payload {
                    NetlinkPayload::InnerMessage(g) => {
                        id = id.or(g.payload.nlas.iter().find_map(|a| match a {
                            GenlCtrlAttrs::FamilyId(id) => Some(*id),
                            _ => None,
                        }));
                    }
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => id.ok_or(IpvsError::NoFamily),
                            Some(c) if c.get().saturating_neg() == errno::ENOENT => {
                                Err(IpvsError::NoFamily)
                            }
                            Some(c) => Err(IpvsError::Kernel {
                                op: Op::Init,
                                errno: c.get().saturating_neg(),
                            }),
                        };
                    }
                    NetlinkPayload::Done(_) => return id.ok_or(IpvsError::NoFamily),
                    _ => {}
                }
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Send a request and collect the family messages of the answer, up to its ACK or DONE.
    pub fn request(&mut self, op: Op, req: &Request) -> Result<Vec<IpvsMessage>, IpvsError> {
        let seq = self.next_seq();
        let bytes = req.to_bytes(self.family, seq, self.port);
        self.socket.send(&bytes, 0)?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.socket.recv_from_full()?;
            let mut off = 0;
            while off < data.len() {
                let msg = message::decode(&data[off..]).map_err(decode_err)?;
                let len = msg.header.length as usize;
                let this_seq = msg.header.sequence_number;
                if this_seq == seq {
                    match message::classify(msg) {
                        Reply::Message(m) => out.push(m),
                        Reply::Done(Ok(())) => {
                            // A dump ends with DONE; an ACK may follow a doit reply.
                            return Ok(out);
                        }
                        Reply::Done(Err(e)) => return Err(IpvsError::Kernel { op, errno: e }),
                        Reply::Other => {}
                    }
                }
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
    }
}

impl IpvsTable for NetlinkIpvs {
    fn info(&mut self) -> Result<Info, IpvsError> {
        let r = self.request(Op::GetInfo, &message::get_info())?;
        let m = r.first().ok_or_else(|| decode_err("no GET_INFO reply"))?;
        message::info_of(m).map_err(decode_err)
    }

    fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        self.request(Op::GetServices, &message::get_services())?
            .iter()
            .map(|m| message::service_of(m).map_err(decode_err))
            .collect()
    }

    fn service(&mut self, id: ServiceId) -> Result<Service, IpvsError> {
        let r = self.request(Op::GetService, &message::get_service(id))?;
        let m = r
            .first()
            .ok_or_else(|| decode_err("no GET_SERVICE reply"))?;
        message::service_of(m).map_err(decode_err)
    }

    fn add_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        self.request(Op::AddService, &message::add_service(s))
            .map(drop)
    }

    fn edit_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        self.request(Op::EditService, &message::edit_service(s))
            .map(drop)
    }

    fn del_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        self.request(Op::DelService, &message::del_service(s))
            .map(drop)
    }

    fn flush(&mut self) -> Result<(), IpvsError> {
        self.request(Op::Flush, &message::flush()).map(drop)
    }

    fn zero(&mut self, s: Option<&Service>) -> Result<(), IpvsError> {
        let op = if s.is_some() {
            Op::ZeroService
        } else {
            Op::Zero
        };
        self.request(op, &message::zero(s)).map(drop)
    }

    fn dests(&mut self, id: ServiceId) -> Result<Vec<Dest>, IpvsError> {
        let af = id.af();
        self.request(Op::GetDests, &message::get_dests(id))?
            .iter()
            .map(|m| message::dest_of(m, af).map_err(decode_err))
            .collect()
    }

    fn add_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        self.request(Op::AddDest, &message::add_dest(s, d))
            .map(drop)
    }

    fn edit_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        self.request(Op::EditDest, &message::edit_dest(s, d))
            .map(drop)
    }

    fn del_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        self.request(Op::DelDest, &message::del_dest(s, d))
            .map(drop)
    }

    fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let r = self.request(Op::GetTimeouts, &message::get_timeouts())?;
        let m = r.first().ok_or_else(|| decode_err("no GET_CONFIG reply"))?;
        message::timeouts_of(m).map_err(decode_err)
    }

    fn set_timeouts(&mut self, t: Timeouts) -> Result<(), IpvsError> {
        self.request(Op::SetTimeouts, &message::set_timeouts(t))
            .map(drop)
    }

    fn daemons(&mut self) -> Result<Vec<Daemon>, IpvsError> {
        self.request(Op::GetDaemons, &message::get_daemons())?
            .iter()
            .map(|m| message::daemon_of(m).map_err(decode_err))
            .collect()
    }

    fn start_daemon(&mut self, d: &Daemon) -> Result<(), IpvsError> {
        self.request(Op::StartDaemon, &message::start_daemon(d))
            .map(drop)
    }

    fn stop_daemon(&mut self, d: &Daemon) -> Result<(), IpvsError> {
        self.request(Op::StopDaemon, &message::stop_daemon(d))
            .map(drop)
    }
}
