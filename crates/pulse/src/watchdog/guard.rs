//! pulse's side of the watchdog: start it (the pulse binary again, through `/proc/self/exe`,
//! so an upgraded binary on disk does not matter), keep it told, start another when it dies,
//! and say goodbye when pulse stops in order. Each new report also goes to the
//! [file](mod@super::file) that `pulse --clean-up` reads.
//!
//! The pipe's write end is non-blocking and close-on-exec (lvsd and commands never hold it,
//! or pulse's death would not close it). Reports are written whole lines at a time; when the
//! pipe is full (a watchdog that does not read: stopped, say), what is left waits for the
//! next report, which replaces every report not yet begun, so pulse never blocks on it.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tracing::info;

use super::{ARG, Datagram, Held, Message, NAME, Report};
use crate::daemon::{Shared, lock};
use crate::settings::Vip;

/// How long pulse waits before starting another watchdog after one died.
const RESTART_PAUSE: Duration = Duration::from_secs(1);
/// The pause doubles while watchdogs cannot start or die young, up to this.
const RESTART_PAUSE_MAX: Duration = Duration::from_secs(60);
/// A watchdog that ran this long resets the pause.
const LIVED: Duration = Duration::from_secs(30);

/// The handle pulse's main loop and executor share. A default one is not attached to any
/// watchdog: it keeps the report and writes nothing.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The pipe's write end, while a watchdog runs.
    pipe: Option<std::fs::File>,
    report: Report,
    /// Bytes not written yet (the pipe was full).
    out: Vec<u8>,
    /// The first line of `out` has been written in part.
    begun: bool,
    /// pulse stops in order: no watchdog is started again.
    stopping: bool,
    /// The copy on disk for `pulse --clean-up`, if any.
    file: Option<PathBuf>,
}

impl Inner {
    /// Queue the report (replacing those not begun) and write what the pipe takes.
    fn send(&mut self, m: &Message) {
        if self.pipe.is_none() {
            return;
        }
        let keep = if self.begun {
            self.out
                .iter()
                .position(|b| *b == b'\n')
                .map_or(self.out.len(), |i| i + 1)
        } else {
            0
        };
        self.out.truncate(keep);
        self.out.extend(m.line());
        self.flush();
    }

    fn flush(&mut self) {
        let Some(p) = &mut self.pipe else { return };
        while !self.out.is_empty() {
            match p.write(&self.out) {
                Ok(0) => return,
                Ok(n) => {
                    self.begun = self.out[n - 1] != b'\n';
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // Full (WouldBlock), or the watchdog is gone (EPIPE): its end is seen to.
                Err(_) => return,
            }
        }
    }

    fn report(&mut self) {
        let m = Message::Report(self.report.clone());
        self.send(&m);
    }

    /// The report changed: to the watchdog and to the file.
    fn changed(&mut self) {
        self.report();
        if let Some(f) = &self.file
            && let Err(e) = super::file::write(f, &self.report)
        {
            info!("cannot write {}: {e}", f.display());
        }
    }
}

fn held(vips: &[Vip]) -> Vec<Held> {
    vips.iter()
        .map(|v| Held {
            device: v.device.clone(),
            ip: v.ip,
        })
        .collect()
}

impl Guard {
    /// Start the watchdog and its supervision (inside the runtime). `foreground`: pulse
    /// logs on stdout (`-n`), and so does the watchdog.
    /// `file`: where to keep the copy for `pulse --clean-up`.
    pub fn start(foreground: bool, shared: Arc<Mutex<Shared>>, file: PathBuf) -> Guard {
        let g = Guard::default();
        {
            let mut i = g.lock();
            i.report.pid = std::process::id();
            i.file = Some(file.clone());
            i.changed();
        }
        tokio::spawn(g.clone().supervise(foreground, shared, file));
        g
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The addresses to take down if pulse dies now.
    pub fn set_vips(&self, vips: &[Vip]) {
        let vips = held(vips);
        let mut i = self.lock();
        if i.report.vips != vips {
            i.report.vips = vips;
            i.changed();
        } else {
            i.flush();
        }
    }

    /// The last STOPPED heartbeats to send if pulse dies now.
    pub fn set_last(&self, last: Vec<Datagram>) {
        let mut i = self.lock();
        if i.report.last != last {
            i.report.last = last;
            i.changed();
        } else {
            i.flush();
        }
    }

    /// The supervised program's pid, while it runs.
    pub fn set_child(&self, pid: Option<u32>) {
        let mut i = self.lock();
        if i.report.child != pid {
            i.report.child = pid;
            i.changed();
        }
    }

    /// What the watchdog would undo now.
    pub fn report(&self) -> Report {
        self.lock().report.clone()
    }

    /// pulse stops in order and has cleaned up: the watchdog exits without acting.
    pub fn stop(&self) {
        let mut i = self.lock();
        i.stopping = true;
        i.send(&Message::Exit);
        i.pipe = None;
        if let Some(f) = &i.file {
            super::file::remove(f);
        }
    }

    async fn supervise(self, foreground: bool, shared: Arc<Mutex<Shared>>, file: PathBuf) {
        let mut pause = RESTART_PAUSE;
        loop {
            if self.lock().stopping {
                return;
            }
            let started = std::time::Instant::now();
            match spawn(foreground, &file) {
                Ok((child, pipe)) => {
                    if self.watch(child, pipe, &shared).await {
                        return;
                    }
                }
                Err(e) => info!("cannot start {NAME}: {e}"),
            }
            if started.elapsed() >= LIVED {
                pause = RESTART_PAUSE;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RESTART_PAUSE_MAX);
        }
    }

    /// Attach a started watchdog and wait for its end; whether pulse is stopping.
    async fn watch(
        &self,
        mut child: tokio::process::Child,
        pipe: std::fs::File,
        shared: &Mutex<Shared>,
    ) -> bool {
        let pid = child.id().unwrap_or(0);
        {
            let mut i = self.lock();
            i.pipe = Some(pipe);
            i.out.clear();
            i.begun = false;
            i.report();
        }
        lock(shared).status.watchdog_pid = Some(pid);
        let how = child.wait().await;
        lock(shared).status.watchdog_pid = None;
        let mut i = self.lock();
        i.pipe = None;
        if i.stopping {
            return true;
        }
        drop(i);
        info!("{NAME} {pid} {}: starting another", exit_text(how));
        false
    }
}

fn exit_text(st: std::io::Result<std::process::ExitStatus>) -> String {
    match st {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(sig)) => format!("was killed by signal {sig}"),
            _ => "ended".into(),
        },
        Err(e) => format!("cannot be waited for ({e})"),
    }
}

