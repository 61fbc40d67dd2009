//! The I/O shell around the [`Machine`]: heartbeat sockets, the clock, signals, link events
//! and the status socket feed it; an executor task carries out what it decides (commands,
//! lvsd, the sync daemon, addresses, announcements) one step after another, so the heartbeat
//! keeps beating while lvsd starts.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info};

use crate::machine::{Action, Config, Input, Machine};
use crate::opts::Opts;
use crate::settings::{Settings, Vip};
use crate::status::{ChildStatus, Status};
use crate::wire::{self, Magic, Mode};

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
    /// SIGHUP's reading of the file, done off the main loop (it may resolve host names).
    Loaded(Result<Box<Settings>, String>),
    Links {
        down: Vec<&'static str>,
    },
    /// FOS: whether the default gateway answered.
    Gateway(bool),
}

/// Work for the executor, done in order.
#[derive(Debug)]
enum Job {
    /// With the generation of the monitor fos (FOS mode).
    StartInactive(u64),
    Activate(u64),
    Deactivate(u64),
    ResendArps,
    RestartServices(u64),
    StartMonitors(u64),
    Shutdown,
    Reconfigure(Box<Settings>),
    ForwardHup,
    Flush(oneshot::Sender<()>),
}

/// State shared with the status socket.
#[derive(Debug, Default)]
pub struct Shared {
    pub status: Status,
    pub last_heard: Option<Instant>,
}

