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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::tests::{key, w};

    #[test]
    fn draws_land_by_weight_in_the_kernels_order() {
        // Kernel order is c (weight 1), b (2), a (3); draws 0..=6.
        let d = w(&[3, 2, 1]);
        let land: Vec<_> = (0..=6).map(|r| TwoChoices::landing(&d, r)).collect();
        assert_eq!(land, [2, 2, 1, 1, 0, 0, 0].map(Some));
        // A quiesced server is never landed on.
        let q = w(&[3, 0, 1]);
        assert!((0..=4).all(|r| TwoChoices::landing(&q, r) != Some(1)));
    }

    #[test]
    fn the_less_loaded_per_weight_of_the_two_wins() {
        let mut d = w(&[3, 2, 1]);
        d[0].active = 3; // 768 / 3 = 256
        d[1].active = 1; // 256 / 2 = 128
        // Draws on a (r = 6) and b (r = 2): b is less loaded per weight.
        assert_eq!(TwoChoices::choose(&d, 6, 2), Some(1));
        assert_eq!(TwoChoices::choose(&d, 2, 6), Some(1));
        // A tie keeps the first draw.
        d[1].active = 2; // 512 / 2 = 256
        assert_eq!(TwoChoices::choose(&d, 6, 2), Some(0));
        assert_eq!(TwoChoices::choose(&d, 2, 6), Some(1));
    }

    #[test]
    fn a_seed_is_one_reproducible_sequence_that_balances() {
        let run = |seed| {
            let mut s = TwoChoices::new(seed);
            let mut d = w(&[3, 2, 1]);
            let picks: Vec<usize> = (0..600)
                .map(|_| {
                    let i = s.pick(&d, &key()).unwrap();
                    d[i].active += 1;
                    i
                })
                .collect();
            (picks, d.iter().map(|x| x.active).collect::<Vec<_>>())
        };
        let (p1, c1) = run(7);
        assert_eq!(run(7).0, p1);
        assert_ne!(run(8).0, p1);
        // Two choices keep the load per weight close: 300/200/100 within a few.
        for (got, want) in c1.iter().zip([300u32, 200, 100]) {
            assert!(got.abs_diff(want) <= 15, "{c1:?}");
        }
        assert_eq!(TwoChoices::new(1).pick(&w(&[0, 0]), &key()), None);
    }
}
