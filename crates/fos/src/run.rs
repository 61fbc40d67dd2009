//! fos's modes (spec §5.2): run the services here, or monitor the partner's; and
//! `--stop-hot`, which stops this node's hot services when pulse shuts down.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::signal::unix::Signal as Stream;
use tokio::task::JoinSet;
use tracing::info;

use crate::hot::Markers;
use crate::local::Local;
use crate::opts::{Opts, Role};
use crate::plan::Service;

pub use crate::command::{CommandError, command};

/// `--stop-hot`'s exit status when a `stop_cmd` failed.
pub const STOP_FAILED: i32 = 2;

/// SIGTERM, SIGINT and SIGHUP, each of which ends fos.
struct Stops([Stream; 3]);

impl Stops {
    /// The next of them: its number.
    async fn recv(&mut self) -> i32 {
        let [term, int, hup] = &mut self.0;
        tokio::select! {
            _ = term.recv() => 15,
            _ = int.recv() => 2,
            _ = hup.recv() => 1,
        }
    }
}

fn terminating(sig: i32) {
    info!("Terminating due to signal {sig}");
}

/// Run the mode; returns the exit status (1 when the signal handlers cannot be installed,
/// before anything is stopped or started).
pub async fn run(opts: &Opts, services: &[Service]) -> i32 {
    let markers = Markers::open_or_none(&opts.run_dir);
    let local = Local {
        opts,
        markers: &markers,
    };
    if opts.role == Role::StopHot {
        return if local.stop_hot(services).await {
            0
        } else {
            STOP_FAILED
        };
    }
    let mut stops = match plog::daemon::stop_and_reload_signals() {
        Ok(s) => Stops(s),
        Err(e) => {
            info!("{e}");
            return 1;
        }
    };
    // Piranha: a service must never run on both nodes, so both modes stop the local copies
    // first (all but the hot services, which run on both by design).
    info!("Stopping local services (if any)");
    match opts.role {
        Role::Active => active(local, services, &mut stops).await,
        Role::Monitor if opts.test_start => {
            local.stand_by(services).await;
            info!("test mode: not starting monitors");
            ready();
            stops.recv().await;
        }
        Role::Monitor => {
            // A signal ends the hot services' starts too (pulse may be taking over).
            tokio::select! {
                _ = local.stand_by(services) => monitor(local, services, &mut stops).await,
                sig = stops.recv() => terminating(sig),
            }
        }
        Role::StopHot => {}
    }
    info!("will now exit to notify pulse...");
    0
}

/// `--active`: start the services and wait for a signal, then stop those that are not hot.
async fn active(local: Local<'_>, services: &[Service], stops: &mut Stops) {
    let start = async {
        for s in local.activate(services).await {
            info!(
                "SERVICE {} DID NOT START after {} attempts: it is down on this node. \
                 fos stays active rather than moving every service away; see fos(8)",
                s.label(),
                local.opts.start_attempts
            );
        }
        ready();
        std::future::pending::<()>().await;
    };
    // A signal ends the starts too (pulse may be moving the services away meanwhile);
    // then every stop_cmd runs, but hot copies stay for when this node is the standby.
    tokio::select! {
        _ = start => {}
        sig = stops.recv() => terminating(sig),
    }
    local.stop_cold(services).await;
}

fn ready() {
    if let Err(e) = plog::notify::notify("READY=1") {
        info!("cannot notify readiness: {e}");
    }
}

/// Which monitor a nanny is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// The partner's copy of service `i`, at the VIP: its exit is a failover condition.
    Partner(usize),
    /// This node's standby copy of hot service `i`: its exit restarts the copy.
    Local(usize),
}

/// How a monitor ended: its exit status (`None`: it could not be started or waited for),
/// and how long it ran.
type Ended = (Watch, Option<ExitStatus>, Duration);

/// What fos does when a monitor ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// The partner's service failed: exit, for pulse to take over.
    Failover,
    /// This node's standby copy failed its check: start the copy again, then its monitor.
    RestartCopy,
    /// The monitor was killed by a signal (kill -9, the OOM killer, a crash): it said nothing
    /// about the service it watched, which a nanny says by exiting. Start it again.
    Again,
}

fn then(w: Watch, status: Option<ExitStatus>) -> Then {
    match (w, status.and_then(|s| s.signal())) {
        (_, Some(_)) => Then::Again,
        (Watch::Partner(_), None) => Then::Failover,
        (Watch::Local(_), None) => Then::RestartCopy,
    }
}

/// A monitor started again sooner than this after its start waits for the rest of it first,
/// so that one killed over and over is not restarted in a tight loop.
const RESPAWN_SPACING: Duration = Duration::from_secs(1);

/// The running monitors.
struct Monitors {
    set: JoinSet<Ended>,
    pids: Vec<(Watch, u32)>,
}

