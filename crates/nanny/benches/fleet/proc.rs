//! What the fleet bench reads from `/proc`: CPU time and memory of processes.

use std::collections::HashMap;
use std::path::Path;

/// CPU time of a task directory (`/proc/PID` or `/proc/PID/task/TID`) in ns, from schedstat.
pub fn schedstat_ns(dir: &Path) -> Option<u64> {
    let s = std::fs::read_to_string(dir.join("schedstat")).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// CPU time of all of a process's threads in ns.
pub fn process_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        total += schedstat_ns(&e.ok()?.path())?;
    }
    Some(total)
}

/// utime + stime in clock ticks, from `/proc/PID/stat` (fields 14 and 15).
pub fn process_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields restart after its closing parenthesis.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field k is f[k - 3].
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The kB fields of `/proc/PID/smaps_rollup`.
pub fn rollup(pid: u32) -> Option<HashMap<String, u64>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let mut m = HashMap::new();
    for line in s.lines().skip(1) {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if let Some(n) = v
            .trim()
            .strip_suffix("kB")
            .and_then(|n| n.trim().parse().ok())
        {
            m.insert(k.to_string(), n);
        }
    }
    Some(m)
}

/// A numeric field of `/proc/PID/status` (`Threads`, `VmRSS` in kB, …).
pub fn status_field(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub fn threads(pid: u32) -> Option<u64> {
    status_field(pid, "Threads")
}

/// Total CPU ns of `pids` between two samples, and how many were measured both times.
pub fn cpu_between(a: &[Option<u64>], b: &[Option<u64>]) -> (u64, usize) {
    let mut total = 0;
    let mut measured = 0;
    for (x, y) in a.iter().zip(b) {
        if let (Some(x), Some(y)) = (x, y) {
            total += y.saturating_sub(*x);
            measured += 1;
        }
    }
    (total, measured)
}

/// Per-nanny memory figures in KiB.
#[derive(Debug, Default)]
pub struct Memory {
    pub private: Vec<f64>,
    pub private_dirty: Vec<f64>,
    pub pss: Vec<f64>,
    pub rss: Vec<f64>,
    pub vm_rss: Vec<f64>,
    pub anonymous: Vec<f64>,
}

impl Memory {
    pub fn sample(pids: &[u32]) -> Memory {
        let mut m = Memory::default();
        for &pid in pids {
            let Some(r) = rollup(pid) else { continue };
            let g = |k: &str| r.get(k).copied().unwrap_or(0) as f64;
            m.private.push(g("Private_Clean") + g("Private_Dirty"));
            m.private_dirty.push(g("Private_Dirty"));
            m.pss.push(g("Pss"));
            m.rss.push(g("Rss"));
            m.anonymous.push(g("Anonymous"));
            if let Some(v) = status_field(pid, "VmRSS") {
                m.vm_rss.push(v as f64);
            }
        }
        m
    }
}
