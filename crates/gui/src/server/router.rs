//! The routes, and the layers every response passes: the [`guard`](super::guard) and the
//! security headers.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};

use super::guard::guard;
use super::pages;
use super::state::{AppState, Shared};
use crate::api::{config, controls, events, handlers, status};

/// Every route and its methods (HEAD goes with GET), for the tests and the manual page.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/login", &["GET", "POST"]),
    ("/logout", &["POST"]),
    ("/api/v1/session", &["GET"]),
    ("/api/v1/lvs.cf", &["GET", "PUT"]),
    ("/api/v1/config", &["GET", "PATCH"]),
    ("/api/v1/status", &["GET"]),
    ("/api/v1/events", &["GET"]),
    ("/api/v1/servers/{virtual}/{server}/drain", &["POST"]),
    ("/api/v1/servers/{virtual}/{server}/disable", &["POST"]),
    ("/api/v1/servers/{virtual}/{server}/enable", &["POST"]),
    ("/api/v1/servers/{virtual}/{server}/weight", &["POST"]),
    ("/metrics", &["GET"]),
    ("/assets/app.css", &["GET"]),
    ("/assets/app.js", &["GET"]),
    ("/assets/favicon.svg", &["GET"]),
    ("/monitor", &["GET"]),
    ("/monitor/servers/{virtual}/{server}/{action}", &["POST"]),
    ("/global", &["GET", "POST"]),
    ("/redundancy", &["GET", "POST"]),
    ("/virtual", &["GET"]),
    ("/virtual/new", &["GET", "POST"]),
    ("/virtual/{name}", &["GET", "POST"]),
    ("/virtual/{name}/{action}", &["POST"]),
    ("/virtual/{name}/real/new", &["GET", "POST"]),
    ("/virtual/{name}/real/{server}", &["GET", "POST"]),
    ("/virtual/{name}/real/{server}/{action}", &["POST"]),
    ("/failover", &["GET"]),
    ("/failover/new", &["GET", "POST"]),
    ("/failover/{name}", &["GET", "POST"]),
    ("/failover/{name}/{action}", &["POST"]),
    ("/apply", &["POST"]),
    ("/lvs.cf", &["GET", "POST"]),
];

/// The Content-Security-Policy of every response.
pub const CSP: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The largest body accepted: an lvs.cf by PUT (a 10,000-service file is about 6 MiB), edits
/// by PATCH.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The whole application.
pub fn router(state: AppState) -> Router {
    let state: Shared = Arc::new(state);
    let routes = Router::new()
        .route("/", get(pages::landing))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/api/v1/session", get(handlers::session))
        .route(
            "/api/v1/lvs.cf",
            get(handlers::get_lvs_cf).put(handlers::put_lvs_cf),
        )
        .route(
            "/api/v1/config",
            get(config::get_config).patch(config::patch_config),
        )
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/events", get(events::events))
        .route(
            "/api/v1/servers/{virtual}/{server}/{action}",
            post(controls::post),
        )
        .route("/metrics", get(status::metrics));
    layers(page_routes(routes), state)
}

/// The server-rendered pages ([`crate::pages`]).
fn page_routes(r: Router<Shared>) -> Router<Shared> {
    use crate::pages::{apply, assets, lvscf_page, monitor, real, settings, virtuals as v};
    r.route("/assets/app.css", get(assets::css))
        .route("/assets/app.js", get(assets::js))
        .route("/assets/favicon.svg", get(assets::icon))
        .route("/monitor", get(monitor::get))
        .route(
            "/monitor/servers/{virtual}/{server}/{action}",
            post(monitor::control),
        )
        .route(
            "/global",
            get(settings::get_global).post(settings::post_global),
        )
        .route(
            "/redundancy",
            get(settings::get_redundancy).post(settings::post_redundancy),
        )
        .route("/virtual", get(v::virtual_list))
        .route("/virtual/new", get(v::virtual_new).post(v::virtual_create))
        .route(
            "/virtual/{name}",
            get(v::virtual_edit).post(v::virtual_save),
        )
        .route("/virtual/{name}/{action}", post(v::virtual_action))
        .route(
            "/virtual/{name}/real/new",
            get(real::new).post(real::create),
        )
        .route(
            "/virtual/{name}/real/{server}",
            get(real::edit).post(real::update),
        )
        .route("/virtual/{name}/real/{server}/{action}", post(real::action))
        .route("/failover", get(v::failover_list))
        .route(
            "/failover/new",
            get(v::failover_new).post(v::failover_create),
        )
        .route(
            "/failover/{name}",
            get(v::failover_edit).post(v::failover_save),
        )
        .route("/failover/{name}/{action}", post(v::failover_action))
        .route("/apply", post(apply::post))
        .route("/lvs.cf", get(lvscf_page::get).post(lvscf_page::post))
}

/// `--metrics-only`: `GET /metrics` and nothing else (every other path is 404 once
/// authenticated), behind the same guard.
pub fn metrics_router(state: AppState) -> Router {
    let state: Shared = Arc::new(state);
    layers(Router::new().route("/metrics", get(status::metrics)), state)
}

fn layers(routes: Router<Shared>, state: Shared) -> Router {
    routes
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// Headers on every response, errors included.
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
