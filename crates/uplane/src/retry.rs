//! Connecting a client to a real server that may be dead: which failures count, which server
//! to try next and when to give up. Pure: the forwarder passes the time and the scheduler's
//! pick in, so every rule is tested without sockets or clocks.
//!
//! A TCP client's connection is proxied, so when the chosen real server refuses, is
//! unreachable or does not answer within `connect_timeout`, the forwarder asks the scheduler
//! again with every server tried so far left out (as if they were quiesced), up to `retries`
//! more times, before it resets the client. Each server is tried at most once per client
//! connection. UDP has no connection to fail: its datagrams are not retried.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The default `connect_timeout` of lvs.cf.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The default `retries` of lvs.cf.
pub const RETRIES: u32 = 2;

/// How a service's TCP forwarder connects to its real servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long one real server may take to accept the connection.
    pub connect_timeout: Duration,
    /// How many other real servers are tried after the first one failed.
    pub retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            connect_timeout: CONNECT_TIMEOUT,
            retries: RETRIES,
        }
    }
}

/// Why connecting to a real server failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The server answered with a reset: nothing listens on the port.
    Refused,
    /// No route, or the host did not answer ARP / an ICMP unreachable came back.
    Unreachable,
    /// No answer within `connect_timeout`.
    TimedOut,
    /// A problem on this host (no file descriptors, no local port): another server is
    /// tried, but this one is not blamed.
    Local,
}

impl ConnectFailure {
    /// The failure behind a `connect()` error.
    pub fn of(e: &io::Error) -> ConnectFailure {
        use io::ErrorKind as K;
        match e.kind() {
            K::ConnectionRefused | K::ConnectionReset | K::ConnectionAborted => {
                ConnectFailure::Refused
            }
            K::HostUnreachable | K::NetworkUnreachable => ConnectFailure::Unreachable,
            K::TimedOut => ConnectFailure::TimedOut,
            _ => ConnectFailure::Local,
        }
    }

    /// Whether the real server is at fault (and lvsd is told, to take it out of rotation).
    pub fn blames_server(self) -> bool {
        self != ConnectFailure::Local
    }

    /// The word for logs and the status report.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectFailure::Refused => "refused",
            ConnectFailure::Unreachable => "unreachable",
            ConnectFailure::TimedOut => "timeout",
            ConnectFailure::Local => "local error",
        }
    }
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One client connection's attempts at the real servers.
#[derive(Debug, Clone)]
pub struct Attempts {
    policy: RetryPolicy,
    tried: Vec<SocketAddr>,
}

impl Attempts {
    pub fn new(policy: RetryPolicy) -> Attempts {
        Attempts {
            policy,
            tried: Vec::new(),
        }
    }

    /// The servers tried so far (the scheduler must leave them out).
    pub fn tried(&self) -> &[SocketAddr] {
        &self.tried
    }

    /// Start an attempt at `to` at `now`: its deadline.
    pub fn begin(&mut self, to: SocketAddr, now: Instant) -> Instant {
        self.tried.push(to);
        now + self.policy.connect_timeout
    }

    /// The last attempt failed: the next server and its deadline, or `None` when the
    /// client's connection must fail (retries used up, or the scheduler has no other
    /// server). `pick` is the scheduler, given the servers to leave out.
    pub fn next(
        &mut self,
        pick: impl FnOnce(&[SocketAddr]) -> Option<SocketAddr>,
        now: Instant,
    ) -> Option<(SocketAddr, Instant)> {
        if self.tried.len() > self.policy.retries as usize {
            return None;
        }
        let to = pick(&self.tried).filter(|a| !self.tried.contains(a))?;
        Some((to, self.begin(to, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, n], 80))
    }

    /// A round-robin over `servers` that skips the ones left out, like the schedulers do.
    fn rr(servers: &[SocketAddr]) -> impl FnMut(&[SocketAddr]) -> Option<SocketAddr> + '_ {
        let mut i = 0;
        move |out: &[SocketAddr]| {
            for _ in 0..servers.len() {
                let s = servers[i % servers.len()];
                i += 1;
                if !out.contains(&s) {
                    return Some(s);
                }
            }
            None
        }
    }

    #[test]
    fn each_attempt_gets_its_own_deadline_from_the_time_given() {
        let t0 = Instant::now();
        let p = RetryPolicy {
            connect_timeout: Duration::from_millis(250),
            retries: 2,
        };
        let mut at = Attempts::new(p);
        assert_eq!(at.begin(a(1), t0), t0 + Duration::from_millis(250));
        let later = t0 + Duration::from_secs(3);
        let (to, deadline) = at.next(|_| Some(a(2)), later).unwrap();
        assert_eq!((to, deadline), (a(2), later + Duration::from_millis(250)));
    }

    #[test]
    fn retries_bound_the_servers_tried_and_none_is_tried_twice() {
        let servers = [a(1), a(2), a(3), a(4)];
        let mut pick = rr(&servers);
        let t0 = Instant::now();
        let mut at = Attempts::new(RetryPolicy::default());
        let first = pick(&[]).unwrap();
        at.begin(first, t0);
        let mut seen = vec![first];
        while let Some((to, _)) = at.next(&mut pick, t0) {
            assert!(!seen.contains(&to), "{to} tried twice");
            seen.push(to);
        }
        assert_eq!(seen, [a(1), a(2), a(3)], "1 + retries (2) servers");
        assert_eq!(at.tried(), seen);
    }

    #[test]
    fn no_retries_means_one_server() {
        let mut at = Attempts::new(RetryPolicy {
            connect_timeout: CONNECT_TIMEOUT,
            retries: 0,
        });
        at.begin(a(1), Instant::now());
        assert_eq!(at.next(|_| Some(a(2)), Instant::now()), None);
    }

    #[test]
    fn fewer_servers_than_retries_gives_up_when_all_were_tried() {
        let servers = [a(1), a(2)];
        let mut pick = rr(&servers);
        let mut at = Attempts::new(RetryPolicy {
            connect_timeout: CONNECT_TIMEOUT,
            retries: 5,
        });
        at.begin(pick(&[]).unwrap(), Instant::now());
        assert!(at.next(&mut pick, Instant::now()).is_some());
        assert_eq!(at.next(&mut pick, Instant::now()), None);
    }

    #[test]
    fn a_scheduler_that_offers_a_tried_server_again_ends_the_attempts() {
        let mut at = Attempts::new(RetryPolicy::default());
        at.begin(a(1), Instant::now());
        assert_eq!(at.next(|_| Some(a(1)), Instant::now()), None);
    }

    #[test]
    fn failures_are_classified_and_only_local_ones_spare_the_server() {
        let e = |k| io::Error::from(k);
        assert_eq!(
            ConnectFailure::of(&e(io::ErrorKind::ConnectionRefused)),
            ConnectFailure::Refused
        );
        assert_eq!(
            ConnectFailure::of(&io::Error::from_raw_os_error(nix::libc::EHOSTUNREACH)),
            ConnectFailure::Unreachable
        );
        assert_eq!(
            ConnectFailure::of(&io::Error::from_raw_os_error(nix::libc::ENETUNREACH)),
            ConnectFailure::Unreachable
        );
        assert_eq!(
            ConnectFailure::of(&e(io::ErrorKind::TimedOut)),
            ConnectFailure::TimedOut
        );
        let emfile = ConnectFailure::of(&io::Error::from_raw_os_error(nix::libc::EMFILE));
        assert_eq!(emfile, ConnectFailure::Local);
        assert!(!emfile.blames_server());
        assert!(ConnectFailure::Refused.blames_server());
        assert!(ConnectFailure::TimedOut.blames_server());
    }
}
