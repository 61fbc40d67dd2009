//! The host side: what the harness needs installed ([`prerequisites`], [`require`]), where it
//! keeps its files, and running host commands.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{VmError, setup};

/// Why the harness cannot run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing(pub Vec<String>);

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the VM tests need: {} (on Debian: apt-get install --no-install-recommends qemu-system-x86 busybox-static ipvsadm iproute2)",
            self.0.join(", ")
        )
    }
}

pub(crate) fn which(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// What the host must have: qemu, busybox, apt-get, apt-cache and dpkg (for the kernel),
/// ldd, and the reference tools the guests get (`ipvsadm`, iproute2's `ip`).
pub fn prerequisites() -> Result<(), Missing> {
    let missing: Vec<String> = [
        "qemu-system-x86_64",
        "busybox",
        "apt-get",
        "apt-cache",
        "dpkg",
        "ldd",
        "ipvsadm",
        "ip",
    ]
    .into_iter()
    .filter(|c| which(c).is_none())
    .map(String::from)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Missing(missing))
    }
}

/// For a test: `true` when the VM can run. Otherwise print why and return `false` (skip), or
/// panic under CI, where a skipped VM test would hide a broken setup.
pub fn require() -> bool {
    match prerequisites() {
        Ok(()) => true,
        Err(m) => {
            if testkit::under_ci() {
                panic!("{m}");
            }
            eprintln!("SKIPPED: {m}");
            false
        }
    }
}

/// `target/` of the workspace (or `CARGO_TARGET_DIR`).
pub(crate) fn target_dir() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t);
    }
    // target/<profile>/deps/<test exe>
    std::env::current_exe()
        .ok()
        .and_then(|e| e.ancestors().nth(3).map(Path::to_path_buf))
        .filter(|t| t.file_name().is_some_and(|n| n == "target"))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

pub(crate) fn run_ok(cmd: &mut Command) -> Result<String, VmError> {
    let out = cmd.output().map_err(|e| setup(format!("{cmd:?}: {e}")))?;
    if !out.status.success() {
        return Err(setup(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
