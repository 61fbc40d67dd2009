//! IPVS's schedulers as pure, deterministic code.
//!
//! Each scheduler sees only the destinations' addresses, weights and connection counts
//! ([`DestLoad`]) and the connection being scheduled ([`FlowKey`], which carries the time);
//! none does I/O, reads a clock or draws random numbers of its own (`twos` draws from a
//! generator seeded by its owner), so a pick is a function of the inputs and the
//! scheduler's own state. The algorithms follow Linux's `net/netfilter/ipvs/ip_vs_*.c`
//! (written here from their descriptions, not copied): this file holds rr, wrr, lc, wlc,
//! sed and nq; [`hashing`] holds sh and dh, [`maglev`] mh, [`failover`] fo and ovf,
//! [`locality`] lblc and lblcr, [`twos`] twos. IPVS's "overloaded" flag (the upper
//! connection threshold) has no counterpart here: a destination is available for a new
//! connection exactly when its weight is above 0.
//!
//! The kernel keeps a service's destinations newest first (each added one goes to the
//! head of its list); `dests` here is in the order they were added. The schedulers whose
//! result depends on that order beyond ties (the tables of mh, sh and dh) walk `dests`
//! backwards, as the kernel walks its list, so that they pick what the kernel picks (a VM
//! test compares mh and sh with the kernel's); so do fo, ovf, lblc, lblcr and twos for
//! their ties. rr, wrr, lc, wlc, sed and nq walk it forwards (ties to the first added).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

pub mod failover;
pub mod hashing;
pub mod locality;
pub mod maglev;
pub mod twos;

pub use failover::{Failover, Overflow};
pub use hashing::{
    DestinationHashing, HASH_BUCKETS, SourceHashing, fold32, hash_bucket, sh_bucket,
};
pub use locality::{LocalityBased, LocalityBasedReplicated};
pub use maglev::Maglev;
pub use twos::TwoChoices;

/// What a scheduler may look at for one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestLoad {
    /// The real server's address and port (mh hashes it; lblc/lblcr remember it).
    pub addr: SocketAddr,
    /// Configured weight; 0 means quiesced: never picked for a new connection.
    pub weight: i32,
    /// The latest weight other than 0 (the weight it was added with, if it never had
    /// another): IPVS's `last_weight`, which mh builds its table from so that quiescing a
    /// server does not move the other servers' flows.
    pub last_weight: i32,
    /// Established connections (IPVS "ActiveConn").
    pub active: u32,
    /// Other connections (IPVS "InActConn").
    pub inactive: u32,
}

/// The connection being scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    pub client: IpAddr,
    pub client_port: u16,
    /// The virtual address and port the client connected to.
    pub vip: IpAddr,
    pub vport: u16,
    /// When (lblc and lblcr forget what they have not used for a while).
    pub now: Instant,
}

