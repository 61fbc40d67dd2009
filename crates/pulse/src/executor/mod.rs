//! Carries out activation and deactivation steps in order (spec §2.6), as a task of its own
//! fed by the main loop, so heartbeats go on while lvsd starts or fos stops services. Every
//! change to the system goes through the [`System`] it is given.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::info;

use crate::backoff::Backoff;
use crate::daemon::{Event, Shared, lock};
use crate::opts::Opts;
use crate::settings::{Settings, Vip};
use crate::system::{Announce, SyncRole, System, vip_text};
use crate::watchdog::Guard;
use crate::wire::Mode;

mod child;
mod fos;
mod hot;

use child::Child;

/// Work for the executor, done in order. The numbers are child generations
/// ([`Wanted`](crate::wanted::Wanted)).
#[derive(Debug)]
pub enum Job {
    /// With the generation of the monitor fos (FOS mode).
    StartInactive(u64),
    Activate(u64),
    Deactivate(u64),
    ResendArps,
    RestartServices(u64),
    StartMonitors(u64),
    /// Hot standby, inactive: start lvsd (again).
    StartStandby(u64),
    /// Hot standby turned off on an inactive node: stop lvsd.
    StopStandby,
    Shutdown,
    Reconfigure(Box<Settings>),
    ForwardHup,
    Flush(oneshot::Sender<()>),
}

/// How long a child may take to stop: fos `--active` runs every `stop_cmd` on SIGTERM (60 s
/// each by default).
pub fn stop_limit(opts: &Opts, mode: Mode) -> Duration {
    match mode {
        Mode::Fos => opts.child_timeout.max(Duration::from_secs(70)),
        Mode::Lvs => opts.child_timeout,
    }
}

/// The executor task's state.
#[derive(Debug)]
pub struct Executor {
    system: Arc<dyn System>,
    /// The generation the main loop wants running (`None`: no child).
    wanted: watch::Receiver<Option<u64>>,
    opts: Opts,
    settings: Settings,
    events: mpsc::UnboundedSender<Event>,
    shared: Arc<Mutex<Shared>>,
    child: Option<Child>,
    arps: Option<JoinHandle<()>>,
    held: Vec<Vip>,
    /// FOS: whether the last fos started has failed on its own, and the pause before the
    /// next start when fos keeps failing at once.
    last_fos_failed: Arc<std::sync::atomic::AtomicBool>,
    fos_backoff: Backoff,
    /// Hot standby: the pause before starting lvsd again when it keeps failing at once, and
    /// whether the last start failed.
    lvsd_backoff: Backoff,
    lvsd_start_failed: bool,
    /// The last activation has not been undone.
    active: bool,
    /// Told which addresses are held, to take them down if pulse dies.
    watchdog: Guard,
}

impl Executor {
    pub fn new(
        system: Arc<dyn System>,
        opts: Opts,
        settings: Settings,
        events: mpsc::UnboundedSender<Event>,
        shared: Arc<Mutex<Shared>>,
        wanted: watch::Receiver<Option<u64>>,
    ) -> Executor {
        Executor {
            system,
            wanted,
            opts,
            settings,
            events,
            shared,
            child: None,
            arps: None,
            held: Vec::new(),
            last_fos_failed: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            fos_backoff: Backoff::default(),
            lvsd_backoff: Backoff::default(),
            lvsd_start_failed: false,
            active: false,
            watchdog: Guard::default(),
        }
    }

    /// Keep this watchdog told of the addresses held.
    pub fn with_watchdog(mut self, g: Guard) -> Executor {
        self.watchdog = g;
        self
    }

    /// Run the jobs as they come, until the main loop goes away.
    pub async fn run(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        while let Some(j) = jobs.recv().await {
            self.job(j).await;
            self.publish();
        }
    }

