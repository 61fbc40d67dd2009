//! The API's handlers.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;
use tracing::info;

use super::lvs_cf::{Accepted, accept, etag, if_match};
use super::replace::replace;
use crate::server::guard::Caller;
use crate::server::respond::json_error;
use crate::server::state::Shared;

/// `GET /api/v1/session`: who is logged in, and the CSRF token a page sends back.
pub async fn session(Extension(caller): Extension<Caller>) -> Json<serde_json::Value> {
    let csrf = match &caller {
        Caller::Session { session, .. } => Some(session.csrf.clone()),
        Caller::Basic { .. } => None,
    };
    Json(json!({ "user": caller.user(), "csrf_token": csrf }))
}

pub(super) fn with_etag(mut r: Response, tag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(tag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

pub(crate) async fn read_config(state: &Shared) -> Result<Vec<u8>, Response> {
    tokio::fs::read(&state.config).await.map_err(|e| {
        info!("cannot read {}: {e}", state.config.display());
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read {}: {e}", state.config.display()),
        )
    })
}

/// `GET /api/v1/lvs.cf`: the file as it is, with its ETag.
pub async fn get_lvs_cf(State(state): State<Shared>) -> Response {
    let bytes = match read_config(&state).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tag = etag(&bytes);
    let r = ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response();
    with_etag(r, &tag)
}

/// `PUT /api/v1/lvs.cf`: replace the file (see the module [`crate::api`] and piranha-gui(8)).
pub async fn put_lvs_cf(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let done = write_through(
        &state,
        &caller,
        &headers,
        false,
        |_current| match String::from_utf8(body.to_vec()) {
            Ok(text) => Ok((text, ())),
            Err(_) => Err(Box::new(diagnostics_reply(
                vec![json!({
                    "line": null, "column": null, "severity": "error",
                    "message": "the text is not UTF-8",
                })],
                None,
            ))),
        },
    )
    .await;
    match done {
        Ok((c, ())) => c.reply(serde_json::Map::new()),
        Err(r) => r,
    }
}

/// A write that happened: the text written (serial bumped), its tag, the daemons' answer.
pub(crate) struct Committed {
    pub accepted: Accepted,
    pub etag: String,
    pub reload: String,
}

impl Committed {
    /// `{"etag", "serial_no", "reload"}` and `more`, with the `ETag` header.
    pub(super) fn reply(&self, more: serde_json::Map<String, serde_json::Value>) -> Response {
        let mut body = json!({
            "etag": self.etag,
            "serial_no": self.accepted.serial_no,
            "reload": self.reload,
        });
        if let Some(o) = body.as_object_mut() {
            o.extend(more);
        }
        with_etag(Json(body).into_response(), &self.etag)
    }
}

/// The one write path of lvs.cf (`PUT /api/v1/lvs.cf`, `PATCH /api/v1/config`), one writer at
/// a time: `If-Match` must be present (428) and name the current file (412); `make` turns the
/// current bytes into the new text (or a reply refusing, boxed as it is large); the text must
/// pass lvscf (422 with its diagnostics, and the text itself when `show_text`, as the client
/// did not write it); then `serial_no` is incremented, the file replaced atomically and lvsd
/// told to reload.
pub(crate) async fn write_through<T>(
    state: &Shared,
    caller: &Caller,
    headers: &HeaderMap,
    show_text: bool,
    make: impl FnOnce(&[u8]) -> Result<(String, T), Box<Response>>,
) -> Result<(Committed, T), Response> {
    let Some(wanted) = headers.get(header::IF_MATCH) else {
        return Err(json_error(
            StatusCode::PRECONDITION_REQUIRED,
            "If-Match is required: GET the file first and send its ETag",
        ));
    };
    let wanted = wanted.to_str().unwrap_or_default().to_owned();
    let _one_writer = state.write.lock().await;
    let current = read_config(state).await?;
    let current_tag = etag(&current);
    if !if_match(&wanted, &current_tag) {
        return Err(with_etag(
            json_error(
                StatusCode::PRECONDITION_FAILED,
                "the file changed since you read it",
            ),
            &current_tag,
        ));
    }
    let (text, extra) = make(&current).map_err(|r| *r)?;
    let accepted = match accept(&text) {
        Ok(a) => a,
        Err(d) => {
            let shown = show_text.then_some(text.as_str());
            return Err(diagnostics_reply(
                d.into_iter().map(|d| json!(d)).collect(),
                shown,
            ));
        }
    };
    write_config(state, accepted.text.clone().into_bytes()).await?;
    info!(
        "{} written by {} (serial_no {})",
        state.config.display(),
        caller.user().escape_debug(),
        accepted.serial_no
    );
    let reload = reload(state).await;
    let etag = etag(accepted.text.as_bytes());
    Ok((
        Committed {
            accepted,
            etag,
            reload,
        },
        extra,
    ))
}

/// Replace lvs.cf with `bytes` (on a blocking thread); when that fails the file is as it was
/// (the new text goes to a temporary file renamed over it only once written whole): a 507
/// reply when the disk is full, else 500, saying so.
async fn write_config(state: &Shared, bytes: Vec<u8>) -> Result<(), Response> {
    let path = state.config.clone();
    match tokio::task::spawn_blocking(move || replace(&path, &bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            let why = format!(
                "cannot write {0}: {e}; {0} is unchanged",
                state.config.display()
            );
            info!("{why}");
            let full = matches!(
                e.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            );
            let code = if full {
                StatusCode::INSUFFICIENT_STORAGE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            Err(json_error(code, why))
        }
        Err(e) => Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// Ask the daemons to reload: `"ok"`, or why not (logged too).
async fn reload(state: &Shared) -> String {
    let reloader = state.reloader.clone();
    match tokio::task::spawn_blocking(move || reloader.reload()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            info!("{e}");
            e.to_string()
        }
        Err(e) => e.to_string(),
    }
}

/// 422 with lvscf's diagnostics (and the text they are about, when given).
pub(super) fn diagnostics_reply(
    diagnostics: Vec<serde_json::Value>,
    text: Option<&str>,
) -> Response {
    let mut body = json!({ "diagnostics": diagnostics });
    if let (Some(t), Some(o)) = (text, body.as_object_mut()) {
        o.insert("text".into(), json!(t));
    }
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}
