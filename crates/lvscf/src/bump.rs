//! `lvscf bump`: the file with `serial_no` one higher, every other byte kept. `serial_no` is
//! the version of lvs.cf (the web tool raises it on every save); an administrator who edits
//! the file by hand bumps it so that the change is seen as newer.

use crate::Parsed;

/// Why a file cannot be bumped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BumpError {
    #[error("serial_no {0} cannot be raised")]
    Overflow(i64),
}

/// The bumped text and the new serial. `parsed` is `text` parsed, without errors. A file
/// without `serial_no` (0) gets `serial_no = 1` as its first line.
pub fn bump(text: &str, parsed: &Parsed) -> Result<(String, i64), BumpError> {
    let old = parsed.model.serial_no;
    let new = old.checked_add(1).ok_or(BumpError::Overflow(old))?;
    let out = match parsed.source.global.value("serial_no") {
        Some(span) => {
            let (a, b) = (span.start as usize, span.end as usize);
            format!("{}{new}{}", &text[..a], &text[b..])
        }
        None => format!("serial_no = {new}\n{text}"),
    };
    Ok((out, new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bumped(text: &str) -> (String, i64) {
        let p = crate::parse(text);
        let (t, n) = bump(text, &p).unwrap();
        assert_eq!(crate::parse(&t).model.serial_no, n);
        (t, n)
    }

    #[test]
    fn raises_the_serial_and_keeps_every_other_byte() {
        let text = "# mine\nserial_no   =  41   # keep\nprimary = 10.0.0.1\n";
        assert_eq!(
            bumped(text),
            (
                "# mine\nserial_no   =  42   # keep\nprimary = 10.0.0.1\n".into(),
                42
            )
        );
        assert_eq!(
            bumped("primary = 10.0.0.1\n"),
            ("serial_no = 1\nprimary = 10.0.0.1\n".into(), 1)
        );
        assert_eq!(bumped("serial_no = 0x10\n").1, 17);
        assert_eq!(bumped("serial_no = -1\n").1, 0);
    }

    #[test]
    fn the_highest_serial_cannot_be_raised() {
        let text = format!("serial_no = {}\n", i64::MAX);
        let p = crate::parse(&text);
        assert_eq!(
            bump(&text, &p).unwrap_err().to_string(),
            format!("serial_no {} cannot be raised", i64::MAX)
        );
    }
}
