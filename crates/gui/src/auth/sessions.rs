//! Browser sessions: random ids, a CSRF token each, an idle timeout. Pure: time is given.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

/// A session unused for this long is gone.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// 32 random bytes (256 bits) from the OS, as 64 hex digits.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Whether two secrets are equal, in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// One logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    /// Sent back by the page in `X-CSRF-Token` or the form field `csrf_token`.
    pub csrf: String,
    last_used: Instant,
}

/// The sessions of this process (they do not survive a restart).
#[derive(Debug)]
pub struct Sessions {
    idle: Duration,
    by_id: HashMap<String, Session>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(IDLE_TIMEOUT)
    }
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            by_id: HashMap::new(),
        }
    }

    /// Start a session for `user` with the given id and CSRF token (both from [`random_token`]).
    pub fn insert(&mut self, id: String, csrf: String, user: &str, now: Instant) {
        self.expire(now);
        self.by_id.insert(
            id,
            Session {
                user: user.to_owned(),
                csrf,
                last_used: now,
            },
        );
    }

    /// The live session with this id, marked used at `now`.
    pub fn touch(&mut self, id: &str, now: Instant) -> Option<Session> {
        let idle = self.idle;
        let s = self.by_id.get_mut(id)?;
        if now.saturating_duration_since(s.last_used) >= idle {
            self.by_id.remove(id);
            return None;
        }
        s.last_used = now;
        Some(s.clone())
    }

    /// Whether the session with this id is live at `now` (without marking it used: an open
    /// event stream does not keep a session alive).
    pub fn alive(&self, id: &str, now: Instant) -> bool {
        self.by_id
            .get(id)
            .is_some_and(|s| now.saturating_duration_since(s.last_used) < self.idle)
    }

    /// End a session.
    pub fn remove(&mut self, id: &str) {
        self.by_id.remove(id);
    }

    /// Drop the sessions idle for too long.
    pub fn expire(&mut self, now: Instant) {
        let idle = self.idle;
        self.by_id
            .retain(|_, s| now.saturating_duration_since(s.last_used) < idle);
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_hex_and_differ() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn idle_sessions_expire_and_use_keeps_them() {
        let t0 = Instant::now();
        let mut s = Sessions::new(Duration::from_secs(100));
        s.insert("id".into(), "c".into(), "piranha", t0);
        let got = s.touch("id", t0 + Duration::from_secs(99)).unwrap();
        assert_eq!((got.user.as_str(), got.csrf.as_str()), ("piranha", "c"));
        assert!(s.touch("id", t0 + Duration::from_secs(198)).is_some());
        assert!(s.touch("id", t0 + Duration::from_secs(298)).is_none());
        assert!(s.is_empty());
        assert!(s.touch("other", t0).is_none());
    }

    #[test]
    fn removed_sessions_are_gone() {
        let t0 = Instant::now();
        let mut s = Sessions::default();
        s.insert("id".into(), "c".into(), "piranha", t0);
        s.remove("id");
        assert!(s.touch("id", t0).is_none());
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
