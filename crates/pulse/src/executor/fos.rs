//! FOS: starting `fos --active` or `fos --monitor`, spaced by the [`Backoff`] when it keeps
//! failing at once; and `fos --stop-hot` when pulse shuts down.
//!
//! [`Backoff`]: crate::backoff::Backoff

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tracing::info;

use super::{Executor, stop_limit};
use crate::wire::Mode;

impl Executor {
    /// Start fos in `role` (not waited for: `--active` runs the start commands, which take
    /// what they take).
    pub(super) async fn start_fos(&mut self, role: &'static str, generation: u64) {
        if !self.system.launches(&format!("fos {role}")) {
            return;
        }
        let last_failed = self.last_fos_failed.load(Ordering::SeqCst);
        let pause = self.fos_backoff.before_start(Instant::now(), last_failed);
        if !pause.is_zero() {
            info!("fos keeps exiting: starting it again in {pause:?}");
            if !self.pause_while_wanted(pause, generation).await {
                return;
            }
        }
        self.fos_backoff.started(Instant::now());
        let mut cmd = self.child_command(role);
        self.spawn_child(&mut cmd, generation, None).await;
        self.last_fos_failed = match &self.child {
            Some(c) => c.failed.clone(),
            None => Arc::new(AtomicBool::new(true)),
        };
    }

    /// Wait `pause`, ending early when the plan changes; whether `generation` is still the
    /// one wanted.
    pub(super) async fn pause_while_wanted(
        &mut self,
        pause: std::time::Duration,
        generation: u64,
    ) -> bool {
        let until = tokio::time::Instant::now() + pause;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                r = self.wanted.changed() => {
                    if r.is_err() || *self.wanted.borrow_and_update() != Some(generation) {
                        return false;
                    }
                }
            }
        }
    }

    /// pulse shuts down (not a role change): `fos --stop-hot` runs the `stop_cmd` of this
    /// node's `hot_standby` services, which fos leaves running when it is stopped. Waited
    /// for, at most as long as fos may take to stop; without hot services it runs nothing.
    pub(super) async fn stop_hot_services(&mut self) {
        if !self.system.launches("fos --stop-hot") {
            return;
        }
        let mut cmd = self.child_command("--stop-hot");
        let prog = self.program();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                info!("cannot start {} --stop-hot: {e}", prog.display());
                return;
            }
        };
        let limit = stop_limit(&self.opts, Mode::Fos);
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(Ok(st)) if st.success() => {}
            Ok(Ok(st)) => info!("fos --stop-hot: {st}: a hot service may still run"),
            Ok(Err(e)) => info!("fos --stop-hot could not be waited for: {e}"),
            Err(_) => {
                info!("fos --stop-hot did not end within {limit:?}: killed");
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
    }
}
