//! A userspace L4 data plane: IPVS's table operations and schedulers in user space.
//!
//! Many machines have no IPVS (containers, laptops, CI runners). This crate implements
//! [`ipvs::IpvsTable`] with TCP and UDP forwarders, so lvsd runs unchanged on top of it.
//!
//! - [`sched`]: the IPVS schedulers as pure functions of the destinations' state.
//! - [`table`]: [`Userspace`], the table, shared with the forwarders [`tcp`] and [`udp`].

pub mod sched;
pub mod table;
pub mod tcp;
pub mod udp;

pub use table::Userspace;
