//! The floor fleet: minimal blocking C checkers (`floor.c`) to hold nanny's CPU against.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use crate::proc::Memory;
use crate::{mean_max, verdict};

/// nanny's CPU as a multiple of the floor's (issue 19).
const FLOOR_RATIO_TARGET: f64 = 1.3;
/// The floor checker's source.
const FLOOR_C: &str = include_str!("floor.c");

/// Build the floor checker with `CC` (default `cc`); `None` (and why) if that fails.
pub fn build_floor() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir();
    let src = dir.join(format!("fleet-floor-{}.c", std::process::id()));
    let bin = dir.join(format!("fleet-floor-{}", std::process::id()));
    std::fs::write(&src, FLOOR_C).map_err(|e| format!("{}: {e}", src.display()))?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .output();
    let _ = std::fs::remove_file(&src);
    match out {
        Ok(o) if o.status.success() => Ok(bin),
        Ok(o) => Err(format!(
            "{cc} failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run {cc}: {e}")),
    }
}

/// The floor fleet's figures over the window.
pub struct Floor {
    pub count: usize,
    pub measured: usize,
    /// CPU ns over the window, all together.
    pub ns: u64,
    pub cpu_pct: f64,
    pub checks: u64,
    pub mem: Memory,
}

/// The floor's rows and nanny's CPU as a multiple of it.
pub fn floor_rows(t: &mut String, fl: &Floor, nanny_pct: f64) {
    if fl.count == 0 {
        let _ = writeln!(
            t,
            "| floor fleet | not run (FLOOR=0 or no C compiler) | | |"
        );
        return;
    }
    let per_check_us = if fl.checks > 0 {
        fl.ns as f64 / 1e3 / fl.checks as f64
    } else {
        f64::NAN
    };
    let ratio = nanny_pct / fl.cpu_pct;
    let _ = writeln!(
        t,
        "| CPU, floor: {} minimal blocking C checkers (benches/fleet/floor.c), same window | {:.3}% of one core ({} measured; {} checks served; {per_check_us:.1} µs per check) | | |",
        fl.count, fl.cpu_pct, fl.measured, fl.checks
    );
    let _ = writeln!(
        t,
        "| nanny CPU / floor CPU | {ratio:.2}× | ≤ {FLOOR_RATIO_TARGET}× | {} |",
        verdict(ratio <= FLOOR_RATIO_TARGET && fl.measured == fl.count)
    );
    let (pd, _) = mean_max(&fl.mem.private_dirty);
    let (rss, _) = mean_max(&fl.mem.vm_rss);
    let _ = writeln!(
        t,
        "| floor checker memory: Private_Dirty / VmRSS, mean | {pd:.0} / {rss:.0} KiB | | |"
    );
}
