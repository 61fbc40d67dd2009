//! `ipvs`: the suite's one way to the kernel's IP Virtual Server table.
//!
//! - [`model`]: services, destinations, counters, timeouts and sync daemons;
//! - [`attr`] and [`message`]: the generic-netlink codec, free of I/O, building requests
//!   byte for byte as ipvsadm 1.31's libipvs does and decoding kernel replies;
//! - [`IpvsTable`]: the operations every user needs, implemented by [`NetlinkIpvs`] (a
//!   netlink socket to the kernel) and [`MemoryTable`] (in memory, with the kernel's errors) for
//!   dry runs and the unit tests of the crates above this one;
//! - [`IpvsError`]: failures with the kernel's errno and ipvsadm's message for it.

pub mod attr;
pub mod consts;
pub mod error;
pub mod memory;
pub mod message;
pub mod model;
pub mod netlink;
pub mod table;

pub use error::{IpvsError, Op};
pub use memory::MemoryTable;
pub use model::*;
pub use netlink::NetlinkIpvs;
pub use table::IpvsTable;