/// Start the pulse binary as a watchdog, its standard input the read end of a new pipe;
/// the write end, non-blocking.
fn spawn(
    foreground: bool,
    file: &std::path::Path,
) -> std::io::Result<(tokio::process::Child, std::fs::File)> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    fcntl(&w, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    let mut cmd = tokio::process::Command::new("/proc/self/exe");
    cmd.arg0(NAME).arg(ARG);
    if foreground {
        cmd.arg("-n");
    }
    // Absolute: the watchdog tells it from the other arguments by its leading slash.
    if let Ok(abs) = std::path::absolute(file) {
        cmd.arg(abs);
    }
    cmd.stdin(Stdio::from(r))
        .env_remove("NOTIFY_SOCKET")
        .kill_on_drop(false);
    let child = cmd.spawn()?;
    Ok((child, std::fs::File::from(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vip(ip: &str) -> Vip {
        Vip {
            device: "eth0:1".into(),
            ip: ip.parse().unwrap(),
            prefix: 32,
        }
    }

    /// A guard attached to a pipe whose read end the test holds (both ends non-blocking).
    fn attached() -> (Guard, std::fs::File) {
        use nix::fcntl::OFlag;
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).unwrap();
        let g = Guard::default();
        g.lock().pipe = Some(std::fs::File::from(w));
        (g, std::fs::File::from(r))
    }

    fn drain(r: &mut std::fs::File) -> Vec<u8> {
        use std::io::Read;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf
    }

    fn parse(buf: &[u8]) -> Vec<Message> {
        assert_eq!(buf.last(), Some(&b'\n'));
        buf.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    fn lines(r: &mut std::fs::File) -> Vec<Message> {
        parse(&drain(r))
    }

    #[test]
    fn only_changes_are_written() {
        let (g, mut r) = attached();
        g.set_vips(&[vip("10.0.0.50")]);
        g.set_vips(&[vip("10.0.0.50")]);
        g.set_last(Vec::new());
        g.set_vips(&[]);
        let got = lines(&mut r);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(&got[1], Message::Report(r) if r.vips.is_empty()));
        g.stop();
        assert_eq!(lines(&mut r), [Message::Exit]);
    }

    #[test]
    fn a_full_pipe_never_blocks_and_whole_lines_arrive() {
        let (g, mut r) = attached();
        // Enough reports to fill the pipe many times over; nobody reads.
        let many: Vec<Vip> = (0..200).map(|i| vip(&format!("10.0.{i}.1"))).collect();
        for n in 1..=many.len() {
            g.set_vips(&many[..n]);
        }
        // The reader catches up: after one more change, every line is whole and the last
        // report is the latest.
        let mut buf = drain(&mut r);
        assert!(!buf.is_empty());
        g.set_vips(&many[..3]);
        buf.extend(drain(&mut r));
        match parse(&buf).last() {
            Some(Message::Report(rep)) => assert_eq!(rep.vips.len(), 3),
            other => panic!("{other:?}"),
        }
    }
}
