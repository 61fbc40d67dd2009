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
            Some(l) if !heavier(overhead(&dests[l]), dests[l].weight, overhead(d), d.weight) => {}
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
                Some(m)
                    if !heavier(overhead(d), d.weight, overhead(&dests[m]), dests[m].weight) => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::tests::{key_from, w};
    use std::net::Ipv4Addr;

    fn at(vip: u8, now: Instant) -> FlowKey {
        FlowKey {
            now,
            ..key_from(
                Ipv4Addr::new(192, 0, 2, 1).into(),
                Ipv4Addr::new(198, 51, 100, vip).into(),
            )
        }
    }

    /// Pick `n` times, each pick holding one more active connection.
    fn run(s: &mut dyn Scheduler, d: &mut [DestLoad], k: &FlowKey, n: usize) -> Vec<usize> {
        (0..n)
            .map(|_| {
                let i = s.pick(d, k).unwrap();
                d[i].active += 1;
                i
            })
            .collect()
    }

    #[test]
    fn lblc_sticks_to_one_server_until_it_is_overloaded() {
        let t0 = Instant::now();
        let mut s = LocalityBased::default();
        let mut d = w(&[3, 2, 1]);
        // All idle: wlc's first in the kernel's order (the last added, c) takes the VIP;
        // c is overloaded past 1 active connection while a has fewer than 1.5, so b, then
        // a; once nobody has less than half its weight, nothing counts as overloaded and a
        // keeps the VIP.
        let got = run(&mut s, &mut d, &at(1, t0), 20);
        assert_eq!(&got[..7], [2, 2, 1, 1, 1, 0, 0]);
        assert!(got[7..].iter().all(|&i| i == 0), "{got:?}");
        // Another VIP has its own entry.
        let mut fresh = w(&[3, 2, 1]);
        assert_eq!(s.pick(&fresh, &at(2, t0)), Some(2));
        // Quiesced (or removed) owner: rescheduled (b, the next in the kernel's order
        // among the idle), and the entry follows.
        fresh[2].weight = 0;
        assert_eq!(s.pick(&fresh, &at(2, t0)), Some(1));
        fresh[2].weight = 1;
        assert_eq!(s.pick(&fresh, &at(2, t0)), Some(1));
    }

    #[test]
    fn lblc_forgets_an_entry_unused_for_the_expiration() {
        let t0 = Instant::now();
        let mut s = LocalityBased::with_expiration(Duration::from_secs(60));
        let mut d = w(&[1, 1]);
        assert_eq!(s.pick(&d, &at(1, t0)), Some(1));
        // Now 0 is less loaded, but the entry holds (1 is not overloaded)...
        d[1].active = 1;
        assert_eq!(s.pick(&d, &at(1, t0 + Duration::from_secs(59))), Some(1));
        // ...and each use renews it; 60 s without one and it is gone: wlc picks again.
        assert_eq!(s.pick(&d, &at(1, t0 + Duration::from_secs(118))), Some(1));
        assert_eq!(s.pick(&d, &at(1, t0 + Duration::from_secs(178))), Some(0));
    }

    #[test]
    fn lblcr_grows_its_set_under_load_and_spreads_over_it() {
        let t0 = Instant::now();
        let mut s = LocalityBasedReplicated::with_expiration(Duration::from_secs(60));
        let mut d = w(&[3, 2, 1]);
        let got = run(&mut s, &mut d, &at(1, t0), 600);
        // Every server joined the set; wlc within the set then keeps 3:2:1.
        assert_eq!(s.members(d[0].addr.ip()).len(), 0);
        let vip = at(1, t0).vip;
        assert_eq!(s.members(vip).len(), 3);
        let count = |x| got.iter().filter(|&&i| i == x).count();
        assert_eq!((count(0), count(1), count(2)), (300, 200, 100));
    }

    #[test]
    fn lblcr_drops_its_most_loaded_member_when_the_set_is_old() {
        let t0 = Instant::now();
        let exp = Duration::from_secs(60);
        let mut s = LocalityBasedReplicated::with_expiration(exp);
        let mut d = w(&[1, 1]);
        // c (index 1) first; 2 active on it with 0 on a: overloaded, a joins.
        run(&mut s, &mut d, &at(1, t0), 3);
        let vip = at(1, t0).vip;
        assert_eq!(s.members(vip), [d[1].addr, d[0].addr]);
        // Later than the expiration after the last change: the most loaded leaves.
        d[0].active = 5;
        d[1].active = 1;
        let later = t0 + exp + Duration::from_secs(1);
        assert_eq!(s.pick(&d, &at(1, later)), Some(1));
        assert_eq!(s.members(vip), [d[1].addr]);
        // A removed member leaves the set at once.
        let only_a = [d[0]];
        assert_eq!(s.pick(&only_a, &at(1, later)), Some(0));
        assert_eq!(s.members(vip), [d[0].addr]);
    }
}
