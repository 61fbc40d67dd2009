//! IPVS's schedulers as pure, deterministic code.
//!
//! Each scheduler sees only the destinations' addresses, weights and connection counts
//! ([`DestLoad`]) and the connection being scheduled ([`FlowKey`], which carries the time);
//! none does I/O, reads a clock or draws random numbers of its own (`twos` draws from a
//! generator seeded by its owner), so a pick is a function of the inputs and the
//! scheduler's own state. The algorithms follow Linux's `net/netfilter/ipvs/ip_vs_*.c`
//! (written here from their descriptions, not copied): this file holds rr, wrr, lc, wlc,
//! sed, nq, sh and dh; [`maglev`] holds mh, [`failover`] fo and ovf, [`locality`] lblc and
//! lblcr, [`twos`] twos. IPVS's "overloaded" flag (the upper connection threshold) has no
//! counterpart here: a destination is available for a new connection exactly when its
//! weight is above 0.
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
pub mod locality;
pub mod maglev;
pub mod twos;

pub use failover::{Failover, Overflow};
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

/// Number of buckets in the sh and dh tables (IPVS's default `IP_VS_{SH,DH}_TAB_BITS`).
pub const HASH_BUCKETS: usize = 1 << HASH_BITS;
const HASH_BITS: u32 = 8;

/// An address folded to 32 bits as IPVS's hashing schedulers do: IPv4 as a number,
/// IPv6 as the XOR of its four 32-bit words.
pub fn fold32(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let o = a.octets();
            o.chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .fold(0, |x, w| x ^ w)
        }
    }
}

/// The bucket an address hashes to in the sh/dh tables: the address folded to 32 bits
/// ([`fold32`]), times the kernel's `GOLDEN_RATIO_32`, top 8 bits (Linux's
/// `hash_32(addr, 8)`).
pub fn hash_bucket(addr: IpAddr) -> usize {
    sh_bucket(addr, 0, 0)
}

/// IPVS's `ip_vs_sh_hashkey`: `port` (0 without sh-port) is added to the folded address
/// before hashing, `offset` (the fallback's probe) after.
pub fn sh_bucket(addr: IpAddr, port: u16, offset: usize) -> usize {
    let v = fold32(addr).wrapping_add(u32::from(port));
    (offset + (v.wrapping_mul(0x61C8_8647) >> (32 - HASH_BITS)) as usize) % HASH_BUCKETS
}

/// A 256-bucket table mapping a hash to a destination index, shared by sh and dh.
#[derive(Debug, Clone, Default)]
struct BucketTable {
    /// Destination index per bucket; empty when not built (or no destinations).
    buckets: Vec<usize>,
    /// The weights the table was built for; None forces a rebuild.
    built_for: Option<Vec<i32>>,
}

impl BucketTable {
    /// Fill the buckets walking the destinations in the kernel's order (the last added
    /// first), wrapping around the list.
    /// `weighted` (sh): each destination takes `weight` consecutive buckets, at least one
    /// (IPVS gives a weight-0 destination one bucket too); otherwise (dh) one each.
    fn build(&mut self, dests: &[DestLoad], weighted: bool) {
        self.buckets.clear();
        if !dests.is_empty() {
            // The kernel's list order: the last added first.
            let order: Vec<usize> = (0..dests.len()).rev().collect();
            let (mut k, mut filled) = (0usize, 0i64);
            for _ in 0..HASH_BUCKETS {
                let p = order[k];
                self.buckets.push(p);
                filled += 1;
                if !weighted || filled >= i64::from(dests[p].weight) {
                    k = (k + 1) % order.len();
                    filled = 0;
                }
            }
        }
        self.built_for = Some(dests.iter().map(|d| d.weight).collect());
    }

    /// The destination owning `addr`'s bucket, rebuilding the table first when it was
    /// reset or built for other destinations (`weighted`: other weights too).
    fn owner(&mut self, dests: &[DestLoad], addr: IpAddr, weighted: bool) -> Option<usize> {
        self.owner_of(dests, hash_bucket(addr), weighted)
    }

