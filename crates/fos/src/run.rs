//! fos's two modes (spec §5.2): run the services here, or monitor the partner's.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::task::JoinSet;
use tracing::info;

use crate::opts::{Opts, Role};
use crate::plan::Service;

/// How a `start_cmd` or `stop_cmd` failed; the text follows `returned error ` in the log.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot run {prog}: {source}")]
    Spawn {
        prog: String,
        #[source]
        source: std::io::Error,
    },
    #[error("exit status {0}")]
    Status(i32),
    /// Killed by a signal.
    #[error("{0}")]
    Signal(std::process::ExitStatus),
    #[error("{0}")]
    Wait(#[source] std::io::Error),
    #[error("still running after {0:?}: killed")]
    Timeout(Duration),
}

/// Run `argv` without a shell, wait for it at most `timeout`, and say how it ended. The
/// command gets a process group of its own, killed if it runs too long; a daemon it starts
/// and leaves running is not touched after it exits.
pub async fn command(argv: &[String], timeout: Duration) -> Result<(), CommandError> {
    let Some((prog, args)) = argv.split_first() else {
        return Ok(());
    };
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("NOTIFY_SOCKET")
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| CommandError::Spawn {
        prog: prog.clone(),
        source,
    })?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) if st.success() => Ok(()),
        Ok(Ok(st)) => Err(match st.code() {
            Some(c) => CommandError::Status(c),
            None => CommandError::Signal(st),
        }),
        Ok(Err(e)) => Err(CommandError::Wait(e)),
        Err(_) => {
            if let Some(p) = pid {
                let _ = killpg(Pid::from_raw(p), Signal::SIGKILL);
            }
            let _ = child.wait().await;
            Err(CommandError::Timeout(timeout))
        }
    }
}

async fn stop_all(services: &[Service], opts: &Opts) {
    for s in services {
        if let Some(stop) = &s.stop {
            info!("Shutting down local service {}", s.label());
            if opts.test_start {
                continue;
            }
            if let Err(e) = command(stop, opts.command_timeout).await {
                info!(
                    "Warning; shutdown of local service {} returned error {e}",
                    s.label()
                );
            }
        }
    }
}

