//! FOS: the pause before starting fos again when it keeps failing at once (a wrong `--fos`, a
//! broken file), so it is not restarted in a tight loop. Pure: time is passed in.

use std::time::{Duration, Instant};

/// A fos that ends within this time of its start, with a failure, counts as failing at once.
pub const QUICK: Duration = Duration::from_secs(5);
/// The first pause...
pub const FIRST: Duration = Duration::from_secs(1);
/// ...doubling up to this.
pub const MAX: Duration = Duration::from_secs(30);

/// The back-off state of the fos starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    last_start: Option<Instant>,
    pause: Duration,
}

impl Backoff {
    /// The pause before a start at `now`. `last_failed`: the fos started last has ended on
    /// its own with a failure (or was not started at all). One that pulse stopped, or that
    /// ended normally (a monitor's failover condition), is started again at once.
    pub fn before_start(&mut self, now: Instant, last_failed: bool) -> Duration {
        let crashed = last_failed
            && self
                .last_start
                .is_some_and(|t| now.saturating_duration_since(t) < QUICK);
        self.pause = if crashed {
            (self.pause * 2).clamp(FIRST, MAX)
        } else {
            Duration::ZERO
        };
        self.pause
    }

    /// A fos was started at `at`.
    pub fn started(&mut self, at: Instant) {
        self.last_start = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn first_start_and_stopped_or_normal_ends_have_no_pause() {
        let t = Instant::now();
        let mut b = Backoff::default();
        assert_eq!(
            b.before_start(t, true),
            Duration::ZERO,
            "nothing started yet"
        );
        b.started(t);
        // Ended normally (or was stopped by pulse): again at once, however soon.
        assert_eq!(b.before_start(t + s(1), false), Duration::ZERO);
    }

    #[test]
    fn quick_failures_double_the_pause_up_to_the_limit() {
        let t = Instant::now();
        let mut b = Backoff::default();
        b.started(t);
        let mut at = t;
        let mut pauses = Vec::new();
        for _ in 0..8 {
            at += s(1);
            let p = b.before_start(at, true);
            pauses.push(p.as_secs());
            at += p;
            b.started(at);
        }
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn a_fos_that_lived_long_enough_resets_the_pause() {
        let t = Instant::now();
        let mut b = Backoff::default();
        b.started(t);
        assert_eq!(b.before_start(t + s(1), true), s(1));
        b.started(t + s(2));
        assert_eq!(b.before_start(t + s(3), true), s(2));
        b.started(t + s(5));
        // Failed, but after running for 5 s: not "at once".
        assert_eq!(b.before_start(t + s(10), true), Duration::ZERO);
        b.started(t + s(10));
        assert_eq!(b.before_start(t + s(11), true), s(1), "starts over at 1 s");
    }
}
