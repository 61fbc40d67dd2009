//! The checked users and hashes of a password file, and verifying a login.

use std::sync::LazyLock;

use super::hash::Hash;

/// A bcrypt hash of a random password nobody knows, at the cost of new hashes: an unknown user
/// is verified against it, so that it takes as long as a wrong password for a known user.
const DUMMY_BCRYPT: &str = "$2y$12$cswJnHJLEa3Ml5MbOtitmexFpG/DObTGhTMHsGCiNPp0BVn2fEFRm";

static DUMMY: LazyLock<Hash> = LazyLock::new(|| Hash::Bcrypt(DUMMY_BCRYPT.to_owned()));

/// Users and their hashes, every one checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwords {
    entries: Vec<(String, Hash)>,
}

impl Passwords {
    pub(super) fn new(entries: Vec<(String, Hash)>) -> Passwords {
        Passwords { entries }
    }

    /// The users, in file order.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(u, _)| u.as_str())
    }

    /// The hash of `user`.
    pub fn get(&self, user: &str) -> Option<&Hash> {
        self.entries.iter().find(|(u, _)| u == user).map(|(_, h)| h)
    }

    /// Whether `user` exists and `password` is theirs. An unknown user costs one bcrypt
    /// verification all the same (at cost 12, as new hashes), so the time does not tell
    /// unknown users from wrong passwords.
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        let (hash, known) = match self.get(user) {
            Some(hash) => (hash, true),
            None => (&*DUMMY, false),
        };
        let matches = hash.verify(password);
        matches && known
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::document::Document;
    use super::super::hash::VERIFICATIONS;
    use super::*;

    fn passwords() -> Passwords {
        Document::parse(b"alice:{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=\n", Path::new("f"))
            .unwrap()
            .passwords()
            .unwrap()
    }

    fn verifications() -> usize {
        VERIFICATIONS.with(|n| n.get())
    }

    #[test]
    fn the_dummy_is_a_valid_bcrypt_hash_of_the_new_cost() {
        assert_eq!(Hash::parse(DUMMY_BCRYPT).unwrap(), *DUMMY);
        assert!(DUMMY_BCRYPT.starts_with(&format!("$2y${}$", super::super::BCRYPT_COST)));
    }

    #[test]
    fn an_unknown_user_runs_a_bcrypt_verification() {
        let p = passwords();
        let before = verifications();
        assert!(!p.verify("mallory", b"p"));
        assert_eq!(verifications(), before + 1);
        assert!(!p.verify("mallory", b""));
        assert_eq!(verifications(), before + 2);
    }

    #[test]
    fn a_known_user_runs_one_verification() {
        let p = passwords();
        let before = verifications();
        assert!(p.verify("alice", b"p"));
        assert!(!p.verify("alice", b"q"));
        assert_eq!(verifications(), before + 2);
        assert_eq!(p.users().collect::<Vec<_>>(), ["alice"]);
    }

    #[test]
    fn an_empty_file_knows_nobody() {
        let p = Document::parse(b"# nobody\n", Path::new("f"))
            .unwrap()
            .passwords()
            .unwrap();
        assert!(!p.verify("piranha", b""));
    }
}
