//! The I/O shell around the [`Engine`]: nanny processes and their pipes, signals, the status
//! socket, the state and pid files, readiness, and the clock.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ipvs::IpvsTable;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tracing::{debug, info};

use crate::announcer::Announcer;
use crate::desired::{Desired, DesiredError, MonitorOptions};
use crate::engine::{Effect, Engine};
use crate::opts::Opts;
use crate::request::{Reply, Request};
use crate::{socket, state, status};
use plog::notify;

enum Event {
    Line(u64, String),
    Exit(u64, String),
    /// A reload's reading of the file (and host name lookups) is done.
    Loaded(Box<Result<Desired, LoadError>>),
    /// A status-socket client's request, read in its own task; the reply goes to the stream.
    Request(Request, UnixStream),
    /// The userspace data plane could not connect to a real server.
    Plane(uplane::Failure),
}

/// Why the configuration cannot be used; the text is what lvsd prints or logs.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("lvsd: {0}")]
    Read(#[from] lvscf::LoadError),
    /// The file has errors: piranha's line, then every diagnostic.
    #[error("lvs: error parsing {} on line {line}.\n{diagnostics}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        diagnostics: String,
    },
    /// A host name that does not resolve, a service defined twice, ….
    #[error("{0}")]
    Desired(#[from] DesiredError),
}

/// Read and check the configuration, resolving its host names (this blocks: off the main
/// loop once it runs).
pub fn load(opts: &Opts) -> Result<Desired, LoadError> {
    let loaded = lvscf::load(&opts.config)?;
    let Some(cfg) = loaded.parsed.config() else {
        return Err(LoadError::Parse {
            path: opts.config.clone(),
            line: loaded.first_error_line().unwrap_or(0),
            diagnostics: loaded.render().trim_end().to_owned(),
        });
    };
    let mopts = MonitorOptions {
        verbose: opts.verbose,
        foreground: opts.nodaemon,
        nanny: opts.nanny.clone(),
    };
    Ok(Desired::build(cfg, &mopts, &|h| h.resolve())?)
}

/// Where a reload stands: the file is read (and its names resolved) on a blocking thread, so
/// the loop keeps serving nannies, ticks and the status socket meanwhile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Reading {
    #[default]
    Idle,
    /// A reading is under way.
    Busy,
    /// …and another SIGHUP came during it: that reading is stale, read again when it ends.
    Again,
}

impl Reading {
    /// A SIGHUP: whether to start a reading now (otherwise one is under way).
    fn hup(&mut self) -> bool {
        let start = *self == Reading::Idle;
        *self = if start { Reading::Busy } else { Reading::Again };
        start
    }

    /// A reading ended: whether to apply it. When not, it is stale and the next reading is
    /// under way from now on.
    fn done(&mut self) -> bool {
        let apply = *self != Reading::Again;
        *self = if apply { Reading::Idle } else { Reading::Busy };
        apply
    }
}

/// The nice value nannies run at: a burst of checks (hundreds of nannies starting or
/// checking together) never delays lvsd's data plane or pulse's heartbeats.
pub const NANNY_NICE: i32 = 10;

/// The running daemon.
pub struct Shell {
    pub opts: Opts,
    pub engine: Engine,
    pub table: Box<dyn IpvsTable>,
    pids: HashMap<u64, u32>,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    reloads: u64,
    /// Readings of the file after SIGHUP that were refused.
    reloads_failed: u64,
    reading: Reading,
    /// For the status report: `ipvs`, `userspace` or `memory`.
    pub dataplane: String,
    /// `--socket-group`, looked up at start-up.
    pub socket_gid: Option<u32>,
    /// The userspace data plane (the same table as `table`), to give it each service's
    /// retry policy; none on the kernel's IPVS.
    plane: Option<uplane::Userspace>,
    /// Its connection failures, until [`Shell::run`] passes them on to the loop.
    failures: Option<mpsc::UnboundedReceiver<uplane::Failure>>,
    /// `announce = bird`: the task that owns the announce file.
    announcer: Option<Announcer>,
    /// `STATUS=table complete` was sent (every real server's first verdict is in).
    complete_told: bool,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

fn log_lines(text: &str) {
    for l in text.lines() {
        info!("{l}");
    }
}

impl Shell {
    pub fn new(opts: Opts, desired: Desired, table: Box<dyn IpvsTable>) -> Shell {
        let (tx, rx) = mpsc::unbounded_channel();
        let engine = Engine::new(desired, !opts.test_start);
        let opts_memory = opts.test_start || opts.memory_table;
        Shell {
            opts,
            engine,
            table,
            pids: HashMap::new(),
            tx,
            rx,
            reloads: 0,
            reloads_failed: 0,
            reading: Reading::Idle,
            dataplane: if opts_memory {
                "memory".into()
            } else {
                "ipvs".into()
            },
            socket_gid: None,
            plane: None,
            failures: None,
            announcer: None,
            complete_told: false,
        }
    }

