//! `testkit`: the helpers this workspace's tests share, so that each is written once.
//!
//! It is a dev-dependency only (never published, never linked into a daemon). What it holds:
//!
//! - [`skip`]: root and installed-program checks that skip a test with a message saying what
//!   to install, and fail it instead under CI (`CI=true`); [`must`] runs a shell command.
//! - [`wait`]: waiting for an event with a bound (a condition, a file's content, a port that
//!   accepts, a process's exit), by polling the event itself, never a fixed sleep.
//! - [`netns`]: network namespaces: a fresh one for a closure, named ones with veth pairs and
//!   bridges, commands inside them.
//! - [`nginx`]: nginx as a real web server, one process per address.
//! - [`bins`]: the workspace's binaries, built for the running test's profile (cargo builds
//!   only a package's own binaries for its tests).
//! - [`process`]: a child process whose output lines are kept and timestamped, and waited for.
//! - [`servers`]: tiny TCP servers that can be stopped; [`tempdir`]: scratch directories;
//!   [`status`]: a daemon's JSON status report from its Unix socket.
//! - [`dns`]: name resolution that hangs in a namespace (a silent name server).
//! - [`mod@http`]: a minimal HTTP/1.1 client for the web service's tests.
//! - [`nginx`]: a real web server (nginx) in one process, stopped at will.
//! - `browser` (feature `browser`): headless Chromium over WebDriver for the web GUI's tests.
//! - [`bird`]: BIRD 2 as a test's routing daemon (its own configuration and control socket).
//! - [`ecmp`]: active directors (BIRD, lvsd) behind a BIRD router with one multipath
//!   route per VIP, a client and real servers.
//! - [`fault`]: the fault matrix's LVS pair, a client probing the VIP continuously, real
//!   servers that turn silent, reset, slow or flapping, and the invariants after a fault.
//! - [`lan`]: the two-director LAN of the pulse and cluster tests (pulse, lvsd, nanny and fos
//!   processes in namespaces on one bridge), and its FOS variant in [`lan::fos`].
//!
//! `vmtest` (the qemu harness) builds on this crate, never the other way round.

pub mod bins;
pub mod bird;
#[cfg(feature = "browser")]
pub mod browser;
pub mod dns;
pub mod ecmp;
pub mod fault;
pub mod http;
pub mod lan;
pub mod netns;
pub mod nginx;
pub mod process;
pub mod servers;
pub mod skip;
pub mod status;
pub mod tempdir;
pub mod wait;

pub use skip::{have, root_or_skip, under_ci};

use std::process::Command;

/// Run a shell command (on the host or in a VM guest); its stdout, or a panic with its
/// output when it fails.
pub fn must(cmd: &str) -> String {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("/bin/sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// `n` seconds.
pub const S: fn(u64) -> std::time::Duration = std::time::Duration::from_secs;
/// `n` milliseconds.
pub const MS: fn(u64) -> std::time::Duration = std::time::Duration::from_millis;
