//! The main loop around the [`Machine`]: heartbeat sockets, the clock, signals, link events
//! and the status socket feed it; the [`executor`](crate::executor) carries out what it
//! decides (commands, lvsd, the sync daemon, addresses, announcements) one step after another,
//! so the heartbeat keeps beating while lvsd starts. Every change to the system goes through a
//! [`System`], so `--test-start` is a choice made once, here.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::info;

use crate::auth::Authenticator;
use crate::error::Error;
use crate::executor::{Executor, Job, stop_limit};
use crate::machine::{Action, Config, Input, Machine};
use crate::opts::Opts;
use crate::settings::Settings;
use crate::system::{DryRun, Real, System};
use crate::wanted::Wanted;
use crate::watchdog::Guard;
use crate::wire::Mode;

mod config_sync;
mod heartbeat;
mod last_word;
mod reload;
mod sockets;
mod status_server;
mod sync_io;

pub use sockets::bind;
pub use status_server::{Shared, lock};

use sockets::Sockets;

/// Something that happened outside the main loop.
#[derive(Debug)]
pub enum Event {
    Datagram {
        private: bool,
        from: SocketAddr,
        data: Vec<u8>,
    },
    ChildExited {
        generation: u64,
        pid: u32,
        how: String,
        /// Not started, or ended with a failure status or a signal.
        failed: bool,
    },
    /// Hot standby: lvsd of this generation, started again, is ready.
    ChildReady {
        generation: u64,
    },
    /// Hot standby: the activation's addresses are up and announced.
    AddressesUp,
    /// SIGHUP's reading of the file, done off the main loop (it may resolve host names).
    Loaded(Result<Box<Settings>, Error>),
    Links {
        down: Vec<&'static str>,
    },
    /// FOS: whether the default gateway answered.
    Gateway(bool),
    /// `config_sync`: the partner's newer file was installed (its serial), or why not.
    Synced(Result<i64, String>),
}

fn machine_config(s: &Settings, o: &Opts) -> Config {
    Config {
        master: s.master,
        backup_active: s.backup_active,
        keepalive: s.keepalive,
        deadtime: s.deadtime,
        force_active: o.force_active,
        mode: s.mode,
        max_failovers: o.max_failovers,
        failover_window: o.failover_window,
        hot_standby: s.hot_standby,
    }
}

