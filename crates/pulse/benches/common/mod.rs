//! What both benchmarks share: testkit's two-director LAN with pulse's status report, and
//! their statistics.
// Each benchmark uses part of this.
#![allow(dead_code, unused_imports)]

use std::time::Duration;

pub use testkit::lan::fos::{
    fos_config, fos_lan, fos_pulse, kill_service, page, started, wait_page,
};
pub use testkit::lan::{NODES, VIP};
pub use testkit::netns::in_netns as in_ns;
pub use testkit::{must as sh, root_or_skip};

pub type Lan = testkit::lan::Lan<pulse::status::Status>;
pub type Pulse = testkit::lan::Pulse<pulse::status::Status>;

/// A pseudo-random number of milliseconds below `max` (the clock's nanoseconds).
pub fn rand_ms(max: u64) -> u64 {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    n % max.max(1)
}

/// The `p` quantile (0 to 1) of sorted durations, in seconds.
pub fn pct(v: &[Duration], p: f64) -> f64 {
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64()
}
