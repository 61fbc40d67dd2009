//! The status socket's requests and replies (lvsd(8), STATUS SOCKET).
//!
//! A client connects, writes one request line ending in `\n` and reads the reply until EOF:
//!
//! - `status`, or nothing at all (the client shuts its writing side down without a word):
//!   the JSON status report, one line;
//! - `reload`: read lvs.cf again, as on SIGHUP;
//! - `drain V/S`, `disable V/S`, `enable V/S`, `weight V/S N`: a control on the real server
//!   `S` of the virtual server `V` ([`Control`]).
//!
//! Everything but `status` is answered `{"ok":true}` or `{"ok":false,"error":"…"}`. This
//! module is the pure part: the line to a [`Request`], and the reply's text.

use serde::{Deserialize, Serialize};

use crate::engine::Control;

/// The longest request line read, without its `\n`.
pub const MAX_LINE: usize = 4096;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Status,
    Reload,
    Control(Control),
}

/// A request line that cannot be served; the text is the reply's `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request line longer than {MAX_LINE} bytes")]
    TooLong,
    #[error("request line is not UTF-8")]
    NotUtf8,
    #[error("unknown request {0:?} (status, reload, drain, disable, enable, weight)")]
    Unknown(String),
    #[error("{0} takes one VIRTUAL/SERVER")]
    Target(&'static str),
    #[error("weight takes VIRTUAL/SERVER and a weight from 0 to 65535")]
    Weight,
}

/// Parse a request line (with or without its `\n` or `\r\n`); an empty line is `status`.
pub fn parse(line: &[u8]) -> Result<Request, RequestError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE {
        return Err(RequestError::TooLong);
    }
    let line = std::str::from_utf8(line).map_err(|_| RequestError::NotUtf8)?;
    let mut words = line.split_whitespace();
    let Some(verb) = words.next() else {
        return Ok(Request::Status);
    };
    let args: Vec<&str> = words.collect();
    let target = |what: &'static str| match args.as_slice() {
        [t] if valid_target(t) => Ok((*t).to_owned()),
        _ => Err(RequestError::Target(what)),
    };
    Ok(match verb {
        "status" if args.is_empty() => Request::Status,
        "reload" if args.is_empty() => Request::Reload,
        "drain" => Request::Control(Control::Drain(target("drain")?)),
        "disable" => Request::Control(Control::Disable(target("disable")?)),
        "enable" => Request::Control(Control::Enable(target("enable")?)),
        "weight" => match args.as_slice() {
            [t, n] if valid_target(t) => Request::Control(Control::Weight(
                (*t).to_owned(),
                n.parse().map_err(|_| RequestError::Weight)?,
            )),
            _ => return Err(RequestError::Weight),
        },
        _ => {
            let shown: String = line.chars().take(64).collect();
            return Err(RequestError::Unknown(shown));
        }
    })
}

/// `virtual/server`: two non-empty names around a `/`.
pub fn valid_target(t: &str) -> bool {
    t.split_once('/')
        .is_some_and(|(v, s)| !v.is_empty() && !s.is_empty())
}

/// The line a request (other than `status`) is written as.
pub fn line(r: &Request) -> String {
    match r {
        Request::Status => "status".into(),
        Request::Reload => "reload".into(),
        Request::Control(Control::Drain(t)) => format!("drain {t}"),
        Request::Control(Control::Disable(t)) => format!("disable {t}"),
        Request::Control(Control::Enable(t)) => format!("enable {t}"),
        Request::Control(Control::Weight(t, n)) => format!("weight {t} {n}"),
    }
}

/// The reply to a request other than `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Reply {
    /// The reply's line, `\n` included.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"ok":false}"#.into()) + "\n"
    }

    pub fn ok() -> Reply {
        Reply {
            ok: true,
            error: None,
        }
    }

    pub fn error(e: impl std::fmt::Display) -> Reply {
        Reply {
            ok: false,
            error: Some(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests() {
        assert_eq!(parse(b""), Ok(Request::Status));
        assert_eq!(parse(b"\n"), Ok(Request::Status));
        assert_eq!(parse(b"status\n"), Ok(Request::Status));
        assert_eq!(parse(b"status\r\n"), Ok(Request::Status));
        assert_eq!(parse(b"reload"), Ok(Request::Reload));
        assert_eq!(
            parse(b"drain web/r1\n"),
            Ok(Request::Control(Control::Drain("web/r1".into())))
        );
        assert_eq!(
            parse(b"  disable   web/r1 \n"),
            Ok(Request::Control(Control::Disable("web/r1".into())))
        );
        assert_eq!(
            parse(b"enable a/b/c"),
            Ok(Request::Control(Control::Enable("a/b/c".into())))
        );
        assert_eq!(
            parse(b"weight web/r1 65535\n"),
            Ok(Request::Control(Control::Weight("web/r1".into(), 65535)))
        );
        for r in [
            Request::Status,
            Request::Reload,
            Request::Control(Control::Weight("v/s".into(), 3)),
            Request::Control(Control::Drain("v/s".into())),
        ] {
            assert_eq!(parse(line(&r).as_bytes()), Ok(r));
        }
    }

    #[test]
    fn bad_requests() {
        assert_eq!(parse(b"weight web/r1 65536"), Err(RequestError::Weight));
        assert_eq!(parse(b"weight web/r1 -1"), Err(RequestError::Weight));
        assert_eq!(parse(b"weight web/r1"), Err(RequestError::Weight));
        assert_eq!(parse(b"drain web"), Err(RequestError::Target("drain")));
        assert_eq!(parse(b"drain /r1"), Err(RequestError::Target("drain")));
        assert_eq!(parse(b"drain a/b c/d"), Err(RequestError::Target("drain")));
        assert_eq!(
            parse(b"status now"),
            Err(RequestError::Unknown("status now".into()))
        );
        assert!(
            parse(b"frobnicate")
                .unwrap_err()
                .to_string()
                .starts_with("unknown request \"frobnicate\"")
        );
        assert_eq!(parse(b"drain w\xffb/r"), Err(RequestError::NotUtf8));
        assert_eq!(parse(&[b'x'; MAX_LINE + 1]), Err(RequestError::TooLong));
        assert_eq!(
            Reply::error(RequestError::TooLong).to_line(),
            "{\"ok\":false,\"error\":\"request line longer than 4096 bytes\"}\n"
        );
        assert_eq!(Reply::ok().to_line(), "{\"ok\":true}\n");
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn words_parse_without_panic(words in proptest::collection::vec(
            "(status|reload|drain|disable|enable|weight|[a-z/0-9]{0,6}|-?[0-9]{1,7}|\u{e9}|/)", 0..5)
        ) {
            let line = words.join(" ");
            if let Ok(r) = parse(line.as_bytes()) {
                // What parses is written back as an equivalent line.
                prop_assert_eq!(parse(crate::request::line(&r).as_bytes()), Ok(r));
            }
        }
    }
}
