//! fuzzkit: the bodies of the fuzz targets, one function per untrusted input.
//!
//! Each function takes arbitrary bytes, feeds them to one of the suite's readers the way the
//! daemon or tool does, and panics only when an invariant breaks (a reader that panics on its
//! own counts too). Two callers:
//!
//! - the cargo-fuzz binaries under `fuzz/` (nightly, libFuzzer; one `fuzz_target!` per
//!   function, run for millions of executions by hand), and
//! - `tests/smoke.rs`, part of the workspace's test command on stable Rust: every target over
//!   its corpus in `fuzz/corpus/NAME/` and a few thousand mutations of it.
//!
//! [`TARGETS`] lists them by the name of their cargo-fuzz binary and corpus directory.

mod auth;
mod gui;
mod ipvsadm;
mod nanny;
mod netlink;
mod wire;

pub use auth::heartbeat_auth;
pub use gui::gui_bodies;
pub use ipvsadm::{ipvsadm_args, ipvsadm_restore};
pub use nanny::{nanny_escape, nanny_expect};
pub use netlink::{ipvs_netlink, netif_netlink};
pub use wire::{heartbeat, lvscf};

/// A fuzz target's body.
pub type Body = fn(&[u8]);

/// Every target: (name of the cargo-fuzz binary and corpus directory, body).
pub const TARGETS: &[(&str, Body)] = &[
    ("lvscf", lvscf),
    ("heartbeat", heartbeat),
    ("heartbeat_auth", heartbeat_auth),
    ("ipvs_netlink", ipvs_netlink),
    ("netif_netlink", netif_netlink),
    ("ipvsadm_args", ipvsadm_args),
    ("ipvsadm_restore", ipvsadm_restore),
    ("nanny_escape", nanny_escape),
    ("nanny_expect", nanny_expect),
    ("gui_bodies", gui_bodies),
];

/// Split `data` at the first NUL: (before, after). No NUL: all of it, then nothing.
pub(crate) fn split_nul(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}
