//! The API's handlers.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;
use tracing::info;

use super::lvs_cf::{accept, etag, if_match};
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

fn with_etag(mut r: Response, tag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(tag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

async fn read_config(state: &Shared) -> Result<Vec<u8>, Response> {
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
    let Some(wanted) = headers.get(header::IF_MATCH) else {
        return json_error(
            StatusCode::PRECONDITION_REQUIRED,
            "If-Match is required: GET the file first and send its ETag",
        );
    };
    let wanted = wanted.to_str().unwrap_or_default().to_owned();
    let _one_writer = state.write.lock().await;
    let current = match read_config(&state).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let current_tag = etag(&current);
    if !if_match(&wanted, &current_tag) {
        return with_etag(
            json_error(
                StatusCode::PRECONDITION_FAILED,
                "the file changed since you read it",
            ),
            &current_tag,
        );
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return diagnostics_reply(vec![json!({
            "line": null, "column": null, "severity": "error",
            "message": "the text is not UTF-8",
        })]);
    };
    let accepted = match accept(text) {
        Ok(a) => a,
        Err(d) => {
            return diagnostics_reply(d.into_iter().map(|d| json!(d)).collect());
        }
    };
    if let Err(r) = write_config(&state, accepted.text.clone().into_bytes()).await {
        return r;
    }
    info!(
        "{} written by {} (serial_no {})",
        state.config.display(),
        caller.user().escape_debug(),
        accepted.serial_no
    );
    let reload = reload(&state).await;
    let tag = etag(accepted.text.as_bytes());
    let r = Json(json!({
        "etag": tag,
        "serial_no": accepted.serial_no,
        "reload": reload,
    }))
    .into_response();
    with_etag(r, &tag)
}

/// Replace lvs.cf with `bytes` (on a blocking thread); a 500 reply when that fails.
async fn write_config(state: &Shared, bytes: Vec<u8>) -> Result<(), Response> {
    let path = state.config.clone();
    match tokio::task::spawn_blocking(move || replace(&path, &bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            info!("cannot write {}: {e}", state.config.display());
            Err(json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot write {}: {e}", state.config.display()),
            ))
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

fn diagnostics_reply(diagnostics: Vec<serde_json::Value>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "diagnostics": diagnostics })),
    )
        .into_response()
}
