//! The base-64 alphabet of Unix crypt(3) hashes (`./0-9A-Za-z`, least significant bits first).

/// crypt(3)'s 64 characters, in value order.
pub const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether every byte of `s` is in [`ALPHABET`].
pub fn is_crypt64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
}

/// Append `n` characters encoding the low `6 * n` bits of `v`, lowest first.
pub fn push(out: &mut String, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(char::from(ALPHABET[(v & 0x3f) as usize]));
        v >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_is_what_is_crypt64_accepts() {
        assert!(is_crypt64(std::str::from_utf8(ALPHABET).unwrap()));
        assert!(!is_crypt64("a$b"));
        assert!(!is_crypt64("a+b"));
    }

    #[test]
    fn push_is_lowest_bits_first() {
        let mut s = String::new();
        push(&mut s, (1 << 6) | (63 << 12), 3); // 0, 1, 63
        assert_eq!(s, "./z");
    }
}
