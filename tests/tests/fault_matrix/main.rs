//! The fault matrix (issue 20): an LVS pair (pulse, lvsd on the userspace data plane, one
//! nanny per real server, in network namespaces; testkit's `fault` harness) with a client
//! probing the VIP every ~20 ms, and one test per fault: kill -9 and SIGSTOP/SIGCONT of each
//! daemon, the heartbeat link cut one way, both ways and flapping, a reload storm, and real
//! servers that go silent, reset, answer slowly or flap. Each row asserts what must hold after
//! the fault (exactly one active, the VIP where it is, the table as the file says, no daemon
//! dead), bounds what the client saw, and prints it as a `FAULT-ROW` line
//! (docs/RELIABILITY.md quotes them).

mod daemons;
mod files;
mod fos;
mod network;
mod reload;
mod servers;

use std::time::Duration;

use pulse::status::Status;
use testkit::fault::{LvsPair, Want};

pub type Pair = LvsPair<Status>;

/// Both real servers in the table with weight 1.
pub const BOTH: [Want; 2] = [Want::In(1), Want::In(1)];
pub const D1: usize = 0;
pub const D2: usize = 1;

pub fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The pair, or `None` when the test cannot run here (not root, no nft).
pub fn pair() -> Option<Pair> {
    if !testkit::root_or_skip() || !testkit::have("nft", "nftables") {
        return None;
    }
    Some(Pair::start())
}
