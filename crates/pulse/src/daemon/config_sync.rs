//! `config_sync` in the main loop: this node's lvs.cf version goes out with each heartbeat;
//! the partner's, heard with its heartbeats, is compared by [`sync_plan::plan`] and shown in
//! the status, and each change of the outcome is logged once (a conflict among them). A node
//! whose file is older fetches the partner's ([`sync_io`]), installs it and rereads it as on
//! SIGHUP.

use std::time::{Duration, Instant};

use tracing::info;

use super::heartbeat::random;
use super::sync_io::{self, Fetch};
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
        let served = match (&self.auth, own, &self.settings.file_text) {
            (Some(a), Some(v), Some(t)) => {
                Some((a.settings().keys.signing().clone(), v.serial, t.clone()))
            }
            _ => None,
        };
        *self.served.lock().unwrap_or_else(|p| p.into_inner()) = served;
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
        if step == SyncStep::Receive {
            self.fetch_newer();
        }
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

impl Daemon {
    /// Answer the partner's fetches (with `config_sync` at start-up).
    pub(super) fn start_sync_listener(&self) {
        if self.settings.file_version.is_none() {
            return;
        }
        let s = &self.settings;
        let partners = [s.partner, s.partner_private]
            .into_iter()
            .flatten()
            .collect();
        sync_io::listen(s.own, s.sync_port, partners, self.served.clone());
    }

    /// Fetch the partner's newer file, unless a fetch runs or one failed a moment ago.
    fn fetch_newer(&mut self) {
        let (Some(own), Some(partner), Some(a)) = (
            self.settings.file_version,
            self.settings.partner,
            &self.auth,
        ) else {
            return;
        };
        if self.fetching || Instant::now() < self.next_fetch {
            return;
        }
        self.fetching = true;
        let mut nonce = [0u8; crate::sync_transfer::NONCE];
        nonce[..8].copy_from_slice(&random().to_ne_bytes());
        nonce[8..].copy_from_slice(&random().to_ne_bytes());
        let f = Fetch {
            partner: (partner, self.settings.sync_port).into(),
            keys: a.settings().keys.all().to_vec(),
            own,
            path: self.opts.config.clone(),
            nonce,
        };
        sync_io::fetch(f, self.tx.clone());
    }

    /// A fetch ended: reread the installed file, or say why nothing was taken.
    pub(super) fn synced(&mut self, r: Result<i64, String>) {
        self.fetching = false;
        let text = match &r {
            Ok(serial) => {
                info!("lvs.cf: took serial {serial} from the partner; rereading it");
                format!("took serial {serial}")
            }
            Err(e) => {
                info!("lvs.cf: the partner's file was not taken: {e}");
                self.next_fetch = Instant::now() + Duration::from_secs(5);
                format!("refused: {e}")
            }
        };
        if let Some(st) = lock(&self.shared).status.config_sync.as_mut() {
            st.last_sync_unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs());
            st.last_sync_result = Some(text);
        }
        if r.is_ok() {
            self.read_config();
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
