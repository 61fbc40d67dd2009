//! twos: the power of two random choices, as Linux's `ip_vs_twos` (6.6) does it: two
//! destinations drawn at random in proportion to their weights, and the less loaded of the
//! two (connection overhead per unit of weight) takes the connection.
//!
//! The randomness is injected: the scheduler draws from its own generator (SplitMix64),
//! seeded by its owner, so a seed gives one reproducible sequence of picks.

use super::{DestLoad, FlowKey, Scheduler, available, overhead};

/// twos with its random generator.
#[derive(Debug, Clone)]
pub struct TwoChoices {
    state: u64,
}

impl TwoChoices {
    pub fn new(seed: u64) -> TwoChoices {
        TwoChoices { state: seed }
    }

    /// SplitMix64's next output.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The destination the weighted draw `r` (0 to the total weight, inclusive) lands on,
    /// walking the kernel's order (newest first): the first whose running total reaches `r`.
    fn landing(dests: &[DestLoad], mut r: i64) -> Option<usize> {
        for (i, d) in dests.iter().enumerate().rev().filter(|(_, d)| available(d)) {
            r -= i64::from(d.weight);
            if r <= 0 {
                return Some(i);
            }
        }
        None
    }

    /// The pick for the draws `r1` and `r2` (the deterministic half of [`Scheduler::pick`]).
    pub fn choose(dests: &[DestLoad], r1: i64, r2: i64) -> Option<usize> {
        let c1 = Self::landing(dests, r1)?;
        let Some(c2) = Self::landing(dests, r2) else {
            return Some(c1);
        };
        let (d1, d2) = (&dests[c1], &dests[c2]);
        let lhs = i128::from(d2.weight) * i128::from(overhead(d1));
        let rhs = i128::from(d1.weight) * i128::from(overhead(d2));
        Some(if lhs > rhs { c2 } else { c1 })
    }
}

impl Scheduler for TwoChoices {
    fn name(&self) -> &'static str {
        "twos"
    }

    fn pick(&mut self, dests: &[DestLoad], _key: &FlowKey) -> Option<usize> {
        let total: i64 = dests
            .iter()
            .filter(|d| available(d))
            .map(|d| i64::from(d.weight))
            .sum();
        if total == 0 {
            return None;
        }
        // Both draws are uniform over 0..=total (the kernel adds 1 to the total for that).
        let span = (total + 1) as u64;
        let r1 = (self.next() % span) as i64;
        let r2 = (self.next() % span) as i64;
        Self::choose(dests, r1, r2)
    }
}
