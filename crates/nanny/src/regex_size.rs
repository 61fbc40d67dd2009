//! A bound on what an extended regular expression costs the C library before it is compiled.
//!
//! glibc's `regcomp` copies a repeated sub-expression once per repetition and builds automata
//! over the copies: `(((a{255}){255}){255})` or a run of stacked operators (`a++++…`) takes
//! gigabytes and minutes (the `nanny_expect` fuzz target found the second). An `expect` regex
//! is written by an admin, but a mistyped one must not take the director's memory down with
//! one nanny per real server. So before `regcomp` the pattern is read once here:
//!
//! - two repetition operators in a row (`a**`, `a+{2}`) are refused: POSIX leaves them
//!   undefined;
//! - the size after expanding every repetition (an atom counts 1; `*`, `+` and `?` double what
//!   they repeat, `{m,n}` multiplies it by the larger bound, or `m + 1` without one) must stay
//!   under [`MAX_EXPANDED`];
//! - the optional copies cost more: glibc's memory grows with the square of an interval's
//!   optional part (`a{,1000}` takes about 10 MB, `a{,4000}` 128 MB, `a{,15150}` 1.8 GB,
//!   measured), so the sum of (size of the repeated part × (n − m))² over the intervals must
//!   stay under [`MAX_OPTIONAL_SQUARED`]; glibc copies a repeated group with its intervals,
//!   so a group's sum counts once per copy (`(a{,1000}){20}` took 288 MB);
//! - a bound is read as glibc's `fetch_number` reads it, token by token: `\,` is a comma and
//!   `\0` a digit there (`0{\,30300}` is `0{,30300}`, 3.9 GB: the fuzzer's fifth find),
//!   leading zeros count for nothing, `{,n}` is `{0,n}` and `{n,}` is n copies and a star.
//!
//! Everything else (syntax errors included) is left to `regcomp`, whose wording the admin sees.

/// The largest expanded size accepted: generous for health-check patterns (a status line, a
/// `[[:digit:]]{1,255}` field), far below what hurts.
pub const MAX_EXPANDED: u64 = 20_000;

/// The largest sum of squared optional parts accepted: `a{,1000}`, about 10 MB in glibc.
pub const MAX_OPTIONAL_SQUARED: u64 = 1_000_000;

/// Why a pattern is refused before compiling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TooBig {
    #[error(
        "repetition operators in a row (such as `++` or `*{{2}}`) are undefined in POSIX extended expressions"
    )]
    Stacked,
    #[error(
        "the expression expands to more than {MAX_EXPANDED} states once its repetitions are unrolled"
    )]
    Expands,
    #[error(
        "the expression has too many optional repetitions (such as `a{{0,2000}}`) for the C library to compile in reasonable memory"
    )]
    Optional,
}

/// Check `pattern` as described in the module documentation.
pub fn check(pattern: &[u8]) -> Result<(), TooBig> {
    let mut r = Reader {
        p: pattern,
        i: 0,
        depth: 0,
    };
    let cost = r.alternatives()?;
    if cost.size > MAX_EXPANDED {
        return Err(TooBig::Expands);
    }
    Ok(())
}

/// What a piece of the expression costs: its size unrolled, and the sum of squared optional
/// parts of the intervals in it, each counted once per copy glibc makes of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cost {
    size: u64,
    optional: u64,
}

impl Cost {
    const ONE: Cost = Cost {
        size: 1,
        optional: 0,
    };

    fn plus(self, other: Cost) -> Result<Cost, TooBig> {
        Cost {
            size: self.size.saturating_add(other.size),
            optional: self.optional.saturating_add(other.optional),
        }
        .bounded()
    }

    /// This piece repeated: `copies` times, `optional` of them optional.
    fn repeated(self, copies: u64, optional: u64) -> Result<Cost, TooBig> {
        let part = self.size.saturating_mul(optional);
        Cost {
            size: self.size.saturating_mul(copies),
            optional: self
                .optional
                .saturating_mul(copies)
                .saturating_add(part.saturating_mul(part)),
        }
        .bounded()
    }

    /// Costs only grow as the reading goes on, so a piece over a bound is refused at once.
    fn bounded(self) -> Result<Cost, TooBig> {
        if self.optional > MAX_OPTIONAL_SQUARED {
            Err(TooBig::Optional)
        } else if self.size > MAX_EXPANDED {
            Err(TooBig::Expands)
        } else {
            Ok(self)
        }
    }
}

/// glibc's `RE_DUP_MAX`: a larger bound is an error to `regcomp` (counted as one more here).
const RE_DUP_MAX: u64 = 0x7fff;

