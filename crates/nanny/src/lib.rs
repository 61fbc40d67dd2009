//! nanny: the per-real-server health monitor of the suite.
//!
//! One nanny watches one real server (or, with `--fos`, one failover service). It checks the
//! server every interval, by TCP or UDP send/expect or an external program, and decides when
//! the server enters and leaves the IPVS table and with which weight, exactly as piranha
//! 0.8.6's nanny did (first success adds, one failure removes, `reentry / interval` successes
//! re-add, weight ramp from `w >> 5`, load-based weight), with piranha's defects fixed.
//!
//! - [`opts`] parses piranha's command line; [`escape`] converts `\` escapes (plus `\xNN`).
//! - [`monitor`] is the decision logic, free of I/O and clocks.
//! - [`check`], [`expect`], [`exec`] and [`regex`] run one check.
//! - [`apply`] carries decisions out: [`report`] lines to lvsd, netlink, or nothing.
//! - [`run`] ties them together with timers and signals; [`wait`] is the one blocking wait
//!   (a descriptor, the signals, a deadline); [`start`] is the binary's body.
//! - [`error`]: [`Error`], every failure's log line.

pub mod apply;
pub mod check;
pub mod error;
pub mod escape;
pub mod exec;
pub mod expect;
pub mod monitor;
pub mod opts;
pub mod regex;
pub mod regex_size;
pub mod report;
pub mod run;
pub mod start;
pub mod wait;

pub use error::Error;
