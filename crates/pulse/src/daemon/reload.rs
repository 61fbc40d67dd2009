//! Applying a configuration read after SIGHUP.

use std::time::Instant;

use tracing::info;

use super::{Daemon, lock, machine_config};
use crate::executor::Job;
use crate::machine::Input;
use crate::reload::plan;
use crate::settings::Settings;

impl Daemon {
    /// Apply a configuration read after SIGHUP (pulse's own settings; lvsd is passed the
    /// signal); whether it was taken.
    pub(super) async fn reload(&mut self, new: Settings) -> bool {
        let changes = match plan(&self.settings, &new) {
            Ok(c) => c,
            Err(refusal) => {
                info!("{refusal}");
                lock(&self.shared).status.reloads_failed += 1;
                return false;
            }
        };
        if changes.sockets {
            match self.sockets.rebind(&self.settings, &new, &self.tx) {
                Ok(s) => self.sockets = s,
                Err(e) => {
                    info!("cannot create heartbeat socket: {e}; keeping the running configuration");
                    lock(&self.shared).status.reloads_failed += 1;
                    return false;
                }
            }
        }
        self.machine
            .reconfigure(machine_config(&new, &self.opts), Instant::now());
        self.reauth(new.auth.as_ref());
        self.settings = new.clone();
        self.sync_own_version();
        if changes.links {
            self.watch_links();
            if !self.settings.monitor_links && self.machine.linkfail() {
                // Nobody watches the links any more: nothing will restore them.
                self.feed(Input::LinkRestored).await;
            }
        }
        let _ = self.jobs.send(Job::Reconfigure(Box::new(new)));
        if changes.hot_standby && !self.machine.is_active() {
            // An inactive node starts lvsd for its standby table, or stops it.
            if self.settings.hot_standby {
                self.job(Job::StartStandby);
            } else {
                self.wanted.clear();
                let _ = self.jobs.send(Job::StopStandby);
            }
        }
        let _ = self.jobs.send(Job::ForwardHup);
        lock(&self.shared).status.reloads += 1;
        self.feed(Input::Reloaded {
            fos_changed: changes.fos,
        })
        .await;
        self.publish();
        true
    }
}
