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
