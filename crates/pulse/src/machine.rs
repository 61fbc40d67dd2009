//! pulse's state machine (spec §2.5 for LVS mode, §2.9 for FOS mode), with time injected.
//!
//! The shell feeds [`Input`]s with the current instant and carries out the returned
//! [`Action`]s; between inputs it waits until [`Machine::next_deadline`] and then feeds
//! [`Input::Tick`]. Nothing here reads a clock or touches a socket.
//!
//! Deliberate changes from piranha:
//! - after a simultaneous start the backup does not take a STOPPED heartbeat as its cue to
//!   activate (the master does, a keepalive later it says RUNNING), so the two are never active
//!   together; the backup still takes over at once from a master that steps down, and from one
//!   that stays inactive for a whole `deadtime`;
//! - FOS mode: a node that saw no gateway keeps checking it and restarts its monitors when it
//!   answers again (piranha waited for a heartbeat, §7.2 #19); and a hold-down: after
//!   `max_failovers` takeovers for a failed service within `failover_window`, the node takes
//!   over for a service failure no more (a dead or stopped partner is still replaced).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::wire::{Magic, Mode};

/// The fixed parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// This node owns the `primary` address.
    pub master: bool,
    /// There is a backup director (`backup_active = 1`): heartbeats are exchanged.
    pub backup_active: bool,
    pub keepalive: Duration,
    pub deadtime: Duration,
    /// `--forceactive`.
    pub force_active: bool,
    pub mode: Mode,
    /// FOS hold-down: at most this many takeovers for a failed service...
    pub max_failovers: u32,
    /// ...within this time.
    pub failover_window: Duration,
    /// LVS `hot_standby = 1`: lvsd runs on the inactive node too. Its exit there is a
    /// CHILDFAIL that only its next readiness ([`Input::ChildReady`]) ends.
    pub hot_standby: bool,
}

/// What happens to the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A deadline may have passed.
    Tick,
    /// An accepted heartbeat from the partner.
    Heartbeat(Magic),
    /// The child pulse wants running (lvsd, or fos in either role) exited; `failed`: it was
    /// not started, or ended with a failure status or a signal.
    ChildExited {
        failed: bool,
    },
    /// Hot standby: lvsd, started again, is ready.
    ChildReady,
    /// Hot standby: the activation's addresses are up and announced.
    AddressesUp,
    /// FOS: the answer to [`Action::CheckGateway`] (or to a later check during a network
    /// fault): whether the default gateway answered.
    Gateway(bool),
    LinkFailure,
    LinkRestored,
    /// SIGTERM or SIGINT.
    Terminate(i32),
    /// SIGHUP: a new configuration was taken; clears the hold-down. `fos_changed`: the
    /// failover blocks changed.
    Reloaded {
        fos_changed: bool,
    },
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Log(String),
    /// Become active. LVS: `active_cmd`, lvsd (wait for readiness), sync daemon master, VIPs
    /// up, gratuitous ARPs. Hot standby: VIPs up and ARPs first, then `active_cmd` and sync
    /// daemon master (lvsd runs already). FOS: VIPs up, ARPs, `fos --active`.
    Activate,
    /// Become inactive. LVS: `inactive_cmd`, sync daemon backup, stop lvsd, VIPs down. FOS:
    /// stop fos, VIPs down, `fos --monitor`. Hot standby: VIPs down, `inactive_cmd`, sync
    /// daemon backup; lvsd goes on (started again if it exited).
    Deactivate,
    /// The start-up steps of an inactive node. LVS: `inactive_cmd` and sync daemon backup
    /// (hot standby: and lvsd). FOS: VIPs down, `fos --monitor`.
    StartInactive,
    /// Both nodes are active and this one is the master: `active_cmd` and ARPs again.
    ResendArps,
    /// Hot standby, inactive: lvsd exited; start it again (spaced when it keeps failing).
    StartStandby,
    /// FOS, active: fos exited; start it again (with ARPs).
    RestartServices,
    /// FOS, inactive: (re)start the monitors.
    StartMonitors,
    /// FOS: ping the default gateway and answer with [`Input::Gateway`].
    CheckGateway,
    /// Send this heartbeat now (on every heartbeat socket).
    Send(Magic),
    /// Before exiting: stop the child (lvsd, or fos in either role) and take the addresses
    /// down (LVS: with `inactive_cmd` and the sync daemon as on deactivation, when active).
    Shutdown,
    Exit(i32),
}

