//! The JSON API under `/api/v1`: the configuration file ([`lvs_cf`], [`replace`]), the
//! daemons' reload ([`reload`]) and their status and metrics ([`status`]). The handlers are
//! in [`handlers`] and [`status`].

pub mod handlers;
pub mod lvs_cf;
pub mod reload;
pub mod replace;
pub mod status;

pub use reload::{LvsdSocket, ReloadError, Reloader};