    /// Run on the userspace data plane `plane` (which `table` is): its connection failures
    /// come to the loop, and it gets each service's retry policy.
    pub fn with_plane(mut self, plane: uplane::Userspace) -> Shell {
        let (ftx, frx) = mpsc::unbounded_channel();
        self.plane = Some(plane.with_reports(ftx));
        self.failures = Some(frx);
        self.dataplane = "userspace".into();
        self
    }

    /// Give the data plane every service's retry policy (after start and each reload).
    fn policies(&self) {
        if let Some(p) = &self.plane {
            for v in &self.engine.desired.virtuals {
                p.set_policy(v.service.id, v.retry);
            }
        }
    }

    fn spawn(&mut self, instance: u64, argv: &[String], label: &str) {
        let Some((prog, args)) = argv.split_first() else {
            return;
        };
        let mut cmd = tokio::process::Command::new(prog);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .env_remove("NOTIFY_SOCKET")
            .kill_on_drop(false);
        // Nannies die with lvsd, as piranha's did, and run below it and pulse.
        plog::notify::die_with_parent(cmd.as_std_mut());
        plog::notify::run_niced(cmd.as_std_mut(), NANNY_NICE);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                info!("cannot start nanny {prog} for {label}: {e}");
                let _ = self
                    .tx
                    .send(Event::Exit(instance, format!("not started: {e}")));
                return;
            }
        };
        let pid = child.id().unwrap_or(0);
        self.pids.insert(instance, pid);
        info!("create_monitor for {label} running as pid {pid}");
        let tx = self.tx.clone();
        let out = child.stdout.take();
        tokio::spawn(async move {
            if let Some(out) = out {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = tx.send(Event::Line(instance, line));
                }
            }
            let status = match child.wait().await {
                Ok(s) => s.to_string(),
                Err(e) => e.to_string(),
            };
            let _ = tx.send(Event::Exit(instance, status));
        });
    }

    /// Carry out effects; `Some(status)` to exit.
    fn effects(&mut self, fx: Vec<Effect>) -> Option<i32> {
        let mut exit = None;
        for e in fx {
            match e {
                Effect::Spawn {
                    instance,
                    argv,
                    label,
                    ..
                } => self.spawn(instance, &argv, &label),
                Effect::Kill { instance } => {
                    if let Some(pid) = self.pids.get(&instance) {
                        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGTERM);
                    }
                }
                Effect::Log(l) => info!("{l}"),
                Effect::Exit(c) => exit = Some(c),
            }
        }
        exit
    }

    /// Whether this lvsd keeps a state file (not on the in-memory table).
    fn keeps_state(&self) -> bool {
        !self.opts.test_start && !self.opts.memory_table
    }

    fn state(&self, owned: Vec<ipvs::ServiceId>) -> state::State {
        state::State {
            owned,
            controls: self
                .engine
                .controls()
                .iter()
                .map(|(t, a)| (t.clone(), *a))
                .collect(),
        }
    }

    fn write_state(&self) {
        if !self.keeps_state() {
            return;
        }
        if let Err(e) = state::write(&self.opts.state_file, &self.state(self.engine.owned())) {
            info!("cannot write {}: {e}", self.opts.state_file.display());
        }
    }

    /// SIGHUP: read the file on a blocking thread; during a reading, only note that the file
    /// must be read again (several SIGHUPs meanwhile make one more reading: the latest file
    /// wins).
    fn reload(&mut self) {
        if self.reading.hup() {
            self.read_file();
        } else {
            debug!("reload requested while the file is being read: reading it again after");
        }
    }

    fn read_file(&self) {
        info!("rereading configuration file");
        let opts = self.opts.clone();
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(Event::Loaded(Box::new(load(&opts))));
        });
    }

    /// A reading ended: apply it, unless a newer SIGHUP made it stale.
    fn loaded(&mut self, read: Result<Desired, LoadError>) {
        if !self.reading.done() {
            debug!("dropping a stale reading of the file");
            self.read_file();
            return;
        }
        let new = match read {
            Ok(d) => d,
            Err(e) => {
                log_lines(&e.to_string());
                info!("keeping the running configuration");
                self.reloads_failed += 1;
                return;
            }
        };
        if new.dataplane != self.engine.desired.dataplane {
            info!("dataplane changes take effect when lvsd starts again");
        }
        if new.announce != self.engine.desired.announce {
            info!("announce settings take effect when lvsd starts again");
        }
        let (plan, fx) = self.engine.reload(self.table.as_mut(), new, Instant::now());
        self.policies();
        self.reloads += 1;
        debug!("reload plan: {plan:?}");
        let _ = self.effects(fx);
        self.write_state();
    }

    fn status_json(&mut self) -> String {
        let counters = status::table_counters(&self.engine, self.table.as_mut());
        let pids = &self.pids;
        let mut s = status::build(
            &self.engine,
            &self.opts.config.display().to_string(),
            (self.reloads, self.reloads_failed),
            Instant::now(),
            &|i| pids.get(&i).copied(),
            &counters,
            &self.dataplane,
        );
        s.announce = self.announcer.as_ref().map(Announcer::status);
        serde_json::to_string(&s).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Wait until every nanny has exited (SIGKILL after 10 s).
    async fn reap_all(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.pids.is_empty() {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(Event::Exit(i, _))) => {
                    self.pids.remove(&i);
                }
                Ok(Some(
                    Event::Line(..) | Event::Loaded(_) | Event::Request(..) | Event::Plane(_),
                )) => {}
                Ok(None) => break,
                Err(_) => {
                    for pid in self.pids.values() {
                        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
                    }
                    break;
                }
            }
        }
    }

    /// The VIPs to announce, after anything that may have changed them.
    fn announce(&self) {
        if let Some(a) = &self.announcer {
            a.want(self.engine.announced());
        }
    }

    async fn shutdown(&mut self, code: i32) -> i32 {
        let serving = !self.engine.is_stopping();
        if let Some(a) = self.announcer.as_mut() {
            a.withdraw_and_drain(serving).await;
        }
        let fx = self.engine.stop(self.table.as_mut());
        let _ = self.effects(fx);
        self.reap_all().await;
        let _ = std::fs::remove_file(&self.opts.socket);
        if self.keeps_state() {
            // Nothing is owned any more; the controls stay for the next lvsd.
            if self.engine.controls().is_empty() {
                let _ = std::fs::remove_file(&self.opts.state_file);
            } else if let Err(e) = state::write(&self.opts.state_file, &self.state(Vec::new())) {
                info!("cannot write {}: {e}", self.opts.state_file.display());
            }
        }
        code
    }

    /// The status socket (a failure is logged: lvsd runs without it).
    fn listen(&self) -> Option<UnixListener> {
        match socket::bind(&self.opts.socket, self.socket_gid) {
            Ok(l) => Some(l),
            Err(e) => {
                info!("no status socket {}: {e}", self.opts.socket.display());
                None
            }
        }
    }

    /// Build the table (taking over the services an earlier lvsd owned), start the nannies
    /// and signal readiness; an exit status if that failed.
    fn start(&mut self) -> Option<i32> {
        let kept = if self.keeps_state() {
            state::read(&self.opts.state_file)
        } else {
            state::State::default()
        };
        let fx = self.engine.restore_controls(kept.controls);
        let _ = self.effects(fx);
        self.policies();
        let fx = self.engine.start(
            self.table.as_mut(),
            &kept.owned,
            self.opts.flush,
            Instant::now(),
        );
        if let Some(code) = self.effects(fx) {
            return Some(code);
        }
        self.write_state();
        if let Err(e) = notify::notify("READY=1") {
            info!("cannot notify readiness: {e}");
        }
        None
    }

    /// An event from a nanny or the file reader: what the engine makes of it.
    fn event(&mut self, ev: Event) -> Vec<Effect> {
        match ev {
            Event::Line(i, line) => match nanny::report::parse(&line) {
                Some(r) => self
                    .engine
                    .on_report(self.table.as_mut(), i, r, Instant::now()),
                None if let Some(c) = nanny::report::parse_check(&line) => self
                    .engine
                    .on_check_line(self.table.as_mut(), i, c, Instant::now()),
                None => {
                    // A nanny's human line (it runs --nodaemon only when we do).
                    if self.opts.nodaemon {
                        println!("{line}");
                    }
                    Vec::new()
                }
            },
            Event::Exit(i, status) => {
                self.pids.remove(&i);
                self.engine
                    .on_exit(self.table.as_mut(), i, &status, Instant::now())
            }
            Event::Loaded(read) => {
                self.loaded(*read);
                Vec::new()
            }
            Event::Request(r, c) => {
                self.request(r, c);
                Vec::new()
            }
            Event::Plane(f) => self.engine.on_plane_failure(
                self.table.as_mut(),
                f.service,
                f.dest,
                f.cause.as_str(),
                Instant::now(),
            ),
        }
    }

    /// A status-socket client connected: read its request in a task of its own, which hands
    /// it to the loop ([`Event::Request`]).
    fn accepted(&self, c: UnixStream) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some((r, c)) = socket::read_request(c).await {
                let _ = tx.send(Event::Request(r, c));
            }
        });
    }

    /// Serve a request; the reply is written in the background.
    fn request(&mut self, r: Request, c: UnixStream) {
        let body = match r {
            Request::Status => self.status_json() + "\n",
            Request::Reload => {
                info!("reload requested on the status socket");
                self.reload();
                Reply::ok().to_line()
            }
            Request::Control(ctl) => {
                match self
                    .engine
                    .control(self.table.as_mut(), ctl, Instant::now())
                {
                    Ok(fx) => {
                        let _ = self.effects(fx);
                        self.write_state();
                        Reply::ok().to_line()
                    }
                    Err(e) => {
                        info!("refused a request on the status socket: {e}");
                        Reply::error(e).to_line()
                    }
                }
            }
        };
        tokio::spawn(socket::answer(c, body));
    }

    /// Once every real server's nanny has given its first verdict, say so to the supervisor
    /// (`STATUS=table complete`): pulse shows a hot standby's table as ready from then on.
    fn tell_complete(&mut self) {
        if self.complete_told || !self.engine.verdicts_in() {
            return;
        }
        self.complete_told = true;
        info!("every real server has been checked: the table is complete");
        if let Err(e) = notify::notify("STATUS=table complete") {
            info!("cannot notify the table's completion: {e}");
        }
    }

    /// Build the table, start the nannies, signal readiness, then serve until stopped.
    pub async fn run(&mut self) -> i32 {
        let [mut term, mut int, mut hup] = match plog::daemon::stop_and_reload_signals() {
            Ok(s) => s,
            Err(e) => {
                info!("{e}");
                return 1;
            }
        };
        let listener = self.listen();
        if let Some(mut frx) = self.failures.take() {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                while let Some(f) = frx.recv().await {
                    if tx.send(Event::Plane(f)).is_err() {
                        break;
                    }
                }
            });
        }
        if let Some(a) = &self.engine.desired.announce {
            self.announcer = Some(Announcer::spawn(a));
        }
        if let Some(code) = self.start() {
            return code;
        }
        self.announce();
        self.tell_complete();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        // Keep-alives for a supervisor that asks (pulse, systemd's WatchdogSec), sent from
        // this loop so that a stopped or stuck lvsd falls silent.
        let mut keep = plog::notify::watchdog_period().map(tokio::time::interval);
        loop {
            tokio::select! {
                _ = keep_alive_due(&mut keep) => {
                    let _ = notify::notify("WATCHDOG=1");
                }
                ev = self.rx.recv() => {
                    let Some(ev) = ev else { continue };
                    let fx = self.event(ev);
                    if let Some(code) = self.effects(fx) {
                        return self.shutdown(code).await;
                    }
                    self.tell_complete();
                }
                _ = tick.tick() => {
                    let fx = self.engine.on_tick(self.table.as_mut(), Instant::now());
                    let _ = self.effects(fx);
                }
                _ = hup.recv() => self.reload(),
                _ = term.recv() => {
                    info!("shutting down due to signal {}", Signal::SIGTERM as i32);
                    return self.shutdown(0).await;
                }
                _ = int.recv() => {
                    info!("shutting down due to signal {}", Signal::SIGINT as i32);
                    return self.shutdown(0).await;
                }
                conn = accept(&listener) => {
                    if let Ok(c) = conn {
                        self.accepted(c);
                    }
                }
            }
            self.announce();
        }
    }
}

/// The next keep-alive's time; never without a supervisor asking for them.
async fn keep_alive_due(k: &mut Option<tokio::time::Interval>) {
    match k {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn accept(l: &Option<UnixListener>) -> std::io::Result<UnixStream> {
    match l {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

/// `lvsd --status`: read the running daemon's report.
pub fn query_status(socket: &Path) -> std::io::Result<String> {
    socket::ask(socket, "status")
}

#[cfg(test)]
mod tests {
    use super::Reading;

    #[test]
    fn sighups_during_a_reading_make_one_more_reading_and_only_it_is_applied() {
        let mut r = Reading::default();
        assert!(r.hup(), "idle: read at once");
        assert!(r.done(), "nothing newer: apply");
        assert_eq!(r, Reading::Idle);
        assert!(r.hup());
        assert!(!r.hup(), "under way: wait");
        assert!(!r.hup(), "several make one more reading");
        assert!(!r.done(), "stale: dropped, the next reading starts");
        assert_eq!(r, Reading::Busy);
        assert!(r.done(), "the latest file is applied");
        assert_eq!(r, Reading::Idle);
    }
}
