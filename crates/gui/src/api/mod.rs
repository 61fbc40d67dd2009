//! The JSON API under `/api/v1`: the configuration file ([`lvs_cf`], [`replace`]) and its
//! typed model ([`config`]), the daemons' reload ([`reload`]) and their status and metrics
//! ([`status`]). The handlers are in [`handlers`], [`config`] and [`status`].

pub mod config;
pub mod handlers;
pub mod lvs_cf;
pub mod reload;
pub mod replace;
pub mod status;

pub use reload::{LvsdSocket, ReloadError, Reloader};
