//! The pure part of `PUT /api/v1/lvs.cf`: entity tags, validation, the serial number.

use serde::Serialize;
use sha1::{Digest, Sha1};

use crate::auth::sessions::hex;

/// The strong entity tag of a file's bytes: `"` + SHA-1 in hex + `"`.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", hex(&Sha1::digest(bytes)))
}

/// Whether an `If-Match` header value matches `current` (a list of tags, or `*`).
pub fn if_match(header: &str, current: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == current)
}

/// One diagnostic of lvscf, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiDiagnostic {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub severity: String,
    pub message: String,
}

/// The diagnostics of `text` as the API reports them, with 1-based lines and columns.
pub fn api_diagnostics(text: &str, diagnostics: &[lvscf::Diagnostic]) -> Vec<ApiDiagnostic> {
    let index = lvscf::span::LineIndex::new(text);
    diagnostics
        .iter()
        .map(|d| {
            let lc = d.span.map(|s| index.line_col(text, s.start as usize));
            ApiDiagnostic {
                line: lc.map(|l| l.line),
                column: lc.map(|l| l.col),
                severity: d.severity.to_string(),
                message: d.message.clone(),
            }
        })
        .collect()
}

/// A text ready to be written: its serial number bumped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub text: String,
    pub serial_no: i64,
}

/// Validate `text` with lvscf. With errors, every diagnostic (warnings too), in file order;
/// without, the text with `serial_no` incremented ([`bump_serial`]).
pub fn accept(text: &str) -> Result<Accepted, Vec<ApiDiagnostic>> {
    let parsed = lvscf::parse(text);
    if parsed.has_errors() {
        return Err(api_diagnostics(text, &parsed.diagnostics));
    }
    let value = parsed.source.global.value("serial_no");
    Ok(bump_serial(text, value, parsed.model.serial_no))
}

/// Increment `serial_no` as piranha's GUI did on every save, keeping the rest of the text
/// byte for byte: the value at `span` is replaced by `old + 1`; without a `serial_no`
/// statement, `serial_no = 1` becomes the first line (piranha writes it first).
pub fn bump_serial(text: &str, span: Option<lvscf::Span>, old: i64) -> Accepted {
    match span {
        Some(s) => {
            let next = old.saturating_add(1);
            let (start, end) = (s.start as usize, s.end as usize);
            let mut out = String::with_capacity(text.len() + 2);
            out.push_str(&text[..start]);
            out.push_str(&next.to_string());
            out.push_str(&text[end..]);
            Accepted {
                text: out,
                serial_no: next,
            }
        }
        None => Accepted {
            text: format!("serial_no = 1\n{text}"),
            serial_no: 1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "# the cluster\nserial_no = 41   # bumped by the GUI\nprimary = 10.0.0.1\n\
service = lvs\n\nvirtual web {\n    active = 1 # on\n    address = 10.0.0.100 eth0:1\n\
    server a {\n        address = 10.1.0.1\n        active = 1\n    }\n}\n";

    #[test]
    fn the_serial_is_bumped_and_everything_else_kept() {
        let a = accept(CF).unwrap();
        assert_eq!(a.serial_no, 42);
        assert_eq!(a.text, CF.replace("serial_no = 41", "serial_no = 42"));
    }

    #[test]
    fn a_missing_serial_becomes_the_first_line() {
        let cf = CF.replace("serial_no = 41   # bumped by the GUI\n", "");
        let a = accept(&cf).unwrap();
        assert_eq!(a.serial_no, 1);
        assert_eq!(a.text, format!("serial_no = 1\n{cf}"));
        // And the next save bumps it.
        assert_eq!(accept(&a.text).unwrap().serial_no, 2);
    }

    #[test]
    fn errors_come_with_lines_and_columns() {
        let cf = CF.replace("active = 1 # on", "active = maybe");
        let d = accept(&cf).unwrap_err();
        assert!(!d.is_empty());
        let e = d.iter().find(|d| d.severity == "error").unwrap();
        assert_eq!(e.line, Some(7), "{d:?}");
        assert!(e.column.unwrap() > 1, "{d:?}");
        assert!(!e.message.is_empty());
    }

    #[test]
    fn etags_are_strong_sha1_hex() {
        let t = etag(b"abc");
        assert_eq!(t, "\"a9993e364706816aba3e25717850c26c9cd0d89d\"");
        assert!(if_match(&t, &t));
        assert!(if_match("*", &t));
        assert!(if_match(&format!("\"x\", {t}"), &t));
        assert!(!if_match("\"x\"", &t));
        assert!(!if_match(&format!("W/{t}"), &t));
    }
}
