//! A userspace L4 data plane: IPVS's table operations and schedulers in user space.
//!
//! Many machines have no IPVS (containers, laptops, CI runners). This crate implements
//! [`ipvs::IpvsTable`] with TCP and UDP forwarders, so lvsd runs unchanged on top of it.
//!
//! - [`sched`]: the IPVS schedulers as pure functions of the destinations' state.
//! - [`retry`]: connecting to a real server that may be dead: retries, pure; [`replay`]:
//!   the client's first bytes, kept until the server's first reply.
//! - [`state`]: what the table and the forwarders share (services, destinations, counters).
//! - [`table`]: [`Userspace`], the table; it starts a forwarder per service, [`tcp`] or
//!   [`udp`], and both reach the table only through [`state`].
//! - [`workers`]: the TCP forwarders' threads, one single-threaded runtime per core.

pub mod replay;
pub mod retry;
pub mod sched;
pub mod state;
pub mod table;
pub mod tcp;
pub mod udp;
pub mod workers;

pub use retry::RetryPolicy;
pub use state::Failure;
pub use table::Userspace;
