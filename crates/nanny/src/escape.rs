//! Escape conversion of send and expect strings (piranha's `convert_str`, extended).
//!
//! Piranha converts `\\ \r \n \t \' \"` and leaves every other backslash sequence alone. We add
//! `\xNN` (exactly two hex digits) so binary protocols such as DNS can be checked, and `\0`.

/// Convert escapes into bytes. Unknown sequences stay as written, as in piranha.
pub fn convert(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != b'\\' || i + 1 == s.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = s[i + 1];
        let simple = match next {
            b'\\' => Some(b'\\'),
            b'r' => Some(b'\r'),
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'\'' => Some(b'\''),
            b'"' => Some(b'"'),
            b'0' => Some(0),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
            continue;
        }
        if next == b'x'
            && let (Some(h), Some(l)) = (
                s.get(i + 2).and_then(|&b| hex(b)),
                s.get(i + 3).and_then(|&b| hex(b)),
            )
        {
            out.push(h << 4 | l);
            i += 4;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Show bytes for a log line: printable ASCII as is, the rest as `\xNN` (and `\r`, `\n`, `\t`).
pub fn show(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piranha_escapes() {
        assert_eq!(
            convert(br"GET / HTTP/1.0\r\n\r\n"),
            b"GET / HTTP/1.0\r\n\r\n"
        );
        assert_eq!(convert(br#"a\\b\tc\'d\"e"#), b"a\\b\tc'd\"e");
    }

    #[test]
    fn unknown_sequences_stay() {
        assert_eq!(convert(br"\q\"), b"\\q\\");
        assert_eq!(convert(br"\x4"), b"\\x4");
        assert_eq!(convert(br"\xZZ"), b"\\xZZ");
    }

    #[test]
    fn hex_and_nul() {
        assert_eq!(convert(br"\x00\x01\xfF\x7e"), [0, 1, 0xff, 0x7e]);
        assert_eq!(convert(br"\0A"), [0, b'A']);
        assert_eq!(convert(br"\\x41"), b"\\x41");
    }

    #[test]
    fn show_is_readable() {
        assert_eq!(show(b"HTTP\r\n\x00\xff\\"), "HTTP\\r\\n\\x00\\xff\\\\");
    }
}
