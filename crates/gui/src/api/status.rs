//! `GET /api/v1/status` and `GET /metrics`: the daemons' reports, read fresh on each request
//! (both at once, on blocking threads, each within [`TIMEOUT`]).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};

use crate::server::state::Shared;
use crate::status::source::TIMEOUT;
use crate::status::{
    LvsdReport, PulseReport, Reading, StatusError, StatusSource, combine, metrics,
};

/// `GET /api/v1/status`: see [`crate::status::combine()`].
pub async fn status(State(state): State<Shared>) -> Response {
    let (pulse, lvsd) = read_both(&state.status).await;
    Json(combine(&pulse, &lvsd, Instant::now())).into_response()
}

/// `GET /metrics`: see [`crate::status::metrics`].
pub async fn metrics(State(state): State<Shared>) -> Response {
    let (pulse, lvsd) = read_both(&state.status).await;
    let text = metrics::render(pulse.report.as_ref().ok(), lvsd.report.as_ref().ok());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

/// Both daemons' reports, read at the same time.
pub async fn read_both(
    source: &Arc<dyn StatusSource>,
) -> (Reading<PulseReport>, Reading<LvsdReport>) {
    tokio::join!(
        read(source.clone(), "pulse", |s| s.pulse()),
        read(source.clone(), "lvsd", |s| s.lvsd()),
    )
}

async fn read<T: Send + 'static>(
    source: Arc<dyn StatusSource>,
    daemon: &'static str,
    f: fn(&dyn StatusSource) -> Result<T, StatusError>,
) -> Reading<T> {
    let task = tokio::task::spawn_blocking(move || f(&*source));
    let report = match tokio::time::timeout(TIMEOUT, task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(StatusError::Task(e.to_string())),
        Err(_) => Err(StatusError::Timeout { daemon }),
    };
    Reading::now(report)
}
