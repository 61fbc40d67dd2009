//! Fleet benchmark: many nanny processes checking many local listeners.
//!
//! The issue's wording: "1,000 nanny processes checking 1,000 local listeners at a 1 s
//! interval for 60 s: total CPU share and memory, and private memory per nanny (PSS or
//! Private_Dirty from /proc/PID/smaps_rollup). Targets: under 1 MiB private memory per nanny,
//! under 5% of one core for all 1,000 together."
//!
//! Issue 19 adds a floor: beside the nannies, the same number of minimal blocking C checkers
//! (`benches/fleet/floor.c`, built with `cc -O2` at run time) check listeners of their own, measured
//! over the same window in the same way, and nanny's CPU is given as a multiple of theirs
//! (target: at most 1.3×). Running both fleets at once exposes them to the same load.
//!
//! Run with `cargo build --release -p nanny && cargo bench -p nanny --bench fleet`.
//! Environment: `NANNIES` (1000), `SECONDS` (60), `INTERVAL` (1), `WARMUP` (20 seconds after
//! the last spawn), `NANNY_BIN` (the nanny binary; by default the release binary that cargo
//! builds next to this bench), `FLOOR` (1; 0 runs no floor fleet), `CC` (cc).
//!
//! Every nanny runs `nanny -c --test-start --lvs -t INTERVAL -h 127.0.0.1 -p PORT -r PORT -x OK`
//! against its own listener, served by one current-thread tokio runtime in this process that
//! answers `OK\n` and closes. CPU is the per-process `sum_exec_runtime` from
//! `/proc/PID/task/*/schedstat` (nanoseconds; clock ticks from `/proc/PID/stat` are too coarse
//! for a process that runs a few milliseconds a minute, and are shown only as a cross-check).
//! Memory is `/proc/PID/smaps_rollup` at the end of the window; a "soak" nanny checking 100
//! times a second tells warm-up from a leak. One extra "witness" nanny
//! (`-n -v`, not counted in the figures) logs to a file so that its verdicts can be read.

mod floor;
mod proc;

use std::fmt::Write as _;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, SysconfVar, sysconf};
use tokio::io::AsyncWriteExt;

use floor::{Floor, build_floor, floor_rows};
use proc::{Memory, cpu_between, process_ns, process_ticks, schedstat_ns, threads};

const COMMAND: &str = "cargo build --release -p nanny && cargo bench -p nanny --bench fleet";
const KIB_TARGET: f64 = 1024.0;
const CPU_TARGET_PCT: f64 = 5.0;

/// Set on SIGINT, SIGTERM or SIGHUP. These are handled in the listeners' runtime, not by
/// blocking them for a sigwait thread: nannies would inherit the blocked mask and then
/// ignore SIGTERM.
static STOP: AtomicBool = AtomicBool::new(false);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().unwrap_or_else(|_| {
            eprintln!("fleet: bad {name}={s}");
            std::process::exit(2);
        }),
        _ => default,
    }
}

/// The nanny binary: `NANNY_BIN`, else the one cargo built for this bench, else `../nanny`
/// next to the bench executable (target/release/deps/fleet-* -> target/release/nanny).
fn nanny_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NANNY_BIN") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let built = PathBuf::from(env!("CARGO_BIN_EXE_nanny"));
    if built.is_file() {
        return Some(built);
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("nanny");
    p.is_file().then_some(p)
}

fn pid_of(c: &Child) -> Pid {
    Pid::from_raw(i32::try_from(c.id()).expect("pid fits in i32"))
}

/// How the nannies ended once asked to.
#[derive(Debug, Default)]
struct Ended {
    clean: usize,
    other: Vec<String>,
    killed: usize,
}

/// The spawned nannies; stopped on drop (so also on panic).
#[derive(Debug, Default)]
struct Fleet {
    children: Vec<Child>,
    witness: Option<Child>,
    /// A nanny at 100 checks/s, to tell warm-up from a leak.
    soak: Option<Child>,
    /// The C floor checkers.
    floor: Vec<Child>,
}

