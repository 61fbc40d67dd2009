//! `POST /api/v1/servers/{virtual}/{server}/{action}`: lvsd's runtime controls of one real
//! server (drain, disable, enable, weight), passed to lvsd over its socket. lvsd keeps them in
//! its state file, so they survive its reloads and restarts (lvsd(8), RUNTIME CONTROLS).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;
use tracing::info;

use super::reload::exchange;
use crate::server::guard::Caller;
use crate::server::respond::json_error;
use crate::server::state::Shared;

/// The longest virtual or server name accepted (lvsd's request line is at most 4,096 bytes).
pub const MAX_NAME: usize = 255;
/// The largest weight lvsd takes.
pub const MAX_WEIGHT: u32 = 65535;

/// What to do with a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Weight 0: no new connections, existing ones kept.
    Drain,
    /// Out of the table while its nanny keeps checking.
    Disable,
    /// Back to health-driven control.
    Enable,
    /// This weight instead of the configured one.
    Weight(u32),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Drain => f.write_str("drain"),
            Action::Disable => f.write_str("disable"),
            Action::Enable => f.write_str("enable"),
            Action::Weight(n) => write!(f, "weight {n}"),
        }
    }
}

/// Why a control was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("lvsd not reachable: {0}")]
    Unreachable(std::io::Error),
    /// lvsd has no such real server.
    #[error("lvsd: {0}")]
    NoServer(String),
    #[error("lvsd refused: {0}")]
    Refused(String),
    #[error("lvsd gave an unexpected reply: {0}")]
    BadReply(String),
}

/// Something that applies controls to lvsd's real servers.
pub trait Controller: Send + Sync + fmt::Debug {
    /// Blocking: called on a blocking thread.
    fn control(&self, virtual_: &str, server: &str, action: Action) -> Result<(), ControlError>;
}

/// lvsd's socket: the line `drain V/S` (and so on), then `{"ok":true}` or
/// `{"ok":false,"error":"…"}`.
#[derive(Debug, Clone)]
pub struct LvsdControls {
    pub path: PathBuf,
    pub timeout: Duration,
}

impl LvsdControls {
    pub fn new(path: PathBuf) -> LvsdControls {
        LvsdControls {
            path,
            timeout: Duration::from_secs(10),
        }
    }
}

impl Controller for LvsdControls {
    fn control(&self, virtual_: &str, server: &str, action: Action) -> Result<(), ControlError> {
        let line = request_line(virtual_, server, action);
        let reply = exchange(&self.path, self.timeout, &line).map_err(ControlError::Unreachable)?;
        interpret(&reply)
    }
}

/// lvsd's request line for a control (names already checked by [`valid_name`]).
pub fn request_line(virtual_: &str, server: &str, action: Action) -> String {
    match action {
        Action::Weight(n) => format!("weight {virtual_}/{server} {n}"),
        a => format!("{a} {virtual_}/{server}"),
    }
}

/// The meaning of lvsd's reply line.
pub fn interpret(line: &str) -> Result<(), ControlError> {
    let bad = || ControlError::BadReply(line.trim().chars().take(200).collect());
    let v: serde_json::Value = serde_json::from_str(line.trim()).map_err(|_| bad())?;
    match v.get("ok").and_then(serde_json::Value::as_bool) {
        Some(true) => Ok(()),
        Some(false) => {
            let why = v
                .get("error")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("no reason given")
                .to_owned();
            // lvsd's words for an unknown target (lvsd's ControlError::NoServer).
            if why.starts_with("no real server") {
                Err(ControlError::NoServer(why))
            } else {
                Err(ControlError::Refused(why))
            }
        }
        None => Err(bad()),
    }
}

/// A name lvs.cf can hold and lvsd's request line can carry: 1 to [`MAX_NAME`] bytes, no
/// blank, no control character, no `/` (the separator of `VIRTUAL/SERVER`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
}

/// The action of a path's last segment; `weight` takes its number from the body. The error is
/// the reply's status and message.
pub fn action(segment: &str, body: &[u8]) -> Result<Action, (StatusCode, String)> {
    match segment {
        "drain" => Ok(Action::Drain),
        "disable" => Ok(Action::Disable),
        "enable" => Ok(Action::Enable),
        "weight" => weight(body).ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                format!("the body must be a weight from 0 to {MAX_WEIGHT}"),
            )
        }),
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("no action {segment:?} (drain, disable, enable, weight)"),
        )),
    }
}

/// The body of `…/weight`: a number, as text or as JSON (`5`, `"5"`, `{"weight":5}`).
fn weight(body: &[u8]) -> Option<Action> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let n = match serde_json::from_str::<serde_json::Value>(text).ok() {
        Some(serde_json::Value::Object(o)) => o.get("weight")?.as_u64()?,
        Some(serde_json::Value::String(s)) => s.trim().parse().ok()?,
        _ => text.parse().ok()?,
    };
    let n = u32::try_from(n).ok().filter(|n| *n <= MAX_WEIGHT)?;
    Some(Action::Weight(n))
}

