//! The daemons' live state: pulse's and lvsd's status reports ([`report`]), read from their
//! sockets ([`source`]) at most four times a second whatever the load ([`snapshot`]), combined for `GET /api/v1/status` ([`mod@combine`]) and rendered for
//! `GET /metrics` ([`metrics`]).

pub mod combine;
pub mod metrics;
pub mod report;
pub mod snapshot;
pub mod source;

pub use combine::{Combined, combine};
pub use report::{LvsdReport, PulseReport};
pub use snapshot::{Snapshot, Snapshots};
pub use source::{DEFAULT_PULSE_SOCKET, Reading, SocketStatus, StatusError, StatusSource};
