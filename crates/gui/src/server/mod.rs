//! The HTTP service: the [`router()`] with its routes, the [`guard`] in front of them, the
//! [`pages`], the shared [`state`], and [`serve`] (plain HTTP or TLS).

pub mod guard;
pub mod pages;
pub mod respond;
pub mod router;
pub mod serve;
pub mod state;

pub use router::{CSP, ROUTES, metrics_router, router};
pub use state::AppState;