    async fn job(&mut self, j: Job) {
        match j {
            Job::StartInactive(g) if self.fos() => {
                self.clean_stale().await;
                self.start_fos("--monitor", g).await;
            }
            Job::StartInactive(g) => {
                self.command(self.settings.inactive_cmd.clone());
                self.sync_daemon(SyncRole::Backup);
                self.clean_stale().await;
                if self.hot() {
                    self.ensure_lvsd(g).await;
                }
            }
            Job::Activate(g) if self.fos() => self.activate_fos(g).await,
            Job::Activate(g) if self.hot() => self.activate_hot(g).await,
            Job::Activate(g) => self.activate_lvs(g).await,
            Job::Deactivate(g) if self.hot() => self.deactivate_hot(g).await,
            Job::StartStandby(g) => {
                self.ensure_lvsd(g).await;
            }
            Job::StopStandby if !self.active => self.stop_child().await,
            Job::StopStandby => {}
            Job::Shutdown if self.hot() => self.shut_down_hot().await,
            Job::Deactivate(g) => {
                self.deactivate().await;
                if self.fos() {
                    self.start_fos("--monitor", g).await;
                }
            }
            Job::Shutdown => {
                if self.fos() || self.child.is_some() || !self.held.is_empty() {
                    self.deactivate().await;
                }
                if self.fos() {
                    self.stop_hot_services().await;
                }
            }
            Job::ResendArps => {
                self.command(self.settings.active_cmd.clone());
                self.announce();
            }
            Job::RestartServices(g) => {
                self.stop_child().await;
                self.announce();
                self.start_fos("--active", g).await;
            }
            Job::StartMonitors(g) => {
                self.stop_child().await;
                self.start_fos("--monitor", g).await;
            }
            Job::Reconfigure(s) => self.reconfigure(*s).await,
            Job::ForwardHup => self.forward_hup(),
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }

    fn publish(&self) {
        let mut sh = lock(&self.shared);
        sh.status.vips = self.held.iter().map(vip_text).collect();
        self.watchdog.set_vips(&self.held);
        self.watchdog
            .set_child(self.child.as_ref().and_then(|c| c.running_pid()));
        if self.child.is_none() {
            sh.status.child = None;
        }
    }

    fn fos(&self) -> bool {
        self.settings.mode == Mode::Fos
    }

    /// SIGHUP for lvsd. Never kill(0, …): with no child there is nobody to tell (§7.2 #1).
    /// fos is not told: it would take SIGHUP as the end of its services.
    fn forward_hup(&self) {
        if let Some(c) = &self.child
            && !self.fos()
            && let Some(pid) = c.running_pid()
        {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGHUP);
        }
    }

    /// `active_cmd`/`inactive_cmd`: split into words, run without a shell, not waited for.
    fn command(&self, cmd: Option<String>) {
        let Some(cmd) = cmd else { return };
        let argv = lvscf::split_words(&cmd);
        if argv.is_empty() {
            return;
        }
        self.system.run_command(&cmd, &argv);
    }

    /// The IPVS connection synchronisation daemon in `role`.
    fn sync_daemon(&self, role: SyncRole) {
        if let Some((iface, id)) = &self.settings.sync {
            self.system.sync_daemon(iface, *id, role);
        }
    }

    /// The sync daemon's role on an active director: master, or master and backup when every
    /// director is active (`announce = bird`).
    fn active_sync_role(settings: &Settings) -> SyncRole {
        SyncRole::of(true, settings.announce_bird)
    }

    /// piranha (activateFosServices): the old fos goes, addresses up and announced, then
    /// fos --active.
    async fn activate_fos(&mut self, generation: u64) {
        self.active = true;
        self.stop_child().await;
        self.bring_up_floating().await;
        self.announce();
        self.start_fos("--active", generation).await;
    }

    /// piranha's order: active_cmd, lvsd (ready), sync daemon master (and backup with
    /// `announce = bird`), addresses, ARPs.
    async fn activate_lvs(&mut self, generation: u64) {
        self.command(self.settings.active_cmd.clone());
        let program = self.opts.lvsd.display().to_string();
        if self.system.launches(&program) && !self.start_lvsd(generation).await {
            // The main loop hears of it as a child failure and deactivates.
            return;
        }
        // Active from here on: a reload now brings new addresses up.
        self.active = true;
        self.sync_daemon(Self::active_sync_role(&self.settings));
        self.bring_up_floating().await;
        self.announce();
    }

