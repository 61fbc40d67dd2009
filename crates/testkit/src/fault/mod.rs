//! The fault matrix's harness: an LVS pair on the [`Lan`] (real pulse, lvsd on the userspace
//! data plane and nanny processes; real servers whose behaviour a test changes, [`real`]), a
//! client probing the VIP continuously ([`probe`]), and the invariants that must hold once a
//! fault is over: exactly one director active, the VIP where the active one is and nowhere
//! else, the client served through it, lvsd's table as the file says, no daemon dead.

pub mod fs;
pub mod probe;
pub mod real;

use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::lan::{Lan, PairCf, Pulse, VIP, pair_cf};
use crate::status::read_json;
pub use fs::{SmallFs, read_only_in};
pub use probe::{Probe, Seen};
pub use real::{Mode, RealServer};

/// Heartbeat timings of the pair: fast, and still realistic on a loaded 2-core machine.
pub const KEEPALIVE: &str = "0.2";
pub const DEADTIME: Duration = Duration::from_secs(1);
/// The directors' addresses, d1 (primary) and d2 (backup).
pub const DIRECTORS: [(&str, &str); 2] = [("d1", "10.7.0.1"), ("d2", "10.7.0.2")];

/// What the harness reads of pulse's report.
#[derive(Debug, Clone, Deserialize)]
pub struct PulseBrief {
    pub state: String,
    #[serde(default)]
    pub vips: Vec<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    pub child: Option<ChildBrief>,
    #[serde(default)]
    pub reloads: u64,
    #[serde(default)]
    pub reloads_failed: u64,
    #[serde(default)]
    pub took_over: u64,
    #[serde(default)]
    pub gave_up: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChildBrief {
    pub program: String,
    pub pid: u32,
    pub state: String,
}

/// What the harness reads of lvsd's report.
#[derive(Debug, Clone, Deserialize)]
pub struct LvsdBrief {
    pub pid: u32,
    #[serde(default)]
    pub reloads: u64,
    #[serde(default)]
    pub reloads_failed: u64,
    pub virtual_servers: Vec<VirtualBrief>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VirtualBrief {
    pub name: String,
    pub real_servers: Vec<RealBrief>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RealBrief {
    pub name: String,
    pub health: String,
    pub in_table: bool,
    pub weight: i32,
    pub configured_weight: i32,
    pub nanny_pid: Option<u32>,
    #[serde(default)]
    pub nanny_restarts: u32,
    #[serde(default)]
    pub checks: u64,
    #[serde(default)]
    pub checks_failed: u64,
    /// Connections the data plane could not make to it.
    #[serde(default)]
    pub plane_failures: u64,
    /// Present when the destination is in the data plane's table (its counters).
    pub traffic: Option<serde_json::Value>,
}

/// Whether process `pid` is gone (or a zombie).
pub fn gone(pid: u32) -> bool {
    stat(pid).is_none_or(|(_, f)| f.first().is_some_and(|s| s == "Z"))
}

/// A process's fields after its command: `[state, ppid, …]` (`/proc/PID/stat` from field 3),
/// and its command.
pub fn stat(pid: u32) -> Option<(String, Vec<String>)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let fields = text[close + 1..]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some((text[open + 1..close].to_owned(), fields))
}

/// The processes whose parent is `pid` and whose command is `name` (zombies too).
pub fn children_named(pid: u32, name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|p: &u32| {
            stat(*p).is_some_and(|(comm, f)| comm == name && f.get(1) == Some(&pid.to_string()))
        })
        .collect()
}

/// Send `sig` to `pid` (a process that may be gone already).
pub fn signal(pid: u32, sig: Signal) {
    let _ = kill(Pid::from_raw(pid as i32), sig);
}

/// lvs.cf for the pair: one virtual server on the VIP, r1 and r2 checked with an HTTP
/// request every second (`timeout = 1`, one good check to come back), and the userspace
/// plane's retry policy (`connect_timeout`, `retries`). `serial` and `r1_weight` vary it.
pub fn lvs_cf(serial: u32, r1_weight: u32) -> String {
    pair_cf(&PairCf {
        serial,
        keepalive: KEEPALIVE,
        deadtime: &DEADTIME.as_secs_f64().to_string(),
        virtual_extra: "send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n\
                        expect = \"HTTP\"\n\
                        connect_timeout = 0.3\n\
                        retries = 1",
        r1_weight: Some(r1_weight),
        ..PairCf::default()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pairs_file_has_the_matrix_settings() {
        let text = super::lvs_cf(7, 3);
        for line in [
            "serial_no = 7",
            "keepalive = 0.2",
            "deadtime = 1",
            "    expect = \"HTTP\"",
            "    retries = 1",
            "        weight = 3",
            "        weight = 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
    }
}

/// Replace `path` with `text` atomically (as an editor or the web service does).
pub fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write lvs.cf");
    std::fs::rename(&tmp, path).expect("rename lvs.cf");
}

/// What the table must hold for one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// In the table with this weight, its nanny running.
    In(i32),
    /// Out of the table (down), its nanny running.
    Out,
}

/// The LVS pair: d1 active, d2 backup, both real servers answering, the client probing.
#[derive(Debug)]
pub struct LvsPair<S> {
    /// The directors' pulses, d1 then d2; `None` while one is down.
    pub pulse: [Option<Pulse<S>>; 2],
    pub cfg: PathBuf,
    pub probe: Probe,
    pub r1: RealServer,
    pub r2: RealServer,
    /// The small file system lvs.cf is on, if any ([`LvsPair::start_on_small_fs`]).
    pub small_fs: Option<SmallFs>,
    /// Dropped last: the namespaces and every process in them.
    pub lan: Lan<S>,
}

impl<S: DeserializeOwned + Debug> LvsPair<S> {
    /// Start the pair and wait until d1 is active, d2 inactive, and the client is served.
    pub fn start() -> LvsPair<S> {
        LvsPair::start_with(&lvs_cf(1, 1))
    }

    /// [`LvsPair::start`] with this lvs.cf (say [`lvs_cf`] with a setting added).
    pub fn start_with(text: &str) -> LvsPair<S> {
        LvsPair::start_in(text, None)
    }

    /// [`LvsPair::start_with`], lvs.cf alone on a tmpfs of `kib` KiB (`small_fs`), mounted
    /// before the daemons start so they read it there.
    pub fn start_on_small_fs(text: &str, kib: u32) -> LvsPair<S> {
        LvsPair::start_in(text, Some(kib))
    }

    fn start_in(text: &str, small_fs: Option<u32>) -> LvsPair<S> {
        let lan: Lan<S> = Lan::new();
        let r1 = RealServer::start(&lan.ns("r1"), "r1");
        let r2 = RealServer::start(&lan.ns("r2"), "r2");
        let small_fs = small_fs.map(|kib| SmallFs::mount(&lan.dir.join("ha"), kib));
        let cfg = small_fs
            .as_ref()
            .map_or(lan.dir.path(), |f| f.dir.as_path())
            .join("lvs.cf");
        replace(&cfg, text);
        let d1 = lan.pulse("d1", &cfg, &[]);
        let d2 = lan.pulse("d2", &cfg, &[]);
        let target: SocketAddr = format!("{VIP}:80").parse().unwrap();
        let probe = Probe::start(&lan.ns("c"), target);
        let pair = LvsPair {
            pulse: [Some(d1), Some(d2)],
            cfg,
            probe,
            r1,
            r2,
            small_fs,
            lan,
        };
        let t0 = Instant::now();
        pair.wait_healthy(0, [Want::In(1), Want::In(1)], Duration::from_secs(20));
        if let Err(e) = pair
            .probe
            .wait_served_via("10.7.0.1", 5, t0, Duration::from_secs(10))
        {
            panic!("{e}\n{}", pair.logs());
        }
        pair
    }

    pub fn d(&self, i: usize) -> &Pulse<S> {
        self.pulse[i]
            .as_ref()
            .unwrap_or_else(|| panic!("{} is down", DIRECTORS[i].0))
    }

    /// pulse's report of director `i`, if it answers.
    pub fn brief(&self, i: usize) -> Option<PulseBrief> {
        self.pulse[i].as_ref().and_then(|p| read_json(&p.sock))
    }

    /// lvsd's report on director `i` (through the private /run of its pulse), if it answers.
    pub fn lvsd(&self, i: usize) -> Option<LvsdBrief> {
        let p = self.pulse[i].as_ref()?;
        read_json(Path::new(&format!(
            "/proc/{}/root/run/lvsd.sock",
            p.proc.pid()
        )))
    }

    /// The pid of lvsd on director `i`, from pulse's report.
    pub fn lvsd_pid(&self, i: usize) -> u32 {
        crate::wait::poll(Duration::from_secs(10), || {
            self.brief(i)?
                .child
                .filter(|c| c.program == "lvsd")
                .map(|c| c.pid)
        })
        .unwrap_or_else(|| panic!("no lvsd on {}\n{}", DIRECTORS[i].0, self.logs()))
    }

    /// The pid of the nanny of real server `name` on director `i`.
    pub fn nanny_pid(&self, i: usize, name: &str) -> u32 {
        crate::wait::poll(Duration::from_secs(10), || {
            let l = self.lvsd(i)?;
            l.virtual_servers
                .iter()
                .flat_map(|v| &v.real_servers)
                .find(|r| r.name == name)?
                .nanny_pid
        })
        .unwrap_or_else(|| panic!("no nanny for {name}\n{}", self.logs()))
    }

    /// Kill -9 (or signal otherwise) pulse on director `i`; with SIGKILL, wait for its exit
    /// and forget it.
    pub fn signal_pulse(&mut self, i: usize, sig: Signal) {
        let p = self.pulse[i].as_mut().expect("running");
        p.signal(sig);
        if sig == Signal::SIGKILL {
            p.proc.wait_exit(Duration::from_secs(10));
            let old = self.pulse[i].take().expect("running");
            // Keep its output for the report: it goes with the process.
            drop(old);
        }
    }

    /// Start pulse again on director `i` (a fresh private /run).
    pub fn restart_pulse(&mut self, i: usize) {
        assert!(self.pulse[i].is_none(), "pulse still runs");
        self.pulse[i] = Some(self.lan.pulse(DIRECTORS[i].0, &self.cfg, &[]));
    }

    /// Why the invariants do not hold now (`None`: they hold): exactly one director active
    /// and it is `active`, the VIP on it alone, lvsd ready there with the table `want` says
    /// (r1, r2), every nanny and both pulses alive.
    pub fn broken(&self, active: usize, want: [Want; 2]) -> Option<String> {
        let other = 1 - active;
        let Some(a) = self.brief(active) else {
            return Some(format!("pulse on {} does not answer", DIRECTORS[active].0));
        };
        // The other director's pulse may be down (killed, not started again yet).
        let b = match &self.pulse[other] {
            None => None,
            Some(_) => match self.brief(other) {
                Some(b) => Some(b),
                None => return Some(format!("pulse on {} does not answer", DIRECTORS[other].0)),
            },
        };
        let b_inactive = b
            .as_ref()
            .is_none_or(|b| b.state == "inactive" && b.vips.is_empty() && b.child.is_none());
        if a.state != "active" || a.vips.is_empty() || !b_inactive {
            return Some(format!("not one active: {a:?} / {b:?}"));
        }
        let (an, on) = (DIRECTORS[active].0, DIRECTORS[other].0);
        if !self.lan.has_vip(an) || self.lan.has_vip(on) {
            return Some(format!(
                "the VIP is not on {an} alone ({an}: {}, {on}: {})",
                self.lan.has_vip(an),
                self.lan.has_vip(on)
            ));
        }
        match &a.child {
            Some(c) if c.program == "lvsd" && c.state == "ready" && !gone(c.pid) => {}
            c => return Some(format!("lvsd is not ready on {an}: {c:?}")),
        }
        for p in self.pulse.iter().flatten() {
            if gone(p.proc.pid()) {
                return Some(format!("pulse on {} is dead", p.name));
            }
        }
        let l = match self.lvsd(active) {
            Some(l) => l,
            None => return Some(format!("lvsd on {an} does not answer")),
        };
        let v: Vec<&VirtualBrief> = l.virtual_servers.iter().collect();
        if v.len() != 1 || v[0].name != "web" {
            return Some(format!("lvsd serves {v:?}"));
        }
        let reals = &v[0].real_servers;
        for (name, want) in ["r1", "r2"].into_iter().zip(want) {
            let Some(r) = reals.iter().find(|r| r.name == name) else {
                return Some(format!("no {name} in {reals:?}"));
            };
            if r.nanny_pid.is_none_or(gone) {
                return Some(format!("the nanny of {name} is not running: {r:?}"));
            }
            let ok = match want {
                Want::In(w) => {
                    r.in_table
                        && r.traffic.is_some()
                        && r.weight == w
                        && r.configured_weight == w
                        && r.health == "up"
                }
                Want::Out => !r.in_table && r.traffic.is_none(),
            };
            if !ok {
                return Some(format!("{name} is not {want:?}: {r:?}"));
            }
        }
        None
    }

    /// Wait until the invariants hold with director `active` active, then check that they go
    /// on holding for two deadtimes (sampled all along): nothing still moves.
    pub fn wait_healthy(&self, active: usize, want: [Want; 2], within: Duration) {
        let mut why = String::new();
        if crate::wait::until(within, || match self.broken(active, want) {
            None => true,
            Some(w) => {
                why = w;
                false
            }
        })
        .is_none()
        {
            panic!("not within {within:?}: {why}\n{}", self.logs());
        }
        let t0 = Instant::now();
        while t0.elapsed() < DEADTIME * 2 {
            if let Some(w) = self.broken(active, want) {
                panic!("the invariants held, then broke: {w}\n{}", self.logs());
            }
            std::thread::sleep(crate::wait::EVERY * 5);
        }
    }

    /// After a fault: the invariants hold with `active` active (within `within`), the client
    /// is served through it again; what the client saw since `t0`.
    pub fn recovered(&self, t0: Instant, active: usize, want: [Want; 2], within: Duration) -> Seen {
        self.wait_healthy(active, want, within);
        if let Err(e) =
            self.probe
                .wait_served_via(DIRECTORS[active].1, 5, t0, Duration::from_secs(10))
        {
            panic!("{e}\n{}", self.logs());
        }
        self.probe.since(t0)
    }

    /// Both pulses' output, for failure messages.
    pub fn logs(&self) -> String {
        self.pulse
            .iter()
            .flatten()
            .map(|p| format!("--- {}:\n{}", p.name, p.proc.output()))
            .collect()
    }
}

/// Print one row's figures in a form docs/RELIABILITY.md quotes.
pub fn report(row: &str, seen: &Seen) {
    eprintln!(
        "FAULT-ROW {row}: {} failed of {} requests, longest gap {} ms",
        seen.failed,
        seen.requests,
        seen.longest_gap.as_millis()
    );
}
