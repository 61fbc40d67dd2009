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
}

/// What happens to the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A deadline may have passed.
    Tick,
    /// An accepted heartbeat from the partner.
    Heartbeat(Magic),
    /// lvsd (or fos) exited.
    ChildExited,
    /// FOS: the answer to [`Action::CheckGateway`] (or to a later check during a network
    /// fault): whether the default gateway answered.
    Gateway(bool),
    LinkFailure,
    LinkRestored,
    /// SIGTERM or SIGINT.
    Terminate(i32),
    /// SIGHUP: a new configuration was read; clears the hold-down.
    Reloaded,
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Log(String),
    /// Become active. LVS: `active_cmd`, lvsd (wait for readiness), sync daemon master, VIPs
    /// up, gratuitous ARPs. FOS: VIPs up, ARPs, `fos --active`.
    Activate,
    /// Become inactive. LVS: `inactive_cmd`, sync daemon backup, stop lvsd, VIPs down. FOS:
    /// stop fos, VIPs down, `fos --monitor`.
    Deactivate,
    /// The start-up steps of an inactive node. LVS: `inactive_cmd` and sync daemon backup.
    /// FOS: VIPs down, `fos --monitor`.
    StartInactive,
    /// Both nodes are active and this one is the master: `active_cmd` and ARPs again.
    ResendArps,
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
        self.next_send.min(self.need_heartbeat)
    }

    fn magic(&self) -> Magic {
        if self.failpartner && self.cfg.mode == Mode::Fos {
            Magic::StopMe
        } else {
            self.cfg.mode.magic(self.active)
        }
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
        !self.active && !self.linkfail && !self.childfail
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
        self.failpartner = false;
    }

    /// Feed one input.
    pub fn on(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut fx = Vec::new();
        let fos = self.cfg.mode == Mode::Fos;
        match input {
            Input::Tick => {
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
                        self.activate(&mut fx, "partner dead");
                    }
                    self.need_heartbeat = now + self.cfg.deadtime;
                }
            }
            Input::Heartbeat(m) => {
                self.need_heartbeat = now + self.cfg.deadtime;
                match m {
                    Magic::StopMe if fos && self.active && self.cfg.master => {
                        self.partner_was_active = true;
                        self.partner_stopped_since = None;
                        fx.push(log("PARTNER HAS TOLD US TO GO INACTIVE!"));
                        self.deactivate(&mut fx);
                    }
                    Magic::Running | Magic::FosRunning | Magic::StopMe => {
                        self.partner_was_active = true;
                        self.partner_stopped_since = None;
                        self.childfail = false;
                        if self.active && !self.cfg.master {
                            if fos && self.failpartner {
                                fx.push(log("partner active: we want control!"));
                            } else {
                                // One last RUNNING so the master re-ARPs, then step down.
                                fx.push(Action::Send(self.magic()));
                                fx.push(Action::Log(format!(
                                    "partner active: deactivating {}",
                                    self.upper()
                                )));
                                self.deactivate(&mut fx);
                            }
                        } else if self.active && fos {
                            fx.push(log("partner active"));
                        } else if self.active {
                            fx.push(log("partner active: resending arps"));
                            fx.push(Action::ResendArps);
                        }
                        // Inactive: the partner stays active; no automatic fail-back.
                    }
                    Magic::Stopped | Magic::FosStopped => {
                        self.failpartner = false;
                        let stepped_down = std::mem::replace(&mut self.partner_was_active, false);
                        let since = *self.partner_stopped_since.get_or_insert(now);
                        // The master takes over from a stopped partner at once. The backup does
                        // when the master has just stepped down (it was active) or has stayed
                        // inactive for a whole deadtime (it cannot activate: CHILDFAIL,
                        // LINKFAIL); not when both have just started, which is the master's
                        // turn. piranha let both activate then (bz593730, its DELAY option).
                        let turn = self.cfg.master
                            || stepped_down
                            || now.duration_since(since) >= self.cfg.deadtime;
                        if self.may_activate() && turn {
                            let why = if self.cfg.master {
                                "backup inactive"
                            } else {
                                "primary inactive"
                            };
                            self.activate(&mut fx, why);
                        }
                    }
                    Magic::Hold | Magic::Held => {}
                }
            }
            Input::ChildExited if fos => {
                if self.active {
                    fx.push(log("fos process exited -- restarting it"));
                    fx.push(Action::RestartServices);
                } else if !self.checking {
                    fx.push(log("fos process exited -- checking network connectivity"));
                    fx.push(Action::CheckGateway);
                    self.checking = true;
                }
            }
            Input::ChildExited => {
                fx.push(log(
                    "CHILDFAIL: inactive until the partner's next RUNNING heartbeat",
                ));
                if self.active {
                    self.deactivate(&mut fx);
                }
                // Sending STOPPED from now on lets the partner take over; this node waits for
                // a RUNNING heartbeat before it may activate again.
                self.childfail = true;
            }
            Input::Gateway(up) => {
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
                    self.activate(&mut fx, "partner service failed");
                    // Tell the partner at once.
                    if self.cfg.backup_active {
                        fx.push(Action::Send(Magic::StopMe));
                    }
                }
            }
            Input::LinkFailure => {
                if !self.linkfail {
                    fx.push(log("Local NIC link failure: Pulse disabled"));
                }
                self.linkfail = true;
                if self.active {
                    fx.push(Action::Log(format!(
                        "local link failure: deactivating {}",
                        self.upper()
                    )));
                    self.deactivate(&mut fx);
                }
            }
            Input::LinkRestored => {
                if self.linkfail {
                    fx.push(log("Local NIC link(s) restored: Pulse enabled"));
                    // FOS: monitors that ended while the link was down were not restarted.
                    if fos && !self.active && !self.network_fault && !self.held {
                        fx.push(Action::StartMonitors);
                    }
                }
                self.linkfail = false;
            }
            Input::Reloaded => {
                if self.held {
                    fx.push(log("hold-down cleared"));
                    if fos && !self.active {
                        fx.push(Action::StartMonitors);
                    }
                }
                self.held = false;
                self.takeovers.clear();
            }
            Input::Terminate(sig) => {
                fx.push(Action::Log(format!("Terminating due to signal {sig}")));
                if self.active {
                    self.active = false;
                    self.failpartner = false;
                    // Tell the partner at once instead of letting it wait for deadtime.
                    if self.cfg.backup_active {
                        fx.push(Action::Send(self.magic()));
                    }
                }
                fx.push(Action::Shutdown);
                fx.push(Action::Exit(0));
            }
        }
        fx
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
mod tests {
    use super::*;

