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
//! - [`reload`]: what a configuration read after SIGHUP changes, or why it is refused;
//! - [`backoff`]: the pause before starting a fos that keeps failing at once;
//! - [`auth`]: authenticated heartbeats (the datagram, replay checks, the key file);
//! - [`sync_plan`]: the rule of `config_sync` (who sends lvs.cf, conflicts);
//! - [`sync_transfer`]: the authenticated answer that carries lvs.cf, and what a receiver
//!   accepts;
//! - [`opts`]: the command line.
//!
//! The shell around them: [`daemon`] is the main loop (heartbeat sockets, signals, link
//! events, the status socket) that feeds the machine; [`executor`] carries out its decisions
//! in order (commands, lvsd or fos supervised, the sync daemon, addresses, announcements);
//! [`wanted`] says which child generation is wanted, with the main loop as its one owner;
//! [`system`] is every change to the system behind one trait, real or a dry run
//! (`--test-start`); [`start`] is the binary's body; [`watchdog`] is the small process that
//! takes pulse's addresses down and tells the partner when pulse dies alone.

pub mod auth;
pub mod backoff;
pub mod daemon;
pub mod error;
pub mod executor;
pub mod machine;
pub mod opts;
pub mod reload;
pub mod settings;
pub mod start;
pub mod status;
pub mod sync_plan;
pub mod sync_transfer;
pub mod system;
pub mod wanted;
pub mod watchdog;
pub mod wire;

pub use error::Error;
