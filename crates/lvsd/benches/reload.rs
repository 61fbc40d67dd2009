//! Reload at scale: IPVS operations and wall time for an lvs.cf of 2,000 virtual servers.
//!
//! Run with `cargo bench -p lvsd --bench reload`. Cases, each timed as lvsd does the work on
//! start or SIGHUP (parse the text with lvscf, build the [`Desired`], then the engine):
//!
//! * (a) a full start, counted once with services only and once with every nanny having
//!   reported its server up (services and destinations);
//! * a reload with no change (must do nothing);
//! * (b) a reload that changes one real server's weight;
//! * (c) a reload that adds one virtual server, and its way back (removing it).
//!
//! Target from the issue: (b) and (c) issue only the operations the change needs (1 to 3)
//! and finish in under 100 ms with the in-memory table. The operations are those recorded by
//! [`MemoryTable::log`] (one entry per successful change); nanny starts and stops are the
//! [`Effect::Spawn`] and [`Effect::Kill`] the engine returns.
//!
//! Under `cargo test --benches` (no `--bench` argument) a small file is used and only the
//! operation counts are checked, so the target stays quick in debug builds.

use std::fmt::Write as _;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ipvs::MemoryTable;
use lvsd::desired::{Desired, MonitorOptions};
use lvsd::engine::{Effect, Engine};
use nanny::monitor::{Op, Reason};
use nanny::report::Report;

const COMMAND: &str = "cargo bench -p lvsd --bench reload";
const TARGET_MS: f64 = 100.0;

/// Which virtual server gets the weight change in (b), as a fraction of the file.
fn bumped_index(n: usize) -> usize {
    n / 2
}

/// The real servers of virtual server `i`: 3 or 4, distinct per virtual server.
fn reals_of(i: usize) -> usize {
    3 + i % 2
}

/// One `virtual` block: VIP 10.1.a.b:80 TCP, wlc, send/expect, its real servers at
/// 172.(16 + a).(i mod 250).(j + 1) with weight j + 1 (server r2 at weight 7 when `bumped`).
fn virtual_block(out: &mut String, i: usize, bumped: bool) {
    let (a, b) = (i / 250, i % 250);
    let _ = write!(
        out,
        "virtual vs{i} {{\n active = 1\n address = 10.1.{a}.{} eth0:{}\n port = 80\n protocol = tcp\n\
         scheduler = wlc\n send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n expect = \"HTTP\"\n timeout = 6\n",
        b + 1,
        i + 1
    );
    for j in 0..reals_of(i) {
        let w = if bumped && j == 2 { 7 } else { j + 1 };
        let _ = write!(
            out,
            " server r{j} {{\n  address = 172.{}.{b}.{}\n  active = 1\n  weight = {w}\n }}\n",
            16 + a,
            j + 1
        );
    }
    out.push_str("}\n");
}

/// The lvs.cf text: `n` virtual servers, optionally one weight changed and one more server.
fn config(n: usize, bump: bool, extra: bool) -> String {
    let mut s = String::with_capacity(n * 400);
    s.push_str("primary = 10.0.0.1\nservice = lvs\nnetwork = nat\n");
    for i in 0..n {
        virtual_block(&mut s, i, bump && i == bumped_index(n));
    }
    if extra {
        virtual_block(&mut s, n, false);
    }
    s
}

/// lvscf's half of [`load`].
fn parse(text: &str) -> lvscf::Parsed {
    let p = lvscf::parse(text);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    p
}

/// lvsd's half of [`load`].
fn build(p: &lvscf::Parsed) -> Desired {
    Desired::build(&p.model, &MonitorOptions::default(), &|h| {
        h.ip().ok_or_else(|| std::io::Error::other("no dns"))
    })
    .expect("the generated file builds")
}

/// What lvsd does with the file's text: parse, check, build the desired state.
fn load(text: &str) -> Desired {
    build(&parse(text))
}

/// Where a reload's time goes, step by step (medians of `runs`, engine at `old`, file `new`):
/// lvscf::parse, Desired::build, diff::plan and dropping a Desired (the old one is dropped at
/// the end of Engine::reload).
fn sub_steps(engine: &Engine, new: &str, runs: usize) -> [(&'static str, Duration); 4] {
    let mut t = [const { Vec::new() }; 4];
    for _ in 0..runs {
        let t0 = Instant::now();
        let p = parse(new);
        let t1 = Instant::now();
        let d = build(&p);
        let t2 = Instant::now();
        black_box(lvsd::diff::plan(&engine.desired, &d));
        let t3 = Instant::now();
        drop(d);
        let t4 = Instant::now();
        drop(p);
        for (v, d) in t.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3]) {
            v.push(d);
        }
    }
    let [a, b, c, d] = t.map(median);
    [
        ("lvscf::parse", a),
        ("Desired::build", b),
        ("diff::plan", c),
        ("drop(Desired)", d),
    ]
}

