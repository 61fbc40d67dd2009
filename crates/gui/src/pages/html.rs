//! HTML escaping: every value a page shows passes [`esc`], which is safe in text and in
//! double-quoted attribute values alike.

use std::fmt::Write as _;

/// `s` with `& < > " '` replaced by character references, and control characters other than
/// tab, line feed and carriage return replaced by U+FFFD (they are not allowed in HTML).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A path segment percent-encoded (everything but unreserved characters), for links and form
/// actions built from names in lvs.cf; the result still goes through [`esc`] in an attribute.
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A query value percent-encoded as [`seg`] does.
pub fn query(s: &str) -> String {
    seg(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_cannot_open_markup() {
        let hostile = [
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "' onmouseover='alert(1)",
            "&lt;already&gt;",
            "</textarea><script>x</script>",
            "a\u{0}b\u{7}c\u{1b}[31m",
        ];
        for h in hostile {
            let e = esc(h);
            assert!(!e.contains('<') && !e.contains('>'), "{e}");
            assert!(!e.contains('"') && !e.contains('\''), "{e}");
            assert!(
                !e.chars().any(|c| c.is_control() && !"\t\n\r".contains(c)),
                "{e:?}"
            );
            // Every & starts a reference we wrote.
            for (i, _) in e.match_indices('&') {
                let rest = &e[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|r| rest.starts_with(r)),
                    "{e}"
                );
            }
        }
        assert_eq!(
            esc("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;"
        );
        assert_eq!(esc("x\u{0}y"), "x\u{fffd}y");
        assert_eq!(esc("é\tö\n"), "é\tö\n");
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(seg("web-1.a_b~"), "web-1.a_b~");
        assert_eq!(seg("a b/c?d#e\"<"), "a%20b%2Fc%3Fd%23e%22%3C");
        assert_eq!(seg("é"), "%C3%A9");
        assert_eq!(query("a&b=c"), "a%26b%3Dc");
    }
}
