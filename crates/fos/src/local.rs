//! The services on this node: which `stop_cmd`s and `start_cmd`s each role runs.
//!
//! A service with `hot_standby = 0` runs on the active node only (piranha): both roles stop
//! it first, `--active` starts it and stops it again on a signal. A hot service runs on both
//! nodes: either role starts it unless fos already did ([`Markers`]), and a role change
//! leaves it running; only `--stop-hot` (pulse shutting down) and a failed check of the
//! standby copy stop it.

use tracing::info;

use crate::command::command;
use crate::hot::Markers;
use crate::opts::Opts;
use crate::plan::Service;

/// The local side of fos: options and the hot services' markers.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    pub opts: &'a Opts,
    pub markers: &'a Markers,
}

impl Local<'_> {
    /// A hot copy that fos started and did not stop.
    fn hot_running(&self, s: &Service) -> bool {
        s.hot && self.markers.running(s)
    }

    /// Run the service's `stop_cmd` (if any) and forget its copy; false if it failed.
    pub async fn stop(&self, s: &Service) -> bool {
        let Some(stop) = &s.stop else {
            self.markers.unmark(s);
            return true;
        };
        info!("Shutting down local service {}", s.label());
        if self.opts.test_start {
            return true;
        }
        let r = command(stop, self.opts.command_timeout).await;
        // Stopped or not, the copy fos started is no longer known to run: the next start
        // runs stop_cmd and start_cmd again.
        self.markers.unmark(s);
        if let Err(e) = &r {
            info!(
                "Warning; shutdown of local service {} returned error {e}",
                s.label()
            );
        }
        r.is_ok()
    }

    /// Start the service, trying again after a failure; false if it never started. A hot
    /// copy that started is remembered.
    pub async fn start(&self, s: &Service) -> bool {
        let Some(start) = &s.start else { return true };
        info!("Starting local service {} ...", s.label());
        if self.opts.test_start {
            return true;
        }
        let opts = self.opts;
        for attempt in 1..=opts.start_attempts {
            match command(start, opts.command_timeout).await {
                Ok(()) => {
                    if s.hot {
                        self.markers.mark(s);
                    }
                    return true;
                }
                Err(e) => {
                    info!("Failed to start service {}! ({e})", s.label());
                    if attempt < opts.start_attempts {
                        info!(
                            "trying again in {:?} ({} of {} attempts made)",
                            opts.retry_delay, attempt, opts.start_attempts
                        );
                        tokio::time::sleep(opts.retry_delay).await;
                    }
                }
            }
        }
        false
    }

    /// `--active`: every `stop_cmd`, then every `start_cmd`, in file order, except for hot
    /// copies already running here. Returns the services that did not start.
    pub async fn activate<'s>(&self, services: &'s [Service]) -> Vec<&'s Service> {
        let todo: Vec<&Service> = services.iter().filter(|s| !self.hot_running(s)).collect();
        for s in services.iter().filter(|s| self.hot_running(s)) {
            info!(
                "Local service {} already runs (hot standby): not started again",
                s.label()
            );
        }
        for s in &todo {
            self.stop(s).await;
        }
        let mut failed = Vec::new();
        for s in todo {
            if !self.start(s).await {
                failed.push(s);
            }
        }
        failed
    }

    /// `--monitor`: stop every service that is not hot (it must not run on both nodes), and
    /// start the hot copies that are not running here yet.
    pub async fn stand_by(&self, services: &[Service]) {
        self.stop_cold(services).await;
        for s in services.iter().filter(|s| s.hot && !self.hot_running(s)) {
            self.restart(s).await;
        }
    }

    /// A role change: every service that is not hot stops; hot copies stay.
    pub async fn stop_cold(&self, services: &[Service]) {
        for s in services.iter().filter(|s| !s.hot) {
            self.stop(s).await;
        }
    }

    /// `stop_cmd`, then `start_cmd`; false if it did not start.
    pub async fn restart(&self, s: &Service) -> bool {
        self.stop(s).await;
        self.start(s).await
    }

    /// `--stop-hot`: stop every hot service, and every service fos still remembers as a
    /// hot copy (its block was changed to `hot_standby = 0` since). False if a `stop_cmd`
    /// failed.
    pub async fn stop_hot(&self, services: &[Service]) -> bool {
        let mut ok = true;
        for s in services.iter().filter(|s| s.hot || self.markers.marked(s)) {
            ok &= self.stop(s).await;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::hot::tests::service;

    fn opts(dir: &Path) -> Opts {
        let mut o = match crate::opts::parse(["fos", "-F", "--retry-delay", "0.01"]).unwrap() {
            cliargs::Mode::Run(o) => o,
            other => panic!("{other:?}"),
        };
        o.run_dir = dir.join("run");
        o.command_timeout = Duration::from_secs(10);
        o
    }

    /// A service whose commands append `start PORT` / `stop PORT` to the journal.
    fn logged(journal: &Path, port: u16, hot: bool, start_ok: bool) -> Service {
        let j = journal.display();
        let start = format!("echo start {port} >> {j}; exit {}", u8::from(!start_ok));
        let stop = format!("echo stop {port} >> {j}");
        service(
            port,
            hot,
            &["/bin/sh", "-c", &start],
            &["/bin/sh", "-c", &stop],
        )
    }

    fn journal(p: &Path) -> Vec<String> {
        let t = std::fs::read_to_string(p).unwrap_or_default();
        let lines = t.lines().map(str::to_owned).collect();
        let _ = std::fs::remove_file(p);
        lines
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hot_copies_start_once_and_survive_role_changes() {
        let dir = testkit::tempdir::TempDir::new("fos-local");
        let o = opts(&dir);
        let m = Markers::open(&o.run_dir).unwrap();
        let l = Local {
            opts: &o,
            markers: &m,
        };
        let j = dir.join("journal");
        let svcs = [logged(&j, 1, false, true), logged(&j, 2, true, true)];
        // Monitor: the cold one stops, the hot one is started (stop first).
        l.stand_by(&svcs).await;
        assert_eq!(journal(&j), ["stop 1", "stop 2", "start 2"]);
        // Again (pulse restarted fos): the hot copy is left alone.
        l.stand_by(&svcs).await;
        assert_eq!(journal(&j), ["stop 1"]);
        // Taking over: only the cold service stops and starts.
        assert!(l.activate(&svcs).await.is_empty());
        assert_eq!(journal(&j), ["stop 1", "start 1"]);
        // Giving up: the cold one stops, the hot copy stays.
        l.stop_cold(&svcs).await;
        assert_eq!(journal(&j), ["stop 1"]);
        assert!(m.running(&svcs[1]));
        // pulse shuts down: the hot copy stops and is forgotten.
        assert!(l.stop_hot(&svcs).await);
        assert_eq!(journal(&j), ["stop 2"]);
        assert!(!m.marked(&svcs[1]));
        // A hot service's stop_cmd runs whether fos remembers a copy or not (the copy may
        // come from a fos that could not write its marker); cold services are not touched.
        assert!(l.stop_hot(&svcs).await);
        assert_eq!(journal(&j), ["stop 2"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_hot_copy_that_never_started_is_not_remembered() {
        let dir = testkit::tempdir::TempDir::new("fos-local");
        let o = opts(&dir);
        let m = Markers::open(&o.run_dir).unwrap();
        let l = Local {
            opts: &o,
            markers: &m,
        };
        let j = dir.join("journal");
        let bad = logged(&j, 3, true, false);
        let failed = l.activate(std::slice::from_ref(&bad)).await;
        assert_eq!(failed.len(), 1);
        assert_eq!(journal(&j), ["stop 3", "start 3", "start 3", "start 3"]);
        assert!(!m.marked(&bad));
        // A changed start_cmd is another copy: stopped and started.
        let good = logged(&j, 3, true, true);
        l.activate(std::slice::from_ref(&good)).await;
        assert_eq!(journal(&j), ["stop 3", "start 3"]);
        let mut changed = good.clone();
        changed.start = Some(vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("echo new >> {}", j.display()),
        ]);
        l.activate(std::slice::from_ref(&changed)).await;
        assert_eq!(journal(&j), ["stop 3", "new"]);
        // hot_standby turned off since: --stop-hot still stops the copy fos remembers.
        let mut cold = changed.clone();
        cold.hot = false;
        assert!(l.stop_hot(std::slice::from_ref(&cold)).await);
        assert_eq!(journal(&j), ["stop 3"]);
        // A failing stop_cmd is reported, and the copy forgotten all the same.
        let mut stuck = logged(&j, 4, true, true);
        l.start(&stuck).await;
        stuck.stop = Some(vec!["/bin/false".into()]);
        assert!(!l.stop_hot(std::slice::from_ref(&stuck)).await);
        assert!(!m.marked(&stuck));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn default_services_keep_piranhas_order() {
        let dir = testkit::tempdir::TempDir::new("fos-local");
        let o = opts(&dir);
        let m = Markers::open(&o.run_dir).unwrap();
        let l = Local {
            opts: &o,
            markers: &m,
        };
        let j = dir.join("journal");
        let svcs = [logged(&j, 1, false, true), logged(&j, 2, false, true)];
        l.activate(&svcs).await;
        assert_eq!(journal(&j), ["stop 1", "stop 2", "start 1", "start 2"]);
        l.activate(&svcs).await;
        assert_eq!(journal(&j), ["stop 1", "stop 2", "start 1", "start 2"]);
        l.stand_by(&svcs).await;
        assert_eq!(journal(&j), ["stop 1", "stop 2"]);
        assert!(l.stop_hot(&svcs).await);
        assert_eq!(journal(&j), Vec::<String>::new());
    }
}
