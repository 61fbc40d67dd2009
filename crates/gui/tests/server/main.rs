//! The router in process (tower's `oneshot`): authentication on every route and method,
//! sessions, CSRF, cross-site refusal, the failed-login limit, security headers, the lvs.cf API,
//! the status API and the metrics.

mod api;
mod auth;
mod common;
mod controls;
mod events;
mod headers;
mod status;