/// One token inside an interval, as glibc's `fetch_token` gives it to `fetch_number`: `\,`
/// is a comma and `\0` a digit (glibc compares the token's character, whatever its kind);
/// `\}` is a literal brace, not the end; `\1`…`\9` are back references, not digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Digit(u8),
    Comma,
    Close,
    Other,
    End,
}

/// A bound as glibc's `fetch_number` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    /// No digit before the `,` or `}`.
    Missing,
    Value(u64),
    /// Not a number: `regcomp` fails.
    Bad,
}

struct Reader<'a> {
    p: &'a [u8],
    i: usize,
    /// How many groups are open: outside any, glibc takes `)` as a literal (which can be
    /// repeated) and compiles on, so the reading must go on too.
    depth: u32,
}

impl Reader<'_> {
    /// `a|b|c` up to an unmatched `)` or the end: the sum of the branches.
    fn alternatives(&mut self) -> Result<Cost, TooBig> {
        let mut total = Cost::default();
        loop {
            total = total.plus(self.branch()?)?;
            match self.p.get(self.i) {
                Some(b'|') => self.i += 1,
                _ => return Ok(total),
            }
        }
    }

    /// A sequence of atoms, each with its repetitions.
    fn branch(&mut self) -> Result<Cost, TooBig> {
        // Everything before the last atom, the last atom, and whether a repetition was just
        // applied to it.
        let mut done = Cost::default();
        let mut last: Option<Cost> = None;
        let mut repeated = false;
        while let Some(&c) = self.p.get(self.i) {
            let rep = match c {
                b'|' => break,
                b')' if self.depth > 0 => break,
                // A repetition with nothing before it is a literal (or skipped) to glibc.
                b'*' | b'+' | b'?' | b'{' if last.is_none() => None,
                b'*' | b'+' | b'?' => {
                    self.i += 1;
                    Some((2, 1))
                }
                b'{' => self.interval(),
                _ => None,
            };
            match (rep, last) {
                (Some(_), Some(_)) if repeated => return Err(TooBig::Stacked),
                (Some((copies, optional)), Some(atom)) => {
                    last = Some(atom.repeated(copies, optional)?);
                    repeated = true;
                }
                (_, _) => {
                    if let Some(atom) = last {
                        done = done.plus(atom)?;
                    }
                    last = Some(self.atom()?);
                    repeated = false;
                }
            }
            done.plus(last.unwrap_or_default())?;
        }
        done.plus(last.unwrap_or_default())
    }

    /// The token of an interval at `j`, and where the next one starts.
    fn token(&self, j: usize) -> (Tok, usize) {
        match self.p.get(j) {
            None => (Tok::End, j),
            Some(b'\\') => match self.p.get(j + 1) {
                Some(b',') => (Tok::Comma, j + 2),
                Some(b'0') => (Tok::Digit(0), j + 2),
                Some(_) => (Tok::Other, j + 2),
                None => (Tok::Other, j + 1),
            },
            Some(b',') => (Tok::Comma, j + 1),
            Some(b'}') => (Tok::Close, j + 1),
            Some(&d) if d.is_ascii_digit() => (Tok::Digit(d - b'0'), j + 1),
            Some(_) => (Tok::Other, j + 1),
        }
    }

    /// glibc's `fetch_number` from `j`: the bound, the token that ended it (`,` or `}`; the
    /// end of the pattern is [`Num::Bad`]) and where the next token starts.
    fn number(&self, mut j: usize) -> (Num, Tok, usize) {
        let mut num = Num::Missing;
        loop {
            let (tok, next) = self.token(j);
            j = next;
            num = match (tok, num) {
                (Tok::End, _) => return (Num::Bad, tok, j),
                (Tok::Comma | Tok::Close, _) => return (num, tok, j),
                (Tok::Digit(d), Num::Missing) => Num::Value(u64::from(d)),
                (Tok::Digit(d), Num::Value(n)) => {
                    Num::Value((n * 10 + u64::from(d)).min(RE_DUP_MAX + 1))
                }
                _ => Num::Bad,
            };
        }
    }

    /// `{m}`, `{m,}`, `{m,n}` or `{,n}` at `self.i`, read as glibc's `parse_dup_op` reads it:
    /// the number of copies and of optional copies, consuming it. Not an interval to glibc
    /// (`regcomp` fails): a literal `{`, left for [`Reader::atom`].
    fn interval(&mut self) -> Option<(u64, u64)> {
        let (lo, tok, j) = self.number(self.i + 1);
        let lo = match (lo, tok) {
            (Num::Value(n), _) => n,
            // glibc reads `{,n}` as `{0,n}`.
            (Num::Missing, Tok::Comma) => 0,
            _ => return None,
        };
        let (copies, optional, end) = match tok {
            Tok::Close => (lo, 0, j),
            _ => match self.number(j) {
                (Num::Value(hi), Tok::Close, end) if hi >= lo => (hi, hi - lo, end),
                // `{m,}`: m copies and a starred one.
                (Num::Missing, Tok::Close, end) => (lo.saturating_add(1), 1, end),
                _ => return None,
            },
        };
        self.i = end;
        Some((copies.max(1), optional))
    }

    /// One atom at `self.i`: a group, a bracket expression, an escape or a byte.
    fn atom(&mut self) -> Result<Cost, TooBig> {
        let c = self.p[self.i];
        self.i += 1;
        match c {
            b'(' => {
                self.depth += 1;
                let inner = self.alternatives();
                self.depth -= 1;
                let inner = inner?;
                if self.p.get(self.i) == Some(&b')') {
                    self.i += 1;
                }
                Ok(Cost {
                    size: inner.size.max(1),
                    ..inner
                })
            }
            b'[' => {
                self.bracket();
                Ok(Cost::ONE)
            }
            b'\\' => {
                self.i = (self.i + 1).min(self.p.len());
                Ok(Cost::ONE)
            }
            _ => Ok(Cost::ONE),
        }
    }

    /// Skip a bracket expression after its `[`: `]` first is a member, `[:…:]`, `[=…=]` and
    /// `[.….]` are read whole. Unterminated: the rest (regcomp reports it).
    fn bracket(&mut self) {
        if self.p.get(self.i) == Some(&b'^') {
            self.i += 1;
        }
        if self.p.get(self.i) == Some(&b']') {
            self.i += 1;
        }
        while let Some(&c) = self.p.get(self.i) {
            self.i += 1;
            match c {
                b']' => return,
                b'[' if matches!(self.p.get(self.i), Some(b':' | b'=' | b'.')) => {
                    let close = self.p[self.i];
                    let rest = &self.p[self.i + 1..];
                    match rest.windows(2).position(|w| w == [close, b']']) {
                        Some(k) => self.i += 1 + k + 2,
                        None => self.i = self.p.len(),
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_check_patterns_pass() {
        for p in [
            "^HTTP/1\\.[01] (200|302)",
            "[[:digit:]]{3}",
            "[[:alpha:]]{1,255}",
            "^220 .*FTP",
            "a{2,}b?c*d+",
            "[]*+]+x",
            "(a|b|c)*",
            "x{",
            "{3}",
            "*a",
            "\\++",
            "",
        ] {
            assert_eq!(check(p.as_bytes()), Ok(()), "{p}");
        }
    }

    #[test]
    fn stacked_repetitions_are_refused() {
        for p in [
            "a++",
            "a**",
            "a*?",
            "a+{2}",
            "a{2}{3}",
            "(ab)*+",
            "\\'MMMM++++++",
            // After an unmatched `)`, which glibc takes literally (the fuzzer's fourth find).
            "]x)'MMMM+++++",
            "a))b**",
            "\\'OMMMMMM)2,)++++++++",
        ] {
            assert_eq!(check(p.as_bytes()), Err(TooBig::Stacked), "{p}");
        }
    }

    #[test]
    fn expansion_is_bounded() {
        assert_eq!(check(b"((a{255}){255}){255}"), Err(TooBig::Expands));
        assert_eq!(check(b"(a{200}){200}"), Err(TooBig::Expands));
        assert_eq!(check(b"a{99999999999999999999}"), Err(TooBig::Expands));
        assert_eq!(check(b"(a{100}){100}"), Ok(()));
        // glibc's `{,n}` is an interval too (the fuzzer's second find).
        assert_eq!(check(b"]0{30300}"), Err(TooBig::Expands));
        assert!(check(b"]0{,30300}").is_err());
        assert_eq!(check(b"]0{,15150}"), Err(TooBig::Optional));
        assert_eq!(check(b"a{,1000}"), Ok(()));
        assert_eq!(check(b"a{,1001}"), Err(TooBig::Optional));
        assert_eq!(check(b"(ab){,501}"), Err(TooBig::Optional));
        assert_eq!(check(b"a{1000}"), Ok(()));
        assert_eq!(check(b"a{,3}+"), Err(TooBig::Stacked));
        assert_eq!(check(b"a{,3}"), Ok(()));
        assert_eq!(check(&b"a|".repeat(30_000)), Err(TooBig::Expands));
    }

    /// Every spelling of a bound glibc accepts is read as glibc reads it (the fuzzer's fifth
    /// find was `0{\,30300}`, 3.9 GB in regcomp).
    #[test]
    fn escaped_bounds_are_read_as_glibc_reads_them() {
        // The fuzzer's input, after the flag byte.
        assert_eq!(check(b"\xc3\xc30{\\,30300}"), Err(TooBig::Optional));
        assert_eq!(check(b"0{\\,30300}"), Err(TooBig::Optional));
        assert_eq!(check(b"a{\\,1001}"), Err(TooBig::Optional));
        assert_eq!(check(b"a{\\,1000}"), Ok(()));
        // `\0` is a digit, in either bound.
        assert_eq!(check(b"a{3\\0\\0\\0\\0}"), Err(TooBig::Expands));
        assert_eq!(check(b"a{\\0,2\\0\\0\\0}"), Err(TooBig::Optional));
        assert_eq!(check(b"a{1\\0\\0\\0\\0\\,}"), Ok(()));
        assert_eq!(check(b"a{3\\0\\0\\0\\0\\,}"), Err(TooBig::Expands));
        // Leading zeros and `{,}`.
        assert_eq!(check(b"a{0000000000000030000}"), Err(TooBig::Expands));
        assert_eq!(check(b"a{,}"), Ok(()));
        // An escaped interval is a repetition for the stacking rule too.
        assert_eq!(check(b"a{\\,3}+"), Err(TooBig::Stacked));
        assert_eq!(check(b"a+{\\0}"), Err(TooBig::Stacked));
        // Not intervals to glibc (regcomp refuses them): `\}` is a brace, `\1` a back
        // reference, a bound past RE_DUP_MAX an error; harmless either way.
        assert_eq!(check(b"a{3\\}"), Ok(()));
        assert_eq!(check(b"a{\\1}"), Ok(()));
        assert_eq!(check(b"a{99999}"), Err(TooBig::Expands));
    }

    #[test]
    fn open_bounds() {
        // `{n,}`: n copies and a starred one.
        assert_eq!(check(b"a{20000,}"), Err(TooBig::Expands));
        assert_eq!(check(b"a{19998,}"), Ok(()));
        // `{,n}`: n optional copies.
        assert_eq!(check(b"a{,1001}"), Err(TooBig::Optional));
        assert_eq!(check(b"a{0,1001}"), Err(TooBig::Optional));
        assert_eq!(check(b"a{1,1001}"), Ok(()));
    }

    /// glibc copies a repeated group's intervals once per repetition: `(0{,1000}){20}` took
    /// 288 MB (one `0{,1000}` takes 10 MB), so the optional cost is counted per copy.
    #[test]
    fn nested_repetitions_multiply() {
        assert_eq!(check(b"(0{,1000}){20}"), Err(TooBig::Optional));
        assert_eq!(check(b"(0{\\,1000}){2}"), Err(TooBig::Optional));
        assert_eq!(check(b"(0{,500}){4}"), Ok(()));
        assert_eq!(check(b"(0{,500}){5}"), Err(TooBig::Optional));
        assert!(check(b"((0{,30}){,30}){,30}").is_err());
        assert_eq!(check(b"((0{\\,30}){\\,30})"), Ok(()));
        assert_eq!(check(b"((0{\\,30}){\\,30}){2}"), Err(TooBig::Optional));
        assert_eq!(check(b"(a{1\\0\\0}){1\\0\\0}"), Ok(()));
        assert_eq!(check(b"(a{1\\0\\0}){3\\0\\0}"), Err(TooBig::Expands));
        assert_eq!(check(b"(a{10}|b{10}){2\\0\\0\\0}"), Err(TooBig::Expands));
    }

    /// What the guard reads is what glibc compiles: the same spellings, small, match as the
    /// plain forms do.
    #[test]
    fn glibc_agrees_on_the_spellings() {
        let re = |p: &[u8]| crate::regex::PosixRegex::new(p).unwrap();
        let m = |p: &[u8], n: usize| re(p).is_match(&b"a".repeat(n));
        for (pattern, yes, no) in [
            (&b"^a{\\,3}$"[..], [0, 3], [4, 5]),
            (b"^a{1\\0}$", [10, 10], [9, 11]),
            (b"^a{2\\,}$", [2, 7], [0, 1]),
            (b"^a{\\0\\,2}$", [0, 2], [3, 4]),
            (b"^(a{\\,2}){2}$", [0, 4], [5, 6]),
        ] {
            for n in yes {
                assert!(
                    m(pattern, n),
                    "{} should match {n}",
                    String::from_utf8_lossy(pattern)
                );
            }
            for n in no {
                assert!(
                    !m(pattern, n),
                    "{} should not match {n}",
                    String::from_utf8_lossy(pattern)
                );
            }
        }
        // What the guard leaves as literal braces, regcomp refuses.
        for p in [&b"a{3\\}"[..], b"a{\\1}", b"a{99999}", b"{,3}a"] {
            assert!(crate::regex::PosixRegex::new(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn brackets_hide_operators() {
        assert_eq!(check(b"[+*]{2}"), Ok(()));
        assert_eq!(check(b"[[:digit:]+]+"), Ok(()));
        assert_eq!(check(b"[^]]+"), Ok(()));
    }
}