/// The state of one node.
#[derive(Debug, Clone)]
pub struct Machine {
    cfg: Config,
    active: bool,
    childfail: bool,
    linkfail: bool,
    next_send: Instant,
    need_heartbeat: Instant,
    /// The partner's last heartbeat said it was active.
    partner_was_active: bool,
    /// Since when the partner has said, without a break, that it is inactive.
    partner_stopped_since: Option<Instant>,
    /// FOS: we took over from a partner whose service failed; heartbeats say STOPME.
    failpartner: bool,
    /// FOS: the gateway did not answer; monitors stopped until it does.
    network_fault: bool,
    /// FOS: a gateway check is under way.
    checking: bool,
    /// FOS: when this node took over for a failed service, within the window.
    takeovers: VecDeque<Instant>,
    held: bool,
    /// Hot standby, stopping while active: STOPPED has gone out and the addresses stay until
    /// the partner says RUNNING (it holds them now) or this instant passes.
    handing_over: Option<Instant>,
    /// Hot standby, active: the addresses are up and announced, and RUNNING was sent at once
    /// (a partner handing over lets go on it instead of waiting for the next keepalive).
    announced: bool,
}

fn log(s: &str) -> Action {
    Action::Log(s.to_owned())
}

impl Machine {
    /// Start: the role line, then active (`--forceactive`) or inactive.
    pub fn start(cfg: Config, now: Instant) -> (Machine, Vec<Action>) {
        let mut fx = Vec::new();
        let mut m = Machine {
            next_send: now + cfg.keepalive,
            need_heartbeat: now + cfg.deadtime,
            active: false,
            childfail: false,
            linkfail: false,
            partner_was_active: false,
            partner_stopped_since: None,
            failpartner: false,
            network_fault: false,
            checking: false,
            takeovers: VecDeque::new(),
            held: false,
            handing_over: None,
            announced: false,
            cfg,
        };
        let fos = m.cfg.mode == Mode::Fos;
        if m.cfg.master {
            fx.push(log("STARTING PULSE AS MASTER"));
        } else if !m.cfg.backup_active {
            fx.push(log(
                "We are backup node and backup is marked inactive -- exiting pulse",
            ));
            fx.push(Action::Exit(255));
            return (m, fx);
        } else {
            fx.push(log("STARTING PULSE AS BACKUP"));
        }
        let alone = fos && m.cfg.master && !m.cfg.backup_active && !m.cfg.force_active;
        if alone {
            fx.push(log(
                "Warning: FOS backup node not defined -- skipping checks",
            ));
        }
        if m.cfg.force_active || alone {
            if !alone {
                fx.push(Action::Log(format!(
                    "Forced active on startup: activating {}",
                    m.word()
                )));
            }
            fx.push(Action::Activate);
            m.active = true;
        } else {
            if fos {
                fx.push(log("Starting Failover Service Monitors"));
            }
            fx.push(Action::StartInactive);
        }
        (m, fx)
    }

    /// New timers or backup setting after a reload. The role stays; the next heartbeat goes
    /// out no later than one new `keepalive` from now, and the partner gets a full new
    /// `deadtime`.
    pub fn reconfigure(&mut self, cfg: Config, now: Instant) {
        self.next_send = self.next_send.min(now + cfg.keepalive);
        self.need_heartbeat = now + cfg.deadtime;
        self.cfg = Config {
            master: self.cfg.master,
            force_active: self.cfg.force_active,
            mode: self.cfg.mode,
            ..cfg
        };
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    pub fn childfail(&self) -> bool {
        self.childfail
    }

    pub fn linkfail(&self) -> bool {
        self.linkfail
    }

    /// FOS: took over from a failed partner (sending STOPME).
    pub fn failpartner(&self) -> bool {
        self.failpartner
    }

    /// FOS: waiting for the gateway to answer again.
    pub fn network_fault(&self) -> bool {
        self.network_fault
    }

    /// FOS: the hold-down stopped this node from taking over again.
    pub fn held(&self) -> bool {
        self.held
    }

    /// When to feed the next [`Input::Tick`].
    pub fn next_deadline(&self) -> Instant {
        let next = self.next_send.min(self.need_heartbeat);
        self.handing_over.map_or(next, |t| t.min(next))
    }

    fn magic(&self) -> Magic {
        if self.failpartner && self.cfg.mode == Mode::Fos {
            Magic::StopMe
        } else {
            self.cfg.mode.magic(self.active)
        }
    }

    /// Hot standby: active, and RUNNING not yet sent for the addresses being up.
    fn hot_and_announcing(&self) -> bool {
        self.cfg.hot_standby && self.cfg.mode == Mode::Lvs && self.active && !self.announced
    }

    fn word(&self) -> &'static str {
        match self.cfg.mode {
            Mode::Lvs => "lvs",
            Mode::Fos => "fos",
        }
    }