fn starts_stops(fx: &[Effect]) -> (usize, usize) {
    let starts = fx
        .iter()
        .filter(|e| matches!(e, Effect::Spawn { .. }))
        .count();
    let stops = fx
        .iter()
        .filter(|e| matches!(e, Effect::Kill { .. }))
        .count();
    (starts, stops)
}

/// Every newly started nanny reports its server up at its configured weight (those started
/// with `--assume-up` already are).
fn all_up(engine: &mut Engine, table: &mut MemoryTable, fx: &[Effect]) {
    let now = Instant::now();
    for e in fx {
        let Effect::Spawn { instance, argv, .. } = e else {
            continue;
        };
        if argv.iter().any(|a| a == "--assume-up") {
            continue;
        }
        let w = argv
            .iter()
            .position(|a| a == "-w")
            .and_then(|i| argv[i + 1].parse().ok());
        let report = Report {
            op: Some(Op::Add(w.expect("nanny argv has -w"))),
            up: true,
            reason: Reason::Check,
        };
        black_box(engine.on_report(table, *instance, report, now));
    }
}

/// One measured run.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    parse_build: Duration,
    engine: Duration,
    ops: usize,
    starts: usize,
    stops: usize,
}

impl Sample {
    fn total(&self) -> Duration {
        self.parse_build + self.engine
    }
}

/// A reload to `text`, timed; returns the sample, the effects and the operations done.
fn reload(
    engine: &mut Engine,
    table: &mut MemoryTable,
    text: &str,
) -> (Sample, Vec<Effect>, Vec<String>) {
    let before = table.log.len();
    let t0 = Instant::now();
    let desired = load(text);
    let t1 = Instant::now();
    let (plan, fx) = engine.reload(table, desired, Instant::now());
    let t2 = Instant::now();
    black_box(plan);
    let (starts, stops) = starts_stops(&fx);
    let sample = Sample {
        parse_build: t1 - t0,
        engine: t2 - t1,
        ops: table.log.len() - before,
        starts,
        stops,
    };
    (sample, fx, table.log[before..].to_vec())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    NoOps,
    Change,
}

#[derive(Debug)]
struct Row {
    case: &'static str,
    samples: Vec<Sample>,
    /// Appended to the operations cell.
    note: String,
    target: Target,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

/// "7" when every run agrees, "6–8" otherwise.
fn range(v: impl Iterator<Item = usize> + Clone) -> String {
    let (lo, hi) = (v.clone().min().unwrap_or(0), v.max().unwrap_or(0));
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    }
}

impl Row {
    fn median(&self, f: impl Fn(&Sample) -> Duration) -> Duration {
        median(self.samples.iter().map(f).collect())
    }

    fn ops_ok(&self) -> bool {
        match self.target {
            Target::None => true,
            Target::NoOps => self
                .samples
                .iter()
                .all(|s| s.ops == 0 && s.starts == 0 && s.stops == 0),
            Target::Change => self.samples.iter().all(|s| (1..=3).contains(&s.ops)),
        }
    }

    fn time_ok(&self) -> bool {
        self.target != Target::Change || ms(self.median(Sample::total)) < TARGET_MS
    }

    fn line(&self, timed: bool) -> String {
        let s = &self.samples;
        let engine_max = s.iter().map(|s| s.engine).max().unwrap_or_default();
        let (target, verdict) = match self.target {
            Target::None => ("—", "—"),
            Target::NoOps => ("0 ops", if self.ops_ok() { "pass" } else { "FAIL" }),
            Target::Change => (
                "1–3 ops, < 100 ms",
                if !self.ops_ok() || (timed && !self.time_ok()) {
                    "FAIL"
                } else {
                    "pass"
                },
            ),
        };
        format!(
            "| {} | {}{} | {} | {} | {:.2} | {:.2} / {:.2} | {:.2} | {target} | {verdict} |",
            self.case,
            range(s.iter().map(|s| s.ops)),
            self.note,
            range(s.iter().map(|s| s.starts)),
            range(s.iter().map(|s| s.stops)),
            ms(self.median(|s| s.parse_build)),
            ms(self.median(|s| s.engine)),
            ms(engine_max),
            ms(self.median(Sample::total)),
        )
    }
}

