//! The router in process (tower's `oneshot`): authentication on every route and method,
//! sessions, CSRF, cross-site refusal, the failed-login limit, security headers, the lvs.cf API.

mod api;
mod auth;
mod common;
mod headers;
