//! When to write the fragment and ask BIRD to reconfigure (pure, time injected).
//!
//! The owner says what it wants announced ([`Pacer::want`]); [`Pacer::next`] says what to do
//! now: apply a set, wait until a retry is due, or nothing. A failed attempt is retried after
//! 1, 2, 4, 8, 16 and then every 30 seconds; a new set is tried at once (a withdrawal must
//! not wait for the back-off of an announcement BIRD refused). One attempt runs at a time.

use std::time::{Duration, Instant};

use crate::plan::Vips;

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write this set and reconfigure BIRD, then report with [`Pacer::done`].
    Apply(Vips),
    /// A retry is due then.
    WaitUntil(Instant),
    /// Nothing until the wanted set changes (or an attempt under way ends).
    Idle,
}

/// The back-off after `failures` attempts in a row failed.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

/// The announcement's state.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    wanted: Vips,
    /// What BIRD last accepted (`None` at start and after a failure: apply again).
    applied: Option<Vips>,
    failures: u32,
    retry_at: Option<Instant>,
    busy: bool,
}

impl Pacer {
    pub fn new() -> Pacer {
        Pacer::default()
    }

    /// The set to announce from now on.
    pub fn want(&mut self, vips: Vips) {
        if vips != self.wanted {
            self.wanted = vips;
            self.retry_at = None;
        }
    }

    pub fn wanted(&self) -> &Vips {
        &self.wanted
    }

    /// What BIRD last accepted.
    pub fn applied(&self) -> Option<&Vips> {
        self.applied.as_ref()
    }

    /// Failed attempts in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// BIRD has accepted the wanted set.
    pub fn settled(&self) -> bool {
        self.applied.as_ref() == Some(&self.wanted)
    }

    /// What to do at `now`; an [`Step::Apply`] marks an attempt as under way.
    pub fn next(&mut self, now: Instant) -> Step {
        if self.busy || self.settled() {
            return Step::Idle;
        }
        match self.retry_at {
            Some(t) if t > now => Step::WaitUntil(t),
            _ => {
                self.busy = true;
                Step::Apply(self.wanted.clone())
            }
        }
    }

    /// The attempt with `vips` ended; the delay before the next try when it failed.
    pub fn done(&mut self, vips: Vips, ok: bool, now: Instant) -> Option<Duration> {
        self.busy = false;
        if ok {
            self.applied = Some(vips);
            self.failures = 0;
            self.retry_at = None;
            return None;
        }
        self.applied = None;
        self.failures = self.failures.saturating_add(1);
        let wait = backoff(self.failures);
        self.retry_at = Some(now + wait);
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ips: &[&str]) -> Vips {
        ips.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn the_first_step_writes_even_an_empty_set() {
        let now = Instant::now();
        let mut p = Pacer::new();
        assert_eq!(
            p.next(now),
            Step::Apply(Vips::new()),
            "a stale file is replaced"
        );
        assert_eq!(p.next(now), Step::Idle, "one attempt at a time");
        assert_eq!(p.done(Vips::new(), true, now), None);
        assert!(p.settled());
        assert_eq!(p.next(now), Step::Idle);
        p.want(set(&["10.0.0.1"]));
        assert!(!p.settled());
        assert_eq!(p.next(now), Step::Apply(set(&["10.0.0.1"])));
    }

    #[test]
    fn failures_back_off_and_a_new_set_is_tried_at_once() {
        let t0 = Instant::now();
        let mut p = Pacer::new();
        p.want(set(&["10.0.0.1"]));
        let Step::Apply(v) = p.next(t0) else { panic!() };
        assert_eq!(p.done(v, false, t0), Some(Duration::from_secs(1)));
        assert_eq!(p.next(t0), Step::WaitUntil(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        let Step::Apply(v) = p.next(t1) else { panic!() };
        assert_eq!(p.done(v, false, t1), Some(Duration::from_secs(2)));
        assert_eq!(p.failures(), 2);
        // A withdrawal does not wait for the back-off.
        p.want(Vips::new());
        assert_eq!(p.next(t1), Step::Apply(Vips::new()));
        assert_eq!(p.done(Vips::new(), true, t1), None);
        assert_eq!(p.failures(), 0);
        assert_eq!(p.applied(), Some(&Vips::new()));
    }

    #[test]
    fn an_attempt_with_an_older_set_leaves_the_newer_one_to_apply() {
        let now = Instant::now();
        let mut p = Pacer::new();
        p.want(set(&["10.0.0.1"]));
        let Step::Apply(v) = p.next(now) else {
            panic!()
        };
        p.want(set(&["10.0.0.1", "10.0.0.2"]));
        p.done(v, true, now);
        assert!(!p.settled());
        assert_eq!(p.next(now), Step::Apply(set(&["10.0.0.1", "10.0.0.2"])));
    }

    #[test]
    fn backoff_doubles_to_thirty_seconds() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
