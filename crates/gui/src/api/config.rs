//! `GET /api/v1/config` and `PATCH /api/v1/config`: lvs.cf through lvscf's typed model, for
//! the pages that add, edit, delete and activate virtual servers, real servers and failover
//! services and set the global and redundancy keywords.
//!
//! The model is the JSON of `lvscf dump --json`; a PATCH is a list of [`lvscf::edit::Edit`]s,
//! applied all or nothing to the file as it is and written back with its comments
//! ([`lvscf::edit::rewrite`]). The write goes the way of `PUT /api/v1/lvs.cf`
//! (`handlers::write_through`): same ETag, so the two APIs mix, same `If-Match`
//! rules, validation, serial number, atomic replacement and reload.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use lvscf::edit::{Edit, EditError, rewrite};
use serde::Deserialize;
use serde_json::json;

use super::handlers::{read_config, with_etag, write_through};
use super::lvs_cf::{api_diagnostics, etag};
use crate::server::guard::Caller;
use crate::server::respond::json_error;
use crate::server::state::Shared;

/// The most edits one PATCH may carry (a page sends a handful; whole files go by PUT).
pub const MAX_EDITS: usize = 10_000;

/// The body of a PATCH.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub edits: Vec<Edit>,
}

/// `GET /api/v1/config`: `{"etag", "serial_no", "config", "diagnostics"}`, with the file's
/// ETag. `config` is `null` when the file has errors (they are in `diagnostics`, warnings
/// too).
pub async fn get_config(State(state): State<Shared>) -> Response {
    let bytes = match read_config(&state).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tag = etag(&bytes);
    let text = lvscf::text_of(bytes);
    let parsed = lvscf::parse(&text);
    let config = parsed.config();
    let body = json!({
        "etag": tag,
        "serial_no": config.map(|c| c.serial_no),
        "config": config,
        "diagnostics": api_diagnostics(&text, &parsed.diagnostics),
    });
    with_etag(Json(body).into_response(), &tag)
}

/// `PATCH /api/v1/config`: apply `{"edits": [...]}` to the file. Besides the statuses of the
/// shared write path: 400 for a body that is not JSON, 409 when the file on disk has errors
/// (the model cannot be edited then: fix it with `PUT /api/v1/lvs.cf`), 422 for an edit that
/// cannot be applied (`{"error", "edit"}`). The reply adds the new `config`.
pub async fn patch_config(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let done = write_through(&state, &caller, &headers, true, |current| {
        let patch = parse_body(&body)?;
        let Ok(text) = std::str::from_utf8(current) else {
            return Err(Box::new(json_error(
                StatusCode::CONFLICT,
                "the file is not UTF-8: fix it with PUT /api/v1/lvs.cf",
            )));
        };
        let parsed = lvscf::parse(text);
        if parsed.has_errors() {
            return Err(Box::new(
                (
                    StatusCode::CONFLICT,
                    Json(json!({
                        "error": "the file has errors: fix it with PUT /api/v1/lvs.cf",
                        "diagnostics": api_diagnostics(text, &parsed.diagnostics),
                    })),
                )
                    .into_response(),
            ));
        }
        let r = rewrite(text, &parsed, &patch.edits).map_err(edit_error)?;
        Ok((r.text, r.config))
    })
    .await;
    let (committed, config) = match done {
        Ok(d) => d,
        Err(r) => return r,
    };
    // What the file now reads as (the writer's spelling), with its new serial number.
    let mut config = match lvscf::writer::normalize(&config) {
        Ok(c) => c,
        Err(_) => config,
    };
    config.serial_no = committed.accepted.serial_no;
    let mut more = serde_json::Map::new();
    more.insert("config".into(), json!(config));
    committed.reply(more)
}

/// The edits, or 400 (not JSON) / 422 (JSON, but not a list of at most [`MAX_EDITS`] edits).
fn parse_body(body: &[u8]) -> Result<Patch, Box<Response>> {
    let patch: Patch = serde_json::from_slice(body).map_err(|e| {
        let status = if e.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        Box::new(json_error(status, format!("bad body: {e}")))
    })?;
    if patch.edits.len() > MAX_EDITS {
        return Err(Box::new(json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("bad body: more than {MAX_EDITS} edits"),
        )));
    }
    Ok(patch)
}

/// 422 `{"error", "edit"}`: the message, and the index of the edit at fault (from 0).
fn edit_error(e: EditError) -> Box<Response> {
    let index = match &e {
        EditError::Edit { index, .. } => Some(*index),
        EditError::Write(_) => None,
    };
    Box::new(
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e.to_string(), "edit": index })),
        )
            .into_response(),
    )
}