/// A scheduler: picks the index of a destination in `dests`, or None when none may take
/// a new connection (all weights 0, or empty).
pub trait Scheduler: Send + std::fmt::Debug {
    fn name(&self) -> &'static str;
    fn pick(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize>;
    /// The set of destinations (or their weights) changed; schedulers with state (rr's
    /// position, wrr's current weight, sh/dh/mh's tables) reset or rebuild it.
    fn reset(&mut self) {}
}

/// The names [`by_name`] accepts: ipvsadm's list, then twos (Linux 6.6).
pub const NAMES: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// Service flag `sh-fallback` / `mh-fallback` (IPVS's `IP_VS_SVC_F_SCHED1`): when the
/// hashed destination may not take the connection, look for another.
pub const FLAG_FALLBACK: u32 = ipvs::consts::svc_flags::SCHED1;
/// Service flag `sh-port` / `mh-port` (`IP_VS_SVC_F_SCHED2`): hash the client's port too.
pub const FLAG_PORT: u32 = ipvs::consts::svc_flags::SCHED2;

/// The scheduler named as in ipvsadm, without flags; None for an unknown name.
pub fn by_name(name: &str) -> Option<Box<dyn Scheduler>> {
    build(name, 0, 0)
}

/// The scheduler named as in ipvsadm, with the service's `flags` (sh and mh read
/// [`FLAG_FALLBACK`] and [`FLAG_PORT`]) and the `seed` of twos's random choices; None for
/// an unknown name.
pub fn build(name: &str, flags: u32, seed: u64) -> Option<Box<dyn Scheduler>> {
    let (fallback, port) = (flags & FLAG_FALLBACK != 0, flags & FLAG_PORT != 0);
    Some(match name {
        "rr" => Box::new(RoundRobin::default()),
        "wrr" => Box::new(WeightedRoundRobin::default()),
        "lc" => Box::new(LeastConnection),
        "wlc" => Box::new(WeightedLeastConnection),
        "sed" => Box::new(ShortestExpectedDelay),
        "nq" => Box::new(NeverQueue),
        "sh" => Box::new(SourceHashing::with_flags(fallback, port)),
        "dh" => Box::new(DestinationHashing::default()),
        "mh" => Box::new(Maglev::new(fallback, port)),
        "fo" => Box::new(Failover),
        "ovf" => Box::new(Overflow),
        "lblc" => Box::new(LocalityBased::default()),
        "lblcr" => Box::new(LocalityBasedReplicated::default()),
        "twos" => Box::new(TwoChoices::new(seed)),
        _ => return None,
    })
}

/// The flags `name` reads (the others are ignored, as by the kernel).
pub fn flags_of(name: &str) -> u32 {
    match name {
        "sh" | "mh" => FLAG_FALLBACK | FLAG_PORT,
        _ => 0,
    }
}

/// Whether `d` may take a new connection (IPVS: weight > 0; negative counts as 0).
fn available(d: &DestLoad) -> bool {
    d.weight > 0
}

/// IPVS's connection overhead: an active connection costs 256 inactive ones.
fn overhead(d: &DestLoad) -> u64 {
    (u64::from(d.active) << 8) + u64::from(d.inactive)
}

/// The available destination with the least `cost / weight`, compared by
/// cross-multiplication (no division, no rounding); ties go to the first in order.
fn least_weighted(dests: &[DestLoad], cost: impl Fn(&DestLoad) -> u64) -> Option<usize> {
    let mut best: Option<(usize, u128, u128)> = None; // (index, cost, weight)
    for (i, d) in dests.iter().enumerate() {
        if !available(d) {
            continue;
        }
        let (c, w) = (u128::from(cost(d)), u128::from(d.weight.unsigned_abs()));
        match best {
            Some((_, bc, bw)) if c * bw >= bc * w => {}
            _ => best = Some((i, c, w)),
        }
    }
    best.map(|(i, _, _)| i)
}

/// rr: round robin over the available destinations, continuing after the last one picked.
///
/// [`reset`](Scheduler::reset) starts the round again from the first destination.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    /// Index of the last destination picked; None before the first pick.
    last: Option<usize>,
}

impl Scheduler for RoundRobin {
    fn name(&self) -> &'static str {
        "rr"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        let n = dests.len();
        let start = match self.last {
            Some(l) if l < n => l + 1,
            _ => 0,
        };
        let i = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| available(&dests[i]))?;
        self.last = Some(i);
        Some(i)
    }

    fn reset(&mut self) {
        self.last = None;
    }
}

/// wrr: interleaved weighted round robin, as IPVS does it.
///
/// A current weight `cw` starts at the maximum weight and, each time the walk wraps past
/// the end of the list, steps down by the gcd of the weights (back to the maximum below
/// 1); the walk picks the next destination whose weight is at least `cw`. Over one cycle
/// (sum of weights / gcd picks) each destination is picked weight / gcd times, heavier
/// ones first. Like IPVS, the maximum is lowered by gcd - 1 so that the last pass is at
/// `cw == 1`. The weights are watched on every pick; a change (or [`reset`]) is handled as
/// IPVS's `dest_changed`: the walk restarts at the list's head and `cw` is kept when it is
/// still in range (rounded onto the new gcd's grid), else restarts at the maximum.
///
/// [`reset`]: Scheduler::reset
#[derive(Debug, Clone, Default)]
pub struct WeightedRoundRobin {
    /// Last destination picked; None is the list's head (before the first destination).
    cl: Option<usize>,
    /// Current weight; 0 before the first pick.
    cw: i32,
    /// Maximum weight - (gcd - 1); 0 when no destination is available.
    mw: i32,
    /// Gcd of the positive weights (1 when there are none).
    di: i32,
    /// The weights `cl`, `mw` and `di` were computed for; None forces a recomputation.
    seen: Option<Vec<i32>>,
}

