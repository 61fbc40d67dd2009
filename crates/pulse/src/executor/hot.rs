//! LVS hot standby (`hot_standby = 1`): lvsd runs on the inactive director too, with its
//! nannies and a complete table that carries no traffic because the addresses are elsewhere.
//! Taking over only brings the addresses up and announces them (the first gratuitous ARP
//! before anything else), then runs `active_cmd` and makes the sync daemon the master;
//! stepping down only takes them down. An lvsd that exits is started again (spaced by the
//! [`Backoff`](crate::backoff::Backoff) when it keeps failing at once), and the main loop
//! hears when it is ready ([`Event::ChildReady`]), which ends the CHILDFAIL its exit caused.

use std::time::{Duration, Instant};

use tracing::info;

use super::Executor;

/// How long a hot director that handed over on shutdown goes on serving the connections it
/// had accepted: clients that sent their SYN before the partner's gratuitous ARP reached them
/// finish their requests here (new ones go to the partner).
pub const HANDOVER_DRAIN: Duration = Duration::from_millis(200);
use crate::daemon::Event;
use crate::system::SyncRole;

impl Executor {
    /// Hot standby applies (`Settings::hot_standby` is only set in LVS mode without
    /// `announce = bird`).
    pub(super) fn hot(&self) -> bool {
        self.settings.hot_standby
    }

    fn lvsd_running(&self) -> bool {
        self.child
            .as_ref()
            .is_some_and(|c| c.running_pid().is_some())
    }

    /// Start lvsd unless it runs, and tell the main loop when it is ready; false if it is
    /// not running (not started, failed, or no longer wanted).
    pub(super) async fn ensure_lvsd(&mut self, generation: u64) -> bool {
        if self.lvsd_running() {
            return true;
        }
        let program = self.opts.lvsd.display().to_string();
        if !self.system.launches(&program) {
            return true;
        }
        // An lvsd that ended on its own (its watcher cleared `alive`), or whose last start
        // failed, counts as failing; one pulse stopped does not.
        let ended = self
            .child
            .as_ref()
            .is_some_and(|c| c.running_pid().is_none());
        let last_failed = ended || self.lvsd_start_failed;
        let pause = self.lvsd_backoff.before_start(Instant::now(), last_failed);
        if !pause.is_zero() {
            info!("lvsd keeps exiting: starting it again in {pause:?}");
            if !self.pause_while_wanted(pause, generation).await {
                return false;
            }
        }
        self.lvsd_backoff.started(Instant::now());
        let ok = self.start_lvsd(generation).await;
        self.lvsd_start_failed = !ok;
        if ok {
            info!("lvsd is ready (hot standby)");
            let _ = self.events.send(Event::ChildReady { generation });
        }
        ok
    }

    /// Take over: the addresses first (announced at once), then `active_cmd` and the sync
    /// daemon's master role. lvsd already runs, or is started first (forced active at
    /// start-up).
    pub(super) async fn activate_hot(&mut self, generation: u64) {
        if !self.ensure_lvsd(generation).await {
            // The main loop hears of it as a child failure and deactivates.
            return;
        }
        self.active = true;
        self.bring_up_floating().await;
        self.announce();
        // Heartbeats say RUNNING from now on: a partner handing over lets go on it.
        let _ = self.events.send(Event::AddressesUp);
        self.command(self.settings.active_cmd.clone());
        self.sync_daemon(Self::active_sync_role(&self.settings));
    }

    /// Step down: the addresses go, then `inactive_cmd` and the sync daemon's backup role;
    /// lvsd goes on, or starts again if it exited.
    pub(super) async fn deactivate_hot(&mut self, generation: u64) {
        self.release_hot().await;
        self.ensure_lvsd(generation).await;
    }

    /// Shutting down after handing over: a director that held the addresses keeps them for
    /// [`HANDOVER_DRAIN`] while lvsd finishes the connections that began just before the
    /// partner's announcement reached the clients (their replies leave from a VIP: without
    /// it they could not be sent), then takes them down and stops lvsd.
    pub(super) async fn shut_down_hot(&mut self) {
        if !self.held.is_empty() && self.lvsd_running() {
            tokio::time::sleep(HANDOVER_DRAIN).await;
        }
        self.release_hot().await;
        self.stop_child().await;
    }

    /// The active node's part of stepping down or shutting down: addresses down first (the
    /// partner is taking them), `inactive_cmd`, sync daemon backup.
    pub(super) async fn release_hot(&mut self) {
        let was_active = std::mem::replace(&mut self.active, false);
        if let Some(a) = self.arps.take() {
            a.abort();
        }
        for v in self.held.clone() {
            self.down(&v).await;
        }
        if was_active {
            self.command(self.settings.inactive_cmd.clone());
            self.sync_daemon(SyncRole::Backup);
        }
    }
}
