//! lblc and lblcr: locality-based least connections, as Linux's `ip_vs_lblc` and
//! `ip_vs_lblcr` do it. Both remember, per destination address of the packets (the VIP,
//! for the address-and-port services this data plane forwards), the real server (lblc) or
//! set of real servers (lblcr) that took them, and keep using it while it is not
//! overloaded; otherwise they pick as wlc does and remember that. Overloaded here is
//! IPVS's rule: more active connections than its weight while some server has fewer than
//! half its weight. An entry unused for [`EXPIRATION`] (the kernel's default of the
//! `lblc_expiration` and `lblcr_expiration` sysctls) is forgotten, at the first pick after
//! (the kernel's timer sweeps them instead). The time is the flow's [`FlowKey::now`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::{DestLoad, FlowKey, Scheduler, available, overhead};

/// How long an unused entry is remembered (one day).
pub const EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Whether `a/wa` is more than `b/wb` (overheads per weight, by cross-multiplication).
fn heavier(a: u64, wa: i32, b: u64, wb: i32) -> bool {
    u128::from(a) * u128::from(wb.unsigned_abs()) > u128::from(b) * u128::from(wa.unsigned_abs())
}

/// wlc over `candidates` (indices into `dests`, walked in the order given): the first
/// available one, replaced only by one strictly less loaded per unit of weight.
fn least_loaded(dests: &[DestLoad], candidates: impl Iterator<Item = usize>) -> Option<usize> {
    let mut least: Option<usize> = None;
    for i in candidates {
        let d = &dests[i];
        if !available(d) {
            continue;
        }
        match least {
            Some(l) if !heavier(overhead(&dests[l]), d.weight, overhead(d), dests[l].weight) => {}
            _ => least = Some(i),
        }
    }
    least
}

/// The kernel's order: newest first.
fn kernel_order(dests: &[DestLoad]) -> impl Iterator<Item = usize> {
    (0..dests.len()).rev()
}

/// IPVS's `is_overloaded` for lblc/lblcr.
fn overloaded(d: &DestLoad, dests: &[DestLoad]) -> bool {
    i64::from(d.active) > i64::from(d.weight)
        && dests
            .iter()
            .any(|o| i64::from(o.active) * 2 < i64::from(o.weight))
}

fn position(dests: &[DestLoad], addr: SocketAddr) -> Option<usize> {
    dests.iter().position(|d| d.addr == addr)
}

/// lblc: one real server per destination address.
#[derive(Debug, Clone)]
pub struct LocalityBased {
    /// Destination address → (its real server, last use).
    entries: HashMap<IpAddr, (SocketAddr, Instant)>,
    expiration: Duration,
}

impl Default for LocalityBased {
    fn default() -> Self {
        LocalityBased::with_expiration(EXPIRATION)
    }
}

impl LocalityBased {
    pub fn with_expiration(expiration: Duration) -> LocalityBased {
        LocalityBased {
            entries: HashMap::new(),
            expiration,
        }
    }
}

impl Scheduler for LocalityBased {
    fn name(&self) -> &'static str {
        "lblc"
    }

    fn pick(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        let (now, exp) = (key.now, self.expiration);
        self.entries.retain(|_, (_, used)| *used + exp > now);
        if let Some((addr, used)) = self.entries.get_mut(&key.vip) {
            *used = now;
            if let Some(i) = position(dests, *addr)
                && available(&dests[i])
                && !overloaded(&dests[i], dests)
            {
                return Some(i);
            }
        }
        let i = least_loaded(dests, kernel_order(dests))?;
        self.entries.insert(key.vip, (dests[i].addr, now));
        Some(i)
    }
}

/// lblcr's set of real servers for one destination address.
#[derive(Debug, Clone)]
struct ServerSet {
    /// In insertion order (the kernel's list is the reverse: newest first).
    members: Vec<SocketAddr>,
    /// When a member was last added or removed.
    modified: Instant,
    used: Instant,
}

impl ServerSet {
    /// Indices in `dests` of the members still there, newest member first.
    fn present(&self, dests: &[DestLoad]) -> Vec<usize> {
        self.members
            .iter()
            .rev()
            .filter_map(|&a| position(dests, a))
            .collect()
    }

    /// The most loaded member per unit of weight (positive weights only), first on ties.
    fn most_loaded(&self, dests: &[DestLoad]) -> Option<usize> {
        let mut most: Option<usize> = None;
        for i in self.present(dests) {
            let d = &dests[i];
            if d.weight <= 0 {
                continue;
            }
            match most {
                Some(m) if !heavier(overhead(d), d.weight, overhead(&dests[m]), dests[m].weight) => {}
                _ => most = Some(i),
            }
        }
        most
    }
}

/// lblcr: a set of real servers per destination address, grown when all its members are
/// overloaded (the least loaded server joins) and shrunk by its most loaded member when it
/// has more than one and has not changed for [`EXPIRATION`].
#[derive(Debug, Clone)]
pub struct LocalityBasedReplicated {
    entries: HashMap<IpAddr, ServerSet>,
    expiration: Duration,
}

impl Default for LocalityBasedReplicated {
    fn default() -> Self {
        LocalityBasedReplicated::with_expiration(EXPIRATION)
    }
}

impl LocalityBasedReplicated {
    pub fn with_expiration(expiration: Duration) -> LocalityBasedReplicated {
        LocalityBasedReplicated {
            entries: HashMap::new(),
            expiration,
        }
    }

    /// The members of `vip`'s set, oldest first (for tests).
    pub fn members(&self, vip: IpAddr) -> Vec<SocketAddr> {
        self.entries
            .get(&vip)
            .map_or_else(Vec::new, |s| s.members.clone())
    }
}

impl Scheduler for LocalityBasedReplicated {
    fn name(&self) -> &'static str {
        "lblcr"
    }

    fn pick(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        let (now, exp) = (key.now, self.expiration);
        self.entries.retain(|_, s| s.used + exp > now);
        let Some(set) = self.entries.get_mut(&key.vip) else {
            let i = least_loaded(dests, kernel_order(dests))?;
            let set = ServerSet {
                members: vec![dests[i].addr],
                modified: now,
                used: now,
            };
            self.entries.insert(key.vip, set);
            return Some(i);
        };
        set.used = now;
        // Members no longer in the table can never be picked again: they leave the set.
        set.members.retain(|&a| position(dests, a).is_some());
        let least = least_loaded(dests, set.present(dests).into_iter());
        if set.members.len() > 1
            && now > set.modified + exp
            && let Some(m) = set.most_loaded(dests)
        {
            set.members.retain(|&a| a != dests[m].addr);
            set.modified = now;
        }
        if let Some(i) = least
            && !overloaded(&dests[i], dests)
        {
            return Some(i);
        }
        let i = least_loaded(dests, kernel_order(dests))?;
        if !set.members.contains(&dests[i].addr) {
            set.members.push(dests[i].addr);
            set.modified = now;
        }
        Some(i)
    }
}
