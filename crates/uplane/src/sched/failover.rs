//! fo and ovf: all new connections to one server, the heaviest, as Linux's `ip_vs_fo` and
//! `ip_vs_ovf` do. Both walk the destinations in the kernel's list order (newest first),
//! so of two equally heavy servers the one added last wins.

use super::{DestLoad, FlowKey, Scheduler, available};

/// The heaviest destination `eligible` accepts; ties go to the one added last.
fn heaviest(dests: &[DestLoad], eligible: impl Fn(&DestLoad) -> bool) -> Option<usize> {
    let mut best: Option<(usize, i32)> = None;
    for (i, d) in dests.iter().enumerate().rev() {
        if available(d) && eligible(d) && best.is_none_or(|(_, w)| d.weight > w) {
            best = Some((i, d.weight));
        }
    }
    best.map(|(i, _)| i)
}

/// fo: weighted failover: every new connection goes to the available destination with
/// the highest weight; the next heaviest takes over when it is quiesced or removed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Failover;

impl Scheduler for Failover {
    fn name(&self) -> &'static str {
        "fo"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        heaviest(dests, |_| true)
    }
}

/// ovf: overflow: as fo, but a destination whose active connections exceed its weight is
/// passed over (it takes connections while `active <= weight`), so the weight is a
/// connection limit and the excess overflows to the next heaviest.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overflow;

impl Scheduler for Overflow {
    fn name(&self) -> &'static str {
        "ovf"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        heaviest(dests, |d| i64::from(d.active) <= i64::from(d.weight))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::tests::{key, w};

    #[test]
    fn fo_sends_everything_to_the_heaviest_available() {
        let mut s = Failover;
        let mut d = w(&[2, 5, 3]);
        d[1].active = 1000;
        // Load does not matter: the heaviest takes every connection.
        assert_eq!(s.pick(&d, &key()), Some(1));
        // Quiesced: the next heaviest takes over.
        d[1].weight = 0;
        assert_eq!(s.pick(&d, &key()), Some(2));
        // Equal weights: the one added last (first in the kernel's list).
        assert_eq!(s.pick(&w(&[4, 4, 1]), &key()), Some(1));
        assert_eq!(s.pick(&w(&[0, 0]), &key()), None);
    }

    #[test]
    fn ovf_overflows_past_weight_many_active_connections() {
        let mut s = Overflow;
        let mut d = w(&[3, 2, 1]);
        let mut got = Vec::new();
        while let Some(i) = s.pick(&d, &key()) {
            got.push(i);
            d[i].active += 1;
        }
        // The heaviest until its active connections exceed its weight (0..=3 → 4), then
        // the next, and none once all have overflowed.
        assert_eq!(got, [0, 0, 0, 0, 1, 1, 1, 2, 2]);
        // Inactive connections do not count; a closed one makes room again.
        d[0].inactive = 1000;
        d[0].active = 3;
        assert_eq!(s.pick(&d, &key()), Some(0));
        // Ties: the one added last.
        assert_eq!(s.pick(&w(&[2, 2]), &key()), Some(1));
    }
}