    /// The destination owning `bucket`, rebuilding the table first as `owner` does.
    fn owner_of(&mut self, dests: &[DestLoad], bucket: usize, weighted: bool) -> Option<usize> {
        let current = self.built_for.as_ref().is_some_and(|w| {
            w.len() == dests.len()
                && (!weighted || w.iter().copied().eq(dests.iter().map(|d| d.weight)))
        });
        if !current {
            self.build(dests, weighted);
        }
        self.buckets
            .get(bucket)
            .copied()
            .filter(|&i| i < dests.len())
    }

    /// As `owner`, but None when the owner may not take a new connection (IPVS without
    /// the sh-fallback flag: no search for another destination).
    fn pick(&mut self, dests: &[DestLoad], addr: IpAddr, weighted: bool) -> Option<usize> {
        self.owner(dests, addr, weighted)
            .filter(|&i| available(&dests[i]))
    }

    fn reset(&mut self) {
        self.built_for = None;
    }
}

/// sh: source hashing: the client address (with sh-port, its port too) picks one of 256
/// buckets, which are shared among the destinations in proportion to their weights, so a
/// client sticks to one destination for as long as the set of destinations does not
/// change. If that destination is quiesced the connection is refused (None), unless the
/// sh-fallback flag is set: then IPVS's probe sequence (the bucket hashed again at offsets
/// 0, 1, 2, … from the first one) finds the first available owner. The table is rebuilt
/// on [`reset`](Scheduler::reset) and whenever the destinations' number or weights differ
/// from the ones it was built for (IPVS rebuilds it on every add, delete and edit).
#[derive(Debug, Clone, Default)]
pub struct SourceHashing {
    table: BucketTable,
    /// sh-fallback.
    fallback: bool,
    /// sh-port.
    port: bool,
}

impl SourceHashing {
    /// sh with the sh-fallback and sh-port flags as given.
    pub fn with_flags(fallback: bool, port: bool) -> SourceHashing {
        SourceHashing {
            fallback,
            port,
            ..SourceHashing::default()
        }
    }

    fn first_bucket(&self, key: &FlowKey) -> usize {
        sh_bucket(key.client, if self.port { key.client_port } else { 0 }, 0)
    }

    /// The destination `key`'s bucket belongs to, whether or not it may take a
    /// connection now (for diagnostics and tests).
    pub fn bucket_owner(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        let b = self.first_bucket(key);
        self.table.owner_of(dests, b, true)
    }
}

impl Scheduler for SourceHashing {
    fn name(&self) -> &'static str {
        "sh"
    }

    fn pick(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        let first = self.first_bucket(key);
        let owner = self.table.owner_of(dests, first, true)?;
        if available(&dests[owner]) {
            return Some(owner);
        }
        if !self.fallback {
            return None;
        }
        let port = if self.port { key.client_port } else { 0 };
        (0..HASH_BUCKETS)
            .map(|off| sh_bucket(key.client, port, (off + first) % HASH_BUCKETS))
            .filter_map(|b| self.table.buckets.get(b).copied())
            .find(|&i| dests.get(i).is_some_and(available))
    }

    fn reset(&mut self) {
        self.table.reset();
    }
}

/// dh: destination hashing: as sh but keyed by the virtual address the client connected
/// to (for cache farms behind a fwmark service, so one origin always hits one cache).
/// As in IPVS's `ip_vs_dh.c`, the 256 buckets are dealt out one per destination in turn,
/// ignoring weights; a weight only decides whether the owner may take the connection
/// (weight 0: None). The table is rebuilt on [`reset`](Scheduler::reset) and whenever
/// the number of destinations differs from the one it was built for.
#[derive(Debug, Clone, Default)]
pub struct DestinationHashing {
    table: BucketTable,
}

impl DestinationHashing {
    /// The destination `key`'s bucket belongs to, whether or not it may take a
    /// connection now (for diagnostics and tests).
    pub fn bucket_owner(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        self.table.owner(dests, key.vip, false)
    }
}

