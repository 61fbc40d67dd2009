//! VIPs announced to the routers through BIRD (lvs.cf's `announce = bird`).
//!
//! Several directors are active at once; each one's BIRD announces the VIPs it can serve over
//! BGP and the routers spread the flows over the directors (ECMP). This crate is what lvsd
//! needs for it, pure where it can be:
//!
//! - [`plan`] (pure): which VIPs are announced, from each virtual server's VIP and whether it
//!   can serve.
//! - [`mod@render`] (pure): the BIRD configuration fragment of a set of VIPs
//!   (`protocol static piranha_vips` and `piranha_vips6`).
//! - [`reply`] (pure): BIRD's control-socket replies, read line by line, and what a reply to
//!   `configure` means.
//! - [`pacer`] (pure, time injected): when to write and reconfigure, and the back-off after a
//!   failure.
//! - [`mod@file`]: the fragment written atomically; [`client`]: one `configure` over BIRD's
//!   control socket (no `birdc`).
//! - [`error`]: the crate's error enum.

pub mod client;
pub mod error;
pub mod file;
pub mod pacer;
pub mod plan;
pub mod render;
pub mod reply;

pub use client::Bird;
pub use error::Error;
pub use pacer::{Pacer, Step};
pub use plan::{Candidate, Vips, announced};
pub use render::render;

/// Write `vips` to `file` and ask the BIRD at `socket` to reconfigure: the one I/O step of an
/// announcement (blocking; lvsd runs it on its blocking pool).
pub fn apply(file: &std::path::Path, bird: &Bird, vips: &Vips) -> Result<reply::Accepted, Error> {
    file::write_atomic(file, &render(vips))?;
    bird.configure()
}
