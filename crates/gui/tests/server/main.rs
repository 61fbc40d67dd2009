//! The router in process (tower's `oneshot`): authentication on every route and method,
//! sessions, CSRF, cross-site refusal, the failed-login limit, security headers, the lvs.cf API
//! and its typed model (`config`), the status API and the metrics.

mod api;
mod auth;
mod common;
mod config;
mod controls;
mod events;
mod headers;
mod pages;
mod pages_forms;
mod status;