/// `POST /api/v1/servers/{virtual}/{server}/{action}`.
pub async fn post(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((virtual_, server, segment)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if !valid_name(&virtual_) || !valid_name(&server) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "virtual and server names are 1 to 255 characters without blanks or '/'",
        );
    }
    let action = match action(&segment, &body) {
        Ok(a) => a,
        Err((code, why)) => return json_error(code, why),
    };
    match run(&state, &caller, &virtual_, &server, action).await {
        Ok(()) => Json(json!({
            "ok": true,
            "virtual": virtual_,
            "server": server,
            "action": action.to_string(),
        }))
        .into_response(),
        Err(e) => json_error(e.status(), e.to_string()),
    }
}

impl ControlError {
    /// The reply's status for this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            ControlError::NoServer(_) => StatusCode::NOT_FOUND,
            ControlError::Refused(_) => StatusCode::CONFLICT,
            ControlError::Unreachable(_) | ControlError::BadReply(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }
}

/// Apply a control through the state's controller (on a blocking thread), logged with the
/// caller's name; shared by the API and the monitoring page.
pub async fn run(
    state: &Shared,
    caller: &Caller,
    virtual_: &str,
    server: &str,
    action: Action,
) -> Result<(), ControlError> {
    let controller: Arc<dyn Controller> = state.controller.clone();
    let (v, s) = (virtual_.to_owned(), server.to_owned());
    let done = tokio::task::spawn_blocking(move || controller.control(&v, &s, action)).await;
    let result = done.unwrap_or_else(|e| Err(ControlError::Refused(e.to_string())));
    let user = caller.user();
    match &result {
        Ok(()) => info!("{user}: {action} {virtual_}/{server}"),
        Err(e) => info!("{user}: {action} {virtual_}/{server} failed: {e}"),
    }
    result
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;

    use super::*;

    #[test]
    fn lines_and_replies() {
        assert_eq!(request_line("web", "a", Action::Drain), "drain web/a");
        assert_eq!(request_line("web", "a", Action::Enable), "enable web/a");
        assert_eq!(request_line("web", "a", Action::Disable), "disable web/a");
        assert_eq!(
            request_line("web", "a", Action::Weight(7)),
            "weight web/a 7"
        );
        assert!(interpret("{\"ok\":true}\n").is_ok());
        assert!(matches!(
            interpret("{\"ok\":false,\"error\":\"no real server web/zz\"}"),
            Err(ControlError::NoServer(m)) if m == "no real server web/zz"
        ));
        assert!(matches!(
            interpret("{\"ok\":false,\"error\":\"busy\"}"),
            Err(ControlError::Refused(_))
        ));
        assert!(matches!(interpret(""), Err(ControlError::BadReply(_))));
        assert!(matches!(interpret("{}"), Err(ControlError::BadReply(_))));
    }

    #[test]
    fn names_that_cannot_reach_lvsd_are_refused() {
        assert!(valid_name("web-1.example"));
        for bad in ["", "a b", "a/b", "a\nb", "a\tb", &"x".repeat(256)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn weights_in_every_spelling() {
        let w = |b: &str| action("weight", b.as_bytes()).ok();
        for ok in ["5", " 5\n", "\"5\"", "{\"weight\":5}"] {
            assert_eq!(w(ok), Some(Action::Weight(5)), "{ok:?}");
        }
        assert_eq!(w("65535"), Some(Action::Weight(MAX_WEIGHT)));
        for bad in [
            "",
            "-1",
            "65536",
            "1.5",
            "five",
            "{\"w\":5}",
            "[5]",
            "\u{0}",
        ] {
            assert_eq!(w(bad), None, "{bad:?}");
        }
        assert_eq!(action("drain", b"ignored").ok(), Some(Action::Drain));
        let r = action("explode", b"").unwrap_err();
        assert_eq!(r.0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn speaks_lvsds_line_protocol() {
        let d = testkit::tempdir::TempDir::new("gui-controls");
        let path = d.join("lvsd.sock");
        let l = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut line = String::new();
            BufReader::new(s.try_clone().unwrap())
                .read_line(&mut line)
                .unwrap();
            (&s).write_all(b"{\"ok\":true}\n").unwrap();
            line
        });
        LvsdControls::new(path)
            .control("web", "r1", Action::Weight(3))
            .unwrap();
        assert_eq!(server.join().unwrap(), "weight web/r1 3\n");
        let e = LvsdControls::new(d.join("none"))
            .control("web", "r1", Action::Drain)
            .unwrap_err();
        assert!(matches!(e, ControlError::Unreachable(_)), "{e}");
    }
}
