//! Deciding whether a reply satisfies the expect string, as bytes arrive.
//!
//! Piranha did one `read()` and compared; a reply split over two segments failed. Here the
//! check reads until [`Expect::decide`] says the answer is known, so the verdict no longer
//! depends on how the peer's bytes were segmented.

use crate::regex::PosixRegex;

/// Replies are searched up to this many bytes; a larger reply without a match fails.
pub const MAX_REPLY: usize = 64 * 1024;

/// What a reply must look like.
#[derive(Debug)]
pub enum Expect {
    /// No expect string: any reply (UDP) or none (TCP) will do.
    Nothing,
    /// `*`: at least one byte.
    AnyByte,
    /// The reply starts with these bytes (piranha's `strncmp` prefix match).
    Prefix(Vec<u8>),
    /// `--regex`: the reply matches this POSIX extended expression somewhere.
    Regex(PosixRegex),
    /// `--regex` with an expression that did not compile: every check fails, as in piranha.
    BadRegex(String),
}

/// The state of a reply seen so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Pass,
    Fail(Mismatch),
    NeedMore,
}

/// Why a reply was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The peer closed after this many bytes, fewer than the expect string.
    TooShort { got: usize, want: usize },
    /// The reply's start differs from the expect string.
    Differs,
    /// The regular expression found no match in the whole reply.
    NoMatch,
    /// The reply exceeded [`MAX_REPLY`] without a match.
    TooLong,
    /// The expect regex is invalid.
    BadRegex,
}

impl Expect {
    /// Build from the (escape-converted) expect string.
    pub fn new(expect: Option<&[u8]>, regex: bool) -> Expect {
        match expect {
            None => Expect::Nothing,
            Some(b"*") if !regex => Expect::AnyByte,
            Some(e) if regex => match PosixRegex::new(e) {
                Ok(re) => Expect::Regex(re),
                Err(e) => Expect::BadRegex(e.to_string()),
            },
            Some(e) => Expect::Prefix(e.to_vec()),
        }
    }

    /// Whether a reply must be read at all (TCP without expect just connects and sends).
    pub fn wants_reply(&self) -> bool {
        !matches!(self, Expect::Nothing)
    }

    /// Decide on `reply`; `closed` says that no more bytes will come.
    pub fn decide(&self, reply: &[u8], closed: bool) -> Decision {
        let d = match self {
            Expect::Nothing | Expect::AnyByte if !reply.is_empty() => Decision::Pass,
            Expect::Nothing | Expect::AnyByte => Decision::NeedMore,
            Expect::Prefix(want) => {
                let n = want.len().min(reply.len());
                if want[..n] != reply[..n] {
                    Decision::Fail(Mismatch::Differs)
                } else if n == want.len() {
                    Decision::Pass
                } else {
                    Decision::NeedMore
                }
            }
            Expect::Regex(re) if re.is_match(reply) => Decision::Pass,
            Expect::Regex(_) if reply.len() >= MAX_REPLY => Decision::Fail(Mismatch::TooLong),
            Expect::Regex(_) => Decision::NeedMore,
            Expect::BadRegex(_) => Decision::Fail(Mismatch::BadRegex),
        };
        match d {
            Decision::NeedMore if closed => Decision::Fail(match self {
                Expect::Prefix(want) => Mismatch::TooShort {
                    got: reply.len(),
                    want: want.len(),
                },
                Expect::Regex(_) => Mismatch::NoMatch,
                _ => Mismatch::TooShort { got: 0, want: 1 },
            }),
            d => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_decides_as_soon_as_it_can() {
        let e = Expect::new(Some(b"HTTP"), false);
        assert_eq!(e.decide(b"HT", false), Decision::NeedMore);
        assert_eq!(e.decide(b"HTTP", false), Decision::Pass);
        assert_eq!(e.decide(b"HTTP/1.1 200 OK", false), Decision::Pass);
        // A mismatch in the first byte fails without waiting for more.
        assert_eq!(e.decide(b"S", false), Decision::Fail(Mismatch::Differs));
        // Piranha's prefix semantics: "200" never matches an HTTP status line.
        let e = Expect::new(Some(b"200"), false);
        assert_eq!(
            e.decide(b"HTTP/1.1 200 OK", false),
            Decision::Fail(Mismatch::Differs)
        );
    }

    #[test]
    fn closed_before_expect_is_too_short() {
        let e = Expect::new(Some(b"HTTP"), false);
        assert_eq!(
            e.decide(b"HT", true),
            Decision::Fail(Mismatch::TooShort { got: 2, want: 4 })
        );
    }

    #[test]
    fn star_wants_one_byte() {
        let e = Expect::new(Some(b"*"), false);
        assert_eq!(e.decide(b"", false), Decision::NeedMore);
        assert_eq!(e.decide(b"x", false), Decision::Pass);
        assert!(matches!(e.decide(b"", true), Decision::Fail(_)));
        // With --regex, "*" is a pattern (an invalid one for glibc? no: a literal star).
        assert!(!matches!(Expect::new(Some(b"*"), true), Expect::AnyByte));
    }

    #[test]
    fn regex_reads_until_match_close_or_limit() {
        let e = Expect::new(Some(b"200 OK"), true);
        assert_eq!(e.decide(b"HTTP/1.1 20", false), Decision::NeedMore);
        assert_eq!(e.decide(b"HTTP/1.1 200 OK", false), Decision::Pass);
        assert_eq!(
            e.decide(b"HTTP/1.1 404", true),
            Decision::Fail(Mismatch::NoMatch)
        );
        let big = vec![b'a'; MAX_REPLY];
        assert_eq!(e.decide(&big, false), Decision::Fail(Mismatch::TooLong));
    }

    #[test]
    fn bad_regex_always_fails() {
        let e = Expect::new(Some(b"(oops"), true);
        assert!(matches!(e, Expect::BadRegex(_)));
        assert_eq!(
            e.decide(b"anything", false),
            Decision::Fail(Mismatch::BadRegex)
        );
    }

    #[test]
    fn binary_prefix() {
        let e = Expect::new(Some(&[0x12, 0x34, 0x81]), false);
        assert_eq!(
            e.decide(&[0x12, 0x34, 0x81, 0x80, 0], false),
            Decision::Pass
        );
        assert_eq!(
            e.decide(&[0x12, 0x35], false),
            Decision::Fail(Mismatch::Differs)
        );
    }
}
