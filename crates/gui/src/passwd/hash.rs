//! One password hash, in any format `htpasswd` writes, and hashing a new password.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::apr1::{self, APR1_MAGIC};
use super::crypt64::is_crypt64;
use super::error::{Error, HashError};
use super::unix_crypt::Scheme;

/// The bcrypt cost of new hashes: 2^12 rounds, about 0.3 s per verification in a release
/// build (0.8 to 1 s in a debug build) on the x86-64 machines of December 2026, as long as
/// Apache's own `htpasswd -B -C 12`.
pub const BCRYPT_COST: u32 = 12;

/// bcrypt uses at most this many bytes of a password.
pub const BCRYPT_MAX_PASSWORD: usize = 72;

/// A parsed password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hash {
    /// `$2y$`, `$2a$` or `$2b$`: bcrypt (`htpasswd -B`).
    Bcrypt(String),
    /// `$apr1$salt$digest`: Apache's MD5-crypt (`htpasswd -m`, its default).
    Apr1 { salt: String, digest: String },
    /// `{SHA}` and the base-64 SHA-1 of the password, unsalted (`htpasswd -s`).
    Sha1([u8; 20]),
    /// DES crypt, `$1$`, `$5$` or `$6$` (`htpasswd -d`, `-2`, `-5`).
    Crypt(Scheme, String),
}

#[cfg(test)]
thread_local! {
    /// How many hash computations [`Hash::verify`] ran on this thread (for tests).
    pub static VERIFICATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Hash {
    /// Parse the hash field of a password file line.
    pub fn parse(s: &str) -> Result<Hash, HashError> {
        if let Some(rest) = s.strip_prefix(APR1_MAGIC) {
            return parse_apr1(rest);
        }
        if let Some(rest) = s.strip_prefix("{SHA}") {
            return parse_sha1(rest);
        }
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| s.starts_with(p)) {
            return parse_bcrypt(s);
        }
        match Scheme::of(s) {
            Some(Ok(scheme)) => Ok(Hash::Crypt(scheme, s.to_owned())),
            Some(Err(e)) => Err(e),
            None => Err(HashError::Unrecognized),
        }
    }

    /// A name of the format, for messages.
    pub fn format(&self) -> &'static str {
        match self {
            Hash::Bcrypt(_) => "bcrypt",
            Hash::Apr1 { .. } => "$apr1$ MD5",
            Hash::Sha1(_) => "{SHA}",
            Hash::Crypt(scheme, _) => scheme.name(),
        }
    }

    /// Whether `password` matches. The digests are compared in constant time.
    pub fn verify(&self, password: &[u8]) -> bool {
        #[cfg(test)]
        VERIFICATIONS.with(|n| n.set(n.get() + 1));
        match self {
            Hash::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            Hash::Apr1 { salt, digest } => {
                let computed = apr1::digest(password, salt.as_bytes(), APR1_MAGIC);
                computed.as_bytes().ct_eq(digest.as_bytes()).into()
            }
            Hash::Sha1(digest) => {
                let computed: [u8; 20] = Sha1::digest(password).into();
                computed.ct_eq(digest).into()
            }
            Hash::Crypt(scheme, hash) => scheme.verify(hash, password),
        }
    }
}

fn parse_apr1(rest: &str) -> Result<Hash, HashError> {
    let bad = |why| HashError::Malformed {
        format: "$apr1$ MD5",
        why,
    };
    let (salt, digest) = rest.split_once('$').ok_or(bad("no `$` after the salt"))?;
    if salt.is_empty() || salt.len() > apr1::MAX_SALT || !is_crypt64(salt) {
        return Err(bad("bad salt"));
    }
    if digest.len() != 22 || !is_crypt64(digest) {
        return Err(bad("bad digest"));
    }
    Ok(Hash::Apr1 {
        salt: salt.to_owned(),
        digest: digest.to_owned(),
    })
}

fn parse_sha1(rest: &str) -> Result<Hash, HashError> {
    let bytes = BASE64.decode(rest).map_err(|_| HashError::Malformed {
        format: "{SHA}",
        why: "not base 64",
    })?;
    let digest = <[u8; 20]>::try_from(bytes).map_err(|_| HashError::Malformed {
        format: "{SHA}",
        why: "not 20 bytes",
    })?;
    Ok(Hash::Sha1(digest))
}

