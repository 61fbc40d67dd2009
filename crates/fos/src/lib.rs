//! fos: piranha's failover services (spec §5).
//!
//! pulse runs `fos --active` on the active node, where it runs each failover service's
//! `stop_cmd` and then its `start_cmd`, and `fos --monitor` on the other, where it runs the
//! `stop_cmd`s (a service must not run on both) and one `nanny --fos` per service against the
//! VIP, which the active node holds. fos exits when any monitor exits, so pulse hears that the
//! partner's service failed (a monitor killed by a signal is started again instead).
//!
//! - [`plan`]: the services and their commands and monitor argument vectors, from lvs.cf
//!   (pure);
//! - [`opts`]: the command line;
//! - [`run`]: the two modes, with commands waited for under a timeout and start failures
//!   retried;
//! - [`start`]: the binary's body.

pub mod command;
pub mod hot;
pub mod local;
pub mod opts;
pub mod plan;
pub mod run;
pub mod start;
