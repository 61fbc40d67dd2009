//! POSIX extended regular expressions through the C library (`regcomp(REG_EXTENDED)`).
//!
//! `--regex` promises piranha's semantics, which are glibc's ERE: bracket classes, `{m,n}`,
//! leftmost-longest matching, no Perl escapes. Using the C library's engine gives exactly that.
//! `REG_STARTEND` lets a reply with NUL bytes be searched whole.
#![allow(unsafe_code)]

use std::ffi::CString;

use crate::Error;

/// A compiled extended regular expression.
pub struct PosixRegex {
    re: Box<libc::regex_t>,
    source: String,
}

impl std::fmt::Debug for PosixRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PosixRegex").field(&self.source).finish()
    }
}

impl PosixRegex {
    /// Compile `pattern`. The error is the C library's own wording (`regerror`).
    ///
    /// A pattern that would cost the C library too much ([`crate::regex_size`]) is refused
    /// first.
    pub fn new(pattern: &[u8]) -> Result<PosixRegex, Error> {
        crate::regex_size::check(pattern).map_err(|e| Error::Regex(e.to_string()))?;
        let c = CString::new(pattern).map_err(|_| Error::RegexNul)?;
        // SAFETY: regex_t is a plain C struct for which all-zero bytes are a valid initial
        // value; regcomp fully initializes it before it is read.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `re` points to writable storage for a regex_t and `c` is NUL-terminated.
        let rc = unsafe { libc::regcomp(&mut *re, c.as_ptr(), libc::REG_EXTENDED) };
        if rc != 0 {
            let mut buf = [0u8; 256];
            // SAFETY: regerror writes at most buf.len() bytes, NUL-terminated, into buf; `re`
            // holds whatever regcomp left, which regerror may read.
            unsafe { libc::regerror(rc, &*re, buf.as_mut_ptr().cast(), buf.len()) };
            // A failed regcomp owns nothing, so there is no regfree (PosixRegex is not built).
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return Err(Error::Regex(
                String::from_utf8_lossy(&buf[..end]).into_owned(),
            ));
        }
        Ok(PosixRegex {
            re,
            source: String::from_utf8_lossy(pattern).into_owned(),
        })
    }

    /// Whether the expression matches anywhere in `text` (NUL bytes included).
    pub fn is_match(&self, text: &[u8]) -> bool {
        let Ok(len) = libc::regoff_t::try_from(text.len()) else {
            return false;
        };
        let mut m = [libc::regmatch_t {
            rm_so: 0,
            rm_eo: len,
        }];
        // An empty slice may dangle; give regexec a real byte to point at.
        let empty = [0u8; 1];
        let ptr = if text.is_empty() {
            empty.as_ptr()
        } else {
            text.as_ptr()
        };
        // SAFETY: `re` was initialized by a successful regcomp; with REG_STARTEND glibc reads
        // only bytes [rm_so, rm_eo) of `ptr`, which lie inside `text`; `m` has one element.
        let rc =
            unsafe { libc::regexec(&*self.re, ptr.cast(), 1, m.as_mut_ptr(), libc::REG_STARTEND) };
        rc == 0
    }
}

impl Drop for PosixRegex {
    fn drop(&mut self) {
        // SAFETY: `re` was initialized by a successful regcomp and is freed exactly once.
        unsafe { libc::regfree(&mut *self.re) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_syntax() {
        let re = PosixRegex::new(b"^HTTP/1\\.[01] (200|302)").unwrap();
        assert!(re.is_match(b"HTTP/1.1 200 OK\r\n"));
        assert!(re.is_match(b"HTTP/1.0 302 Found"));
        assert!(!re.is_match(b"HTTP/1.1 404 Not Found"));
        let re = PosixRegex::new(b"[[:digit:]]{3}").unwrap();
        assert!(re.is_match(b"code 204"));
        assert!(!re.is_match(b"code 20"));
    }

    #[test]
    fn searches_past_nul_bytes() {
        let re = PosixRegex::new(b"OK").unwrap();
        assert!(re.is_match(b"\x00\x01OK"));
        assert!(!re.is_match(b""));
    }

    #[test]
    fn bad_pattern_is_an_error() {
        let e = PosixRegex::new(b"(unclosed").unwrap_err();
        assert!(!e.to_string().is_empty());
        assert!(PosixRegex::new(b"a\0b").is_err());
    }
}
