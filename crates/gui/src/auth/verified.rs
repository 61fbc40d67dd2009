//! Recently verified Basic credentials, so a script's every request does not cost a bcrypt
//! verification (cost 12: about a quarter of a second of CPU). Pure: time is given.
//!
//! Only successes are remembered, under a keyed SHA-1 of user and password (the key is random
//! per process, so the map holds nothing a password could be guessed from offline), for
//! [`TTL`] at most, and all of them are forgotten when the password file changes. A wrong
//! password is always verified in full, so its timing tells nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};

/// How long a verified password is taken without a new verification.
pub const TTL: Duration = Duration::from_secs(5 * 60);

/// The most credentials remembered (one user, but several passwords during a change).
const MAX: usize = 64;

/// Remembered successful verifications.
#[derive(Debug)]
pub struct Verified {
    key: [u8; 32],
    ttl: Duration,
    /// Which password file the entries were verified against (its generation).
    generation: u64,
    entries: HashMap<[u8; 20], Instant>,
}

impl Verified {
    /// With a random key from the OS.
    pub fn new(ttl: Duration) -> Result<Verified, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Verified {
            key,
            ttl,
            generation: 0,
            entries: HashMap::new(),
        })
    }

    fn digest(&self, user: &str, password: &[u8]) -> [u8; 20] {
        let mut h = Sha1::new();
        h.update(self.key);
        h.update((user.len() as u64).to_be_bytes());
        h.update(user.as_bytes());
        h.update(password);
        h.finalize().into()
    }

    /// Whether `user` and `password` were verified against password file `generation`
    /// less than the TTL before `now`.
    pub fn contains(&mut self, generation: u64, user: &str, password: &[u8], now: Instant) -> bool {
        if generation != self.generation {
            self.entries.clear();
            self.generation = generation;
            return false;
        }
        let d = self.digest(user, password);
        match self.entries.get(&d) {
            Some(&at) if now.saturating_duration_since(at) < self.ttl => true,
            Some(_) => {
                self.entries.remove(&d);
                false
            }
            None => false,
        }
    }

    /// Remember a successful verification against password file `generation`.
    pub fn insert(&mut self, generation: u64, user: &str, password: &[u8], now: Instant) {
        if generation != self.generation {
            self.entries.clear();
            self.generation = generation;
        }
        if self.entries.len() >= MAX {
            let ttl = self.ttl;
            self.entries
                .retain(|_, at| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= MAX {
                self.entries.clear();
            }
        }
        let d = self.digest(user, password);
        self.entries.insert(d, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_successes_for_the_ttl_and_one_file() {
        let t0 = Instant::now();
        let mut v = Verified::new(Duration::from_secs(10)).unwrap();
        assert!(!v.contains(0, "piranha", b"p", t0));
        v.insert(0, "piranha", b"p", t0);
        assert!(v.contains(0, "piranha", b"p", t0 + Duration::from_secs(9)));
        assert!(!v.contains(0, "piranha", b"q", t0));
        assert!(!v.contains(0, "piranh", b"ap", t0));
        assert!(!v.contains(0, "other", b"p", t0));
        assert!(!v.contains(0, "piranha", b"p", t0 + Duration::from_secs(10)));
        v.insert(0, "piranha", b"p", t0);
        // A new password file forgets everything.
        assert!(!v.contains(1, "piranha", b"p", t0));
        assert!(!v.contains(0, "piranha", b"p", t0));
    }

    #[test]
    fn stays_small() {
        let t0 = Instant::now();
        let mut v = Verified::new(TTL).unwrap();
        for i in 0..1000u32 {
            v.insert(0, "piranha", &i.to_be_bytes(), t0);
        }
        assert!(v.entries.len() <= MAX);
        assert!(v.contains(0, "piranha", &999u32.to_be_bytes(), t0));
    }
}
