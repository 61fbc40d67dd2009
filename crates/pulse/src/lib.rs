//! pulse: heartbeats and failover between a primary and a backup director.
//!
//! The parts that decide are free of I/O and clocks:
//!
//! - [`wire`]: the heartbeat datagram, byte for byte as piranha sends it (4 bytes, a magic
//!   in x86 byte order), and which datagrams are accepted;
//! - [`machine`]: piranha 0.8.6's state machine (spec §2.5) with time injected: heartbeats,
//!   `keepalive`/`deadtime`, CHILDFAIL and LINKFAIL, no automatic fail-back, `--forceactive`,
//!   both-active resolution, and a STOPPED heartbeat at termination so the partner takes over
//!   at once;
//! - [`settings`]: what pulse takes from lvs.cf, and the role (master or backup) from this
//!   host's addresses;
//! - [`opts`]: the command line.
//!
//! [`daemon`] is the I/O around them (sockets, signals, lvsd, addresses through the `netif`
//! crate, gratuitous ARP, the status socket); [`start`] is the binary's body.

pub mod daemon;
pub mod machine;
pub mod opts;
pub mod settings;
pub mod start;
pub mod status;
pub mod wire;
