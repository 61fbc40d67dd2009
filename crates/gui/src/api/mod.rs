//! The JSON API under `/api/v1`: the configuration file ([`lvs_cf`], [`replace`]) and its
//! typed model ([`config`]), the daemons' reload ([`reload`]), their status and metrics
//! ([`status`]) also as server-sent events ([`events`]), and lvsd's controls of real servers
//! ([`controls`]). The handlers are in [`handlers`], [`config`], [`status`], [`events`] and
//! [`controls`].

pub mod config;
pub mod controls;
pub mod events;
pub mod handlers;
pub mod lvs_cf;
pub mod reload;
pub mod replace;
pub mod status;

pub use controls::{Action, ControlError, Controller, LvsdControls};
pub use reload::{LvsdSocket, ReloadError, Reloader};
