//! `GET /api/v1/status` and `GET /metrics`: the daemons' reports from the shared
//! [`Snapshots`](crate::status::Snapshots) (at most [`MAX_AGE`](crate::status::snapshot::MAX_AGE)
//! old; the ages in the reply count from the read).

use std::time::Instant;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};

use crate::server::state::Shared;
use crate::status::{combine, metrics};

/// `GET /api/v1/status`: see [`crate::status::combine()`].
pub async fn status(State(state): State<Shared>) -> Response {
    let snap = state.snapshots.get(&state.status).await;
    Json(combine(&snap.pulse, &snap.lvsd, Instant::now())).into_response()
}

/// `GET /metrics`: see [`crate::status::metrics`].
pub async fn metrics(State(state): State<Shared>) -> Response {
    let snap = state.snapshots.get(&state.status).await;
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        snap.metrics(),
    )
        .into_response()
}
