//! The web service of piranha (`piranha-gui`, issue 14).
//!
//! - [`server`]: the HTTP service (axum): routes, the guard every request passes, pages,
//!   plain HTTP or TLS;
//! - [`auth`]: Basic credentials, browser sessions with CSRF tokens, the failed-login limiter,
//!   the password file as the server reads it;
//! - [`api`]: the JSON API under `/api/v1` (lvs.cf read and replaced atomically, the daemons'
//!   reload, the daemons' status and the metrics);
//! - [`pages`]: the server-rendered pages (monitoring, the forms of lvs.cf, the diff before
//!   applying, lvs.cf itself) and their assets;
//! - [`status`]: pulse's and lvsd's status reports, read from their sockets, combined for the
//!   status API and rendered in Prometheus's text format;
//! - [`passwd`]: the password file, in the format of Apache's `htpasswd`, and
//!   [`passwd_cmd`], the `piranha-passwd` command; [`gui_cmd`], the `piranha-gui` command.

pub mod api;
pub mod atomic;
pub mod auth;
pub mod gui_cmd;
pub mod pages;
pub mod passwd;
pub mod passwd_cmd;
pub mod server;
pub mod status;

pub use passwd::Error;