fn lock(s: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The heartbeat sockets: bound to this node's public and private addresses.
#[derive(Debug)]
struct Sockets {
    public: Arc<UdpSocket>,
    private: Option<Arc<UdpSocket>>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Sockets {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
    }
}

fn bind_std(ip: IpAddr, port: u16) -> std::io::Result<std::net::UdpSocket> {
    // std sockets are opened with SOCK_CLOEXEC, so lvsd and commands do not inherit them.
    let s = std::net::UdpSocket::bind((ip, port))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Bind the heartbeat sockets (before detaching, so a failure reaches the terminal).
pub fn bind(settings: &Settings) -> std::io::Result<Vec<std::net::UdpSocket>> {
    let mut v = vec![bind_std(settings.own, settings.port)?];
    if let Some(p) = settings.own_private {
        v.push(bind_std(p, settings.port)?);
    }
    Ok(v)
}

fn reader(sock: Arc<UdpSocket>, private: bool, tx: mpsc::UnboundedSender<Event>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        loop {
            match sock.recv_from(&mut buf).await {
                Ok((n, from)) => {
                    let data = buf[..n].to_vec();
                    if tx
                        .send(Event::Datagram {
                            private,
                            from,
                            data,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {}
                Err(e) => {
                    info!("recvfrom() failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

impl Sockets {
    fn new(
        std: Vec<std::net::UdpSocket>,
        tx: &mpsc::UnboundedSender<Event>,
    ) -> std::io::Result<Sockets> {
        let mut it = std.into_iter();
        let public = Arc::new(UdpSocket::from_std(
            it.next()
                .ok_or_else(|| std::io::Error::other("no socket"))?,
        )?);
        let private = match it.next() {
            Some(s) => Some(Arc::new(UdpSocket::from_std(s)?)),
            None => None,
        };
        Ok(Sockets::with(public, private, tx))
    }

    fn with(
        public: Arc<UdpSocket>,
        private: Option<Arc<UdpSocket>>,
        tx: &mpsc::UnboundedSender<Event>,
    ) -> Sockets {
        let mut readers = Vec::new();
        // piranha served the private socket first; here both are read concurrently.
        if let Some(p) = &private {
            readers.push(reader(p.clone(), true, tx.clone()));
        }
        readers.push(reader(public.clone(), false, tx.clone()));
        Sockets {
            public,
            private,
            readers,
        }
    }

    /// The sockets for `new`, keeping those whose address and port did not change (binding
    /// them again would fail while they are open).
    fn rebind(
        &self,
        old: &Settings,
        new: &Settings,
        tx: &mpsc::UnboundedSender<Event>,
    ) -> std::io::Result<Sockets> {
        let open = |ip: IpAddr| -> std::io::Result<Arc<UdpSocket>> {
            Ok(Arc::new(UdpSocket::from_std(bind_std(ip, new.port)?)?))
        };
        let public = if (new.own, new.port) == (old.own, old.port) {
            self.public.clone()
        } else {
            open(new.own)?
        };
        let private = match new.own_private {
            None => None,
            Some(p) if (Some(p), new.port) == (old.own_private, old.port) => self.private.clone(),
            Some(p) => Some(open(p)?),
        };
        Ok(Sockets::with(public, private, tx))
    }
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
    }
}

fn magic_name(m: Magic) -> &'static str {
    match m {
        Magic::Running | Magic::FosRunning => "active",
        Magic::Stopped | Magic::FosStopped => "inactive",
        Magic::StopMe => "stopme",
        Magic::Hold => "hold",
        Magic::Held => "held",
    }
}

/// The running daemon.
pub struct Daemon {
    opts: Opts,
    settings: Settings,
    machine: Machine,
    sockets: Sockets,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    jobs: mpsc::UnboundedSender<Job>,
    shared: Arc<Mutex<Shared>>,
    /// The lvsd generation pulse wants running; an exit of any other is expected.
    generation: u64,
    wanted: Option<u64>,
    links: Option<JoinHandle<()>>,
    exit: Option<i32>,
    /// FOS: when to ask the gateway again during a network fault.
    recheck: Option<tokio::time::Instant>,
    /// What the machine decided at start-up, carried out when [`Daemon::run`] starts.
    startup: Vec<Action>,
    /// A new configuration read after SIGHUP, to apply.
    pending_reload: Option<Box<Settings>>,
    /// `wanted`, for the executor (0: none), and a nudge that ends its back-off pause.
    wanted_shared: Arc<std::sync::atomic::AtomicU64>,
    nudge: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
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
        {
            let mut sh = lock(&shared);
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
        let (jobs, jrx) = mpsc::unbounded_channel();
        let netif = if opts.norun {
            None
        } else {
            match netif::Netif::new() {
                Ok(n) => Some(n),
                Err(e) => {
                    info!("{e}: addresses will not be changed");
                    None
                }
            }
        };
        let wanted_shared = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let nudge = Arc::new(tokio::sync::Notify::new());
        let exec = Executor {
            wanted: wanted_shared.clone(),
            nudge: nudge.clone(),
            opts: opts.clone(),
            settings: settings.clone(),
            netif,
            events: tx.clone(),
            shared: shared.clone(),
            child: None,
            arps: None,
            held: Vec::new(),
            last_fos: None,
            fos_backoff: Duration::ZERO,
            active: false,
        };
        tokio::spawn(exec.run(jrx));
        if let Some(l) = status_listener {
            serve_status(l, shared.clone())?;
        }
        let (machine, startup) = Machine::start(machine_config(&settings, &opts), Instant::now());
        let mut d = Daemon {
            opts,
            settings,
            machine,
            sockets,
            tx,
            rx,
            jobs,
            shared,
            generation: 0,
            wanted: None,
            links: None,
            exit: None,
            recheck: None,
            startup,
            pending_reload: None,
            wanted_shared,
            nudge,
        };
        d.watch_links();
        Ok(d)
    }

    fn watch_links(&mut self) {
        if let Some(h) = self.links.take() {
            h.abort();
        }
        if !self.settings.monitor_links || self.opts.norun {
            return;
        }
        let mut watched: Vec<(IpAddr, &'static str)> = vec![(self.settings.own, "Primary")];
        if let Some(p) = self.settings.own_private {
            watched.push((p, "Private"));
        }
        let tx = self.tx.clone();
        self.links = Some(tokio::spawn(async move {
            if let Err(e) = watch_links(watched, tx).await {
                info!("cannot monitor links: {e}");
            }
        }));
    }

    /// Run until a signal or a fatal error; returns the exit status.
    pub async fn run(mut self) -> i32 {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("signal handler");
        let mut int = signal(SignalKind::interrupt()).expect("signal handler");
        let mut hup = signal(SignalKind::hangup()).expect("signal handler");
        let mut usr1 = signal(SignalKind::user_defined1()).expect("signal handler");
        let mut usr2 = signal(SignalKind::user_defined2()).expect("signal handler");
        for n in self.settings.notes.clone() {
            info!("{n}");
        }
        // The start-up line and the first decision.
        let fx = std::mem::take(&mut self.startup);
        self.carry_out(fx).await;
        match plog::notify::notify("READY=1") {
            Ok(_) => {}
            Err(e) => info!("cannot notify readiness: {e}"),
        }
        while self.exit.is_none() {
            let deadline = tokio::time::Instant::from_std(self.machine.next_deadline());
            let recheck = self.recheck;
            let input = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => Some(Input::Tick),
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
                let fx = self.machine.on(i, Instant::now());
                self.carry_out(fx).await;
            }
            if let Some(new) = self.pending_reload.take() {
                self.reload(*new).await;
            }
        }
        self.exit.unwrap_or(0)
    }

    /// Turn an outside event into a machine input.
    fn event(&mut self, ev: Event) -> Option<Input> {
        match ev {
            Event::Datagram {
                private,
                from,
                data,
            } => {
                if !self.settings.is_partner(from.ip()) {
                    debug!("Unexpected heartbeat from {}", from.ip());
                    lock(&self.shared).status.heartbeats_rejected += 1;
                    return None;
                }
                match wire::decode(&data, self.settings.mode) {
                    Ok(m) => {
                        let mut sh = lock(&self.shared);
                        sh.last_heard = Some(Instant::now());
                        sh.status.partner_state = Some(magic_name(m).into());
                        sh.status.heartbeats_received += 1;
                        drop(sh);
                        if !private || self.sockets.private.is_some() {
                            return Some(Input::Heartbeat(m));
                        }
                        None
                    }
                    Err(r) => {
                        lock(&self.shared).status.heartbeats_rejected += 1;
                        info!("{r}");
                        if let wire::Rejected::Incompatible(v) = r {
                            debug!("heartbeat from {from} carried {v:#010x}");
                        }
                        None
                    }
                }
            }
            Event::ChildExited {
                generation,
                pid,
                how,
                failed,
            } => {
                info!("Child process {pid} {how}");
                if self.wanted == Some(generation)
                    && failed
                    && self.settings.mode == Mode::Fos
                    && !self.machine.network_fault()
                {
                    // fos could not start or failed here (a broken file, a name that did not
                    // resolve): a local problem, not the partner's service failing, which fos
                    // says with status 0. Try again (the executor spaces the attempts).
                    let g = self.next_generation();
                    let job = if self.machine.is_active() {
                        Job::RestartServices(g)
                    } else {
                        Job::StartMonitors(g)
                    };
                    let _ = self.jobs.send(job);
                    return None;
                }
                if self.wanted == Some(generation) {
                    self.wanted = None;
                    Some(Input::ChildExited)
                } else {
                    None
                }
            }
            Event::Gateway(up) => Some(Input::Gateway(up)),
            Event::Loaded(r) => {
                match r {
                    Ok(new) => self.pending_reload = Some(new),
                    Err(e) => {
                        info!("{e}");
                        info!("keeping the running configuration");
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

    async fn send(&mut self, m: Magic) {
        let bytes = m.encode();
        let port = self.settings.port;
        let mut sent = 0;
        if let Some(p) = self.settings.partner {
            match self.sockets.public.send_to(&bytes, (p, port)).await {
                Ok(_) => sent += 1,
                Err(e) => debug!("Warning -- failed to send heartbeat (public if): {e}"),
            }
        }
        if let (Some(s), Some(p)) = (&self.sockets.private, self.settings.partner_private) {
            match s.send_to(&bytes, (p, port)).await {
                Ok(_) => sent += 1,
                Err(e) => debug!("Warning -- failed to send heartbeat (private if): {e}"),
            }
        }
        lock(&self.shared).status.heartbeats_sent += sent;
    }

    async fn carry_out(&mut self, fx: Vec<Action>) {
        for a in fx {
            match a {
                Action::Log(s) => info!("{s}"),
                Action::Send(m) => self.send(m).await,
                Action::Activate => {
                    let g = self.next_generation();
                    let _ = self.jobs.send(Job::Activate(g));
                }
                Action::Deactivate => {
                    // LVS: no child from now on; FOS: the monitor fos.
                    let g = if self.settings.mode == Mode::Fos {
                        self.next_generation()
                    } else {
                        self.set_wanted(None);
                        0
                    };
                    let _ = self.jobs.send(Job::Deactivate(g));
                }
                Action::StartInactive => {
                    // FOS: the monitor fos; LVS: no child.
                    let g = if self.settings.mode == Mode::Fos {
                        self.next_generation()
                    } else {
                        0
                    };
                    let _ = self.jobs.send(Job::StartInactive(g));
                }
                Action::ResendArps => {
                    let _ = self.jobs.send(Job::ResendArps);
                }
                Action::RestartServices => {
                    let g = self.next_generation();
                    let _ = self.jobs.send(Job::RestartServices(g));
                }
                Action::StartMonitors => {
                    let g = self.next_generation();
                    let _ = self.jobs.send(Job::StartMonitors(g));
                }
                Action::CheckGateway => self.check_gateway(),
                Action::Shutdown => {
                    self.set_wanted(None);
                    let _ = self.jobs.send(Job::Shutdown);
                }
                Action::Exit(code) => {
                    // Let the executor finish (child stopped, addresses down), within the time
                    // the child may take to stop.
                    let (done, wait) = oneshot::channel();
                    let _ = self.jobs.send(Job::Flush(done));
                    let limit =
                        stop_limit(&self.opts, self.settings.mode) + Duration::from_secs(10);
                    if tokio::time::timeout(limit, wait).await.is_err() {
                        info!("giving up waiting for the shutdown steps");
                    }
                    self.exit = Some(code);
                }
            }
        }
        if self.machine.network_fault() && self.recheck.is_none() {
            self.recheck = Some(tokio::time::Instant::now() + Duration::from_secs(2));
        }
        self.publish();
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.set_wanted(Some(self.generation));
        self.generation
    }

    fn set_wanted(&mut self, g: Option<u64>) {
        self.wanted = g;
        self.wanted_shared
            .store(g.unwrap_or(0), std::sync::atomic::Ordering::SeqCst);
        // A change of plan ends a back-off pause in the executor.
        self.nudge.notify_one();
    }

    /// SIGHUP: read the file on a task of its own (host names may take long to resolve, and
    /// heartbeats must go on meanwhile); [`Event::Loaded`] brings the result.
    fn read_config(&self) {
        info!("rereading configuration file");
        let tx = self.tx.clone();
        let path = self.opts.config.clone();
        tokio::spawn(async move {
            let r = load_settings(&path).await.map(Box::new);
            let _ = tx.send(Event::Loaded(r));
        });
    }

    /// Ping the default gateway (up to 3 times, 1 s each) in the background; the answer
    /// comes back as [`Event::Gateway`].
    fn check_gateway(&self) {
        let tx = self.tx.clone();
        let norun = self.opts.norun;
        tokio::spawn(async move {
            let up = if norun {
                info!("test mode: taking the gateway as reachable");
                true
            } else {
                gateway_answers().await
            };
            let _ = tx.send(Event::Gateway(up));
        });
    }

    fn publish(&self) {
        let mut sh = lock(&self.shared);
        let st = &mut sh.status;
        st.state = if self.machine.is_active() {
            "active"
        } else {
            "inactive"
        }
        .into();
        let mut flags = Vec::new();
        if self.machine.childfail() {
            flags.push("CHILDFAIL".to_owned());
        }
        if self.machine.linkfail() {
            flags.push("LINKFAIL".to_owned());
        }
        if self.opts.norun {
            flags.push("NORUN".to_owned());
        }
        if !self.settings.backup_active {
            flags.push("NOBACKUP".to_owned());
        }
        if self.machine.failpartner() {
            flags.push("FAILPARTNER".to_owned());
        }
        if self.machine.network_fault() {
            flags.push("NETWORKFAULT".to_owned());
        }
        if self.machine.held() {
            flags.push("HOLDDOWN".to_owned());
        }
        st.flags = flags;
        st.own = self.settings.own.to_string();
        st.partner = self.settings.partner.map(|p| p.to_string());
        st.keepalive_ms = self.settings.keepalive.as_millis() as u64;
        st.deadtime_ms = self.settings.deadtime.as_millis() as u64;
    }

    /// SIGHUP: re-read lvs.cf; apply what changed to pulse, and pass the signal to lvsd.
    /// Apply a configuration read after SIGHUP; whether it was taken.
    async fn reload(&mut self, new: Settings) -> bool {
        if new.master != self.settings.master {
            info!("the new file would change this node's role; restart pulse to change roles");
            return false;
        }
        if new.mode != self.settings.mode {
            info!("the new file changes the service type; restart pulse to change it");
            return false;
        }
        if (new.own, new.own_private, new.port)
            != (
                self.settings.own,
                self.settings.own_private,
                self.settings.port,
            )
        {
            match self.sockets.rebind(&self.settings, &new, &self.tx) {
                Ok(s) => self.sockets = s,
                Err(e) => {
                    info!("cannot create heartbeat socket: {e}; keeping the running configuration");
                    return false;
                }
            }
        }
        let links_changed = (new.monitor_links, new.own, new.own_private)
            != (
                self.settings.monitor_links,
                self.settings.own,
                self.settings.own_private,
            );
        let fos_changed = new.mode == Mode::Fos && new.fos_blocks != self.settings.fos_blocks;
        self.machine
            .reconfigure(machine_config(&new, &self.opts), Instant::now());
        self.settings = new.clone();
        if links_changed {
            self.watch_links();
            if !self.settings.monitor_links && self.machine.linkfail() {
                // Nobody watches the links any more: nothing will restore them.
                let fx = self.machine.on(Input::LinkRestored, Instant::now());
                self.carry_out(fx).await;
            }
        }
        let _ = self.jobs.send(Job::Reconfigure(Box::new(new)));
        let _ = self.jobs.send(Job::ForwardHup);
        lock(&self.shared).status.reloads += 1;
        // The hold-down ends with a reload; changed failover blocks need fos started again.
        let fx = self.machine.on(Input::Reloaded, Instant::now());
        let monitors = fx.contains(&Action::StartMonitors);
        self.carry_out(fx).await;
        if fos_changed && !monitors {
            let again = if self.machine.is_active() {
                Some(Action::RestartServices)
            } else if !self.machine.network_fault() && !self.machine.held() {
                Some(Action::StartMonitors)
            } else {
                None
            };
            if let Some(a) = again {
                info!("the failover services changed: starting fos again");
                self.carry_out(vec![a]).await;
            }
        }
        self.publish();
        true
    }
}

/// Read lvs.cf and build the settings against this host's addresses.
pub async fn load_settings(path: &std::path::Path) -> Result<Settings, String> {
    let loaded = lvscf::load(path).map_err(|e| e.to_string())?;
    let Some(cfg) = loaded.parsed.config() else {
        return Err(loaded.render().trim_end().to_owned());
    };
    let local = netif::local_addresses().await;
    crate::settings::build(cfg, &path.display().to_string(), &local, &|h| h.resolve())
}

async fn watch_links(
    watched: Vec<(IpAddr, &'static str)>,
    tx: mpsc::UnboundedSender<Event>,
) -> netif::Result<()> {
    let mut watch = netif::LinkWatch::new()?;
    let nif = netif::Netif::new()?;
    let addrs = nif.addresses().await?;
    // The device of each watched address; an address on no device counts as up (as piranha).
    let devices: Vec<(u32, &'static str)> = watched
        .iter()
        .filter_map(|(ip, what)| addrs.iter().find(|a| a.ip == *ip).map(|a| (a.index, *what)))
        .collect();
    let mut state: std::collections::HashMap<u32, bool> = nif
        .links()
        .await?
        .into_iter()
        .filter(|l| devices.iter().any(|(i, _)| *i == l.index))
        .map(|l| (l.index, l.is_up()))
        .collect();
    let down = |state: &std::collections::HashMap<u32, bool>| -> Vec<&'static str> {
        devices
            .iter()
            .filter(|(i, _)| state.get(i) == Some(&false))
            .map(|(_, w)| *w)
            .collect()
    };
    // The starting state, even "all up": it ends a LINKFAIL from before a reload.
    let mut last = down(&state);
    let _ = tx.send(Event::Links { down: last.clone() });
    while let Some(l) = watch.next().await {
        if !devices.iter().any(|(i, _)| *i == l.index) || l.slave {
            continue;
        }
        state.insert(l.index, l.is_up());
        let now = down(&state);
        if now != last {
            last = now.clone();
            if tx.send(Event::Links { down: now }).is_err() {
                break;
            }
        }
    }
    Ok(())
}

async fn gateway_answers() -> bool {
    let gw = match netif::Netif::new() {
        Ok(n) => n.default_gateway().await.ok().flatten(),
        Err(_) => None,
    };
    let Some((gw, oif)) = gw else {
        info!("no default gateway to check");
        return false;
    };
    tokio::task::spawn_blocking(move || {
        (0..3).any(|_| netif::ping::echo(gw, oif, Duration::from_secs(1)).unwrap_or(false))
    })
    .await
    .unwrap_or(false)
}

fn serve_status(
    l: std::os::unix::net::UnixListener,
    shared: Arc<Mutex<Shared>>,
) -> std::io::Result<()> {
    l.set_nonblocking(true)?;
    let l = tokio::net::UnixListener::from_std(l)?;
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        loop {
            let mut c = match l.accept().await {
                Ok((c, _)) => c,
                Err(e) => {
                    // Out of descriptors, say: the socket itself is fine; try again later.
                    debug!("status socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let text = {
                let sh = lock(&shared);
                let mut st = sh.status.clone();
                st.partner_last_heard_ms = sh.last_heard.map(|t| t.elapsed().as_millis() as u64);
                serde_json::to_string(&st).unwrap_or_default()
            };
            tokio::spawn(async move {
                let _ = c.write_all(text.as_bytes()).await;
                let _ = c.write_all(b"\n").await;
            });
        }
    });
    Ok(())
}

/// The supervised program, watched by its own task.
#[derive(Debug)]
struct Child {
    pid: u32,
    stop: oneshot::Sender<oneshot::Sender<()>>,
    /// Cleared by the watcher when the child exits, so no signal goes to a reused pid.
    alive: Arc<std::sync::atomic::AtomicBool>,
    /// Set by the watcher when the child exits on its own with a failure status.
    failed: Arc<std::sync::atomic::AtomicBool>,
}

/// Carries out activation and deactivation steps in order (spec §2.6).
struct Executor {
    /// The generation the main loop wants running (0: none), and its nudge.
    wanted: Arc<std::sync::atomic::AtomicU64>,
    nudge: Arc<tokio::sync::Notify>,
    opts: Opts,
    settings: Settings,
    netif: Option<netif::Netif>,
    events: mpsc::UnboundedSender<Event>,
    shared: Arc<Mutex<Shared>>,
    child: Option<Child>,
    arps: Option<JoinHandle<()>>,
    held: Vec<Vip>,
    /// FOS: when the last fos was started and whether it still runs, and the pause before
    /// the next start when fos keeps dying on its own.
    last_fos: Option<(Instant, Arc<std::sync::atomic::AtomicBool>)>,
    fos_backoff: Duration,
    /// The last activation has not been undone.
    active: bool,
}

fn vip_text(v: &Vip) -> String {
    format!("{}/{} {}", v.ip, v.prefix, v.device)
}

impl Executor {
    async fn run(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        while let Some(j) = jobs.recv().await {
            match j {
                Job::StartInactive(g) => {
                    if self.fos() {
                        self.clean_stale().await;
                        self.start_fos("--monitor", g).await;
                    } else {
                        self.command(self.settings.inactive_cmd.clone());
                        self.sync_daemon(false);
                        self.clean_stale().await;
                    }
                }
                Job::Activate(generation) => self.activate(generation).await,
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
                Job::ForwardHup => {
                    // Never kill(0, …): with no child there is nobody to tell (§7.2 #1). fos
                    // is not told: it would take SIGHUP as the end of its services.
                    if let Some(c) = &self.child
                        && c.pid > 0
                        && !self.fos()
                        && c.alive.load(std::sync::atomic::Ordering::SeqCst)
                    {
                        let _ = kill(Pid::from_raw(c.pid as i32), Signal::SIGHUP);
                    }
                }
                Job::Flush(done) => {
                    let _ = done.send(());
                }
            }
            self.publish();
        }
    }

    fn publish(&self) {
        let mut sh = lock(&self.shared);
        sh.status.vips = self.held.iter().map(vip_text).collect();
        if self.child.is_none() {
            sh.status.child = None;
        }
    }

    /// `active_cmd`/`inactive_cmd`: split into words, run without a shell, not waited for.
    fn command(&self, cmd: Option<String>) {
        let Some(cmd) = cmd else { return };
        let argv = nanny::exec::split_words(&cmd);
        let Some((prog, args)) = argv.split_first() else {
            return;
        };
        if self.opts.norun {
            info!("test mode: not running {cmd}");
            return;
        }
        debug!("DEBUG -- Executing '{cmd}'");
        let mut c = tokio::process::Command::new(prog);
        c.args(args)
            .stdin(Stdio::null())
            .env_remove("NOTIFY_SOCKET");
        match c.spawn() {
            Ok(mut child) => {
                let cmd = cmd.clone();
                tokio::spawn(async move {
                    if let Ok(st) = child.wait().await
                        && !st.success()
                    {
                        info!("command {cmd} failed: {st}");
                    }
                });
            }
            Err(e) => info!("cannot run {prog}: {e}"),
        }
    }

    /// The IPVS connection synchronisation daemon in the role of this node.
    fn sync_daemon(&self, master: bool) {
        let Some((iface, id)) = &self.settings.sync else {
            return;
        };
        if self.opts.norun {
            info!("test mode: not starting the sync daemon");
            return;
        }
        use ipvs::{Daemon, IpvsTable, NetlinkIpvs, SyncState};
        let mut t = match NetlinkIpvs::new() {
            Ok(t) => t,
            Err(e) => {
                info!("cannot reach IPVS for the sync daemon: {e}");
                return;
            }
        };
        for s in [SyncState::Backup, SyncState::Master] {
            let _ = t.stop_daemon(&Daemon::new(s, iface, u32::from(*id)));
        }
        let state = if master {
            SyncState::Master
        } else {
            SyncState::Backup
        };
        if let Err(e) = t.start_daemon(&Daemon::new(state, iface, u32::from(*id))) {
            info!(
                "cannot start the {} sync daemon on {iface}: {e}",
                if master { "master" } else { "backup" }
            );
        }
    }

    fn fos(&self) -> bool {
        self.settings.mode == Mode::Fos
    }

    /// FOS: start `fos --active` or `fos --monitor` (not waited for: `--active` runs the
    /// start commands, which take what they take).
    async fn start_fos(&mut self, role: &'static str, generation: u64) {
        if self.opts.norun {
            info!("test mode: not starting fos {role}");
            return;
        }
        // A fos that fails at once (a wrong --fos, a broken file) must not be restarted in a
        // tight loop: 1 s, doubling to 30 s, while it keeps failing within 5 s. One that pulse
        // stopped, or that ended normally (a monitor's failover condition), starts at once.
        let crashed = self.last_fos.as_ref().is_some_and(|(t, failed)| {
            t.elapsed() < Duration::from_secs(5) && failed.load(std::sync::atomic::Ordering::SeqCst)
        });
        self.fos_backoff = if crashed {
            (self.fos_backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(30))
        } else {
            Duration::ZERO
        };
        if !self.fos_backoff.is_zero() {
            info!(
                "fos keeps exiting: starting it again in {:?}",
                self.fos_backoff
            );
            // The pause ends early when the plan changes (a deactivation, say); then this fos
            // may no longer be wanted.
            let until = tokio::time::Instant::now() + self.fos_backoff;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => break,
                    _ = self.nudge.notified() => {
                        if self.wanted.load(std::sync::atomic::Ordering::SeqCst) != generation {
                            return;
                        }
                    }
                }
            }
        }
        let started = Instant::now();
        let mut cmd = self.child_command(role);
        self.spawn_child(&mut cmd, generation, None).await;
        let failed = match &self.child {
            Some(c) => c.failed.clone(),
            None => Arc::new(std::sync::atomic::AtomicBool::new(true)),
        };
        self.last_fos = Some((started, failed));
    }

    async fn activate(&mut self, generation: u64) {
        if self.fos() {
            self.active = true;
            // piranha (activateFosServices): the old fos goes, addresses up and announced,
            // then fos --active.
            self.stop_child().await;
            if self.opts.norun {
                info!(
                    "test mode: not bringing up {} addresses",
                    self.settings.floating().count()
                );
            } else {
                for v in self.settings.floating().cloned().collect::<Vec<_>>() {
                    self.up(&v).await;
                }
                self.announce();
            }
            self.start_fos("--active", generation).await;
            return;
        }
        self.command(self.settings.active_cmd.clone());
        if self.opts.norun {
            info!("test mode: not starting {}", self.program().display());
        } else if !self.start_child(generation).await {
            // The main loop hears of it as a child failure and deactivates.
            return;
        }
        // Active from here on: a reload now brings new addresses up.
        self.active = true;
        self.sync_daemon(true);
        if self.opts.norun {
            info!(
                "test mode: not bringing up {} addresses",
                self.settings.floating().count()
            );
            return;
        }
        for v in self.settings.floating().cloned().collect::<Vec<_>>() {
            self.up(&v).await;
        }
        self.announce();
    }

    async fn up(&mut self, v: &Vip) {
        let Some(n) = &self.netif else { return };
        match n.add_address(&v.device, v.ip, v.prefix).await {
            Ok(_) => {
                if !self.held.contains(v) {
                    self.held.push(v.clone());
                }
            }
            Err(e) => info!("cannot bring up {}: {e}", vip_text(v)),
        }
    }

    async fn down(&mut self, v: &Vip) {
        let Some(n) = &self.netif else { return };
        if let Err(e) = n.del_address(&v.device, v.ip).await {
            info!("cannot take down {}: {e}", vip_text(v));
        }
        self.held.retain(|h| h != v);
    }

    fn program(&self) -> PathBuf {
        match self.settings.mode {
            Mode::Lvs => self.opts.lvsd.clone(),
            Mode::Fos => self.opts.fos.clone(),
        }
    }

    /// The child's command line: `[ROLE] --nofork|--nodaemon -c FILE [-v]`.
    fn child_command(&self, role: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(self.program());
        if !role.is_empty() {
            cmd.arg(role);
        }
        cmd.arg(if self.opts.nodaemon {
            "--nodaemon"
        } else {
            "--nofork"
        })
        .arg("-c")
        .arg(&self.opts.config);
        if self.opts.verbose {
            cmd.arg("-v");
        }
        cmd.stdin(Stdio::null()).kill_on_drop(false);
        // The child dies with pulse: an orphaned lvsd would keep serving with nobody watching
        // the partner, and block the next lvsd's status socket; an orphaned fos the same.
        plog::notify::die_with_parent(cmd.as_std_mut());
        cmd.env_remove("NOTIFY_SOCKET");
        cmd
    }

    fn child_failed(&self, generation: u64, pid: u32, how: &str) {
        let _ = self.events.send(Event::ChildExited {
            generation,
            pid,
            how: how.to_owned(),
            failed: true,
        });
    }

    /// Start lvsd and wait until it says it is ready; false if it did not.
    async fn start_child(&mut self, generation: u64) -> bool {
        // A socket file only root can use, beside the status socket: an abstract name could
        // be taken, or spoken to, by anyone on the host.
        let path = self
            .opts
            .socket
            .with_file_name(format!(".pulse-ready-{}-{generation}", std::process::id()));
        let sock = match ready_socket(&path) {
            Ok(s) => s,
            Err(e) => {
                info!("cannot create the readiness socket {}: {e}", path.display());
                self.child_failed(generation, 0, "was not started");
                return false;
            }
        };
        let mut cmd = self.child_command("");
        cmd.env("NOTIFY_SOCKET", &path);
        let ok = self.spawn_child(&mut cmd, generation, Some(sock)).await;
        let _ = std::fs::remove_file(&path);
        ok
    }

    /// Spawn the child and watch it; with a readiness socket, wait for `READY=1` first.
    async fn spawn_child(
        &mut self,
        cmd: &mut tokio::process::Command,
        generation: u64,
        ready: Option<tokio::net::UnixDatagram>,
    ) -> bool {
        // One child at a time.
        self.stop_child().await;
        let prog = self.program();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                info!("cannot start {}: {e}", prog.display());
                self.child_failed(generation, 0, "was not started");
                return false;
            }
        };
        let pid = child.id().unwrap_or(0);
        let program = prog
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        lock(&self.shared).status.child = Some(ChildStatus {
            program: program.clone(),
            pid,
            state: "starting".into(),
        });
        let mut buf = [0u8; 512];
        let deadline = tokio::time::sleep(self.opts.child_timeout);
        tokio::pin!(deadline);
        let failure = if let Some(sock) = ready {
            loop {
                tokio::select! {
                    r = sock.recv(&mut buf) => match r {
                        Ok(n) if String::from_utf8_lossy(&buf[..n]).lines().any(|l| l == "READY=1") => break None,
                        Ok(_) => continue,
                        Err(e) => break Some(format!("readiness socket failed: {e}")),
                    },
                    st = child.wait() => break Some(exit_text(st)),
                    _ = &mut deadline => {
                        let _ = child.start_kill();
                        let _ = child.wait().await;
                        info!("{program} did not become ready within {:?}: killed", self.opts.child_timeout);
                        break Some("was killed: not ready in time".into());
                    }
                }
            }
        } else {
            None
        };
        if let Some(how) = failure {
            lock(&self.shared).status.child = None;
            self.child_failed(generation, pid, &how);
            return false;
        }
        debug!("{program} (pid {pid}) is running");
        if let Some(c) = lock(&self.shared).status.child.as_mut() {
            c.state = "ready".into();
        }
        let (stop, stop_rx) = oneshot::channel::<oneshot::Sender<()>>();
        let events = self.events.clone();
        // fos --active runs every stop_cmd on SIGTERM (60 s each by default).
        let limit = stop_limit(&self.opts, self.settings.mode);
        let shared = self.shared.clone();
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, fail_flag) = (alive.clone(), failed.clone());
        tokio::spawn(async move {
            tokio::select! {
                st = child.wait() => {
                    flag.store(false, std::sync::atomic::Ordering::SeqCst);
                    let failed = !st.as_ref().is_ok_and(|s| s.success());
                    fail_flag.store(failed, std::sync::atomic::Ordering::SeqCst);
                    let _ = events.send(Event::ChildExited { generation, pid, how: exit_text(st), failed });
                }
                Ok(done) = stop_rx => {
                    if let Some(c) = lock(&shared).status.child.as_mut() {
                        c.state = "stopping".into();
                    }
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                    // piranha waited without a limit ("XXX need a timeout here").
                    if tokio::time::timeout(limit, child.wait()).await.is_err() {
                        info!("pid {pid} did not stop within {limit:?}: killed");
                        let _ = child.start_kill();
                        let _ = child.wait().await;
                    }
                    let _ = done.send(());
                }
            }
        });
        self.child = Some(Child {
            pid,
            stop,
            alive,
            failed,
        });
        true
    }

    async fn stop_child(&mut self) {
        if let Some(c) = self.child.take() {
            let (done, wait) = oneshot::channel();
            if c.stop.send(done).is_ok() {
                let _ = wait.await;
            }
            lock(&self.shared).status.child = None;
        }
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
        self.sync_daemon(false);
        self.stop_child().await;
        for v in self.held.clone() {
            self.down(&v).await;
        }
    }

    /// Remove configured addresses a crashed pulse left behind (piranha kept them up).
    async fn clean_stale(&mut self) {
        let Some(n) = &self.netif else { return };
        let Ok(addrs) = n.addresses().await else {
            return;
        };
        for v in self.settings.floating().cloned().collect::<Vec<_>>() {
            if addrs.iter().any(|a| a.ip == v.ip) {
                info!(
                    "removing stale address {} left from an earlier run",
                    vip_text(&v)
                );
                self.down(&v).await;
            }
        }
    }

    /// Gratuitous ARPs (and neighbour advertisements) for every address held, in the
    /// background: the first at once, then `arp_count - 1` more `arp_interval` apart.
    fn announce(&mut self) {
        if self.opts.norun {
            info!("test mode: not sending gratuitous arps");
            return;
        }
        let Some(n) = self.netif.clone() else { return };
        if let Some(a) = self.arps.take() {
            a.abort();
        }
        let vips = self.held.clone();
        let count = self.opts.arp_count;
        let interval = self.opts.arp_interval;
        let what = match self.settings.mode {
            Mode::Lvs => "lvs",
            Mode::Fos => "fos",
        };
        self.arps = Some(tokio::spawn(async move {
            let mut targets = Vec::new();
            for v in &vips {
                match n.link(&v.device).await {
                    Ok(l) => match l.mac {
                        Some(mac) => targets.push((l.index, mac, v.ip)),
                        None => info!("{} has no hardware address: no arps for {}", l.name, v.ip),
                    },
                    Err(e) => info!("no arps for {}: {e}", v.ip),
                }
            }
            for i in 0..count {
                if i > 0 {
                    tokio::time::sleep(interval).await;
                }
                for (index, mac, ip) in &targets {
                    let r = match *ip {
                        IpAddr::V4(a) => netif::announce::send_garp(*index, *mac, a),
                        IpAddr::V6(a) => netif::announce::send_unsolicited_na(*index, *mac, a),
                    };
                    if let Err(e) = r {
                        debug!("cannot announce {ip}: {e}");
                    }
                }
            }
            info!("gratuitous {what} arps finished");
        }));
    }

    async fn reconfigure(&mut self, new: Settings) {
        let old = std::mem::replace(&mut self.settings, new);
        // Only the active node holds addresses (in FOS mode the inactive one has a child too:
        // its monitor).
        if !self.active || self.opts.norun {
            return;
        }
        let new_set: Vec<Vip> = self.settings.floating().cloned().collect();
        for v in old.floating() {
            if !new_set.contains(v) {
                self.down(&v.clone()).await;
            }
        }
        let mut added = false;
        for v in &new_set {
            if !self.held.contains(v) {
                self.up(v).await;
                added = true;
            }
        }
        if added {
            self.announce();
        }
        if old.sync != self.settings.sync {
            self.sync_daemon(true);
        }
    }
}

fn exit_text(st: std::io::Result<std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match st {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(sig)) => format!("terminated with signal {sig}"),
            _ => "exited".into(),
        },
        Err(e) => format!("could not be waited for: {e}"),
    }
}

fn ready_socket(path: &std::path::Path) -> std::io::Result<tokio::net::UnixDatagram> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    let s = std::os::unix::net::UnixDatagram::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    s.set_nonblocking(true)?;
    tokio::net::UnixDatagram::from_std(s)
}

/// How long a child may take to stop: fos `--active` runs every `stop_cmd` on SIGTERM (60 s
/// each by default).
fn stop_limit(opts: &Opts, mode: Mode) -> Duration {
    match mode {
        Mode::Fos => opts.child_timeout.max(Duration::from_secs(70)),
        Mode::Lvs => opts.child_timeout,
    }
}