fn main() -> ExitCode {
    // `cargo bench` passes --bench; `cargo test --benches` does not: a quick check there.
    let bench = std::env::args().any(|a| a == "--bench");
    let (n, runs, start_runs) = if bench { (2000, 20, 5) } else { (20, 2, 1) };

    let base = config(n, false, false);
    let bumped = config(n, true, false);
    let extra = config(n, false, true);
    let reals: usize = (0..n).map(reals_of).sum();

    // (a) Full start, on a fresh table each run; the last engine is kept for the reloads.
    let mut start_svc = Vec::new();
    let mut start_all = Vec::new();
    let mut kept = None;
    for _ in 0..start_runs {
        let mut table = MemoryTable::new();
        let t0 = Instant::now();
        let desired = load(&base);
        let t1 = Instant::now();
        let mut engine = Engine::new(desired, true);
        let fx = engine.start(&mut table, &[], false, Instant::now());
        let t2 = Instant::now();
        let svc_ops = table.log.len();
        all_up(&mut engine, &mut table, &fx);
        let t3 = Instant::now();
        let (starts, stops) = starts_stops(&fx);
        let s = Sample {
            parse_build: t1 - t0,
            engine: t2 - t1,
            ops: svc_ops,
            starts,
            stops,
        };
        start_svc.push(s);
        start_all.push(Sample {
            engine: t3 - t1,
            ops: table.log.len(),
            ..s
        });
        kept = Some((engine, table));
    }
    let (mut engine, mut table) = kept.expect("at least one start");

    // No change.
    let mut same = Vec::new();
    for _ in 0..runs {
        same.push(reload(&mut engine, &mut table, &base).0);
    }

    // (b) One weight, back and forth: every run is a real change.
    let mut weight = Vec::new();
    let mut weight_ops = Vec::new();
    for run in 0..runs {
        let text = if run % 2 == 0 { &bumped } else { &base };
        let (s, fx, ops) = reload(&mut engine, &mut table, text);
        all_up(&mut engine, &mut table, &fx);
        weight.push(s);
        if run == 0 {
            weight_ops = ops;
        }
    }
    if runs % 2 == 1 {
        reload(&mut engine, &mut table, &base);
    }

    // (c) One virtual server added (its nannies then report up, untimed), then removed.
    let mut add = Vec::new();
    let mut remove = Vec::new();
    let mut add_ops = Vec::new();
    let mut remove_ops = Vec::new();
    let mut report_ops = Vec::new();
    for run in 0..runs {
        let (s, fx, ops) = reload(&mut engine, &mut table, &extra);
        let before = table.log.len();
        all_up(&mut engine, &mut table, &fx);
        report_ops.push(table.log.len() - before);
        add.push(s);
        let (s, _, rops) = reload(&mut engine, &mut table, &base);
        remove.push(s);
        if run == 0 {
            add_ops = ops;
            remove_ops = rops;
        }
    }

    let steps = sub_steps(&engine, &bumped, runs);

    let rows = [
        Row {
            case: "(a) full start, services only",
            samples: start_svc,
            note: " (+1 set timeouts)".into(),
            target: Target::None,
        },
        Row {
            case: "(a) full start, every nanny reported up",
            samples: start_all,
            note: " (+1 set timeouts)".into(),
            target: Target::None,
        },
        Row {
            case: "reload, no change",
            samples: same,
            note: String::new(),
            target: Target::NoOps,
        },
        Row {
            case: "(b) reload, one real server's weight",
            samples: weight,
            note: String::new(),
            target: Target::Change,
        },
        Row {
            case: "(c) reload, one virtual server added",
            samples: add,
            note: format!(
                " (+{} when its nannies report up)",
                range(report_ops.iter().copied())
            ),
            target: Target::Change,
        },
        Row {
            case: "(c′) reload, that virtual server removed again",
            samples: remove,
            note: String::new(),
            target: Target::None,
        },
    ];

    println!("## lvsd reload at scale\n");
    println!("Command: `{COMMAND}`\n");
    println!(
        "{n} virtual servers, {reals} real servers, lvs.cf of {} KiB; in-memory IPVS table \
         (ipvs::MemoryTable); {start_runs} runs for (a), {runs} for each reload case{}.\n",
        base.len() / 1024,
        if bench {
            ""
        } else {
            " (test mode: small file, time target not checked)"
        }
    );
    println!(
        "| case | IPVS operations | nanny starts | nanny stops | parse+build ms (median) | \
         engine ms (median / max) | total ms (median) | target | pass/fail |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!("{}", r.line(bench));
    }
    println!();
    println!("Operations of the first (b) run: {weight_ops:?}");
    println!("Operations of the first (c) run: {add_ops:?}");
    println!("Operations of the first (c′) run: {remove_ops:?}");
    let steps: Vec<String> = steps
        .iter()
        .map(|(name, d)| format!("{name} {:.2} ms", ms(*d)))
        .collect();
    println!("Sub-steps of (b), medians: {}.", steps.join(", "));
    println!(
        "IPVS operations are MemoryTable::log entries; set_timeouts is not logged there, hence the \
         +1 on start (reloads change no timeout here)."
    );

    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.ops_ok() || (bench && !r.time_ok()))
        .map(|r| r.case)
        .collect();
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("target missed: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}