    fn upper(&self) -> &'static str {
        match self.cfg.mode {
            Mode::Lvs => "LVS",
            Mode::Fos => "FOS",
        }
    }

    fn may_activate(&self) -> bool {
        !self.active && !self.linkfail && !self.childfail && self.handing_over.is_none()
    }

    fn activate(&mut self, fx: &mut Vec<Action>, why: &str) {
        fx.push(Action::Log(format!("{why}: activating {}", self.word())));
        fx.push(Action::Activate);
        self.active = true;
        self.network_fault = false;
    }

    fn deactivate(&mut self, fx: &mut Vec<Action>) {
        fx.push(Action::Deactivate);
        self.active = false;
        self.announced = false;
        self.failpartner = false;
    }

    /// Feed one input.
    pub fn on(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut fx = Vec::new();
        match input {
            Input::Tick => self.tick(now, &mut fx),
            Input::Heartbeat(m) => self.heartbeat(m, now, &mut fx),
            Input::ChildExited { failed } => self.child_exited(failed, &mut fx),
            Input::ChildReady => self.child_ready(&mut fx),
            Input::AddressesUp => {
                // Said at once: a partner handing over waits for it.
                if self.hot_and_announcing() {
                    self.announced = true;
                    if self.cfg.backup_active {
                        fx.push(Action::Send(self.magic()));
                    }
                }
            }
            Input::Gateway(up) => self.gateway(up, now, &mut fx),
            Input::LinkFailure => self.link_failure(&mut fx),
            Input::LinkRestored => self.link_restored(now, &mut fx),
            Input::Reloaded { fos_changed } => self.reloaded(fos_changed, &mut fx),
            Input::Terminate(sig) => self.terminate(sig, now, &mut fx),
        }
        fx
    }

    fn fos(&self) -> bool {
        self.cfg.mode == Mode::Fos
    }

    fn tick(&mut self, now: Instant, fx: &mut Vec<Action>) {
        if self.handing_over.is_some_and(|t| now >= t) {
            fx.push(log("the partner did not say it is active: stopping anyway"));
            Self::finish(fx);
            return;
        }
        if now >= self.next_send {
            if self.cfg.backup_active {
                fx.push(Action::Send(self.magic()));
            }
            self.next_send = now + self.cfg.keepalive;
        }
        if now >= self.need_heartbeat {
            // Silence ends what the partner last said.
            self.partner_stopped_since = None;
            self.partner_was_active = false;
            if self.active {
                self.failpartner = false;
            } else if self.may_activate() {
                self.activate(fx, "partner dead");
            }
            self.need_heartbeat = now + self.cfg.deadtime;
        }
    }

    fn heartbeat(&mut self, m: Magic, now: Instant, fx: &mut Vec<Action>) {
        self.need_heartbeat = now + self.cfg.deadtime;
        if self.handing_over.is_some() {
            if m == Magic::Running {
                fx.push(log("partner active: handed over"));
                self.handing_over = None;
                Self::finish(fx);
            }
            return;
        }
        match m {
            Magic::StopMe if self.fos() && self.active && self.cfg.master => {
                self.partner_was_active = true;
                self.partner_stopped_since = None;
                fx.push(log("PARTNER HAS TOLD US TO GO INACTIVE!"));
                self.deactivate(fx);
            }
            Magic::Running | Magic::FosRunning | Magic::StopMe => self.partner_running(fx),
            Magic::Stopped | Magic::FosStopped => self.partner_stopped(now, fx),
            Magic::Hold | Magic::Held => {}
        }
    }

    /// The partner says it is active.
    fn partner_running(&mut self, fx: &mut Vec<Action>) {
        self.partner_was_active = true;
        self.partner_stopped_since = None;
        if !self.cfg.hot_standby {
            self.childfail = false;
        }
        if self.active && !self.cfg.master {
            if self.fos() && self.failpartner {
                fx.push(log("partner active: we want control!"));
            } else {
                // One last RUNNING so the master re-ARPs, then step down.
                fx.push(Action::Send(self.magic()));
                fx.push(Action::Log(format!(
                    "partner active: deactivating {}",
                    self.upper()
                )));
                self.deactivate(fx);
            }
        } else if self.active {
            fx.push(log("partner active: resending arps"));
            fx.push(Action::ResendArps);
        }
        // Inactive: the partner stays active; no automatic fail-back.
    }

    /// The partner says it is inactive.
    fn partner_stopped(&mut self, now: Instant, fx: &mut Vec<Action>) {
        self.failpartner = false;
        let stepped_down = std::mem::replace(&mut self.partner_was_active, false);
        let since = *self.partner_stopped_since.get_or_insert(now);
        // The master takes over from a stopped partner at once. The backup does when the
        // master has just stepped down (it was active) or has stayed inactive for a whole
        // deadtime (it cannot activate: CHILDFAIL, LINKFAIL); not when both have just started,
        // which is the master's turn. piranha let both activate then (bz593730, its DELAY
        // option).
        let turn =
            self.cfg.master || stepped_down || now.duration_since(since) >= self.cfg.deadtime;
        if self.may_activate() && turn {
            let why = if self.cfg.master {
                "backup inactive"
            } else {
                "primary inactive"
            };
            self.activate(fx, why);
        }
    }

    fn child_exited(&mut self, failed: bool, fx: &mut Vec<Action>) {
        if self.handing_over.take().is_some() {
            Self::finish(fx);
            return;
        }
        if !self.fos() && self.cfg.hot_standby {
            fx.push(log(
                "CHILDFAIL: lvsd exited; inactive until it is started again and ready",
            ));
            if self.active {
                // The hot standby's deactivation starts lvsd again.
                self.deactivate(fx);
            } else {
                fx.push(Action::StartStandby);
            }
            self.childfail = true;
            return;
        }
        if !self.fos() {
            fx.push(log(
                "CHILDFAIL: inactive until the partner's next RUNNING heartbeat",
            ));
            if self.active {
                self.deactivate(fx);
            }
            // Sending STOPPED from now on lets the partner take over; this node waits for a
            // RUNNING heartbeat before it may activate again.
            self.childfail = true;
            return;
        }
        if failed && !self.network_fault {
            // fos could not start or failed here (a broken file, a name that did not
            // resolve): a local problem, not the partner's service failing, which a monitor
            // fos says with status 0. Start it again in the same role (the shell spaces the
            // attempts).
            fx.push(if self.active {
                Action::RestartServices
            } else {
                Action::StartMonitors
            });
        } else if self.active {
            fx.push(log("fos process exited -- restarting it"));
            fx.push(Action::RestartServices);
        } else if !self.checking {
            fx.push(log("fos process exited -- checking network connectivity"));
            fx.push(Action::CheckGateway);
            self.checking = true;
        }
    }

    /// Hot standby: lvsd runs and is ready again; a CHILDFAIL ends (a silent partner is then
    /// replaced at the next deadline).
    fn child_ready(&mut self, fx: &mut Vec<Action>) {
        if self.cfg.hot_standby && self.childfail {
            fx.push(log("lvsd ready again: CHILDFAIL cleared"));
            self.childfail = false;
        }
    }

    fn gateway(&mut self, up: bool, now: Instant, fx: &mut Vec<Action>) {
        self.checking = false;
        if self.active {
            // The partner stopped or died meanwhile and this node took over.
        } else if self.network_fault {
            if up {
                fx.push(log("Network fault seems to be fixed"));
                self.network_fault = false;
                fx.push(Action::StartMonitors);
            }
        } else if !up {
            fx.push(log("remote service unavailable; gateway unavailable"));
            fx.push(log("I SEEM TO HAVE A NETWORK FAULT!"));
            self.network_fault = true;
        } else if self.hold_down(now) {
            fx.push(Action::Log(format!(
                "HOLD-DOWN: {} takeovers for failed services within {} s; this node will not take over for a service failure again until pulse is reloaded or restarted",
                self.cfg.max_failovers,
                self.cfg.failover_window.as_secs()
            )));
            self.held = true;
        } else if self.may_activate() {
            fx.push(log("remote service unavailable but we can see the gateway"));
            fx.push(log(
                "seems like a remote network fault; performing service failover",
            ));
            self.takeovers.push_back(now);
            self.failpartner = true;
            fx.push(log("Notifying partner WE are taking control!"));
            self.activate(fx, "partner service failed");
            // Tell the partner at once.
            if self.cfg.backup_active {
                fx.push(Action::Send(Magic::StopMe));
            }
        }
    }

    fn link_failure(&mut self, fx: &mut Vec<Action>) {
        if !self.linkfail {
            fx.push(log("Local NIC link failure: Pulse disabled"));
        }
        self.linkfail = true;
        if self.active {
            fx.push(Action::Log(format!(
                "local link failure: deactivating {}",
                self.upper()
            )));
            self.deactivate(fx);
        }
    }

    fn link_restored(&mut self, now: Instant, fx: &mut Vec<Action>) {
        if self.linkfail {
            fx.push(log("Local NIC link(s) restored: Pulse enabled"));
            // The partner's silence while this node's own link was down says nothing about
            // the partner: it gets a whole deadtime from now to be heard again.
            self.need_heartbeat = now + self.cfg.deadtime;
            // FOS: monitors that ended while the link was down were not restarted.
            if self.fos() && !self.active && !self.network_fault && !self.held {
                fx.push(Action::StartMonitors);
            }
        }
        self.linkfail = false;
    }

    /// A reload ends the hold-down; changed failover blocks need fos started again in its
    /// role (once, even when the hold-down's end already restarts the monitors).
    fn reloaded(&mut self, fos_changed: bool, fx: &mut Vec<Action>) {
        let mut monitors = false;
        if self.held {
            fx.push(log("hold-down cleared"));
            if self.fos() && !self.active {
                fx.push(Action::StartMonitors);
                monitors = true;
            }
        }
        self.held = false;
        self.takeovers.clear();
        if !(fos_changed && self.fos()) || monitors {
            return;
        }
        let again = if self.active {
            Action::RestartServices
        } else if !self.network_fault {
            Action::StartMonitors
        } else {
            return;
        };
        fx.push(log("the failover services changed: starting fos again"));
        fx.push(again);
    }

    fn terminate(&mut self, sig: i32, now: Instant, fx: &mut Vec<Action>) {
        if self.handing_over.take().is_some() {
            // A second signal: stop now.
            Self::finish(fx);
            return;
        }
        fx.push(Action::Log(format!("Terminating due to signal {sig}")));
        if self.active && self.cfg.hot_standby && self.cfg.backup_active && !self.fos() {
            // Hot standby: the partner takes the addresses on this STOPPED at once; this node
            // keeps serving them until it says so, so no client meets a node that has let
            // go before the other has announced itself.
            self.active = false;
            fx.push(Action::Send(self.magic()));
            fx.push(log(
                "handing over: keeping the addresses until the partner is active",
            ));
            self.handing_over = Some(now + self.cfg.keepalive);
            return;
        }
        if self.active {
            self.active = false;
            self.failpartner = false;
            // Tell the partner at once instead of letting it wait for deadtime.
            if self.cfg.backup_active {
                fx.push(Action::Send(self.magic()));
            }
        }
        Self::finish(fx);
    }

    /// The last steps: stop the child, take the addresses down, exit.
    fn finish(fx: &mut Vec<Action>) {
        fx.push(Action::Shutdown);
        fx.push(Action::Exit(0));
    }

    /// Whether another takeover for a failed service would pass the hold-down limit.
    fn hold_down(&mut self, now: Instant) -> bool {
        if self.held {
            return true;
        }
        let window = self.cfg.failover_window;
        while self
            .takeovers
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            self.takeovers.pop_front();
        }
        self.cfg.max_failovers > 0 && self.takeovers.len() >= self.cfg.max_failovers as usize
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hot_tests;
