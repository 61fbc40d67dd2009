//! MD5-crypt, as Poul-Henning Kamp described it for FreeBSD, with Apache's `$apr1$` magic.
//!
//! Apache's `$apr1$` hashes are FreeBSD's `$1$` MD5-crypt with another magic string (the magic
//! is hashed too, so the digests differ). Written here from the algorithm's description; the
//! tests check it against `$1$` hashes from the pwhash crate and `$apr1$` hashes from Apache's
//! `htpasswd`.

use md5::{Digest, Md5};

use super::crypt64;

/// Apache's magic string.
pub const APR1_MAGIC: &str = "$apr1$";

/// At most this many salt characters are used.
pub const MAX_SALT: usize = 8;

/// The 22-character digest of `password` with `salt` (at most [`MAX_SALT`] bytes are used)
/// and `magic` (`$apr1$` or `$1$`).
pub fn digest(password: &[u8], salt: &[u8], magic: &str) -> String {
    let salt = &salt[..salt.len().min(MAX_SALT)];

    // The alternate sum: password, salt, password.
    let alternate: [u8; 16] = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize()
        .into();

    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(magic.as_bytes())
        .chain_update(salt);
    // As many bytes of the alternate sum as the password is long, 16 at a time.
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alternate[..n]);
        left -= n;
    }
    // For each bit of the length, lowest first: a zero byte for a one, else the password's
    // first byte.
    let mut len = password.len();
    while len > 0 {
        if len & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        len >>= 1;
    }
    let mut sum: [u8; 16] = ctx.finalize().into();

    // A thousand rounds, to slow down guessing.
    for round in 0..1000 {
        let mut ctx = Md5::new();
        if round % 2 == 1 {
            ctx.update(password);
        } else {
            ctx.update(sum);
        }
        if round % 3 != 0 {
            ctx.update(salt);
        }
        if round % 7 != 0 {
            ctx.update(password);
        }
        if round % 2 == 1 {
            ctx.update(sum);
        } else {
            ctx.update(password);
        }
        sum = ctx.finalize().into();
    }

    // Output: the bytes in this order, three at a time, then the last one alone.
    let mut out = String::with_capacity(22);
    for [a, b, c] in [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]] {
        let v = u32::from(sum[a]) << 16 | u32::from(sum[b]) << 8 | u32::from(sum[c]);
        crypt64::push(&mut out, v, 4);
    }
    crypt64::push(&mut out, u32::from(sum[11]), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_htpasswd_apr1() {
        // `htpasswd -nbm u p`
        assert_eq!(
            digest(b"p", b"zEkq.Iih", APR1_MAGIC),
            "/IqrSVEI2ydLY2XAZ5tDU."
        );
    }

    #[test]
    #[allow(deprecated)] // pwhash deprecates making new MD5-crypt hashes.
    fn with_the_1_magic_matches_pwhash_md5_crypt() {
        for (password, salt) in [
            ("", "a"),
            ("p", "zEkq.Iih"),
            ("password", "5pZSV9va"),
            ("a rather long password of more than sixteen bytes", "xy"),
            ("ümlaut", "12345678"),
        ] {
            let ours = format!(
                "$1${salt}${}",
                digest(password.as_bytes(), salt.as_bytes(), "$1$")
            );
            let theirs =
                pwhash::md5_crypt::hash_with(format!("$1${salt}$").as_str(), password).unwrap();
            assert_eq!(ours, theirs, "password {password:?} salt {salt:?}");
        }
    }

    #[test]
    fn salt_is_cut_at_eight_bytes() {
        assert_eq!(
            digest(b"p", b"zEkq.Iih", APR1_MAGIC),
            digest(b"p", b"zEkq.IihMORE", APR1_MAGIC)
        );
    }
}
