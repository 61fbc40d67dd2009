//! pulse: heartbeats and failover between a primary and a backup director.
//!
//! This crate holds the parts of pulse that decide, free of I/O and clocks:
//!
//! - [`wire`]: the heartbeat datagram, byte for byte as piranha sends it (4 bytes, a magic
//!   in x86 byte order), and which datagrams are accepted;
//! - [`machine`]: piranha 0.8.6's state machine (spec §2.5) with time injected: heartbeats,
//!   `keepalive`/`deadtime`, CHILDFAIL and LINKFAIL, no automatic fail-back, `--forceactive`,
//!   both-active resolution, and a STOPPED heartbeat at termination so the partner takes over
//!   at once.
//!
//! The daemon (sockets, VIPs, gratuitous ARP, lvsd supervision) is built on top of it.

pub mod machine;
pub mod wire;
