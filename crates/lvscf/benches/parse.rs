//! Benchmark: parse and validate a generated lvs.cf with 10,000 virtual servers × 4 real
//! servers, and print a table of wall time and memory.
//!
//! `cargo bench -p lvscf --bench parse` (add `-- --vs N --rs M --runs K` to change the size).
//!
//! Wall time is measured in-process around `lvscf::parse` (parse + lower + semantic checks);
//! "peak heap" counts bytes live at once during one parse with a counting allocator; "peak
//! RSS" is the resident-set high-water mark of the release `lvscf check` process on the same
//! file (the whole tool: reading the file, parsing, validating).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Counting is switched on only for the memory run, so timed runs pay nothing for it.
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A GUI-style file: `vs` active virtual servers with `rs` real servers each.
fn generate(vs: usize, rs: usize) -> String {
    let mut s = String::with_capacity(vs * (300 + rs * 90));
    s.push_str(
        "serial_no = 1\nprimary = 10.0.0.1\nservice = lvs\nbackup_active = 1\nbackup = 10.0.0.2\n\
         heartbeat = 1\nheartbeat_port = 539\nkeepalive = 6\ndeadtime = 18\nnetwork = direct\n",
    );
    for v in 0..vs {
        let (a, b) = (v / 250, v % 250);
        s.push_str(&format!(
            "virtual vs{v} {{\n     active = 1\n     address = 172.16.{a}.{b} eth0:{v}\n     \
             vip_nmask = 255.255.255.255\n     port = 80\n     send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n     \
             expect = \"HTTP\"\n     use_regex = 0\n     load_monitor = none\n     scheduler = wlc\n     \
             protocol = tcp\n     timeout = 6\n     reentry = 15\n     quiesce_server = 0\n"
        ));
        for r in 0..rs {
            s.push_str(&format!(
                "     server rs{v}_{r} {{\n         address = 10.{}.{}.{}\n         active = 1\n         weight = 1\n     }}\n",
                1 + r, a, b
            ));
        }
        s.push_str("}\n");
    }
    s
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Run `lvscf check -q FILE` `runs` times: sorted wall times, and the largest peak RSS (KiB).
fn run_cli(bin: &str, file: &std::path::Path, runs: usize) -> (Vec<Duration>, Option<i64>) {
    use nix::sys::resource::{UsageWho, getrusage};
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let status = std::process::Command::new(bin)
            .args(["check", "-q"])
            .arg(file)
            .status()
            .expect("run lvscf");
        times.push(t.elapsed());
        assert!(status.success(), "lvscf check failed on the generated file");
    }
    times.sort();
    let rss = getrusage(UsageWho::RUSAGE_CHILDREN)
        .ok()
        .map(|u| u.max_rss());
    (times, rss)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (vs, rs, runs) = (
        arg(&args, "--vs", 10_000),
        arg(&args, "--rs", 4),
        arg(&args, "--runs", 10),
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let text = generate(vs, rs);
    let lines = text.lines().count();

    // Warm-up run, also the correctness check.
    let p = lvscf::parse(&text);
    assert!(!p.has_errors(), "generated file must be valid");
    assert_eq!(p.model.virtual_servers.len(), vs);
    drop(p);

    if args.iter().any(|a| a == "--phases") {
        // Where the memory and time go, stage by stage.
        COUNTING.store(true, Ordering::Relaxed);
        let base = LIVE.load(Ordering::Relaxed);
        let t = Instant::now();
        let (tree, d) = lvscf::syntax::parse(&text);
        let t1 = t.elapsed();
        let after_tree = LIVE.load(Ordering::Relaxed) - base;
        let t = Instant::now();
        let lowered = lvscf::lower::lower(&text, &tree, lvscf::Services::system());
        let t2 = t.elapsed();
        let after_lower = LIVE.load(Ordering::Relaxed) - base;
        let t = Instant::now();
        let c = lvscf::check::check(&lowered.config, &lowered.source, false);
        let t3 = t.elapsed();
        drop(tree);
        let model_only = LIVE.load(Ordering::Relaxed) - base;
        drop(lowered);
        COUNTING.store(false, Ordering::Relaxed);
        let mib = |b: usize| b as f64 / 1048576.0;
        println!(
            "phases (counting allocator on): syntax {:.1} ms, tree {:.1} MiB; lower {:.1} ms, \
             +{:.1} MiB (model and source map); check {:.1} ms; {} syntax + {} check diagnostics",
            ms(t1),
            mib(after_tree),
            ms(t2),
            mib(after_lower - after_tree),
            ms(t3),
            d.len(),
            c.len()
        );
        let _ = model_only;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let p = lvscf::parse(&text);
        times.push(t.elapsed());
        std::hint::black_box(&p);
    }
    // One more run with the allocator counting: bytes live at once, above what was live before
    // (the input text). Only allocations made while counting are tracked.
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let p = lvscf::parse(&text);
    COUNTING.store(false, Ordering::Relaxed);
    let peak_heap = PEAK.load(Ordering::Relaxed);
    std::hint::black_box(&p);
    drop(p);
    times.sort();

    let file = std::env::temp_dir().join(format!("lvscf-bench-{}.cf", std::process::id()));
    std::fs::write(&file, &text).expect("write temp file");
    let (cli_times, rss) = run_cli(env!("CARGO_BIN_EXE_lvscf"), &file, runs);
    let _ = std::fs::remove_file(&file);

    println!("lvscf parse + validate: {vs} virtual servers x {rs} real servers");
    println!(
        "| input | lines | bytes | runs | parse min ms | parse median ms | parse max ms | \
         peak heap MiB | `lvscf check` median ms | `lvscf check` peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {vs}x{rs} | {lines} | {} | {runs} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
        text.len(),
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        peak_heap as f64 / (1024.0 * 1024.0),
        ms(cli_times[cli_times.len() / 2]),
        rss.map_or("n/a".to_string(), |k| format!("{:.1}", k as f64 / 1024.0)),
    );
}