/// The running daemon.
pub struct Daemon {
    opts: Opts,
    settings: Settings,
    machine: Machine,
    sockets: Sockets,
    system: Arc<dyn System>,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    jobs: mpsc::UnboundedSender<Job>,
    shared: Arc<Mutex<Shared>>,
    /// The child generation pulse wants running; an exit of any other is expected.
    wanted: Wanted,
    links: Option<JoinHandle<()>>,
    exit: Option<i32>,
    /// FOS: when to ask the gateway again during a network fault.
    recheck: Option<tokio::time::Instant>,
    /// What the machine decided at start-up, carried out when [`Daemon::run`] starts.
    startup: Vec<Action>,
    /// A new configuration read after SIGHUP, to apply.
    pending_reload: Option<Box<Settings>>,
    /// Signs and checks heartbeats when `heartbeat_key_file` is set.
    auth: Option<Authenticator>,
    /// `config_sync`: what the listener answers, whether a fetch runs, when to try again.
    served: sync_io::Served,
    fetching: bool,
    next_fetch: Instant,
    /// The watchdog that cleans up if pulse dies: told the last STOPPED heartbeats here, the
    /// addresses held by the executor.
    watchdog: Guard,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The status fields that do not change while pulse runs.
fn initial_status(shared: &Mutex<Shared>, settings: &Settings) {
    let mut sh = lock(shared);
    let st = &mut sh.status;
    st.pid = std::process::id();
    st.mode = match settings.mode {
        Mode::Lvs => "lvs",
        Mode::Fos => "fos",
    }
    .into();
    st.role = if settings.master { "master" } else { "backup" }.into();
    st.state = "inactive".into();
}

impl Daemon {
    /// Set up inside the runtime: sockets, executor, status socket, link watch.
    pub fn new(
        opts: Opts,
        settings: Settings,
        socks: Vec<std::net::UdpSocket>,
        status_listener: Option<std::os::unix::net::UnixListener>,
    ) -> std::io::Result<Daemon> {
        let (tx, rx) = mpsc::unbounded_channel();
        let sockets = Sockets::new(socks, &tx)?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        initial_status(&shared, &settings);
        let system: Arc<dyn System> = if opts.norun {
            Arc::new(DryRun)
        } else {
            Arc::new(Real::new())
        };
        let wanted = Wanted::default();
        let (jobs, jrx) = mpsc::unbounded_channel();
        let watchdog = Guard::start(
            opts.nodaemon,
            shared.clone(),
            crate::watchdog::file::path_for(&opts.socket),
        );
        let exec = Executor::new(
            system.clone(),
            opts.clone(),
            settings.clone(),
            tx.clone(),
            shared.clone(),
            wanted.subscribe(),
        )
        .with_watchdog(watchdog.clone());
        tokio::spawn(exec.run(jrx));
        if let Some(l) = status_listener {
            status_server::serve(l, shared.clone())?;
        }
        let (machine, startup) = Machine::start(machine_config(&settings, &opts), Instant::now());
        let mut d = Daemon {
            opts,
            settings,
            machine,
            sockets,
            system,
            tx,
            rx,
            jobs,
            shared,
            wanted,
            links: None,
            exit: None,
            recheck: None,
            startup,
            pending_reload: None,
            auth: None,
            served: Arc::new(Mutex::new(None)),
            fetching: false,
            next_fetch: Instant::now(),
            watchdog,
        };
        d.reauth(d.settings.auth.clone().as_ref());
        d.sync_own_version();
        d.start_sync_listener();
        d.watch_links();
        Ok(d)
    }

    fn watch_links(&mut self) {
        if let Some(h) = self.links.take() {
            h.abort();
        }
        if !self.settings.monitor_links {
            return;
        }
        let mut watched = vec![(self.settings.own, "Primary")];
        if let Some(p) = self.settings.own_private {
            watched.push((p, "Private"));
        }
        self.links = self.system.watch_links(watched, self.tx.clone());
    }

    /// Run until a signal or a fatal error; returns the exit status.
    pub async fn run(mut self) -> i32 {
        use tokio::signal::unix::SignalKind;
        let [mut term, mut int, mut hup, mut usr1, mut usr2] = match plog::daemon::signals([
            SignalKind::terminate(),
            SignalKind::interrupt(),
            SignalKind::hangup(),
            SignalKind::user_defined1(),
            SignalKind::user_defined2(),
        ]) {
            Ok(s) => s,
            Err(e) => {
                info!("{e}");
                return 1;
            }
        };
        for n in self.settings.notes.clone() {
            info!("{n}");
        }
        // The start-up line and the first decision.
        let fx = std::mem::take(&mut self.startup);
        self.carry_out(fx).await;
        if let Err(e) = plog::notify::notify("READY=1") {
            info!("cannot notify readiness: {e}");
        }
        // After a stall, the end of the keepalive during which the sockets are read before
        // the machine's next tick (see `Daemon::tick`).
        let mut grace: Option<Instant> = None;
        while self.exit.is_none() {
            let next = grace.map_or(self.machine.next_deadline(), |g| {
                g.max(self.machine.next_deadline())
            });
            let deadline = tokio::time::Instant::from_std(next);
            let recheck = self.recheck;
            let input = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => self.tick(next, &mut grace),
                _ = async { tokio::time::sleep_until(recheck.unwrap()).await }, if recheck.is_some() => {
                    self.recheck = None;
                    self.check_gateway();
                    None
                }
                Some(ev) = self.rx.recv() => self.event(ev),
                _ = term.recv() => Some(Input::Terminate(15)),
                _ = int.recv() => Some(Input::Terminate(2)),
                _ = hup.recv() => { self.read_config(); None }
                _ = usr1.recv() => { info!("ignoring signal 10 (SIGUSR1)"); None }
                _ = usr2.recv() => { info!("ignoring signal 12 (SIGUSR2)"); None }
            };
            if let Some(i) = input {
                self.feed(i).await;
            }
            if let Some(new) = self.pending_reload.take() {
                self.reload(*new).await;
            }
        }
        self.exit.unwrap_or(0)
    }

