//! The JSON API under `/api/v1`: the configuration file ([`lvs_cf`], [`replace`]) and the
//! daemons' reload ([`reload`]). The handlers are in [`handlers`].

pub mod handlers;
pub mod lvs_cf;
pub mod reload;
pub mod replace;

pub use reload::{LvsdSocket, ReloadError, Reloader};
