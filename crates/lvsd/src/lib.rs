//! lvsd: lvs.cf made live in IPVS.
//!
//! lvsd reads the configuration, builds one IPVS service per active virtual server, starts one
//! nanny per active real server and applies the nannies' decisions; it is the only writer of
//! the IPVS table while the cluster runs. On SIGHUP it reloads, changing only what changed.
//!
//! - [`desired`]: configuration → IPVS services, real servers and nanny command lines.
//! - [`diff`]: the pure difference between two desired states.
//! - [`engine`]: the state machine that owns the table (no I/O besides the table it is given).
//! - [`run`]: processes, pipes, signals, the status socket; [`start`] is the binary's body.
//! - [`request`]: the status socket's requests and replies (pure); [`socket`] its I/O (per
//!   connection tasks, `--socket-group`, the client of `lvsd --status`, `--drain`, …).
//! - [`announcer`]: the VIPs announced through BIRD (`announce = bird`), a task of its own.
//! - [`status`], [`state`]: the status report, the owned-services file (readiness goes
//!   through `plog::notify`).

pub mod announcer;
pub mod desired;
pub mod diff;
pub mod engine;
pub mod opts;
pub mod request;
pub mod run;
pub mod socket;
pub mod start;
pub mod state;
pub mod status;
