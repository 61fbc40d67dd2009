//! The supervised program (lvsd, or fos in either role): started with pulse's conventions,
//! waited for until ready (lvsd, over a readiness socket), watched by a task of its own,
//! stopped with SIGTERM and, past a limit, SIGKILL.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::oneshot;
use tracing::{debug, info};

use super::{Executor, stop_limit};
use crate::daemon::{Event, lock};
use crate::status::ChildStatus;
use crate::wire::Mode;

/// The supervised program, watched by its own task.
#[derive(Debug)]
pub(super) struct Child {
    pid: u32,
    stop: oneshot::Sender<oneshot::Sender<()>>,
    /// Cleared by the watcher when the child exits, so no signal goes to a reused pid.
    alive: Arc<AtomicBool>,
    /// Set by the watcher when the child exits on its own with a failure status.
    pub(super) failed: Arc<AtomicBool>,
}

impl Child {
    /// The pid, while the child runs.
    pub(super) fn running_pid(&self) -> Option<u32> {
        (self.pid > 0 && self.alive.load(Ordering::SeqCst)).then_some(self.pid)
    }
}

fn exit_text(st: std::io::Result<std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match st {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(sig)) => format!("terminated with signal {sig}"),
            _ => "exited".into(),
        },
        Err(e) => format!("could not be waited for: {e}"),
    }
}

/// The readiness socket lvsd reports to: `READY=1` once, then `WATCHDOG=1` keep-alives when
/// pulse watches it. Its file (and private directory) go when it is dropped.
#[derive(Debug)]
pub(super) struct Ready {
    sock: tokio::net::UnixDatagram,
    path: PathBuf,
    dir: Option<PathBuf>,
}

impl Drop for Ready {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Read what a ready lvsd sends on `ready`: `STATUS=table complete` is noted in the status
/// report; with a `limit`, returns when a keep-alive is that late (never when the socket
/// fails: the child is then watched by its exit only).
async fn hear_child(
    ready: Option<Ready>,
    limit: Option<std::time::Duration>,
    shared: Arc<std::sync::Mutex<crate::daemon::Shared>>,
) {
    let Some(r) = ready else {
        return std::future::pending().await;
    };
    let mut buf = [0u8; 512];
    loop {
        let got = match limit {
            Some(l) => match tokio::time::timeout(l, r.sock.recv(&mut buf)).await {
                Ok(got) => got,
                Err(_) => return,
            },
            None => r.sock.recv(&mut buf).await,
        };
        match got {
            Ok(n)
                if String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .any(|l| l == "STATUS=table complete") =>
            {
                if let Some(c) = lock(&shared).status.child.as_mut()
                    && !c.table_complete
                {
                    c.table_complete = true;
                    info!(
                        "{} (pid {}): every real server checked, the table is complete",
                        c.program, c.pid
                    );
                }
            }
            Ok(_) => {}
            Err(_) => return std::future::pending().await,
        }
    }
}

fn ready_socket(path: &std::path::Path) -> std::io::Result<tokio::net::UnixDatagram> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    let s = std::os::unix::net::UnixDatagram::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    s.set_nonblocking(true)?;
    tokio::net::UnixDatagram::from_std(s)
}