impl Scheduler for DestinationHashing {
    fn name(&self) -> &'static str {
        "dh"
    }

    fn pick(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        self.table.pick(dests, key.vip, false)
    }

    fn reset(&mut self) {
        self.table.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Destinations 10.9.0.1:80, 10.9.0.2:80, … with these weights.
    pub(crate) fn w(weights: &[i32]) -> Vec<DestLoad> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| DestLoad {
                addr: SocketAddr::new(Ipv4Addr::new(10, 9, 0, i as u8 + 1).into(), 80),
                weight,
                last_weight: weight,
                active: 0,
                inactive: 0,
            })
            .collect()
    }

    /// A destination at 0.0.0.0:0 (for schedulers that do not look at addresses).
    pub(crate) fn load(weight: i32, active: u32, inactive: u32) -> DestLoad {
        DestLoad {
            addr: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
            weight,
            last_weight: weight,
            active,
            inactive,
        }
    }

    pub(crate) fn key_from(client: IpAddr, vip: IpAddr) -> FlowKey {
        FlowKey {
            client,
            client_port: 40000,
            vip,
            vport: 80,
            now: Instant::now(),
        }
    }

    pub(crate) fn key() -> FlowKey {
        key_from(
            Ipv4Addr::new(192, 0, 2, 7).into(),
            Ipv4Addr::new(198, 51, 100, 1).into(),
        )
    }

    fn picks(s: &mut dyn Scheduler, dests: &[DestLoad], n: usize) -> Vec<Option<usize>> {
        (0..n).map(|_| s.pick(dests, &key())).collect()
    }

    fn counts(s: &mut dyn Scheduler, dests: &[DestLoad], n: usize) -> Vec<usize> {
        let mut c = vec![0; dests.len()];
        for p in picks(s, dests, n) {
            c[p.expect("a pick")] += 1;
        }
        c
    }

    #[test]
    fn rr_cycles_in_order_and_skips_weight_0() {
        let mut s = RoundRobin::default();
        let d = w(&[1, 0, 7, 1]);
        // Weight does not matter to rr, only whether it is above 0.
        assert_eq!(picks(&mut s, &d, 7), [0, 2, 3, 0, 2, 3, 0].map(Some));
        // The walk continues after the last pick when a destination comes back...
        let d = w(&[1, 1, 7, 1]);
        assert_eq!(picks(&mut s, &d, 4), [1, 2, 3, 0].map(Some));
        // ...and reset starts the round again from the first.
        s.pick(&d, &key());
        s.reset();
        assert_eq!(s.pick(&d, &key()), Some(0));
        // A shrunken list without reset wraps instead of indexing out of range.
        let mut s = RoundRobin::default();
        assert_eq!(picks(&mut s, &w(&[1, 1, 1, 1]), 4), [0, 1, 2, 3].map(Some));
        assert_eq!(s.pick(&w(&[1, 1]), &key()), Some(0));
    }

    #[test]
    fn wrr_matches_weights_exactly_per_cycle() {
        // gcd 1: a cycle is 5 + 3 + 2 = 10 picks; 1,000 picks are 100 whole cycles.
        let mut s = WeightedRoundRobin::default();
        assert_eq!(counts(&mut s, &w(&[5, 3, 2]), 1000), [500, 300, 200]);
        // gcd 2: weights 4,2,0 are 2:1 and the cycle is 3 picks (cw runs 3, 1).
        let mut s = WeightedRoundRobin::default();
        let d = w(&[4, 2, 0]);
        assert_eq!(picks(&mut s, &d, 6), [0, 0, 1, 0, 0, 1].map(Some));
        assert_eq!(counts(&mut s, &d, 300), [200, 100, 0]);
    }

    #[test]
    fn wrr_first_cycle_is_the_ipvs_interleaving() {
        // Weights a=4, b=3, c=2; gcd 1 so cw starts at 4 and steps down by 1:
        //   cw=4: only a (4>=4)           -> a
        //   cw=3: a (4>=3), b (3>=3)      -> a b
        //   cw=2: a, b, c (2>=2)          -> a b c
        //   cw=1: all                     -> a b c
        // then cw would reach 0 and restarts at 4: the cycle repeats.
        let mut s = WeightedRoundRobin::default();
        let d = w(&[4, 3, 2]);
        let (a, b, c) = (Some(0), Some(1), Some(2));
        let cycle = [a, a, b, a, b, c, a, b, c];
        assert_eq!(picks(&mut s, &d, 9), cycle);
        assert_eq!(picks(&mut s, &d, 9), cycle);
    }

    #[test]
    fn wrr_weight_change_restarts_at_head() {
        let mut s = WeightedRoundRobin::default();
        assert_eq!(picks(&mut s, &w(&[2, 1]), 2), [0, 0].map(Some));
        // Those two picks were a at cw=2 and a at cw=1. A third destination appears:
        // cw=1 is still in range so it is kept, but the walk restarts at the head, so
        // a (again) and c finish the cw=1 pass, then cw=2 picks a only, cw=1 a and c.
        let d = w(&[2, 0, 1]);
        assert_eq!(picks(&mut s, &d, 5), [0, 2, 0, 0, 2].map(Some));
        // Quiescing everything gives None; bringing one back picks it.
        assert_eq!(s.pick(&w(&[0, 0, 0]), &key()), None);
        s.reset();
        assert_eq!(s.pick(&w(&[0, 0, 3]), &key()), Some(2));
    }

    #[test]
    fn lc_least_overhead_first_on_ties() {
        let mut s = LeastConnection;
        // Overheads: 1*256 = 256 vs 0*256 + 300 = 300: one active outweighs 255 inactive.
        assert_eq!(s.pick(&[load(1, 1, 0), load(1, 0, 300)], &key()), Some(0));
        assert_eq!(s.pick(&[load(1, 1, 0), load(1, 0, 255)], &key()), Some(1));
        // Weight does not matter (except 0): 256 on weight 1 beats 257 on weight 100.
        assert_eq!(s.pick(&[load(100, 1, 1), load(1, 1, 0)], &key()), Some(1));
        // Ties go to the first.
        assert_eq!(
            s.pick(&[load(1, 2, 3), load(5, 2, 3), load(1, 2, 3)], &key()),
            Some(0)
        );
        // An idle quiesced destination is skipped.
        assert_eq!(
            s.pick(&[load(0, 0, 0), load(1, 9, 9), load(1, 9, 8)], &key()),
            Some(2)
        );
    }

    #[test]
    fn wlc_least_overhead_per_weight() {
        let mut s = WeightedLeastConnection;
        // 256/1 vs 512/3 (= 170.7): the heavier one, though busier.
        assert_eq!(s.pick(&[load(1, 1, 0), load(3, 2, 0)], &key()), Some(1));
        // 256/1 vs 1024/3 (= 341.3).
        assert_eq!(s.pick(&[load(1, 1, 0), load(3, 4, 0)], &key()), Some(0));
        // Exact tie 100/1 == 200/2 goes to the first, in either order of weights.
        assert_eq!(s.pick(&[load(1, 0, 100), load(2, 0, 200)], &key()), Some(0));
        assert_eq!(s.pick(&[load(2, 0, 200), load(1, 0, 100)], &key()), Some(0));
        // Weight 0 is skipped even when idle; all idle -> first available.
        assert_eq!(
            s.pick(&[load(0, 0, 0), load(2, 0, 0), load(9, 0, 0)], &key()),
            Some(1)
        );
        // No overflow with extreme values.
        let big = load(i32::MAX, u32::MAX, u32::MAX);
        assert_eq!(s.pick(&[big, load(1, u32::MAX, u32::MAX)], &key()), Some(0));
    }

    #[test]
    fn sed_least_expected_delay() {
        let mut s = ShortestExpectedDelay;
        // (0+1)/1 = 1 vs (1+1)/3 = 0.67: sed picks the busier heavy one, where wlc would
        // pick the idle one (overhead 0).
        let d = [load(1, 0, 0), load(3, 1, 0)];
        assert_eq!(s.pick(&d, &key()), Some(1));
        assert_eq!(WeightedLeastConnection.pick(&d, &key()), Some(0));
        // Inactive connections do not count: (0+1)/1 vs (1+1)/1.
        assert_eq!(s.pick(&[load(1, 0, 1000), load(1, 1, 0)], &key()), Some(0));
        // Tie (1+1)/2 == (0+1)/1 goes to the first; weight 0 is skipped.
        assert_eq!(
            s.pick(&[load(0, 0, 0), load(2, 1, 0), load(1, 0, 0)], &key()),
            Some(1)
        );
    }

    #[test]
    fn nq_idle_first_else_sed() {
        let mut s = NeverQueue;
        // The first idle available one, even if sed would prefer another.
        let d = [load(10, 1, 0), load(0, 0, 0), load(1, 0, 50), load(1, 0, 0)];
        assert_eq!(s.pick(&d, &key()), Some(2));
        assert_eq!(ShortestExpectedDelay.pick(&d, &key()), Some(0));
        // None idle: as sed, (3+1)/4 = 1 beats (1+1)/1 = 2.
        assert_eq!(s.pick(&[load(1, 1, 0), load(4, 3, 0)], &key()), Some(1));
        // None idle and a tie, (3+1)/2 == (1+1)/1: first.
        assert_eq!(s.pick(&[load(2, 3, 0), load(1, 1, 0)], &key()), Some(0));
    }

    fn v4(i: u32) -> IpAddr {
        Ipv4Addr::from(0x0a00_0000 + i).into()
    }

    fn vip() -> IpAddr {
        Ipv4Addr::new(198, 51, 100, 1).into()
    }

    #[test]
    fn sh_is_sticky_and_ignores_everything_but_the_client_address() {
        let mut s = SourceHashing::default();
        let d = w(&[1, 2, 3]);
        for i in 0..200 {
            let first = s.pick(&d, &key_from(v4(i), vip())).unwrap();
            for port in [1, 80, 65535] {
                let k = FlowKey {
                    client_port: port,
                    vport: port,
                    ..key_from(v4(i), v4(i + 9))
                };
                assert_eq!(s.pick(&d, &k), Some(first));
            }
        }
        // Stickiness survives a rebuild for the same destinations.
        let before: Vec<_> = (0..200)
            .map(|i| s.pick(&d, &key_from(v4(i), vip())))
            .collect();
        s.reset();
        let after: Vec<_> = (0..200)
            .map(|i| s.pick(&d, &key_from(v4(i), vip())))
            .collect();
        assert_eq!(before, after);
    }

    #[test]
    fn sh_table_and_distribution_follow_weights() {
        // Weights 3,1 fill the 256 buckets b a a a b a a a ...: exactly 192 and 64.
        let d = w(&[3, 1]);
        let mut t = BucketTable::default();
        t.build(&d, true);
        // The kernel's order: the last added (b) first.
        assert_eq!(&t.buckets[..8], [1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(t.buckets.iter().filter(|&&i| i == 0).count(), 192);
        // 65,536 consecutive IPv4 clients and as many IPv6 ones land within 2 percentage
        // points of the 75%/25% split (the hash spreads them evenly over the buckets).
        let mut s = SourceHashing::default();
        for client in [
            |i| v4(i),
            |i| IpAddr::from(Ipv6Addr::from(0x2001_0db8_u128 << 96 | i as u128)),
        ] {
            let mut c = [0usize; 2];
            for i in 0..65536u32 {
                c[s.pick(&d, &key_from(client(i), vip())).unwrap()] += 1;
            }
            let share = c[0] as f64 / 65536.0;
            assert!(
                (share - 0.75).abs() < 0.02,
                "share of weight 3: {share} ({c:?})"
            );
        }
    }

    #[test]
    fn sh_weight_0_bucket_gives_none() {
        let mut s = SourceHashing::default();
        // Like IPVS, a weight-0 destination still owns one bucket: here every other one.
        let d = w(&[1, 0]);
        let clients: Vec<_> = (0..64).map(v4).collect();
        let owners: Vec<_> = clients
            .iter()
            .map(|&c| s.bucket_owner(&d, &key_from(c, vip())).unwrap())
            .collect();
        assert!(owners.contains(&0) && owners.contains(&1));
        for (&c, &o) in clients.iter().zip(&owners) {
            let want = if o == 0 { Some(0) } else { None };
            assert_eq!(s.pick(&d, &key_from(c, vip())), want);
        }
        // Weights 2,2, then the second is quiesced: the table is rebuilt as IPVS does on
        // an edit (b a a b a a ...: the quiesced one keeps one bucket in three), the first
        // one's clients are served and the quiesced one's are refused.
        let d = w(&[2, 2]);
        assert!(
            clients
                .iter()
                .any(|&c| s.pick(&d, &key_from(c, vip())) == Some(1))
        );
        let d0 = w(&[2, 0]);
        s.reset();
        let mut refused = 0;
        for &c in &clients {
            let k = key_from(c, vip());
            match s.bucket_owner(&d0, &k) {
                Some(0) => assert_eq!(s.pick(&d0, &k), Some(0)),
                Some(1) => {
                    assert_eq!(s.pick(&d0, &k), None);
                    refused += 1;
                }
                o => panic!("owner {o:?}"),
            }
        }
        assert!(refused > 0);
    }

    #[test]
    fn dh_is_sticky_per_vip_and_ignores_the_client() {
        let mut s = DestinationHashing::default();
        let d = w(&[1, 2, 3]);
        for i in 0..200 {
            let first = s.pick(&d, &key_from(v4(1), v4(i))).unwrap();
            for c in 2..10 {
                let k = FlowKey {
                    client_port: c as u16,
                    ..key_from(v4(c), v4(i))
                };
                assert_eq!(s.pick(&d, &k), Some(first));
            }
        }
    }

    #[test]
    fn dh_deals_buckets_one_per_destination_like_ipvs() {
        // ip_vs_dh.c does not weight its table: weights 3,1 still get 128 buckets each.
        let d = w(&[3, 1]);
        let mut t = BucketTable::default();
        t.build(&d, false);
        assert_eq!(&t.buckets[..4], [1, 0, 1, 0]);
        // 65,536 VIPs: within 2 percentage points of 50/50.
        let mut s = DestinationHashing::default();
        let mut c = [0usize; 2];
        for i in 0..65536u32 {
            c[s.pick(&d, &key_from(v4(0), v4(i))).unwrap()] += 1;
        }
        let share = c[0] as f64 / 65536.0;
        assert!(
            (share - 0.5).abs() < 0.02,
            "share of dest 0: {share} ({c:?})"
        );
        // A quiesced owner gives None; others are unaffected.
        let mut d0 = d.clone();
        d0[1].weight = 0;
        for i in 0..256 {
            let k = key_from(v4(0), v4(i));
            let want = if s.bucket_owner(&d, &k) == Some(0) {
                Some(0)
            } else {
                None
            };
            assert_eq!(s.pick(&d0, &k), want);
        }
    }

    #[test]
    fn empty_and_all_zero_give_none_for_every_scheduler() {
        for &name in NAMES {
            let mut s = by_name(name).unwrap();
            for d in [
                vec![],
                w(&[0]),
                w(&[0, 0, 0]),
                vec![load(0, 0, 0), load(-1, 0, 0)],
            ] {
                for _ in 0..3 {
                    assert_eq!(s.pick(&d, &key()), None, "{name} on {d:?}");
                }
                s.reset();
            }
        }
    }

    #[test]
    fn by_name_knows_exactly_names() {
        for &name in NAMES {
            assert_eq!(by_name(name).map(|s| s.name()), Some(name));
        }
        for name in ["fifo", "bogus", "", "RR", "mh-port"] {
            assert!(by_name(name).is_none(), "{name}");
        }
    }

    #[test]
    fn hash_bucket_folds_ipv6_and_uses_top_bits() {
        assert_eq!(hash_bucket(Ipv4Addr::UNSPECIFIED.into()), 0);
        // 1 * 0x61C88647 >> 24 = 0x61.
        assert_eq!(hash_bucket(Ipv4Addr::from(1).into()), 0x61);
        // An IPv6 address whose words XOR to 1 hashes as 0.0.0.1.
        let a = Ipv6Addr::from(0x0000_0005_0000_0005_0000_0000_0000_0001_u128);
        assert_eq!(hash_bucket(a.into()), 0x61);
    }

    proptest! {
        #[test]
        fn picks_only_available_destinations(
            dests in prop::collection::vec((0i32..=5, 0u32..4, 0u32..600), 1..=6),
            clients in prop::collection::vec(any::<u32>(), 1..20),
            v in any::<u32>(),
        ) {
            let dests: Vec<DestLoad> = dests
                .into_iter()
                .zip(w(&[0; 6]))
                .map(|((weight, active, inactive), at)| DestLoad { addr: at.addr, ..load(weight, active, inactive) })
                .collect();
            let any_up = dests.iter().any(|d| d.weight > 0);
            for &name in NAMES {
                let mut s = by_name(name).unwrap();
                let mut sh = SourceHashing::default();
                let mut dh = DestinationHashing::default();
                let mut mh = Maglev::default();
                for &c in &clients {
                    let k = key_from(Ipv4Addr::from(c).into(), Ipv4Addr::from(v ^ c).into());
                    let p = s.pick(&dests, &k);
                    if !any_up {
                        prop_assert_eq!(p, None, "{}", name);
                        continue;
                    }
                    let owner = match name {
                        "sh" => sh.bucket_owner(&dests, &k),
                        "dh" => dh.bucket_owner(&dests, &k),
                        "mh" => mh.owner(&dests, &k),
                        _ => None,
                    };
                    match p {
                        Some(i) => {
                            prop_assert!(dests[i].weight > 0, "{} picked {}", name, i);
                            if owner.is_some() {
                                prop_assert_eq!(owner, Some(i), "{}", name);
                            }
                        }
                        None if name == "ovf" => prop_assert!(
                            dests.iter().all(|d| d.weight <= 0 || i64::from(d.active) > i64::from(d.weight)),
                            "ovf refused with room left"
                        ),
                        None => {
                            let o = owner.expect("only sh/dh/mh/ovf may refuse while some weight > 0");
                            prop_assert!(dests[o].weight <= 0, "{} refused for owner {}", name, o);
                        }
                    }
                }
            }
        }

        #[test]
        fn wrr_and_rr_cycles_are_exact(weights in prop::collection::vec(0i32..=5, 1..=6)) {
            let g = weights.iter().filter(|&&w| w > 0).fold(0, |g, &w| if g == 0 { w } else { gcd(g, w) });
            prop_assume!(g > 0);
            let d = w(&weights);
            // wrr: one cycle is sum(weights)/gcd picks, each destination weight/gcd times.
            let cycle: i32 = weights.iter().sum::<i32>() / g;
            let mut s = WeightedRoundRobin::default();
            for _ in 0..3 {
                let c = counts(&mut s, &d, cycle as usize);
                let want: Vec<usize> = weights.iter().map(|&x| (x / g) as usize).collect();
                prop_assert_eq!(c, want);
            }
            // rr: one round picks every available destination once.
            let up = weights.iter().filter(|&&x| x > 0).count();
            let mut s = RoundRobin::default();
            let c = counts(&mut s, &d, 3 * up);
            let want: Vec<usize> = weights.iter().map(|&x| if x > 0 { 3 } else { 0 }).collect();
            prop_assert_eq!(c, want);
        }
    }
}