    fn cfg(master: bool) -> Config {
        Config {
            master,
            backup_active: true,
            keepalive: Duration::from_secs(2),
            deadtime: Duration::from_secs(5),
            force_active: false,
            mode: Mode::Lvs,
            max_failovers: 3,
            failover_window: Duration::from_secs(600),
        }
    }

    fn t0() -> Instant {
        Instant::now()
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn has(fx: &[Action], a: &Action) -> bool {
        fx.contains(a)
    }

    #[test]
    fn start_up_roles() {
        let now = t0();
        let (m, fx) = Machine::start(cfg(true), now);
        assert_eq!(fx, [log("STARTING PULSE AS MASTER"), Action::StartInactive]);
        assert!(!m.is_active());
        assert_eq!(m.next_deadline(), now + s(2));
        let (_, fx) = Machine::start(
            Config {
                force_active: true,
                ..cfg(false)
            },
            now,
        );
        assert_eq!(
            fx,
            [
                log("STARTING PULSE AS BACKUP"),
                log("Forced active on startup: activating lvs"),
                Action::Activate
            ]
        );
        let (_, fx) = Machine::start(
            Config {
                backup_active: false,
                ..cfg(false)
            },
            now,
        );
        assert_eq!(fx.last(), Some(&Action::Exit(255)));
    }

    #[test]
    fn heartbeats_every_keepalive_with_the_state_magic() {
        let now = t0();
        let (mut m, _) = Machine::start(cfg(true), now);
        assert!(m.on(Input::Tick, now + s(1)).is_empty());
        assert_eq!(
            m.on(Input::Tick, now + s(2)),
            [Action::Send(Magic::Stopped)]
        );
        assert_eq!(m.next_deadline(), now + s(4));
        // No backup: nothing is sent, and the master activates after deadtime.
        let (mut m, _) = Machine::start(
            Config {
                backup_active: false,
                ..cfg(true)
            },
            now,
        );
        assert!(m.on(Input::Tick, now + s(2)).is_empty());
        let fx = m.on(Input::Tick, now + s(5));
        assert_eq!(fx, [log("partner dead: activating lvs"), Action::Activate]);
    }

    #[test]
    fn reconfigure_changes_timers_not_role() {
        let now = t0();
        let (mut m, _) = Machine::start(cfg(true), now);
        m.reconfigure(
            Config {
                master: false,
                keepalive: Duration::from_millis(100),
                deadtime: Duration::from_millis(300),
                ..cfg(true)
            },
            now + s(1),
        );
        assert_eq!(m.next_deadline(), now + s(1) + Duration::from_millis(100));
        assert_eq!(
            m.on(Input::Tick, now + s(1) + Duration::from_millis(100)),
            [Action::Send(Magic::Stopped)]
        );
        let fx = m.on(Input::Tick, now + s(1) + Duration::from_millis(300));
        assert_eq!(fx.last(), Some(&Action::Activate));
        assert!(fx.contains(&log("partner dead: activating lvs")));
        // Still the master: a RUNNING partner makes it re-announce, not step down.
        let fx = m.on(Input::Heartbeat(Magic::Running), now + s(2));
        assert_eq!(fx.last(), Some(&Action::ResendArps));
    }

    #[test]
    fn partner_dead_after_deadtime_without_heartbeats() {
        let now = t0();
        let (mut m, _) = Machine::start(cfg(false), now);
        m.on(Input::Heartbeat(Magic::Running), now + s(3));
        // deadtime counts from the last accepted heartbeat.
        assert!(!has(&m.on(Input::Tick, now + s(5)), &Action::Activate));
        let fx = m.on(Input::Tick, now + s(8));
        assert!(has(&fx, &Action::Activate), "{fx:?}");
        assert!(m.is_active());
        assert_eq!(
            m.on(Input::Tick, now + s(10)),
            [Action::Send(Magic::Running)]
        );
    }

    #[test]
    fn stopped_partner_is_replaced_by_either_role() {
        let now = t0();
        let (mut m, _) = Machine::start(cfg(true), now);
        let fx = m.on(Input::Heartbeat(Magic::Stopped), now + s(1));
        assert_eq!(
            fx,
            [log("backup inactive: activating lvs"), Action::Activate]
        );
        // The backup: at once when the master steps down from active...
        let (mut m, _) = Machine::start(cfg(false), now);
        m.on(Input::Heartbeat(Magic::Running), now + s(1));
        let fx = m.on(Input::Heartbeat(Magic::Stopped), now + s(2));
        assert_eq!(
            fx,
            [log("primary inactive: activating lvs"), Action::Activate]
        );
        // ...but not while both have just started inactive: that is the master's turn...
        let (mut m, _) = Machine::start(cfg(false), now);
        for i in 1..=4 {
            assert!(
                m.on(Input::Heartbeat(Magic::Stopped), now + s(i))
                    .is_empty()
            );
        }
        // ...unless the master stays inactive for a whole deadtime (it cannot activate).
        let fx = m.on(Input::Heartbeat(Magic::Stopped), now + s(6));
        assert_eq!(
            fx,
            [log("primary inactive: activating lvs"), Action::Activate]
        );
    }

    #[test]
    fn both_active_the_backup_yields_and_the_master_rearps() {
        let now = t0();
        let (mut b, _) = Machine::start(
            Config {
                force_active: true,
                ..cfg(false)
            },
            now,
        );
        let fx = b.on(Input::Heartbeat(Magic::Running), now + s(1));
        assert_eq!(
            fx,
            [
                Action::Send(Magic::Running),
                log("partner active: deactivating LVS"),
                Action::Deactivate
            ]
        );
        assert!(!b.is_active());
        let (mut m, _) = Machine::start(
            Config {
                force_active: true,
                ..cfg(true)
            },
            now,
        );
        assert_eq!(
            m.on(Input::Heartbeat(Magic::Running), now + s(1)),
            [log("partner active: resending arps"), Action::ResendArps]
        );
        assert!(m.is_active());
    }

    #[test]
    fn no_automatic_failback() {
        let now = t0();
        // The old primary comes back and hears the backup running: it stays inactive.
        let (mut m, _) = Machine::start(cfg(true), now);
        for i in 1..20 {
            let fx = m.on(Input::Heartbeat(Magic::Running), now + s(i));
            assert!(fx.is_empty(), "{fx:?}");
            m.on(Input::Tick, now + s(i));
        }
        assert!(!m.is_active());
    }

    #[test]
    fn childfail_inhibits_until_a_running_heartbeat() {
        let now = t0();
        let (mut m, _) = Machine::start(
            Config {
                force_active: true,
                ..cfg(true)
            },
            now,
        );
        assert_eq!(
            m.on(Input::ChildExited, now + s(1)),
            [
                log("CHILDFAIL: inactive until the partner's next RUNNING heartbeat"),
                Action::Deactivate
            ]
        );
        assert!(m.childfail());
        // It now sends STOPPED; the partner's STOPPED or silence does not bring it back.
        assert_eq!(
            m.on(Input::Tick, now + s(2)),
            [Action::Send(Magic::Stopped)]
        );
        assert!(
            m.on(Input::Heartbeat(Magic::Stopped), now + s(3))
                .is_empty()
        );
        assert!(!has(&m.on(Input::Tick, now + s(20)), &Action::Activate));
        // A RUNNING heartbeat clears it; a later trigger may activate again.
        m.on(Input::Heartbeat(Magic::Running), now + s(21));
        assert!(!m.childfail());
        assert!(has(
            &m.on(Input::Heartbeat(Magic::Stopped), now + s(22)),
            &Action::Activate
        ));
    }

    #[test]
    fn linkfail_deactivates_and_inhibits() {
        let now = t0();
        let (mut m, _) = Machine::start(
            Config {
                force_active: true,
                ..cfg(true)
            },
            now,
        );
        let fx = m.on(Input::LinkFailure, now + s(1));
        assert_eq!(
            fx,
            [
                log("Local NIC link failure: Pulse disabled"),
                log("local link failure: deactivating LVS"),
                Action::Deactivate
            ]
        );
        assert!(
            m.on(Input::LinkFailure, now + s(2)).is_empty(),
            "logged once per episode"
        );
        assert!(!has(&m.on(Input::Tick, now + s(30)), &Action::Activate));
        assert_eq!(
            m.on(Input::LinkRestored, now + s(31)),
            [log("Local NIC link(s) restored: Pulse enabled")]
        );
        // Restored links do not activate by themselves; the next trigger does.
        assert!(has(&m.on(Input::Tick, now + s(40)), &Action::Activate));
    }

    #[test]
    fn terminate_sends_stopped_at_once_when_active() {
        let now = t0();
        let (mut m, _) = Machine::start(
            Config {
                force_active: true,
                ..cfg(true)
            },
            now,
        );
        assert_eq!(
            m.on(Input::Terminate(15), now + s(1)),
            [
                log("Terminating due to signal 15"),
                Action::Send(Magic::Stopped),
                Action::Shutdown,
                Action::Exit(0)
            ]
        );
        let (mut m, _) = Machine::start(cfg(false), now);
        assert_eq!(
            m.on(Input::Terminate(2), now),
            [
                log("Terminating due to signal 2"),
                Action::Shutdown,
                Action::Exit(0)
            ]
        );
    }

    #[test]
    fn hold_and_held_only_count_as_liveness() {
        let now = t0();
        let (mut m, _) = Machine::start(cfg(false), now);
        assert!(m.on(Input::Heartbeat(Magic::Hold), now + s(4)).is_empty());
        assert!(m.on(Input::Heartbeat(Magic::Held), now + s(8)).is_empty());
        assert!(!has(&m.on(Input::Tick, now + s(12)), &Action::Activate));
        assert!(has(&m.on(Input::Tick, now + s(13)), &Action::Activate));
    }

    /// Two machines wired back to back, with heartbeats delivered instantly.
    fn pair(now: Instant, fa: bool, fb: bool) -> (Machine, Machine) {
        let (a, _) = Machine::start(
            Config {
                force_active: fa,
                ..cfg(true)
            },
            now,
        );
        let (b, _) = Machine::start(
            Config {
                force_active: fb,
                ..cfg(false)
            },
            now,
        );
        (a, b)
    }

    fn run(a: &mut Machine, b: &mut Machine, from: Instant, secs: u64, a_alive: bool) {
        for ms in (0..secs * 1000).step_by(100) {
            run_step(a, b, from + Duration::from_millis(ms), a_alive);
        }
    }

    fn run_step(a: &mut Machine, b: &mut Machine, now: Instant, a_alive: bool) {
        {
            let mut to_b = Vec::new();
            let mut to_a = Vec::new();
            if a_alive {
                for x in a.on(Input::Tick, now) {
                    if let Action::Send(m) = x {
                        to_b.push(m);
                    }
                }
            }
            for x in b.on(Input::Tick, now) {
                if let Action::Send(m) = x {
                    to_a.push(m);
                }
            }
            for m in to_b {
                for x in b.on(Input::Heartbeat(m), now) {
                    if let Action::Send(m) = x
                        && a_alive
                    {
                        a.on(Input::Heartbeat(m), now);
                    }
                }
            }
            if a_alive {
                for m in to_a {
                    a.on(Input::Heartbeat(m), now);
                }
            }
        }
    }

    #[test]
    fn exactly_one_active_after_a_simultaneous_start() {
        let now = t0();
        let (mut a, mut b) = pair(now, false, false);
        // Never both active, not even for a moment (piranha's were, bz593730).
        for i in 0..300 {
            let step = now + Duration::from_millis(100 * i);
            run_step(&mut a, &mut b, step, true);
            assert!(!(a.is_active() && b.is_active()), "both active at {i}");
        }
        assert!(a.is_active() && !b.is_active(), "the master is the one");
        assert_eq!(u8::from(a.is_active()) + u8::from(b.is_active()), 1);
        // The survivor takes over when the active one goes silent.
        let (mut x, mut y) = if a.is_active() { (a, b) } else { (b, a) };
        run(&mut x, &mut y, now + s(30), 10, false);
        assert!(y.is_active());
    }

    #[test]
    fn forced_primary_wins_back() {
        let now = t0();
        let (mut a, mut b) = pair(now, true, true);
        run(&mut a, &mut b, now, 10, true);
        assert!(a.is_active() && !b.is_active());
    }

    fn fos(master: bool) -> Config {
        Config {
            mode: Mode::Fos,
            max_failovers: 2,
            ..cfg(master)
        }
    }

    #[test]
    fn fos_start_up() {
        let now = t0();
        let (m, fx) = Machine::start(fos(false), now);
        assert_eq!(
            fx,
            [
                log("STARTING PULSE AS BACKUP"),
                log("Starting Failover Service Monitors"),
                Action::StartInactive
            ]
        );
        assert!(!m.is_active());
        let (m, fx) = Machine::start(
            Config {
                backup_active: false,
                ..fos(true)
            },
            now,
        );
        assert_eq!(
            fx,
            [
                log("STARTING PULSE AS MASTER"),
                log("Warning: FOS backup node not defined -- skipping checks"),
                Action::Activate
            ]
        );
        assert!(m.is_active());
    }

    /// A backup whose monitor saw the partner's service fail, and the gateway answer.
    fn fos_takeover(m: &mut Machine, at: Instant) -> Vec<Action> {
        let fx = m.on(Input::ChildExited, at);
        assert_eq!(
            fx,
            [
                log("fos process exited -- checking network connectivity"),
                Action::CheckGateway
            ]
        );
        // A second exit while the check runs asks nothing more.
        assert!(m.on(Input::ChildExited, at).is_empty());
        m.on(Input::Gateway(true), at)
    }

    #[test]
    fn fos_service_failure_moves_with_stopme() {
        let now = t0();
        let (mut b, _) = Machine::start(fos(false), now);
        let fx = fos_takeover(&mut b, now + s(1));
        assert_eq!(
            fx,
            [
                log("remote service unavailable but we can see the gateway"),
                log("seems like a remote network fault; performing service failover"),
                log("Notifying partner WE are taking control!"),
                log("partner service failed: activating fos"),
                Action::Activate,
                Action::Send(Magic::StopMe)
            ]
        );
        assert!(b.is_active() && b.failpartner());
        assert_eq!(b.on(Input::Tick, now + s(3)), [Action::Send(Magic::StopMe)]);
        // The master is still active and says so: the backup wants control and stays.
        assert_eq!(
            b.on(Input::Heartbeat(Magic::FosRunning), now + s(3)),
            [log("partner active: we want control!")]
        );
        // The active master told to go: it deactivates (and starts its monitors).
        let (mut m, _) = Machine::start(
            Config {
                force_active: true,
                ..fos(true)
            },
            now,
        );
        assert_eq!(
            m.on(Input::Heartbeat(Magic::StopMe), now + s(2)),
            [
                log("PARTNER HAS TOLD US TO GO INACTIVE!"),
                Action::Deactivate
            ]
        );
        assert!(!m.is_active());
        // Its STOPPED clears the backup's FAILPARTNER: RUNNING from then on.
        assert!(
            b.on(Input::Heartbeat(Magic::FosStopped), now + s(4))
                .is_empty()
        );
        assert!(!b.failpartner());
        assert_eq!(
            b.on(Input::Tick, now + s(5)),
            [Action::Send(Magic::FosRunning)]
        );
        // fos exiting on the active node is restarted there.
        assert_eq!(
            b.on(Input::ChildExited, now + s(6)),
            [
                log("fos process exited -- restarting it"),
                Action::RestartServices
            ]
        );
    }

    #[test]
    fn fos_network_fault_then_recovery_by_itself() {
        let now = t0();
        let (mut b, _) = Machine::start(fos(false), now);
        b.on(Input::ChildExited, now + s(1));
        assert_eq!(
            b.on(Input::Gateway(false), now + s(2)),
            [
                log("remote service unavailable; gateway unavailable"),
                log("I SEEM TO HAVE A NETWORK FAULT!")
            ]
        );
        assert!(b.network_fault() && !b.is_active());
        assert!(b.on(Input::Gateway(false), now + s(3)).is_empty());
        assert_eq!(
            b.on(Input::Gateway(true), now + s(4)),
            [
                log("Network fault seems to be fixed"),
                Action::StartMonitors
            ]
        );
        assert!(!b.network_fault());
        // The restarted monitor fails again, the gateway answers: now it takes over.
        let fx = fos_takeover(&mut b, now + s(5));
        assert!(fx.contains(&Action::Activate), "{fx:?}");
    }

    #[test]
    fn fos_hold_down_stops_the_ping_pong() {
        let now = t0();
        let (mut b, _) = Machine::start(fos(false), now);
        for round in 0..2u64 {
            let t = now + s(10 * round);
            assert!(fos_takeover(&mut b, t + s(1)).contains(&Action::Activate));
            // The partner stops, then takes over again with STOPME.
            b.on(Input::Heartbeat(Magic::FosStopped), t + s(2));
            let fx = b.on(Input::Heartbeat(Magic::StopMe), t + s(3));
            assert!(fx.contains(&Action::Deactivate), "{fx:?}");
        }
        let fx = fos_takeover(&mut b, now + s(30));
        assert_eq!(fx.len(), 1, "{fx:?}");
        assert!(
            matches!(&fx[0], Action::Log(l) if l == "HOLD-DOWN: 2 takeovers for failed services within 600 s; \
                this node will not take over for a service failure again until pulse is reloaded or restarted"),
            "{fx:?}"
        );
        assert!(b.held() && !b.is_active());
        // Held, it still replaces a partner that stops or dies.
        let fx = b.on(Input::Heartbeat(Magic::FosStopped), now + s(31));
        assert!(fx.contains(&Action::Activate), "{fx:?}");
        b.on(Input::Heartbeat(Magic::StopMe), now + s(32));
        // A reload clears the hold-down and restarts the monitors.
        assert_eq!(
            b.on(Input::Reloaded, now + s(40)),
            [log("hold-down cleared"), Action::StartMonitors]
        );
        assert!(!b.held());
        // Outside the window, old takeovers no longer count.
        let (mut c, _) = Machine::start(
            Config {
                failover_window: Duration::from_secs(20),
                ..fos(false)
            },
            now,
        );
        for round in 0..4u64 {
            let t = now + s(30 * round);
            assert!(fos_takeover(&mut c, t + s(1)).contains(&Action::Activate));
            c.on(Input::Heartbeat(Magic::FosStopped), t + s(2));
            c.on(Input::Heartbeat(Magic::StopMe), t + s(3));
        }
    }

    #[test]
    fn silence_resets_what_the_partner_said() {
        let now = t0();
        let (mut b, _) = Machine::start(cfg(false), now);
        // The master says STOPPED for a while, then goes silent and the backup takes over.
        b.on(Input::Heartbeat(Magic::Stopped), now + s(1));
        b.on(Input::Heartbeat(Magic::Stopped), now + s(2));
        let fx = b.on(Input::Tick, now + s(7));
        assert!(fx.contains(&Action::Activate), "{fx:?}");
        // The master restarts; both are fresh: its first STOPPED is not a cue to stay
        // active or to count as a whole deadtime of STOPPED.
        let (mut c, _) = Machine::start(cfg(false), now);
        c.on(Input::Heartbeat(Magic::Stopped), now + s(1));
        c.on(Input::Tick, now + s(6));
        assert!(c.is_active());
        let (mut d, _) = Machine::start(cfg(false), now);
        d.on(Input::Heartbeat(Magic::Stopped), now + s(1));
        d.on(Input::Heartbeat(Magic::Stopped), now + s(5));
        // Silence (no heartbeat from 5 to 10 would activate; use a link failure to stay
        // inactive) then a new STOPPED must not count the old run of STOPPED.
        d.on(Input::LinkFailure, now + s(6));
        d.on(Input::Tick, now + s(10));
        d.on(Input::LinkRestored, now + s(11));
        let fx = d.on(Input::Heartbeat(Magic::Stopped), now + s(12));
        assert!(!fx.contains(&Action::Activate), "{fx:?}");
    }

    #[test]
    fn fos_link_restored_restarts_the_monitors() {
        let now = t0();
        let (mut b, _) = Machine::start(fos(false), now);
        b.on(Input::LinkFailure, now + s(1));
        assert_eq!(
            b.on(Input::LinkRestored, now + s(2)),
            [
                log("Local NIC link(s) restored: Pulse enabled"),
                Action::StartMonitors
            ]
        );
    }
}
