//! Tests that cannot run here: skip with a message saying what to install, or fail under CI,
//! where a skipped test would hide a broken setup.

use std::process::{Command, Stdio};

/// Whether this runs under CI (`CI` set to anything but empty, `false` or `0`): there, a test
/// that cannot run is a failure, not a skip.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Root is needed for network namespaces: true as root; otherwise skip with a message, or fail
/// under CI. (Read from /proc so the check needs no libc binding.)
pub fn root_or_skip() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    if euid == "0" {
        return true;
    }
    assert!(!under_ci(), "these tests need root (network namespaces)");
    eprintln!("SKIPPED: not root, no network namespaces");
    false
}

/// Whether a program is installed (on `PATH`, or an executable path); when it is not, say
/// which package to install and skip, or fail under CI.
pub fn have(prog: &str, apt: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog} || test -x {prog}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(!under_ci(), "{prog} is missing: apt-get install {apt}");
        eprintln!("SKIPPED: {prog} is missing: apt-get install {apt}");
    }
    found
}