fn parse_bcrypt(s: &str) -> Result<Hash, HashError> {
    let bad = |why| HashError::Malformed {
        format: "bcrypt",
        why,
    };
    if s.len() != 60 {
        return Err(bad("not 60 characters"));
    }
    let cost = s.get(4..6).ok_or(bad("bad cost"))?;
    if !cost.bytes().all(|b| b.is_ascii_digit())
        || !cost.parse::<u32>().is_ok_and(|c| (4..=31).contains(&c))
    {
        return Err(bad("cost must be two digits from 04 to 31"));
    }
    if s.as_bytes().get(6) != Some(&b'$') || !s.get(7..).is_some_and(is_crypt64) {
        return Err(bad("bad salt or digest"));
    }
    s.parse::<bcrypt::HashParts>()
        .map_err(|_| bad("bad salt or digest"))?;
    Ok(Hash::Bcrypt(s.to_owned()))
}

/// A new `$2y$` bcrypt hash of `password` with cost [`BCRYPT_COST`] and a random salt.
///
/// Passwords longer than [`BCRYPT_MAX_PASSWORD`] bytes are refused: bcrypt would ignore the rest.
pub fn hash_password(password: &[u8]) -> Result<String, Error> {
    hash_with_cost(password, BCRYPT_COST)
}

pub(super) fn hash_with_cost(password: &[u8], cost: u32) -> Result<String, Error> {
    if password.len() > BCRYPT_MAX_PASSWORD {
        return Err(Error::Hashing(format!(
            "the password is {} bytes long; bcrypt uses at most {BCRYPT_MAX_PASSWORD}",
            password.len()
        )));
    }
    let parts =
        bcrypt::hash_with_result(password, cost).map_err(|e| Error::Hashing(e.to_string()))?;
    Ok(parts.format_for_version(bcrypt::Version::TwoY))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `htpasswd -nb[mBs] u p`.
    const APR1: &str = "$apr1$zEkq.Iih$/IqrSVEI2ydLY2XAZ5tDU.";
    const SHA: &str = "{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=";

    #[test]
    fn apr1_and_sha() {
        for h in [APR1, SHA] {
            let hash = Hash::parse(h).unwrap();
            assert!(hash.verify(b"p"), "{h}");
            assert!(!hash.verify(b"P"), "{h}");
            assert!(!hash.verify(b""), "{h}");
        }
    }

    #[test]
    fn new_hashes_are_2y_bcrypt_and_verify() {
        let h = hash_with_cost(b"secret", 4).unwrap();
        assert!(h.starts_with("$2y$04$"), "{h}");
        let hash = Hash::parse(&h).unwrap();
        assert_eq!(hash.format(), "bcrypt");
        assert!(hash.verify(b"secret"));
        assert!(!hash.verify(b"secreT"));
    }

    #[test]
    fn the_default_cost_is_12() {
        assert_eq!(BCRYPT_COST, 12);
    }

    #[test]
    fn bcrypt_prefixes_2a_2b_verify_too() {
        let h = hash_with_cost(b"secret", 4).unwrap();
        for prefix in ["$2a$", "$2b$"] {
            let other = format!("{prefix}{}", &h[4..]);
            assert!(Hash::parse(&other).unwrap().verify(b"secret"), "{other}");
        }
        let x = format!("$2x${}", &h[4..]);
        assert_eq!(Hash::parse(&x), Err(HashError::Unrecognized));
    }

    #[test]
    fn too_long_passwords_are_not_hashed() {
        assert!(hash_with_cost(&[b'a'; 72], 4).is_ok());
        let e = hash_with_cost(&[b'a'; 73], 4).unwrap_err();
        assert!(e.to_string().contains("at most 72"), "{e}");
    }

    #[test]
    fn plaintext_and_garbage_are_refused() {
        for h in [
            "p",
            "secret",
            "",
            "$apr1",
            "{SHA}",
            "{SHA}abc",
            "$2y$12$short",
        ] {
            assert!(Hash::parse(h).is_err(), "{h}");
        }
        assert_eq!(Hash::parse("password"), Err(HashError::Unrecognized));
        let e = HashError::Unrecognized.to_string();
        assert!(e.contains("plaintext passwords are refused"), "{e}");
    }

    #[test]
    fn malformed_bcrypt_is_an_error() {
        let h = hash_with_cost(b"x", 4).unwrap();
        for bad in [
            format!("$2y$99{}", &h[6..]),
            format!("$2y$4x{}", &h[6..]),
            format!("{}!", &h[..59]),
            format!("{}é", &h[..58]),
            format!("$2y$04%{}", &h[7..]),
        ] {
            assert!(
                matches!(Hash::parse(&bad), Err(HashError::Malformed { .. })),
                "{bad}"
            );
        }
    }
}