/// A readiness socket in a new directory of mode 0700 under the temporary directory, for
/// when the status socket's directory cannot hold one: the directory, the socket's path and
/// the socket.
fn private_ready_socket(
    generation: u64,
) -> std::io::Result<(PathBuf, PathBuf, tokio::net::UnixDatagram)> {
    use std::os::unix::fs::DirBuilderExt;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
    let dir = std::env::temp_dir().join(format!(
        "pulse-ready-{}-{generation}-{:016x}",
        std::process::id(),
        u64::from_ne_bytes(nonce)
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let path = dir.join("ready");
    match ready_socket(&path) {
        Ok(s) => Ok((dir, path, s)),
        Err(e) => {
            let _ = std::fs::remove_dir(&dir);
            Err(e)
        }
    }
}

impl Executor {
    pub(super) fn program(&self) -> PathBuf {
        match self.settings.mode {
            Mode::Lvs => self.opts.lvsd.clone(),
            Mode::Fos => self.opts.fos.clone(),
        }
    }

    /// The child's command line: `[ROLE] --nofork|--nodaemon -c FILE [-v]`.
    pub(super) fn child_command(&self, role: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(self.program());
        if !role.is_empty() {
            cmd.arg(role);
        }
        cmd.arg(if self.opts.nodaemon {
            "--nodaemon"
        } else {
            "--nofork"
        })
        .arg("-c")
        .arg(&self.opts.config);
        if self.opts.verbose {
            cmd.arg("-v");
        }
        cmd.stdin(Stdio::null()).kill_on_drop(false);
        // The child dies with pulse: an orphaned lvsd would keep serving with nobody watching
        // the partner, and block the next lvsd's status socket; an orphaned fos the same.
        plog::notify::die_with_parent(cmd.as_std_mut());
        cmd.env_remove("NOTIFY_SOCKET");
        cmd
    }

    fn child_failed(&self, generation: u64, pid: u32, how: &str) {
        let _ = self.events.send(Event::ChildExited {
            generation,
            pid,
            how: how.to_owned(),
            failed: true,
        });
    }

    /// Start lvsd and wait until it says it is ready; false if it did not.
    pub(super) async fn start_lvsd(&mut self, generation: u64) -> bool {
        // A socket file only root can use, beside the status socket: an abstract name could
        // be taken, or spoken to, by anyone on the host.
        let path = self
            .opts
            .socket
            .with_file_name(format!(".pulse-ready-{}-{generation}", std::process::id()));
        let ((path, sock), dir) = match ready_socket(&path) {
            Ok(s) => ((path, s), None),
            // The status socket's directory is not writable (a read-only or missing /run):
            // a directory of the temporary directory that only root can enter instead.
            Err(e) => match private_ready_socket(generation) {
                Ok((dir, p, s)) => {
                    info!(
                        "cannot create the readiness socket {}: {e}; using {}",
                        path.display(),
                        p.display()
                    );
                    ((p, s), Some(dir))
                }
                Err(e2) => {
                    info!(
                        "cannot create the readiness socket {}: {e}, nor in {}: {e2}",
                        path.display(),
                        std::env::temp_dir().display()
                    );
                    self.child_failed(generation, 0, "was not started");
                    return false;
                }
            },
        };
        let mut cmd = self.child_command("");
        if let Some(g) = &self.opts.socket_group {
            cmd.arg("--socket-group").arg(g);
        }
        cmd.env("NOTIFY_SOCKET", &path);
        if !self.opts.child_watchdog.is_zero() {
            cmd.env(
                "WATCHDOG_USEC",
                self.opts.child_watchdog.as_micros().to_string(),
            );
        }
        let ready = Ready { sock, path, dir };
        self.spawn_child(&mut cmd, generation, Some(ready)).await
    }

    /// Spawn the child and watch it; with a readiness socket, wait for `READY=1` first.
    pub(super) async fn spawn_child(
        &mut self,
        cmd: &mut tokio::process::Command,
        generation: u64,
        ready: Option<Ready>,
    ) -> bool {
        // One child at a time.
        self.stop_child().await;
        let prog = self.program();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                info!("cannot start {}: {e}", prog.display());
                self.child_failed(generation, 0, "was not started");
                return false;
            }
        };
        let pid = child.id().unwrap_or(0);
        let program = prog
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        lock(&self.shared).status.child = Some(ChildStatus {
            program: program.clone(),
            pid,
            state: "starting".into(),
            table_complete: false,
        });
        let failure = match &ready {
            Some(r) => self.wait_ready(&mut child, &r.sock, &program).await,
            None => None,
        };
        if let Some(how) = failure {
            lock(&self.shared).status.child = None;
            self.child_failed(generation, pid, &how);
            return false;
        }
        debug!("{program} (pid {pid}) is running");
        if let Some(c) = lock(&self.shared).status.child.as_mut() {
            c.state = "ready".into();
        }
        // Keep-alives are watched once the child is ready (lvsd only: fos has no socket).
        self.child = Some(self.watch(child, pid, generation, ready, program));
        true
    }

    /// Wait for `READY=1` on the readiness socket; why the child failed, if it did.
    async fn wait_ready(
        &self,
        child: &mut tokio::process::Child,
        sock: &tokio::net::UnixDatagram,
        program: &str,
    ) -> Option<String> {
        let mut buf = [0u8; 512];
        let deadline = tokio::time::sleep(self.opts.child_timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                r = sock.recv(&mut buf) => match r {
                    Ok(n) if String::from_utf8_lossy(&buf[..n]).lines().any(|l| l == "READY=1") => return None,
                    Ok(_) => continue,
                    Err(e) => return Some(format!("readiness socket failed: {e}")),
                },
                st = child.wait() => return Some(exit_text(st)),
                _ = &mut deadline => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    info!("{program} did not become ready within {:?}: killed", self.opts.child_timeout);
                    return Some("was killed: not ready in time".into());
                }
            }
        }
    }

    /// A task that reports the child's exit, or stops it when asked; with a readiness socket,
    /// kills it when its keep-alives stop for `--child-watchdog` (stopped or stuck).
    fn watch(
        &self,
        mut child: tokio::process::Child,
        pid: u32,
        generation: u64,
        keepalive: Option<Ready>,
        program: String,
    ) -> Child {
        let (stop, stop_rx) = oneshot::channel::<oneshot::Sender<()>>();
        let events = self.events.clone();
        // fos --active runs every stop_cmd on SIGTERM (60 s each by default).
        let limit = stop_limit(&self.opts, self.settings.mode);
        let shared = self.shared.clone();
        let alive = Arc::new(AtomicBool::new(true));
        let failed = Arc::new(AtomicBool::new(false));
        let (flag, fail_flag) = (alive.clone(), failed.clone());
        let quiet = self.opts.child_watchdog;
        let listening = hear_child(
            keepalive,
            (!quiet.is_zero()).then_some(quiet),
            shared.clone(),
        );
        tokio::spawn(async move {
            tokio::select! {
                _ = listening => {
                    info!("{program} (pid {pid}) sent no keep-alive for {quiet:?}: killing it as hung");
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    flag.store(false, Ordering::SeqCst);
                    fail_flag.store(true, Ordering::SeqCst);
                    let how = "was killed: no keep-alive (hung or stopped)".to_owned();
                    let _ = events.send(Event::ChildExited { generation, pid, how, failed: true });
                }
                st = child.wait() => {
                    flag.store(false, Ordering::SeqCst);
                    let failed = !st.as_ref().is_ok_and(|s| s.success());
                    fail_flag.store(failed, Ordering::SeqCst);
                    let _ = events.send(Event::ChildExited { generation, pid, how: exit_text(st), failed });
                }
                Ok(done) = stop_rx => {
                    if let Some(c) = lock(&shared).status.child.as_mut() {
                        c.state = "stopping".into();
                    }
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                    // piranha waited without a limit ("XXX need a timeout here").
                    if tokio::time::timeout(limit, child.wait()).await.is_err() {
                        info!("pid {pid} did not stop within {limit:?}: killed");
                        let _ = child.start_kill();
                        let _ = child.wait().await;
                    }
                    let _ = done.send(());
                }
            }
        });
        Child {
            pid,
            stop,
            alive,
            failed,
        }
    }

    /// Stop the child, if any, and wait until it is gone.
    pub(super) async fn stop_child(&mut self) {
        if let Some(c) = self.child.take() {
            let (done, wait) = oneshot::channel();
            if c.stop.send(done).is_ok() {
                let _ = wait.await;
            }
            lock(&self.shared).status.child = None;
        }
    }
}
