//! `/assets/app.css`, `/assets/app.js` and `/assets/favicon.svg`, built into the binary: no CDN, no external font.
//! Public (the login page uses the stylesheet); they hold nothing secret.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The stylesheet.
pub const CSS: &str = include_str!("../../assets/app.css");
/// The script: live updates of the monitoring page from the event stream.
pub const JS: &str = include_str!("../../assets/app.js");

/// The icon browsers ask for.
pub const ICON: &str = include_str!("../../assets/favicon.svg");

/// `GET /assets/favicon.svg`.
pub async fn icon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], ICON).into_response()
}

/// `GET /assets/app.css`.
pub async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

/// `GET /assets/app.js`.
pub async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}
