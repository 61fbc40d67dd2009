//! The operations on an IPVS table, shared by the kernel client and the in-memory table.

use crate::error::IpvsError;
use crate::model::{Daemon, Dest, Info, Service, ServiceId, Timeouts};

/// An IPVS table: the kernel's ([`crate::NetlinkIpvs`]) or an in-memory one
/// ([`crate::MemoryTable`]). Methods mirror libipvs; errors carry the kernel's errno.
pub trait IpvsTable {
    fn info(&mut self) -> Result<Info, IpvsError>;
    /// Every service, in the kernel's (hash) order.
    fn services(&mut self) -> Result<Vec<Service>, IpvsError>;
    fn service(&mut self, id: ServiceId) -> Result<Service, IpvsError>;
    fn add_service(&mut self, s: &Service) -> Result<(), IpvsError>;
    fn edit_service(&mut self, s: &Service) -> Result<(), IpvsError>;
    fn del_service(&mut self, s: &Service) -> Result<(), IpvsError>;
    /// Remove every service.
    fn flush(&mut self) -> Result<(), IpvsError>;
    /// Zero the counters of one service, or of all.
    fn zero(&mut self, s: Option<&Service>) -> Result<(), IpvsError>;
    /// The destinations of a service, newest first (the kernel's order); empty when the
    /// service does not exist.
    fn dests(&mut self, id: ServiceId) -> Result<Vec<Dest>, IpvsError>;
    fn add_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError>;
    fn edit_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError>;
    fn del_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError>;
    fn timeouts(&mut self) -> Result<Timeouts, IpvsError>;
    /// Set timeouts; a zero field keeps its current value.
    fn set_timeouts(&mut self, t: Timeouts) -> Result<(), IpvsError>;
    /// Running sync daemons, master first.
    fn daemons(&mut self) -> Result<Vec<Daemon>, IpvsError>;
    fn start_daemon(&mut self, d: &Daemon) -> Result<(), IpvsError>;
    fn stop_daemon(&mut self, d: &Daemon) -> Result<(), IpvsError>;
}
