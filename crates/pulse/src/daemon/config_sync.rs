//! `config_sync` in the main loop: this node's lvs.cf version goes out with each heartbeat;
//! the partner's, heard with its heartbeats, is compared by [`sync_plan::plan`] and shown in
//! the status, and each change of the outcome is logged once (a conflict among them). The
//! copying of the newer file is not built yet.

use tracing::info;

use super::{Daemon, lock};
use crate::status::SyncStatus;
use crate::sync_plan::{self, SyncStep, Version};

impl Daemon {
    /// Take this node's file version from the settings (at start and after SIGHUP).
    pub(super) fn sync_own_version(&mut self) {
        let own = self.settings.file_version;
        if let Some(a) = self.auth.as_mut() {
            a.set_file(own);
        }
        let mut sh = lock(&self.shared);
        sh.status.config_sync = own.map(|v| {
            let old = sh.status.config_sync.take().unwrap_or_default();
            let mut st = SyncStatus {
                serial: v.serial,
                digest: v.digest_hex(),
                ..old
            };
            st.state = state(v, &st);
            st
        });
    }

    /// The partner's file version, heard with an accepted heartbeat.
    pub(super) fn sync_partner_version(&mut self, theirs: Version) {
        let Some(own) = self.settings.file_version else {
            return;
        };
        let mut sh = lock(&self.shared);
        let Some(st) = sh.status.config_sync.as_mut() else {
            return;
        };
        st.partner_serial = Some(theirs.serial);
        st.partner_digest = Some(theirs.digest_hex());
        let step = sync_plan::plan(own, theirs);
        let before = std::mem::replace(&mut st.state, step.name().into());
        if before == st.state {
            return;
        }
        drop(sh);
        match step {
            SyncStep::Conflict => info!(
                "lvs.cf conflict: serial {} here and on the partner, but the files differ; nothing is copied",
                own.serial
            ),
            SyncStep::InSync => info!("lvs.cf: same file as the partner (serial {})", own.serial),
            step => info!(
                "lvs.cf: serial {} here, {} on the partner: this file is {}",
                own.serial,
                theirs.serial,
                step.name()
            ),
        }
    }
}

/// The state for the status report, from the partner's version as last heard.
fn state(own: Version, st: &SyncStatus) -> String {
    let (Some(serial), Some(hex)) = (st.partner_serial, st.partner_digest.as_deref()) else {
        return "unknown".into();
    };
    let mut digest = [0u8; 8];
    for (i, d) in digest.iter_mut().enumerate() {
        *d = hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    sync_plan::plan(own, Version { serial, digest })
        .name()
        .into()
}