    /// The machine's tick, unless this process did not run for a while: woken more than a
    /// keepalive after its deadline (stopped by SIGSTOP, the host suspended, starved of CPU),
    /// the partner's heartbeats of meanwhile still wait unread in the sockets, and judging
    /// its silence now would be a false takeover. Then the sockets are read for one keepalive
    /// more (`grace`) before the tick.
    fn tick(&mut self, deadline: Instant, grace: &mut Option<Instant>) -> Option<Input> {
        let now = Instant::now();
        if grace.take().is_none() && stalled(deadline, now, self.settings.keepalive) {
            info!(
                "woke {} ms late: reading the partner's heartbeats before judging its silence",
                now.duration_since(deadline).as_millis()
            );
            *grace = Some(now + self.settings.keepalive);
            return None;
        }
        Some(Input::Tick)
    }

    /// Feed one input to the machine and carry out what it decides.
    async fn feed(&mut self, input: Input) {
        let fx = self.machine.on(input, Instant::now());
        self.carry_out(fx).await;
    }

    /// Turn an outside event into a machine input.
    fn event(&mut self, ev: Event) -> Option<Input> {
        match ev {
            Event::Datagram {
                private,
                from,
                data,
            } => self.datagram(private, from, &data),
            Event::ChildExited {
                generation,
                pid,
                how,
                failed,
            } => {
                info!("Child process {pid} {how}");
                if !self.wanted.is(generation) {
                    return None;
                }
                self.wanted.clear();
                Some(Input::ChildExited { failed })
            }
            Event::ChildReady { generation } => {
                self.wanted.is(generation).then_some(Input::ChildReady)
            }
            Event::AddressesUp => Some(Input::AddressesUp),
            Event::Gateway(up) => Some(Input::Gateway(up)),
            Event::Synced(r) => {
                self.synced(r);
                None
            }
            Event::Loaded(r) => {
                match r {
                    Ok(new) => self.pending_reload = Some(new),
                    Err(e) => {
                        info!("{e}");
                        info!("keeping the running configuration");
                        lock(&self.shared).status.reloads_failed += 1;
                    }
                }
                None
            }
            Event::Links { down } => {
                if down.is_empty() {
                    Some(Input::LinkRestored)
                } else {
                    for d in down {
                        info!("{d} NIC: link down");
                    }
                    Some(Input::LinkFailure)
                }
            }
        }
    }

    /// The generation of the child a job starts: FOS starts a fos in either role; LVS only
    /// when it activates.
    fn job(&mut self, make: fn(u64) -> Job) {
        let g = self.wanted.new_generation();
        let _ = self.jobs.send(make(g));
    }

    async fn carry_out(&mut self, fx: Vec<Action>) {
        let fos = self.settings.mode == Mode::Fos;
        let hot = self.settings.hot_standby;
        for a in fx {
            match a {
                Action::Log(s) => info!("{s}"),
                Action::Send(m) => self.send_heartbeat(m).await,
                // Hot standby: the lvsd running goes on.
                Action::Activate if hot => {
                    let g = self.wanted.current_or_new();
                    let _ = self.jobs.send(Job::Activate(g));
                }
                Action::Deactivate if hot => {
                    let g = self.wanted.current_or_new();
                    let _ = self.jobs.send(Job::Deactivate(g));
                }
                Action::StartInactive if hot => self.job(Job::StartInactive),
                Action::StartStandby => self.job(Job::StartStandby),
                Action::Activate => self.job(Job::Activate),
                // FOS: the monitor fos; LVS: no child from now on.
                Action::Deactivate if fos => self.job(Job::Deactivate),
                Action::Deactivate => {
                    self.wanted.clear();
                    let _ = self.jobs.send(Job::Deactivate(0));
                }
                // FOS: the monitor fos; LVS: no child.
                Action::StartInactive if fos => self.job(Job::StartInactive),
                Action::StartInactive => {
                    let _ = self.jobs.send(Job::StartInactive(0));
                }
                Action::ResendArps => {
                    let _ = self.jobs.send(Job::ResendArps);
                }
                Action::RestartServices => self.job(Job::RestartServices),
                Action::StartMonitors => self.job(Job::StartMonitors),
                Action::CheckGateway => self.check_gateway(),
                Action::Shutdown => {
                    self.wanted.clear();
                    let _ = self.jobs.send(Job::Shutdown);
                }
                Action::Exit(code) => {
                    self.flush().await;
                    // Cleaned up: the watchdog goes without acting.
                    self.watchdog.stop();
                    self.exit = Some(code);
                }
            }
        }
        self.tell_watchdog();
        if self.machine.network_fault() && self.recheck.is_none() {
            self.recheck = Some(tokio::time::Instant::now() + Duration::from_secs(2));
        }
        self.publish();
    }

