//! crypt(3) formats `htpasswd` writes with `-d`, `-2` and `-5`, and FreeBSD's `$1$`: checked
//! here for form, computed by the pwhash crate.

use subtle::ConstantTimeEq;

use super::crypt64::is_crypt64;
use super::error::HashError;

/// One of the crypt(3) formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Traditional DES crypt: 2 salt and 11 digest characters.
    Des,
    /// `$1$salt$digest`: MD5-crypt.
    Md5,
    /// `$5$[rounds=N$]salt$digest`: SHA-256-crypt.
    Sha256,
    /// `$6$[rounds=N$]salt$digest`: SHA-512-crypt.
    Sha512,
}

impl Scheme {
    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Des => "DES crypt",
            Scheme::Md5 => "$1$ MD5-crypt",
            Scheme::Sha256 => "$5$ SHA-256-crypt",
            Scheme::Sha512 => "$6$ SHA-512-crypt",
        }
    }

    /// The scheme `hash` is written in, if it is one of these and well formed.
    pub fn of(hash: &str) -> Option<Result<Scheme, HashError>> {
        let (scheme, rest) = if let Some(rest) = hash.strip_prefix("$1$") {
            (Scheme::Md5, rest)
        } else if let Some(rest) = hash.strip_prefix("$5$") {
            (Scheme::Sha256, rest)
        } else if let Some(rest) = hash.strip_prefix("$6$") {
            (Scheme::Sha512, rest)
        } else if hash.len() == 13 && is_crypt64(hash) {
            return Some(Ok(Scheme::Des));
        } else {
            return None;
        };
        Some(scheme.check(rest).map(|()| scheme))
    }

    /// Check what follows the magic: `[rounds=N$]salt$digest`.
    fn check(self, rest: &str) -> Result<(), HashError> {
        let bad = |why| HashError::Malformed {
            format: self.name(),
            why,
        };
        let (max_salt, digest_len) = match self {
            Scheme::Md5 => (8, 22),
            Scheme::Sha256 => (16, 43),
            Scheme::Sha512 => (16, 86),
            Scheme::Des => unreachable!("DES has no magic"),
        };
        let mut rest = rest;
        if let Some(after) = rest.strip_prefix("rounds=") {
            if self == Scheme::Md5 {
                return Err(bad("MD5-crypt has no rounds"));
            }
            let (n, after) = after.split_once('$').ok_or(bad("no `$` after rounds"))?;
            let valid = n.len() <= 9
                && n.bytes().all(|b| b.is_ascii_digit())
                && n.parse::<u32>()
                    .is_ok_and(|n| (1000..=999_999_999).contains(&n));
            if !valid {
                return Err(bad("rounds must be a number from 1000 to 999999999"));
            }
            rest = after;
        }
        let (salt, digest) = rest.split_once('$').ok_or(bad("no `$` after the salt"))?;
        if salt.len() > max_salt || !is_crypt64(salt) || (self == Scheme::Md5 && salt.is_empty()) {
            return Err(bad("bad salt"));
        }
        if digest.len() != digest_len || !is_crypt64(digest) {
            return Err(bad("bad digest"));
        }
        Ok(())
    }

    /// Whether `password` hashes to `hash` (checked by [`Scheme::of`]).
    pub fn verify(self, hash: &str, password: &[u8]) -> bool {
        #[allow(deprecated)] // pwhash deprecates DES and MD5-crypt for new hashes only.
        let computed = match self {
            Scheme::Des => pwhash::unix_crypt::hash_with(hash, password),
            Scheme::Md5 => pwhash::md5_crypt::hash_with(hash, password),
            Scheme::Sha256 => pwhash::sha256_crypt::hash_with(hash, password),
            Scheme::Sha512 => pwhash::sha512_crypt::hash_with(hash, password),
        };
        let Ok(computed) = computed else {
            return false;
        };
        // Compare the digests only (the text before them may be spelled differently, for
        // example an explicit `rounds=5000`).
        let digest = |h: &str| -> Vec<u8> {
            match self {
                Scheme::Des => h.as_bytes().get(2..).unwrap_or_default().to_vec(),
                _ => h.rsplit('$').next().unwrap_or_default().as_bytes().to_vec(),
            }
        };
        let (ours, theirs) = (digest(&computed), digest(hash));
        !theirs.is_empty() && bool::from(ours.ct_eq(&theirs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From `htpasswd -nb -2 u p`, `-5 -r 10000`, `-d`.
    const SHA256: &str = "$5$23ZvLqflnWfYKDcg$dcyehBrTD1mtqEvYsGwWOVLwXg03XhITG5LdyIjl6oA";
    const SHA512: &str = "$6$rounds=10000$Qdb2QtVD3arzmaBO$3aUrJ3ZpR25WsZqBlsKWGVunMpxV3zoGazaJmhfEAetdr0fvobfo4Xn04NpQDTm3cbCks/f27HXb.lZq7xhrT0";
    const DES: &str = "oihCWHjf7RlVw";

    #[test]
    fn recognizes_and_verifies_each_scheme() {
        for (hash, scheme) in [
            (SHA256, Scheme::Sha256),
            (SHA512, Scheme::Sha512),
            (DES, Scheme::Des),
        ] {
            assert_eq!(Scheme::of(hash), Some(Ok(scheme)));
            assert!(scheme.verify(hash, b"p"), "{hash}");
            assert!(!scheme.verify(hash, b"q"), "{hash}");
        }
    }

    #[test]
    fn md5_crypt_from_pwhash_docs() {
        let h = "$1$5pZSV9va$azfrPr6af3Fc7dLblQXVa0";
        assert_eq!(Scheme::of(h), Some(Ok(Scheme::Md5)));
        assert!(Scheme::Md5.verify(h, b"password"));
        assert!(!Scheme::Md5.verify(h, b"passwore"));
    }

    #[test]
    fn malformed_hashes_are_refused() {
        for h in [
            "$5$salt",
            "$5$rounds=10$salt$dcyehBrTD1mtqEvYsGwWOVLwXg03XhITG5LdyIjl6oA",
            "$5$rounds=x$salt$dcyehBrTD1mtqEvYsGwWOVLwXg03XhITG5LdyIjl6oA",
            "$5$rounds=5000",
            "$6$salt$short",
            "$1$$azfrPr6af3Fc7dLblQXVa0",
            "$1$toolongsalt$azfrPr6af3Fc7dLblQXVa0",
            "$1$rounds=1000$5pZSV9va$azfrPr6af3Fc7dLblQXVa0",
            "$5$sa:t$dcyehBrTD1mtqEvYsGwWOVLwXg03XhITG5LdyIjl6oA",
        ] {
            assert!(matches!(Scheme::of(h), Some(Err(_))), "{h}");
        }
        for h in ["plaintext", "oihCWHjf7RlV!", "$7$x", ""] {
            assert_eq!(Scheme::of(h), None, "{h}");
        }
    }

    #[test]
    #[allow(deprecated)] // pwhash deprecates hash_with with a caller's salt.
    fn explicit_default_rounds_verifies() {
        let h = pwhash::sha256_crypt::hash_with(
            pwhash::HashSetup {
                salt: Some("23ZvLqflnWfYKDcg"),
                rounds: Some(5000),
            },
            "p",
        )
        .unwrap();
        assert!(h.contains("rounds=5000$"), "{h}");
        assert_eq!(Scheme::of(&h), Some(Ok(Scheme::Sha256)));
        assert!(Scheme::Sha256.verify(&h, b"p"));
        assert_eq!(h.rsplit('$').next(), SHA256.rsplit('$').next());
    }
}
