//! A string as one lvs.cf token.

use super::WriteError;

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Where a token stands on its line: the first value after `=` may start with `#` or `=`
/// (piranha read it as a value); any other word would start a comment or look like `=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    FirstValue,
    Word,
}

/// A string as one lvs.cf token: bare when that reads back the same, else quoted.
/// `prefer_quotes` quotes even a bare-safe value (send/expect, as the GUI did).
pub(crate) fn quote(
    what: &str,
    s: &str,
    place: Place,
    prefer_quotes: bool,
) -> Result<String, WriteError> {
    let err = |why| {
        Err(WriteError::Unrepresentable {
            what: what.to_string(),
            value: s.to_string(),
            why,
        })
    };
    if s.contains(['\n', '\r']) {
        return err("contains a line break");
    }
    let bare_safe = !(s.is_empty()
        || s.contains(is_blank)
        || s.starts_with(['"', '\''])
        || (place == Place::Word && s.starts_with(['#', '=']))
        || matches!(s, "{" | "}" | "[" | "]"));
    if bare_safe && !prefer_quotes {
        return Ok(s.to_string());
    }
    if !s.contains('"') {
        Ok(format!("\"{s}\""))
    } else if !s.contains('\'') {
        Ok(format!("'{s}'"))
    } else if bare_safe {
        // Both quote characters inside: only the bare form can hold it.
        Ok(s.to_string())
    } else {
        err("contains both quote characters and needs quoting")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        let w = |s: &str| quote("x", s, Place::Word, false);
        let v = |s: &str, prefer| quote("x", s, Place::FirstValue, prefer);
        assert_eq!(w("eth0:1").unwrap(), "eth0:1");
        assert_eq!(v("HTTP", true).unwrap(), "\"HTTP\"");
        assert_eq!(w("a b").unwrap(), "\"a b\"");
        assert_eq!(w("say \"hi\" now").unwrap(), "'say \"hi\" now'");
        assert_eq!(w("").unwrap(), "\"\"");
        assert_eq!(w("#x").unwrap(), "\"#x\"");
        assert_eq!(
            v("#x", false).unwrap(),
            "#x",
            "a first value may start with #"
        );
        assert_eq!(w("=x").unwrap(), "\"=x\"");
        assert_eq!(w("{").unwrap(), "\"{\"");
        assert!(w("a\"b' c").is_err());
        // Both quotes and no blank: bare even where quotes are preferred.
        assert_eq!(v("it's\"", true).unwrap(), "it's\"");
        assert_eq!(v("#it's\"", true).unwrap(), "#it's\"");
        assert!(w("a\nb").is_err());
    }
}
