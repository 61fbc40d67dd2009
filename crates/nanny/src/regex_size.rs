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
//!   stay under [`MAX_OPTIONAL_SQUARED`].
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
        optional: 0,
        depth: 0,
    };
    let size = r.alternatives()?;
    if size > MAX_EXPANDED {
        return Err(TooBig::Expands);
    }
    Ok(())
}

struct Reader<'a> {
    p: &'a [u8],
    i: usize,
    /// The sum of squared optional parts so far.
    optional: u64,
    /// How many groups are open: outside any, glibc takes `)` as a literal (which can be
    /// repeated) and compiles on, so the reading must go on too.
    depth: u32,
}

impl Reader<'_> {
    /// `a|b|c` up to an unmatched `)` or the end: the sum of the branches.
    fn alternatives(&mut self) -> Result<u64, TooBig> {
        let mut total = 0u64;
        loop {
            total = total.saturating_add(self.branch()?);
            if total > MAX_EXPANDED {
                return Err(TooBig::Expands);
            }
            match self.p.get(self.i) {
                Some(b'|') => self.i += 1,
                _ => return Ok(total),
            }
        }
    }

    /// A sequence of atoms, each with its repetitions.
    fn branch(&mut self) -> Result<u64, TooBig> {
        let mut total = 0u64;
        // The size of the last atom, and whether a repetition was just applied to it.
        let mut last: Option<u64> = None;
        let mut repeated = false;
        while let Some(&c) = self.p.get(self.i) {
            let mult = match c {
                b'|' => break,
                b')' if self.depth > 0 => break,
                b'*' | b'+' | b'?' => {
                    self.i += 1;
                    Some((2, 1))
                }
                b'{' => self.interval(),
                _ => None,
            };
            match (mult, last) {
                (Some(_), Some(_)) if repeated => return Err(TooBig::Stacked),
                (Some((m, optional)), Some(size)) => {
                    let part = size.saturating_mul(optional);
                    self.optional = self.optional.saturating_add(part.saturating_mul(part));
                    if self.optional > MAX_OPTIONAL_SQUARED {
                        return Err(TooBig::Optional);
                    }
                    // The atom was counted once; it now counts `m` times.
                    total = total.saturating_add(size.saturating_mul(m - 1));
                    last = Some(size.saturating_mul(m));
                    repeated = true;
                }
                // A repetition with nothing before it is a literal to glibc.
                (Some(_), None) => {
                    total = total.saturating_add(1);
                }
                (None, _) => {
                    let size = self.atom()?;
                    total = total.saturating_add(size);
                    last = Some(size);
                    repeated = false;
                }
            }
            if total > MAX_EXPANDED {
                return Err(TooBig::Expands);
            }
        }
        Ok(total)
    }

    /// `{m}`, `{m,}`, `{m,n}` or `{,n}` at `self.i`: the multiplier and the number of optional
    /// copies, consuming it. Not an interval: a literal `{`, left for [`Reader::atom`].
    fn interval(&mut self) -> Option<(u64, u64)> {
        let rest = &self.p[self.i + 1..];
        let end = rest.iter().position(|&b| b == b'}')?;
        let body = std::str::from_utf8(&rest[..end]).ok()?;
        let (lo, hi) = match body.split_once(',') {
            Some((lo, hi)) => (lo, Some(hi)),
            None => (body, None),
        };
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().unwrap_or(u64::MAX))
        };
        // glibc reads `{,n}` as `{0,n}`.
        let lo = if lo.is_empty() && hi.is_some() {
            0
        } else {
            number(lo)?
        };
        let (mult, optional) = match hi {
            None => (lo, 0),
            Some("") => (lo.saturating_add(1), 1),
            Some(h) => {
                let hi = number(h)?.max(lo);
                (hi, hi - lo)
            }
        };
        self.i += end + 2;
        Some((mult.max(1), optional))
    }

    /// One atom at `self.i`: a group, a bracket expression, an escape or a byte.
    fn atom(&mut self) -> Result<u64, TooBig> {
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
                Ok(inner.max(1))
            }
            b'[' => {
                self.bracket();
                Ok(1)
            }
            b'\\' => {
                self.i = (self.i + 1).min(self.p.len());
                Ok(1)
            }
            _ => Ok(1),
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

    #[test]
    fn brackets_hide_operators() {
        assert_eq!(check(b"[+*]{2}"), Ok(()));
        assert_eq!(check(b"[[:digit:]+]+"), Ok(()));
        assert_eq!(check(b"[^]]+"), Ok(()));
    }
}
