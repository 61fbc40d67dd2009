//! BIRD's control-socket protocol, read line by line (pure).
//!
//! Every line of a reply starts with a four-digit code followed by `-` when more lines follow
//! or by a space on the reply's last line; a line starting with a space continues the previous
//! code, and a line starting with `+` is a spontaneous message outside any reply. Codes 0xxx
//! are success, 1xxx and 2xxx table rows and headings, 8xxx run-time errors and 9xxx parse
//! errors (BIRD's `doc/reply_codes`). On connecting BIRD greets with
//! `0001 BIRD <version> ready.`; `configure` answers `0002-Reading configuration from …` and
//! then one of 0003 Reconfigured, 0004 Reconfiguration in progress, 0005 Reconfiguration
//! already in progress, queueing, 0019 Nothing to do, or an error such as
//! `8002 <file>:<line>:<col> <message>`.

use crate::error::Error;

/// Code of the greeting.
pub const WELCOME: u16 = 1;

/// One line of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// `CCCC-text` (`last == false`) or `CCCC text` (`last == true`).
    Coded {
        code: u16,
        last: bool,
        text: &'a str,
    },
    /// ` text`: more of the previous code.
    Continued(&'a str),
    /// `+CCCC…`: a spontaneous message, not part of the reply.
    Spontaneous(&'a str),
}

/// Read one line (without its newline); `None` if it is not BIRD's protocol.
pub fn line(s: &str) -> Option<Line<'_>> {
    if let Some(rest) = s.strip_prefix(' ') {
        return Some(Line::Continued(rest));
    }
    if let Some(rest) = s.strip_prefix('+') {
        return Some(Line::Spontaneous(rest));
    }
    let digits = s.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    let last = match s.as_bytes().get(4) {
        Some(b' ') | None => true,
        Some(b'-') => false,
        Some(_) => return None,
    };
    Some(Line::Coded {
        code,
        last,
        text: s.get(5..).unwrap_or(""),
    })
}

/// A whole reply being read: feed it lines until [`Reply::push`] says it is complete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// The code of the last line.
    pub code: u16,
    /// The text of the last coded line (with its continuations).
    pub text: String,
    /// Every line's text, for the log.
    pub lines: Vec<String>,
}

impl Reply {
    /// Add a line: `Ok(true)` once the reply's last line is in.
    pub fn push(&mut self, raw: &str) -> Result<bool, Error> {
        match line(raw) {
            None => Err(Error::Protocol(raw.chars().take(200).collect())),
            Some(Line::Spontaneous(_)) => Ok(false),
            Some(Line::Continued(t)) => {
                self.text.push('\n');
                self.text.push_str(t);
                self.lines.push(t.to_owned());
                Ok(false)
            }
            Some(Line::Coded { code, last, text }) => {
                self.code = code;
                self.text = text.to_owned();
                self.lines.push(text.to_owned());
                Ok(last)
            }
        }
    }
}

/// How BIRD took `configure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// 0003: the new configuration is in force.
    Reconfigured,
    /// 0004: it is being applied (protocols are restarting).
    InProgress,
    /// 0005: another reconfiguration is under way; this one follows it.
    Queued,
    /// 0019: nothing to do.
    NothingToDo,
}

/// What a complete reply to `configure` means.
pub fn configure_outcome(r: &Reply) -> Result<Accepted, Error> {
    match r.code {
        3 => Ok(Accepted::Reconfigured),
        4 => Ok(Accepted::InProgress),
        5 => Ok(Accepted::Queued),
        19 => Ok(Accepted::NothingToDo),
        code => Err(Error::Refused {
            code,
            message: r.text.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(lines: &[&str]) -> Reply {
        let mut r = Reply::default();
        for (i, l) in lines.iter().enumerate() {
            let done = r.push(l).unwrap();
            assert_eq!(done, i + 1 == lines.len(), "{l}");
        }
        r
    }

    #[test]
    fn lines_codes_and_continuations() {
        assert_eq!(
            line("0001 BIRD 2.0.12 ready."),
            Some(Line::Coded {
                code: 1,
                last: true,
                text: "BIRD 2.0.12 ready."
            })
        );
        assert_eq!(
            line("0002-Reading configuration from /etc/bird/bird.conf"),
            Some(Line::Coded {
                code: 2,
                last: false,
                text: "Reading configuration from /etc/bird/bird.conf"
            })
        );
        assert_eq!(line(" more"), Some(Line::Continued("more")));
        assert_eq!(line("+0013 x"), Some(Line::Spontaneous("0013 x")));
        assert_eq!(
            line("0000"),
            Some(Line::Coded {
                code: 0,
                last: true,
                text: ""
            })
        );
        for bad in ["", "abc", "00x1 y", "0001x", "HTTP/1.1 200 OK"] {
            assert_eq!(line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn configure_replies() {
        let ok = reply(&[
            "0002-Reading configuration from /b.conf",
            "0003 Reconfigured",
        ]);
        assert_eq!(configure_outcome(&ok).unwrap(), Accepted::Reconfigured);
        let r = reply(&["0002-Reading", "0004 Reconfiguration in progress"]);
        assert_eq!(configure_outcome(&r).unwrap(), Accepted::InProgress);
        let r = reply(&["0005 Reconfiguration already in progress, queueing"]);
        assert_eq!(configure_outcome(&r).unwrap(), Accepted::Queued);
        let r = reply(&["0019 Nothing to do"]);
        assert_eq!(configure_outcome(&r).unwrap(), Accepted::NothingToDo);
        let bad = reply(&[
            "0002-Reading configuration from /b.conf",
            "8002 /run/piranha/announce.conf:4:1 syntax error, unexpected '}'",
        ]);
        match configure_outcome(&bad) {
            Err(Error::Refused { code, message }) => {
                assert_eq!(code, 8002);
                assert!(
                    message.starts_with("/run/piranha/announce.conf:4:1"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        let r = reply(&["0006 Reconfiguration ignored, shutting down"]);
        assert!(configure_outcome(&r).is_err());
        let r = reply(&["9001 syntax error, unexpected CF_SYM_UNDEFINED"]);
        assert!(matches!(
            configure_outcome(&r),
            Err(Error::Refused { code: 9001, .. })
        ));
    }

    #[test]
    fn continued_text_and_spontaneous_lines() {
        let mut r = Reply::default();
        assert!(!r.push("+0013 spontaneous").unwrap());
        assert!(!r.push("8002-first").unwrap());
        assert!(!r.push(" second").unwrap());
        assert!(r.push("8002 last").unwrap());
        assert_eq!((r.code, r.text.as_str()), (8002, "last"));
        assert_eq!(r.lines, ["first", "second", "last"]);
        assert!(Reply::default().push("garbage").is_err());
    }
}