impl Fleet {
    /// SIGTERM everything, wait up to 10 s, SIGKILL the rest.
    fn stop(&mut self) -> Ended {
        let mut all: Vec<Child> = self.children.drain(..).collect();
        let witness = self.witness.take();
        let counted = all.len();
        all.extend(witness);
        all.extend(self.soak.take());
        all.append(&mut self.floor);
        let mut ended = Ended::default();
        let mut pending: Vec<(usize, Child)> = Vec::new();
        for (i, mut c) in all.into_iter().enumerate() {
            match c.try_wait() {
                Ok(Some(st)) => {
                    if i < counted {
                        ended
                            .other
                            .push(format!("pid {} had already exited: {st}", c.id()));
                    }
                }
                _ => {
                    let _ = kill(pid_of(&c), Signal::SIGTERM);
                    pending.push((i, c));
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pending.is_empty() && Instant::now() < deadline {
            pending.retain_mut(|(i, c)| match c.try_wait() {
                Ok(Some(st)) => {
                    if *i < counted {
                        note_exit(&mut ended, c.id(), st);
                    }
                    false
                }
                Ok(None) => true,
                Err(_) => false,
            });
            std::thread::sleep(Duration::from_millis(20));
        }
        for (i, mut c) in pending {
            let _ = c.kill();
            let _ = c.wait();
            if i < counted {
                ended.killed += 1;
            }
        }
        ended
    }
}

fn note_exit(ended: &mut Ended, pid: u32, st: ExitStatus) {
    if st.code() == Some(0) {
        ended.clean += 1;
    } else {
        ended
            .other
            .push(format!("pid {pid} exited after SIGTERM: {st}"));
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if !self.children.is_empty()
            || self.witness.is_some()
            || self.soak.is_some()
            || !self.floor.is_empty()
        {
            let e = self.stop();
            eprintln!(
                "fleet: stopped the nannies ({} clean, {} other, {} killed)",
                e.clean,
                e.other.len(),
                e.killed
            );
        }
    }
}

/// Sleep, waking early on `STOP`; false when stopped.
fn nap(d: Duration) -> bool {
    let end = Instant::now() + d;
    while !STOP.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(100)));
    }
    false
}

struct Listeners {
    ports: Vec<u16>,
    floor_ports: Vec<u16>,
    floor_accepted: Arc<AtomicU64>,
    witness_port: u16,
    soak_port: u16,
    soak_accepted: Arc<AtomicU64>,
    accepted: Arc<AtomicU64>,
    witness_accepted: Arc<AtomicU64>,
    /// The serving thread's id, for its CPU time.
    tid: i32,
}

/// `n` listeners for the fleet, `f` for the floor fleet, one for the witness and one for the
/// soak nanny, served by one current-thread runtime.
fn listen(n: usize, f: usize) -> std::io::Result<Listeners> {
    let mut std_listeners = Vec::with_capacity(n + f + 2);
    for _ in 0..n + f + 2 {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.set_nonblocking(true)?;
        std_listeners.push(l);
    }
    let ports = std_listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<u16>>>()?;
    let accepted = Arc::new(AtomicU64::new(0));
    let witness_accepted = Arc::new(AtomicU64::new(0));
    let soak_accepted = Arc::new(AtomicU64::new(0));
    let floor_accepted = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let (a, w, k, fl) = (
        accepted.clone(),
        witness_accepted.clone(),
        soak_accepted.clone(),
        floor_accepted.clone(),
    );
    std::thread::Builder::new()
        .name("listeners".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let int = signal(SignalKind::interrupt());
                let term = signal(SignalKind::terminate());
                let hup = signal(SignalKind::hangup());
                let _ = tx.send(nix::unistd::gettid().as_raw());
                if let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (int, term, hup) {
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = int.recv() => {}
                            _ = term.recv() => {}
                            _ = hup.recv() => {}
                        }
                        STOP.store(true, Ordering::SeqCst);
                    });
                }
                for (i, l) in std_listeners.into_iter().enumerate() {
                    let count = if i < n {
                        a.clone()
                    } else if i < n + f {
                        fl.clone()
                    } else if i == n + f {
                        w.clone()
                    } else {
                        k.clone()
                    };
                    let l = tokio::net::TcpListener::from_std(l).expect("register listener");
                    tokio::spawn(async move {
                        loop {
                            match l.accept().await {
                                Ok((mut s, _)) => {
                                    count.fetch_add(1, Ordering::Relaxed);
                                    let _ = s.write_all(b"OK\n").await;
                                }
                                // EMFILE and the like: back off rather than spin.
                                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                            }
                        }
                    });
                }
                std::future::pending::<()>().await;
            });
        })?;
    let tid = rx.recv().map_err(std::io::Error::other)?;
    Ok(Listeners {
        ports: ports[..n].to_vec(),
        floor_ports: ports[n..n + f].to_vec(),
        floor_accepted,
        witness_port: ports[n + f],
        soak_port: ports[n + f + 1],
        soak_accepted,
        accepted,
        witness_accepted,
        tid,
    })
}