fn gcd(mut a: i32, mut b: i32) -> i32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl WeightedRoundRobin {
    /// IPVS's `dest_changed`: recompute gcd and maximum, restart at the head, keep `cw`
    /// if it still fits.
    fn dest_changed(&mut self, dests: &[DestLoad]) {
        let g = dests
            .iter()
            .filter(|d| available(d))
            .fold(0, |g, d| if g == 0 { d.weight } else { gcd(g, d.weight) });
        self.di = if g == 0 { 1 } else { g };
        let max = dests.iter().map(|d| d.weight).max().unwrap_or(0).max(0);
        self.mw = max - (self.di - 1);
        self.cl = None;
        if self.cw > self.mw || self.cw <= 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
        self.seen = Some(dests.iter().map(|d| d.weight).collect());
    }
}

impl Scheduler for WeightedRoundRobin {
    fn name(&self) -> &'static str {
        "wrr"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        let unchanged = self
            .seen
            .as_ref()
            .is_some_and(|s| s.iter().copied().eq(dests.iter().map(|d| d.weight)));
        if !unchanged {
            self.dest_changed(dests);
        }
        if self.mw <= 0 {
            return None;
        }
        let n = dests.len();
        let mut pos = self.cl;
        // Some destination has weight == max >= mw >= cw, so one full walk from anywhere
        // finds it; the bound only guards against a broken invariant.
        for _ in 0..=2 * n + 1 {
            let next = pos.map_or(0, |i| i + 1);
            if next >= n {
                // Wrapped past the end: back to the head with a lower current weight.
                pos = None;
                self.cw -= self.di;
                if self.cw <= 0 {
                    self.cw = self.mw;
                }
                continue;
            }
            pos = Some(next);
            if available(&dests[next]) && dests[next].weight >= self.cw {
                self.cl = pos;
                return pos;
            }
        }
        self.cl = pos;
        None
    }

    fn reset(&mut self) {
        self.seen = None;
    }
}

/// lc: least connections: the available destination with the least overhead
/// (active × 256 + inactive), whatever its weight; ties go to the first.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeastConnection;

impl Scheduler for LeastConnection {
    fn name(&self) -> &'static str {
        "lc"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        let mut best: Option<(usize, u64)> = None;
        for (i, d) in dests.iter().enumerate() {
            if !available(d) {
                continue;
            }
            let o = overhead(d);
            if best.is_none_or(|(_, bo)| o < bo) {
                best = Some((i, o));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// wlc: weighted least connections: the least overhead (as lc) per unit of weight, so a
/// destination of weight 2 is meant to carry twice the connections; ties go to the first.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedLeastConnection;

impl Scheduler for WeightedLeastConnection {
    fn name(&self) -> &'static str {
        "wlc"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        least_weighted(dests, overhead)
    }
}

/// sed: shortest expected delay: the least (active + 1) / weight, i.e. the destination
/// where the new connection would wait least if it were served at `weight` per unit of
/// time; inactive connections are ignored; ties go to the first.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShortestExpectedDelay;

fn sed_cost(d: &DestLoad) -> u64 {
    u64::from(d.active) + 1
}

impl Scheduler for ShortestExpectedDelay {
    fn name(&self) -> &'static str {
        "sed"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        least_weighted(dests, sed_cost)
    }
}

/// nq: never queue: the first available destination with no active connection, so an
/// idle server never waits behind a faster busy one; if none is idle, as sed.
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverQueue;

impl Scheduler for NeverQueue {
    fn name(&self) -> &'static str {
        "nq"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        dests
            .iter()
            .position(|d| available(d) && d.active == 0)
            .or_else(|| least_weighted(dests, sed_cost))
    }
}

#[cfg(test)]
mod tests;