    /// Let the executor finish (child stopped, addresses down), within the time the child may
    /// take to stop.
    async fn flush(&mut self) {
        let (done, wait) = oneshot::channel();
        let _ = self.jobs.send(Job::Flush(done));
        let limit = stop_limit(&self.opts, self.settings.mode) + Duration::from_secs(10);
        if tokio::time::timeout(limit, wait).await.is_err() {
            info!("giving up waiting for the shutdown steps");
        }
    }

    /// SIGHUP: read the file off the main loop (host names may take long to resolve, and
    /// heartbeats must go on meanwhile); [`Event::Loaded`] brings the result.
    fn read_config(&self) {
        info!("rereading configuration file");
        let tx = self.tx.clone();
        let path = self.opts.config.clone();
        tokio::spawn(async move {
            let r = crate::settings::load(&path).await.map(Box::new);
            let _ = tx.send(Event::Loaded(r));
        });
    }

    /// Ask whether the default gateway answers, in the background; the answer comes back as
    /// [`Event::Gateway`].
    fn check_gateway(&self) {
        let tx = self.tx.clone();
        let answers = self.system.gateway_answers();
        tokio::spawn(async move {
            let _ = tx.send(Event::Gateway(answers.await));
        });
    }

    fn publish(&self) {
        let mut sh = lock(&self.shared);
        let st = &mut sh.status;
        st.set_active(self.machine.is_active());
        let m = &self.machine;
        st.flags = [
            ("CHILDFAIL", m.childfail()),
            ("LINKFAIL", m.linkfail()),
            ("NORUN", self.opts.norun),
            ("NOBACKUP", !self.settings.backup_active),
            ("FAILPARTNER", m.failpartner()),
            ("NETWORKFAULT", m.network_fault()),
            ("HOLDDOWN", m.held()),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(f, _)| f.to_owned())
        .collect();
        st.own = self.settings.own.to_string();
        st.hot_standby = self.settings.hot_standby;
        st.partner = self.settings.partner.map(|p| p.to_string());
        st.keepalive_ms = self.settings.keepalive.as_millis() as u64;
        st.deadtime_ms = self.settings.deadtime.as_millis() as u64;
        drop(sh);
        self.publish_auth();
    }
}

/// Whether a wake-up at `now` for `deadline` came so late (more than a keepalive) that this
/// process cannot have been running meanwhile.
fn stalled(deadline: Instant, now: Instant, keepalive: Duration) -> bool {
    now.saturating_duration_since(deadline) > keepalive
}

#[cfg(test)]
mod stall_tests {
    use super::*;

    #[test]
    fn a_wake_up_more_than_a_keepalive_late_is_a_stall() {
        let t = Instant::now();
        let ka = Duration::from_millis(200);
        assert!(!stalled(t, t, ka));
        assert!(!stalled(t + ka, t, ka), "early is no stall");
        assert!(!stalled(t, t + ka, ka));
        assert!(stalled(t, t + ka + Duration::from_millis(1), ka));
        assert!(stalled(t, t + Duration::from_secs(3), ka));
    }
}