impl Monitors {
    fn spawn(&mut self, argv: &[String], w: Watch, label: &str) {
        let Some((prog, args)) = argv.split_first() else {
            return;
        };
        let mut cmd = tokio::process::Command::new(prog);
        cmd.args(args)
            .stdin(Stdio::null())
            .env_remove("NOTIFY_SOCKET")
            .kill_on_drop(false);
        plog::notify::die_with_parent(cmd.as_std_mut());
        let what = match w {
            Watch::Partner(_) => "create_monitor",
            Watch::Local(_) => "create_monitor of the local standby copy",
        };
        match cmd.spawn() {
            Ok(mut child) => {
                let pid = child.id().unwrap_or(0);
                info!("{what} for {label} running as pid {pid}");
                self.pids.push((w, pid));
                let t0 = Instant::now();
                self.set.spawn(async move {
                    let st = child.wait().await.ok();
                    (w, st, t0.elapsed())
                });
            }
            Err(e) => {
                // A monitor that cannot run is a failed monitor: let pulse decide.
                info!("cannot start monitor {prog} for {label}: {e}");
                self.set
                    .spawn(std::future::ready((w, None, Duration::ZERO)));
            }
        }
    }

    fn signal_all(&self, sig: Signal) {
        for (_, p) in self.pids.iter().filter(|(_, p)| *p > 0) {
            let _ = nix::sys::signal::kill(Pid::from_raw(*p as i32), sig);
        }
    }

    /// Stop every monitor still running: SIGTERM, then SIGKILL after 5 s.
    async fn stop(mut self) {
        self.signal_all(Signal::SIGTERM);
        let stopped = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok((w, _, _))) = self.set.join_next().await {
                self.pids.retain(|(x, _)| *x != w);
            }
        })
        .await;
        if stopped.is_err() {
            self.signal_all(Signal::SIGKILL);
            while self.set.join_next().await.is_some() {}
        }
    }
}

/// `--monitor`: one nanny per service against the VIP, and one per hot service against
/// this node's copy. fos exits when a partner monitor exits; a local one that exits has its
/// copy restarted and is started again; one killed by a signal is started again ([`then`]).
async fn monitor(local: Local<'_>, services: &[Service], stops: &mut Stops) {
    let mut m = Monitors {
        set: JoinSet::new(),
        pids: Vec::new(),
    };
    for (i, s) in services.iter().enumerate() {
        m.spawn(&s.monitor, Watch::Partner(i), &s.label());
        if let Some(l) = &s.local_monitor {
            m.spawn(l, Watch::Local(i), &s.label());
        }
    }
    ready();
    loop {
        tokio::select! {
            Some(Ok((w, status, ran))) = m.set.join_next() => {
                // That one is reaped: its pid may belong to someone else now.
                m.pids.retain(|(x, _)| *x != w);
                let (Watch::Partner(i) | Watch::Local(i)) = w;
                let Some(s) = services.get(i) else { break };
                let argv = match w {
                    Watch::Partner(_) => Some(&s.monitor),
                    Watch::Local(_) => s.local_monitor.as_ref(),
                };
                match then(w, status) {
                    Then::Failover => {
                        info!("Monitor for service {} exited. This is a failover condition!", s.label());
                        break;
                    }
                    Then::RestartCopy => {
                        info!("The local standby copy of {} failed its check: starting it again", s.label());
                        tokio::select! {
                            _ = local.restart(s) => {}
                            sig = stops.recv() => {
                                terminating(sig);
                                break;
                            }
                        }
                    }
                    Then::Again => {
                        info!(
                            "Monitor for service {} was killed by signal {}: not a failover condition; starting it again",
                            s.label(),
                            status.and_then(|st| st.signal()).unwrap_or(0)
                        );
                        tokio::select! {
                            _ = tokio::time::sleep(RESPAWN_SPACING.saturating_sub(ran)) => {}
                            sig = stops.recv() => {
                                terminating(sig);
                                break;
                            }
                        }
                    }
                }
                if let Some(argv) = argv {
                    m.spawn(argv, w, &s.label());
                }
            }
            sig = stops.recv() => {
                terminating(sig);
                break;
            }
        }
    }
    m.stop().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status as `waitpid` reports it: exited with `code`, or killed by signal `sig`.
    fn exited(code: i32) -> Option<ExitStatus> {
        Some(ExitStatus::from_raw(code << 8))
    }

    fn killed(sig: i32) -> Option<ExitStatus> {
        Some(ExitStatus::from_raw(sig))
    }

    #[test]
    fn only_a_monitors_verdict_is_a_failover_condition() {
        let (p, l) = (Watch::Partner(0), Watch::Local(0));
        // nanny --fos exits 0 when the partner's service failed, 1 when it never found it.
        assert_eq!(then(p, exited(0)), Then::Failover);
        assert_eq!(then(p, exited(1)), Then::Failover);
        // A monitor that could not be started is a failed monitor: pulse decides.
        assert_eq!(then(p, None), Then::Failover);
        // Killed by a signal it said nothing about the partner (the backup took over when its
        // own nanny was killed -9, and the master gave the service up).
        assert_eq!(then(p, killed(9)), Then::Again);
        assert_eq!(then(p, killed(11)), Then::Again);
        // The standby's own copy: a check that failed restarts the copy, a killed monitor
        // is only started again.
        assert_eq!(then(l, exited(0)), Then::RestartCopy);
        assert_eq!(then(l, killed(9)), Then::Again);
    }
}