/// Mean and max of a series.
fn mean_max(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let max = v.iter().copied().fold(f64::MIN, f64::max);
    (v.iter().sum::<f64>() / v.len() as f64, max)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "pass" } else { "**FAIL**" }
}

fn main() {
    let n: usize = env_or("NANNIES", 1000);
    let seconds: f64 = env_or("SECONDS", 60.0);
    let interval_s: String = env_or("INTERVAL", "1".to_string());
    let warmup: f64 = env_or("WARMUP", 20.0);
    let interval: f64 = interval_s.parse().unwrap_or_else(|_| {
        eprintln!("fleet: bad INTERVAL={interval_s}");
        std::process::exit(2);
    });
    if n == 0 || seconds <= 0.0 || interval <= 0.0 || warmup < 0.0 {
        eprintln!("fleet: NANNIES, SECONDS and INTERVAL must be positive");
        std::process::exit(2);
    }
    let Some(bin) = nanny_bin() else {
        eprintln!("fleet: the nanny binary is missing; build it first with");
        eprintln!("    cargo build --release -p nanny");
        eprintln!("or point NANNY_BIN at it.");
        std::process::exit(1);
    };
    let floor_bin = if env_or("FLOOR", 1u8) == 0 {
        None
    } else {
        build_floor()
            .map_err(|e| eprintln!("fleet: no floor fleet: {e}"))
            .ok()
    };
    let f = if floor_bin.is_some() { n } else { 0 };

    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_err() {
            eprintln!("fleet: cannot raise RLIMIT_NOFILE from {soft} to {hard}");
        }
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((soft, hard));
        if soft < (n as u64) + (f as u64) + 64 {
            eprintln!(
                "fleet: RLIMIT_NOFILE {soft} is too low for {} listeners",
                n + f
            );
            std::process::exit(1);
        }
    }
    let tck = sysconf(SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;

    let listeners = match listen(n, f) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fleet: cannot start {} listeners: {e}", n + f + 2);
            std::process::exit(1);
        }
    };
    eprintln!(
        "fleet: {} listeners up; nanny = {}",
        n + f + 2,
        bin.display()
    );

    let mut fleet = Fleet::default();
    let args = |port: u16| {
        vec![
            "--test-start".to_string(),
            "--lvs".into(),
            "-t".into(),
            interval_s.clone(),
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-r".into(),
            port.to_string(),
            "-x".into(),
            "OK".into(),
        ]
    };
    let witness_log =
        std::env::temp_dir().join(format!("fleet-witness-{}.log", std::process::id()));
    match File::create(&witness_log).and_then(|f| {
        Command::new(&bin)
            .args(["-n", "-v"])
            .args(args(listeners.witness_port))
            .stdin(Stdio::null())
            .stdout(f.try_clone()?)
            .stderr(f)
            .spawn()
    }) {
        Ok(c) => fleet.witness = Some(c),
        Err(e) => eprintln!("fleet: cannot start the witness nanny: {e}"),
    }
    let mut soak_args = args(listeners.soak_port);
    soak_args[3] = "0.01".into();
    match Command::new(&bin)
        .arg("-c")
        .args(&soak_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => fleet.soak = Some(c),
        Err(e) => eprintln!("fleet: cannot start the soak nanny: {e}"),
    }
    let spawn_start = Instant::now();
    for (i, &port) in listeners.ports.iter().enumerate() {
        if STOP.load(Ordering::SeqCst) {
            eprintln!("fleet: interrupted");
            drop(fleet);
            std::process::exit(130);
        }
        let c = Command::new(&bin)
            .arg("-c")
            .args(args(port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match c {
            Ok(c) => fleet.children.push(c),
            Err(e) => {
                eprintln!(
                    "fleet: spawning nanny #{} failed: {e}",
                    fleet.children.len() + 1
                );
                drop(fleet);
                std::process::exit(1);
            }
        }
        // Interleaved, so that both fleets' checks spread over the interval alike.
        if let (Some(fb), Some(&fport)) = (&floor_bin, listeners.floor_ports.get(i)) {
            match Command::new(fb)
                .args([fport.to_string(), interval_s.clone()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            {
                Ok(c) => fleet.floor.push(c),
                Err(e) => {
                    eprintln!("fleet: spawning floor checker failed: {e}");
                    drop(fleet);
                    std::process::exit(1);
                }
            }
        }
    }
    let spawn_time = spawn_start.elapsed();
    eprintln!(
        "fleet: {n} nannies spawned in {:.2} s; warming up {warmup} s, then measuring {seconds} s",
        spawn_time.as_secs_f64()
    );
    if !nap(Duration::from_secs_f64(warmup)) {
        eprintln!("fleet: interrupted");
        drop(fleet);
        std::process::exit(130);
    }

    let pids: Vec<u32> = fleet.children.iter().map(Child::id).collect();
    let mem0 = Memory::sample(&pids);
    let soak_pid: Vec<u32> = fleet.soak.iter().map(Child::id).collect();
    let soak0 = Memory::sample(&soak_pid);
    let soak_acc0 = listeners.soak_accepted.load(Ordering::Relaxed);
    let harness_dir = PathBuf::from(format!("/proc/self/task/{}", listeners.tid));
    let t0 = Instant::now();
    let acc0 = listeners.accepted.load(Ordering::Relaxed);
    let ns0: Vec<Option<u64>> = pids.iter().map(|&p| process_ns(p)).collect();
    let floor_pids: Vec<u32> = fleet.floor.iter().map(Child::id).collect();
    let facc0 = listeners.floor_accepted.load(Ordering::Relaxed);
    let fns0: Vec<Option<u64>> = floor_pids.iter().map(|&p| process_ns(p)).collect();
    let tk0: Vec<Option<u64>> = pids.iter().map(|&p| process_ticks(p)).collect();
    let h0 = schedstat_ns(&harness_dir);

    let mut left = seconds;
    while left > 0.0 {
        let step = left.min(10.0);
        if !nap(Duration::from_secs_f64(step)) {
            eprintln!("fleet: interrupted");
            drop(fleet);
            std::process::exit(130);
        }
        left -= step;
        eprintln!(
            "fleet: {:.0} s measured, {} checks served",
            seconds - left,
            listeners.accepted.load(Ordering::Relaxed) - acc0
        );
    }

    let t1 = Instant::now();
    let acc1 = listeners.accepted.load(Ordering::Relaxed);
    let ns1: Vec<Option<u64>> = pids.iter().map(|&p| process_ns(p)).collect();
    let fns1: Vec<Option<u64>> = floor_pids.iter().map(|&p| process_ns(p)).collect();
    let facc1 = listeners.floor_accepted.load(Ordering::Relaxed);
    let tk1: Vec<Option<u64>> = pids.iter().map(|&p| process_ticks(p)).collect();
    let h1 = schedstat_ns(&harness_dir);
    let wall = (t1 - t0).as_secs_f64();
    let mem = Memory::sample(&pids);
    let floor_mem = Memory::sample(&floor_pids);
    let soak1 = Memory::sample(&soak_pid);
    let soak_checks = listeners.soak_accepted.load(Ordering::Relaxed) - soak_acc0;
    let max_threads = pids.iter().filter_map(|&p| threads(p)).max().unwrap_or(0);

    let mut dead = Vec::new();
    for c in &mut fleet.children {
        if let Ok(Some(st)) = c.try_wait() {
            dead.push(format!("pid {}: {st}", c.id()));
        }
    }
    let alive = n - dead.len();

    let (cpu_ns, measured) = cpu_between(&ns0, &ns1);
    let (floor_ns, floor_measured) = cpu_between(&fns0, &fns1);
    let ticks: u64 = tk0
        .iter()
        .zip(&tk1)
        .filter_map(|(a, b)| Some(b.as_ref()?.saturating_sub(*a.as_ref()?)))
        .sum();
    let cpu_pct = cpu_ns as f64 / 1e9 / wall * 100.0;
    let ticks_pct = ticks as f64 / tck / wall * 100.0;
    let harness_pct = match (h0, h1) {
        (Some(a), Some(b)) => format!("{:.3}%", b.saturating_sub(a) as f64 / 1e9 / wall * 100.0),
        _ => "n/a".into(),
    };
    let checks = acc1 - acc0;
    let rate = checks as f64 / wall;
    let expected = n as f64 / interval;
    let per_check_us = if checks > 0 {
        cpu_ns as f64 / 1e3 / checks as f64
    } else {
        f64::NAN
    };

    let (priv_mean, priv_max) = mean_max(&mem.private);
    let (pd_mean, pd_max) = mean_max(&mem.private_dirty);
    let (pss_mean, pss_max) = mean_max(&mem.pss);
    let (rss_mean, rss_max) = mean_max(&mem.rss);
    let (anon_mean, anon_max) = mean_max(&mem.anonymous);
    let (pd0_mean, pd0_max) = mean_max(&mem0.private_dirty);
    let pss_total_mib = mem.pss.iter().sum::<f64>() / 1024.0;

    // Stop the fleet before printing, so that the exit statuses are part of the table.
    let witness_checks = listeners.witness_accepted.load(Ordering::Relaxed);
    let ended = fleet.stop();
    let witness = std::fs::read_to_string(&witness_log).unwrap_or_default();
    let _ = std::fs::remove_file(&witness_log);

    let mut t = String::new();
    let _ = writeln!(
        t,
        "### nanny fleet: {n} nannies, {n} listeners, interval {interval_s} s, window {wall:.1} s; floor: {f} C checkers at the same time"
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "| metric | value | target | result |");
    let _ = writeln!(t, "|---|---|---|---|");
    let _ = writeln!(
        t,
        "| nannies alive at end of window | {alive} / {n} | all | {} |",
        verdict(alive == n)
    );
    let _ = writeln!(
        t,
        "| CPU, all nannies together (schedstat, ns) | {cpu_pct:.3}% of one core ({measured} measured) | < {CPU_TARGET_PCT}% | {} |",
        verdict(cpu_pct < CPU_TARGET_PCT && measured == n)
    );
    let _ = writeln!(
        t,
        "| CPU, all nannies together (stat utime+stime, {tck} Hz tick-sampled; misses short wake-ups) | {ticks_pct:.3}% of one core | | |"
    );
    let _ = writeln!(
        t,
        "| CPU per nanny | {:.4}% of one core | | |",
        cpu_pct / n as f64
    );
    floor_rows(
        &mut t,
        &Floor {
            count: f,
            measured: floor_measured,
            ns: floor_ns,
            cpu_pct: floor_ns as f64 / 1e9 / wall * 100.0,
            checks: facc1 - facc0,
            mem: floor_mem,
        },
        cpu_pct,
    );
    let _ = writeln!(
        t,
        "| CPU per check (nanny side) | {per_check_us:.1} µs | | |"
    );
    let _ = writeln!(
        t,
        "| harness listener thread CPU (not counted) | {harness_pct} of one core | | |"
    );
    let _ = writeln!(
        t,
        "| checks served | {rate:.1}/s ({:.1}% of {n}/{interval_s} s = {expected:.0}/s) | ≈ N/interval | {} |",
        rate / expected * 100.0,
        verdict(rate >= 0.9 * expected)
    );
    let _ = writeln!(
        t,
        "| private memory per nanny (Private_Clean+Private_Dirty), mean / max | {priv_mean:.0} / {priv_max:.0} KiB | < 1024 KiB | {} |",
        verdict(priv_max < KIB_TARGET)
    );
    let _ = writeln!(
        t,
        "| Private_Dirty per nanny, mean / max | {pd_mean:.0} / {pd_max:.0} KiB | < 1024 KiB | {} |",
        verdict(pd_max < KIB_TARGET)
    );
    let _ = writeln!(
        t,
        "| Pss per nanny, mean / max | {pss_mean:.0} / {pss_max:.0} KiB | < 1024 KiB | {} |",
        verdict(pss_max < KIB_TARGET)
    );
    let _ = writeln!(
        t,
        "| Rss per nanny, mean / max | {rss_mean:.0} / {rss_max:.0} KiB | | |"
    );
    let _ = writeln!(
        t,
        "| Anonymous per nanny, mean / max | {anon_mean:.0} / {anon_max:.0} KiB | | |"
    );
    let (vm_mean, vm_max) = mean_max(&mem.vm_rss);
    let _ = writeln!(
        t,
        "| VmRSS per nanny (/proc/PID/status; counts shared pages), mean / max | {vm_mean:.0} / {vm_max:.0} KiB | | |"
    );
    let _ = writeln!(
        t,
        "| Private_Dirty per nanny at window start, mean / max (warm-up: it levels off after ~80 checks) | {pd0_mean:.0} / {pd0_max:.0} KiB | | |"
    );
    let soak = |m: &Memory| m.private_dirty.first().copied().unwrap_or(f64::NAN);
    let (k0, k1) = (soak(&soak0), soak(&soak1));
    let _ = writeln!(
        t,
        "| leak check: one nanny at 100 checks/s, Private_Dirty at window start / end | {k0:.0} / {k1:.0} KiB over {soak_checks} checks | grows < 8 KiB | {} |",
        verdict(k1 < k0 + 8.0 && soak_checks > 1000)
    );
    let _ = writeln!(
        t,
        "| Pss, all nannies together | {pss_total_mib:.1} MiB | < {:.0} MiB | {} |",
        n as f64,
        verdict(pss_total_mib < n as f64)
    );
    let _ = writeln!(t, "| threads per nanny, max | {max_threads} | | |");
    let _ = writeln!(
        t,
        "| spawn time / warm-up | {:.2} s / {warmup} s | | |",
        spawn_time.as_secs_f64()
    );
    let _ = writeln!(
        t,
        "| clean exit (status 0) on SIGTERM | {} / {n} ({} killed after 10 s) | all | {} |",
        ended.clean,
        ended.killed,
        verdict(ended.clean == n)
    );
    let active = witness.matches("[ active ]").count();
    let inactive = witness.matches("[inactive]").count();
    let _ = writeln!(
        t,
        "| witness nanny (`-n -v`, own listener): checks served, log lines | {witness_checks} checks; {} lines, {active} `[ active ]`, {inactive} `[inactive]` | 1 active, 0 inactive | {} |",
        witness.lines().count(),
        verdict(active == 1 && inactive == 0)
    );
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Each nanny: `{} -c --test-start --lvs -t {interval_s} -h 127.0.0.1 -p PORT -r PORT -x OK`.",
        bin.display()
    );
    let _ = writeln!(
        t,
        "Host: {} CPUs, kernel {}.",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    let _ = writeln!(
        t,
        "Command: `{COMMAND}` (NANNIES={n} SECONDS={seconds} INTERVAL={interval_s} to change the size)."
    );
    println!("{t}");
    if !witness.is_empty() {
        println!("Witness log (first 10 lines):");
        for l in witness.lines().take(10) {
            println!("    {l}");
        }
    }
    for d in dead.iter().chain(&ended.other).take(20) {
        println!("note: {d}");
    }
}