    async fn bring_up_floating(&mut self) {
        let vips: Vec<Vip> = self.settings.floating().cloned().collect();
        self.bring_up(&vips).await;
    }

    async fn bring_up(&mut self, vips: &[Vip]) {
        if !self.opts.norun {
            // Told before they come up: pulse may die while they do.
            let mut coming = self.held.clone();
            coming.extend(vips.iter().filter(|v| !self.held.contains(v)).cloned());
            self.watchdog.set_vips(&coming);
            self.watchdog
                .set_child(self.child.as_ref().and_then(|c| c.running_pid()));
        }
        for v in self.system.bring_up(vips).await {
            if !self.held.contains(&v) {
                self.held.push(v);
            }
        }
        self.watchdog.set_vips(&self.held);
    }

    async fn down(&mut self, v: &Vip) {
        self.system.take_down(v).await;
        self.held.retain(|h| h != v);
        self.watchdog.set_vips(&self.held);
    }

    async fn deactivate(&mut self) {
        self.active = false;
        if let Some(a) = self.arps.take() {
            a.abort();
        }
        if self.fos() {
            // The partner has taken over or is about to: the addresses go first, then fos
            // stops the services (which may take long).
            for v in self.held.clone() {
                self.down(&v).await;
            }
            self.stop_child().await;
            return;
        }
        // piranha's order: inactive_cmd, sync daemon backup, lvsd stopped, addresses down.
        self.command(self.settings.inactive_cmd.clone());
        self.sync_daemon(SyncRole::Backup);
        self.stop_child().await;
        if self.settings.announce_bird {
            // A stopping lvsd withdrew its VIPs from BIRD; one that died could not.
            let lvsd = self.opts.lvsd.display().to_string();
            let argv = [
                &lvsd,
                "--withdraw",
                "-c",
                &self.opts.config.display().to_string(),
            ]
            .map(ToString::to_string);
            self.system.run_command(&argv.join(" "), &argv);
        }
        for v in self.held.clone() {
            self.down(&v).await;
        }
    }

    /// Remove configured addresses a crashed pulse left behind (piranha kept them up).
    async fn clean_stale(&mut self) {
        let addrs = self.system.addresses().await;
        for v in self.settings.floating().cloned().collect::<Vec<_>>() {
            if addrs.contains(&v.ip) {
                info!(
                    "removing stale address {} left from an earlier run",
                    vip_text(&v)
                );
                self.down(&v).await;
            }
        }
    }

    /// Announce every address held, in the background (replacing announcements under way).
    fn announce(&mut self) {
        if let Some(a) = self.arps.take() {
            a.abort();
        }
        let how = Announce {
            count: self.opts.arp_count,
            interval: self.opts.arp_interval,
            what: match self.settings.mode {
                Mode::Lvs => "lvs",
                Mode::Fos => "fos",
            },
        };
        // VIPs on the loopback device (`announce = bird`) are announced by BGP, not ARP.
        let on_links: Vec<Vip> = self
            .held
            .iter()
            .filter(|v| v.device != crate::settings::LOOPBACK)
            .cloned()
            .collect();
        self.arps = self.system.announce(on_links, how);
    }

    /// A new configuration: on the active node, addresses that went away come down, new ones
    /// come up (and are announced), and a sync daemon whose settings or role changed starts
    /// again.
    async fn reconfigure(&mut self, new: Settings) {
        let old = std::mem::replace(&mut self.settings, new);
        // Only the active node holds addresses (in FOS mode the inactive one has a child too:
        // its monitor).
        if !self.active {
            return;
        }
        let new_set: Vec<Vip> = self.settings.floating().cloned().collect();
        for v in old.floating() {
            if !new_set.contains(v) {
                self.down(&v.clone()).await;
            }
        }
        let added: Vec<Vip> = new_set
            .into_iter()
            .filter(|v| !self.held.contains(v))
            .collect();
        if !added.is_empty() {
            self.bring_up(&added).await;
            self.announce();
        }
        let role = Self::active_sync_role(&self.settings);
        if old.sync != self.settings.sync || Self::active_sync_role(&old) != role {
            self.sync_daemon(role);
        }
    }
}

#[cfg(test)]
mod tests;
