//! An in-memory IPVS table that answers like the kernel: the same errno for the same mistake
//! (`EEXIST`, `ESRCH`, `ENOENT`, `ERANGE`, `EINVAL`), the same orders, the same defaults.
//! Used in production where the kernel's table must not be touched (lvsd's `--memory-table`
//! and `--test-start`) and by the unit tests of the crates above this one; the real kernel is
//! tested in the VM.

use crate::consts::svc_flags;
use crate::error::{IpvsError, Op, errno};
use crate::model::{
    Daemon, Dest, Forward, Info, Service, ServiceId, SyncState, Timeouts, TunnelType,
};
use crate::table::IpvsTable;

/// Schedulers of the Debian 6.1 kernel the VM tests run (`twos` arrived in 6.2), so the table
/// refuses what that kernel refuses.
pub const KERNEL_SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "none",
];

/// The in-memory table.
#[derive(Debug, Clone)]
pub struct MemoryTable {
    services: Vec<(Service, Vec<Dest>)>,
    timeouts: Timeouts,
    daemons: Vec<Daemon>,
    /// Interfaces a sync daemon may use; `None` accepts any.
    pub interfaces: Option<Vec<String>>,
    /// Every successful change, in order (for tests that check what was done).
    pub log: Vec<String>,
}

impl Default for MemoryTable {
    fn default() -> Self {
        MemoryTable {
            services: Vec::new(),
            timeouts: Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            },
            daemons: Vec::new(),
            interfaces: None,
            log: Vec::new(),
        }
    }
}

fn err(op: Op, e: i32) -> IpvsError {
    IpvsError::Kernel { op, errno: e }
}

impl MemoryTable {
    pub fn new() -> MemoryTable {
        MemoryTable::default()
    }

    fn find(&self, id: ServiceId) -> Option<usize> {
        self.services.iter().position(|(s, _)| s.id == id)
    }

    fn check_service(op: Op, s: &Service) -> Result<(), IpvsError> {
        if !KERNEL_SCHEDULERS.contains(&s.scheduler.as_str()) {
            return Err(err(op, errno::ENOENT));
        }
        if s.pe_name.as_deref().is_some_and(|pe| pe != "sip") {
            return Err(err(op, errno::ENOENT));
        }
        if s.id.is_ipv6() && !(1..=128).contains(&s.netmask) {
            return Err(err(op, errno::EINVAL));
        }
        Ok(())
    }

    fn check_dest(op: Op, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        if d.weight < 0 || d.l_threshold > d.u_threshold {
            return Err(err(op, errno::ERANGE));
        }
        if d.addr.is_ipv6() != s.id.is_ipv6() && d.forward != Forward::Tunnel {
            return Err(err(op, errno::EINVAL));
        }
        if d.addr.is_unspecified() || d.addr.is_multicast() {
            return Err(err(op, errno::EINVAL));
        }
        if d.forward == Forward::Tunnel && d.tun_type == TunnelType::Gue && d.tun_port == 0 {
            return Err(err(op, errno::EINVAL));
        }
        Ok(())
    }

    /// Stored form of a destination: only the fields a request sets.
    fn stored(d: &Dest) -> Dest {
        let mut d = Dest {
            active_conns: 0,
            inact_conns: 0,
            persist_conns: 0,
            stats: Default::default(),
            ..d.clone()
        };
        if d.forward != Forward::Tunnel {
            d.tun_type = TunnelType::Ipip;
            d.tun_port = 0;
            d.tun_flags = 0;
        }
        d
    }
}

impl IpvsTable for MemoryTable {
    fn info(&mut self) -> Result<Info, IpvsError> {
        Ok(Info {
            version: 0x010201,
            conn_tab_size: 4096,
        })
    }

    fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        Ok(self.services.iter().map(|(s, _)| s.clone()).collect())
    }

    fn service(&mut self, id: ServiceId) -> Result<Service, IpvsError> {
        self.find(id)
            .map(|i| self.services[i].0.clone())
            .ok_or(err(Op::GetService, errno::ESRCH))
    }

    fn add_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        if self.find(s.id).is_some() {
            return Err(err(Op::AddService, errno::EEXIST));
        }
        Self::check_service(Op::AddService, s)?;
        let mut s = s.clone();
        s.flags &= !svc_flags::HASHED;
        s.stats = Default::default();
        self.log.push(format!("add service {}", s.id));
        self.services.push((s, Vec::new()));
        Ok(())
    }

    fn edit_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        let i = self.find(s.id).ok_or(err(Op::EditService, errno::ESRCH))?;
        Self::check_service(Op::EditService, s)?;
        let stats = self.services[i].0.stats;
        self.services[i].0 = Service { stats, ..s.clone() };
        self.log.push(format!("edit service {}", s.id));
        Ok(())
    }

    fn del_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        let i = self.find(s.id).ok_or(err(Op::DelService, errno::ESRCH))?;
        self.services.remove(i);
        self.log.push(format!("delete service {}", s.id));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IpvsError> {
        self.services.clear();
        self.log.push("flush".into());
        Ok(())
    }

    fn zero(&mut self, s: Option<&Service>) -> Result<(), IpvsError> {
        match s {
            None => {
                for (svc, dests) in &mut self.services {
                    svc.stats = Default::default();
                    dests.iter_mut().for_each(|d| d.stats = Default::default());
                }
            }
            Some(s) => {
                let i = self.find(s.id).ok_or(err(Op::ZeroService, errno::ESRCH))?;
                let (svc, dests) = &mut self.services[i];
                svc.stats = Default::default();
                dests.iter_mut().for_each(|d| d.stats = Default::default());
            }
        }
        Ok(())
    }

    fn dests(&mut self, id: ServiceId) -> Result<Vec<Dest>, IpvsError> {
        Ok(self
            .find(id)
            .map(|i| self.services[i].1.clone())
            .unwrap_or_default())
    }

    fn add_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        let i = self.find(s.id).ok_or(err(Op::AddDest, errno::ESRCH))?;
        Self::check_dest(Op::AddDest, &self.services[i].0, d)?;
        let dests = &mut self.services[i].1;
        if dests.iter().any(|x| x.addr == d.addr && x.port == d.port) {
            return Err(err(Op::AddDest, errno::EEXIST));
        }
        // The kernel adds at the head of the list.
        dests.insert(0, Self::stored(d));
        self.log
            .push(format!("add dest {} -> {}:{}", s.id, d.addr, d.port));
        Ok(())
    }

    fn edit_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        let i = self.find(s.id).ok_or(err(Op::EditDest, errno::ESRCH))?;
        Self::check_dest(Op::EditDest, &self.services[i].0, d)?;
        let dests = &mut self.services[i].1;
        let j = dests
            .iter()
            .position(|x| x.addr == d.addr && x.port == d.port)
            .ok_or(err(Op::EditDest, errno::ENOENT))?;
        let kept = dests[j].clone();
        dests[j] = Dest {
            active_conns: kept.active_conns,
            inact_conns: kept.inact_conns,
            persist_conns: kept.persist_conns,
            stats: kept.stats,
            ..Self::stored(d)
        };
        self.log
            .push(format!("edit dest {} -> {}:{}", s.id, d.addr, d.port));
        Ok(())
    }

    fn del_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        let i = self.find(s.id).ok_or(err(Op::DelDest, errno::ESRCH))?;
        let dests = &mut self.services[i].1;
        let j = dests
            .iter()
            .position(|x| x.addr == d.addr && x.port == d.port)
            .ok_or(err(Op::DelDest, errno::ENOENT))?;
        dests.remove(j);
        self.log
            .push(format!("delete dest {} -> {}:{}", s.id, d.addr, d.port));
        Ok(())
    }

    fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        Ok(self.timeouts)
    }

    fn set_timeouts(&mut self, t: Timeouts) -> Result<(), IpvsError> {
        let limit = i32::MAX as u32 / 250;
        if [t.tcp, t.tcp_fin, t.udp].iter().any(|v| *v > limit) {
            return Err(err(Op::SetTimeouts, errno::EINVAL));
        }
        let keep = |new: u32, old: u32| if new == 0 { old } else { new };
        self.timeouts = Timeouts {
            tcp: keep(t.tcp, self.timeouts.tcp),
            tcp_fin: keep(t.tcp_fin, self.timeouts.tcp_fin),
            udp: keep(t.udp, self.timeouts.udp),
        };
        Ok(())
    }

    fn daemons(&mut self) -> Result<Vec<Daemon>, IpvsError> {
        let mut d = self.daemons.clone();
        d.sort_by_key(|d| d.state.code());
        Ok(d)
    }

    fn start_daemon(&mut self, d: &Daemon) -> Result<(), IpvsError> {
        if self.daemons.iter().any(|x| x.state == d.state) {
            return Err(err(Op::StartDaemon, errno::EEXIST));
        }
        if let Some(ifs) = &self.interfaces
            && !ifs.contains(&d.mcast_ifn)
        {
            return Err(err(Op::StartDaemon, errno::ENODEV));
        }
        // The kernel fills in its defaults.
        let mut d = d.clone();
        if d.sync_maxlen == 0 {
            d.sync_maxlen = 1472;
        }
        if d.mcast_group.is_none() {
            d.mcast_group = Some(std::net::IpAddr::from(crate::consts::SYNC_GROUP_V4));
        }
        if d.mcast_port == 0 {
            d.mcast_port = crate::consts::SYNC_PORT;
        }
        if d.mcast_ttl == 0 {
            d.mcast_ttl = 1;
        }
        self.log.push(format!("start {} daemon", d.state.name()));
        self.daemons.push(d);
        Ok(())
    }

    fn stop_daemon(&mut self, d: &Daemon) -> Result<(), IpvsError> {
        let i = self
            .daemons
            .iter()
            .position(|x| x.state == d.state)
            .ok_or(err(Op::StopDaemon, errno::ESRCH))?;
        self.daemons.remove(i);
        self.log.push(format!("stop {} daemon", d.state.name()));
        Ok(())
    }
}

impl MemoryTable {
    /// Set live counters of a destination (what traffic would do), for listing tests.
    pub fn set_counters(
        &mut self,
        s: ServiceId,
        addr: std::net::IpAddr,
        port: u16,
        f: impl FnOnce(&mut Dest),
    ) -> bool {
        let Some(i) = self.find(s) else { return false };
        match self.services[i]
            .1
            .iter_mut()
            .find(|d| d.addr == addr && d.port == port)
        {
            Some(d) => {
                f(d);
                true
            }
            None => false,
        }
    }

    /// Is a daemon of this state running?
    pub fn has_daemon(&self, state: SyncState) -> bool {
        self.daemons.iter().any(|d| d.state == state)
    }
}