/// Start one service, trying again after a failure; false if it never started.
async fn start_one(s: &Service, opts: &Opts) -> bool {
    let Some(start) = &s.start else { return true };
    info!("Starting local service {} ...", s.label());
    if opts.test_start {
        return true;
    }
    for attempt in 1..=opts.start_attempts {
        match command(start, opts.command_timeout).await {
            Ok(()) => return true,
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

/// Run the mode; returns the exit status (1 when the signal handlers cannot be installed,
/// before anything is stopped or started).
pub async fn run(opts: &Opts, services: &[Service]) -> i32 {
    let [mut term, mut int, mut hup] = match plog::daemon::stop_and_reload_signals() {
        Ok(s) => s,
        Err(e) => {
            info!("{e}");
            return 1;
        }
    };
    // Piranha: a service must never run on both nodes, so both modes stop the local copies
    // first.
    info!("Stopping local services (if any)");
    stop_all(services, opts).await;
    match opts.role {
        Role::Active => {
            let start = async {
                for s in services {
                    if !start_one(s, opts).await {
                        info!(
                            "SERVICE {} DID NOT START after {} attempts: it is down on this node. \
                             fos stays active rather than moving every service away; see fos(8)",
                            s.label(),
                            opts.start_attempts
                        );
                    }
                }
                ready();
                std::future::pending::<()>().await;
            };
            // A signal ends the starts too (pulse may be moving the services away meanwhile);
            // then every stop_cmd runs.
            tokio::select! {
                _ = start => {}
                _ = term.recv() => info!("Terminating due to signal 15"),
                _ = int.recv() => info!("Terminating due to signal 2"),
                _ = hup.recv() => info!("Terminating due to signal 1"),
            }
            stop_all(services, opts).await;
        }
        Role::Monitor => {
            if opts.test_start {
                info!("test mode: not starting monitors");
                ready();
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                    _ = hup.recv() => {}
                }
            } else {
                monitor(services, &mut term, &mut int, &mut hup).await;
            }
        }
    }
    info!("will now exit to notify pulse...");
    0
}

fn ready() {
    if let Err(e) = plog::notify::notify("READY=1") {
        info!("cannot notify readiness: {e}");
    }
}

async fn monitor(
    services: &[Service],
    term: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
    hup: &mut tokio::signal::unix::Signal,
) {
    let mut set = JoinSet::new();
    let mut pids: Vec<(String, u32)> = Vec::new();
    for s in services {
        let Some((prog, args)) = s.monitor.split_first() else {
            continue;
        };
        let mut cmd = tokio::process::Command::new(prog);
        cmd.args(args)
            .stdin(Stdio::null())
            .env_remove("NOTIFY_SOCKET")
            .kill_on_drop(false);
        plog::notify::die_with_parent(cmd.as_std_mut());
        match cmd.spawn() {
            Ok(mut child) => {
                let pid = child.id().unwrap_or(0);
                info!("create_monitor for {} running as pid {pid}", s.label());
                pids.push((s.label(), pid));
                let label = s.label();
                set.spawn(async move {
                    let st = child.wait().await;
                    (label, st)
                });
            }
            Err(e) => {
                // A monitor that cannot run is a failed monitor: let pulse decide.
                info!("cannot start monitor {prog} for {}: {e}", s.label());
                set.spawn(std::future::ready((s.label(), Err(e))));
            }
        }
    }
    ready();
    tokio::select! {
        Some(Ok((label, _))) = set.join_next() => {
            info!("Monitor for service {label} exited. This is a failover condition!");
            // That one is reaped: its pid may belong to someone else now.
            pids.retain(|(l, _)| *l != label);
        }
        _ = term.recv() => info!("Terminating due to signal 15"),
        _ = int.recv() => info!("Terminating due to signal 2"),
        _ = hup.recv() => info!("Terminating due to signal 1"),
    }
    let signal_all = |sig: Signal, pids: &[(String, u32)]| {
        for (_, p) in pids.iter().filter(|(_, p)| *p > 0) {
            let _ = nix::sys::signal::kill(Pid::from_raw(*p as i32), sig);
        }
    };
    signal_all(Signal::SIGTERM, &pids);
    let stopped = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok((label, _))) = set.join_next().await {
            pids.retain(|(l, _)| *l != label);
        }
    })
    .await;
    if stopped.is_err() {
        signal_all(Signal::SIGKILL, &pids);
        while set.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        lvscf::split_words(s)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn commands_are_waited_for_and_judged() {
        let t = Duration::from_secs(5);
        command(&argv("/bin/true"), t).await.unwrap();
        assert_eq!(
            command(&argv("/bin/sh -c 'exit 3'"), t)
                .await
                .unwrap_err()
                .to_string(),
            "exit status 3"
        );
        assert!(
            command(&argv("/no/such/program"), t)
                .await
                .unwrap_err()
                .to_string()
                .starts_with("cannot run /no/such/program")
        );
        let t0 = std::time::Instant::now();
        let e = command(&argv("/bin/sh -c 'sleep 30'"), Duration::from_millis(200))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("still running after"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(5));
        // A daemon started in the background outlives the command that started it.
        let dir = std::env::temp_dir().join(format!("fos-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidf = dir.join("pid");
        let script = format!("sleep 30 & echo $! > {}", pidf.display());
        command(&["/bin/sh".into(), "-c".into(), script], t)
            .await
            .unwrap();
        let pid: i32 = std::fs::read_to_string(&pidf)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok(),
            "the daemon died"
        );
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = std::fs::remove_dir_all(dir);
    }
}
