//! Failed logins per client address: a pure limiter, time given by the caller.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures allowed per address within [`Limiter::window`] before logins are refused.
pub const MAX_FAILURES: usize = 5;
/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Counts failed logins per client address in a sliding window. With [`MAX_FAILURES`] failures
/// in the last [`WINDOW`], the address must wait until the oldest of them leaves the window.
#[derive(Debug, Clone)]
pub struct Limiter {
    max: usize,
    window: Duration,
    failures: HashMap<IpAddr, Vec<Instant>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(MAX_FAILURES, WINDOW)
    }
}

impl Limiter {
    pub fn new(max: usize, window: Duration) -> Limiter {
        Limiter {
            max: max.max(1),
            window,
            failures: HashMap::new(),
        }
    }

    /// The window failures are counted in.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// `Ok` when `ip` may try to log in at `now`, else how long it must wait.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(list) = self.failures.get_mut(&ip) else {
            return Ok(());
        };
        let window = self.window;
        list.retain(|t| now.saturating_duration_since(*t) < window);
        if list.is_empty() {
            self.failures.remove(&ip);
            return Ok(());
        }
        if list.len() < self.max {
            return Ok(());
        }
        let oldest = list[list.len() - self.max];
        Err(window.saturating_sub(now.saturating_duration_since(oldest)))
    }

    /// Record a failed login of `ip` at `now`.
    pub fn fail(&mut self, ip: IpAddr, now: Instant) {
        let window = self.window;
        let max = self.max;
        let list = self.failures.entry(ip).or_default();
        list.retain(|t| now.saturating_duration_since(*t) < window);
        list.push(now);
        if list.len() > max {
            list.remove(0);
        }
        // Forget addresses that stopped trying, so the map does not grow without bound.
        if self.failures.len() > 10_000 {
            self.failures
                .retain(|_, l| l.iter().any(|t| now.saturating_duration_since(*t) < window));
        }
    }

    /// A successful login clears the address's failures.
    pub fn succeed(&mut self, ip: IpAddr) {
        self.failures.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn five_failures_in_a_minute_block_until_the_first_expires() {
        let t0 = Instant::now();
        let mut l = Limiter::default();
        let a = ip("192.0.2.1");
        for i in 0..5 {
            assert_eq!(l.check(a, t0 + Duration::from_secs(i)), Ok(()));
            l.fail(a, t0 + Duration::from_secs(i));
        }
        assert_eq!(
            l.check(a, t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(50))
        );
        // Another address is not affected.
        assert_eq!(l.check(ip("2001:db8::1"), t0), Ok(()));
        // The first failure leaves the window at 60 s: one more try.
        assert_eq!(l.check(a, t0 + Duration::from_secs(60)), Ok(()));
        l.fail(a, t0 + Duration::from_secs(60));
        assert_eq!(
            l.check(a, t0 + Duration::from_secs(60)),
            Err(Duration::from_secs(1))
        );
    }

    #[test]
    fn four_failures_do_not_block_and_success_clears() {
        let t0 = Instant::now();
        let mut l = Limiter::default();
        let a = ip("192.0.2.1");
        for _ in 0..4 {
            l.fail(a, t0);
        }
        assert_eq!(l.check(a, t0), Ok(()));
        l.succeed(a);
        for _ in 0..4 {
            l.fail(a, t0);
        }
        assert_eq!(l.check(a, t0), Ok(()));
        l.fail(a, t0);
        assert!(l.check(a, t0).is_err());
    }

    #[test]
    fn old_failures_are_forgotten() {
        let t0 = Instant::now();
        let mut l = Limiter::new(2, Duration::from_secs(10));
        let a = ip("192.0.2.1");
        l.fail(a, t0);
        l.fail(a, t0 + Duration::from_secs(9));
        assert_eq!(
            l.check(a, t0 + Duration::from_secs(9)),
            Err(Duration::from_secs(1))
        );
        assert_eq!(l.check(a, t0 + Duration::from_secs(30)), Ok(()));
        assert!(l.failures.is_empty());
    }
}
