//! A child process whose output lines are kept, timestamped from its start, and waited for.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

type Lines = Arc<(Mutex<Vec<(Duration, String)>>, Condvar)>;

/// A running process with stdout and stderr read line by line (interleaved as they come),
/// killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    /// When it was started: the lines' times count from here.
    start: Instant,
    lines: Lines,
    /// Output pipes not yet read to their end.
    open: Arc<AtomicUsize>,
}

impl Proc {
    /// Start `cmd` with stdin from /dev/null and its output captured.
    pub fn spawn(cmd: &mut Command) -> Proc {
        Proc::spawn_echo(cmd, None)
    }

    /// [`Proc::spawn`], and when `echo` is given, print every line as `[echo] line` on
    /// stderr as it comes (for following a test as it runs).
    pub fn spawn_echo(cmd: &mut Command, echo: Option<&str>) -> Proc {
        let start = Instant::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let open = Arc::new(AtomicUsize::new(2));
        for pipe in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let lines = lines.clone();
            let open = open.clone();
            let echo = echo.map(str::to_owned);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(tag) = &echo {
                        eprintln!("[{tag}] {line}");
                    }
                    let (m, cv) = &*lines;
                    m.lock().unwrap().push((start.elapsed(), line));
                    cv.notify_all();
                }
                let (m, cv) = &*lines;
                let _held = m.lock().unwrap();
                open.fetch_sub(1, Ordering::SeqCst);
                cv.notify_all();
            });
        }
        Proc {
            child,
            start,
            lines,
            open,
        }
    }

    /// Start `cmd` with `NOTIFY_SOCKET` set to a datagram socket at `notify` (replaced if it
    /// exists) and wait, at most `within`, for its `READY=1` (sd_notify), as lvsd sends once
    /// its table is built. Panics with the output when it does not come.
    pub fn spawn_ready(cmd: &mut Command, notify: &std::path::Path, within: Duration) -> Proc {
        let _ = std::fs::remove_file(notify);
        let sock = std::os::unix::net::UnixDatagram::bind(notify)
            .unwrap_or_else(|e| panic!("bind {}: {e}", notify.display()));
        sock.set_read_timeout(Some(within)).unwrap();
        let proc = Proc::spawn(cmd.env("NOTIFY_SOCKET", notify));
        let mut buf = [0u8; 256];
        match sock.recv(&mut buf) {
            Ok(n) if &buf[..n] == b"READY=1" => proc,
            got => panic!("no READY=1 from {cmd:?} ({got:?}):\n{}", proc.text()),
        }
    }

    /// The address after `://` on the first line containing `marker` (a service's
    /// "serving on http://ADDR" line), waiting at most `within` for it.
    pub fn served_address(&self, marker: &str, within: Duration) -> String {
        self.expect_line(marker, within);
        let text = self.text();
        let line = text
            .lines()
            .find(|l| l.contains(marker))
            .unwrap_or_default();
        line.rsplit("://")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// Wait for the `skip + 1`-th line containing `needle`, for at most `within`; when it
    /// was printed, measured from the start.
    pub fn wait_nth(&self, needle: &str, skip: usize, within: Duration) -> Option<Duration> {
        let deadline = Instant::now() + within;
        let (m, cv) = &*self.lines;
        let mut g = m.lock().unwrap();
        loop {
            if let Some((t, _)) = g.iter().filter(|(_, l)| l.contains(needle)).nth(skip) {
                return Some(*t);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// Wait for a line containing `needle`, for at most `within`.
    pub fn wait_line(&self, needle: &str, within: Duration) -> Option<Duration> {
        self.wait_nth(needle, 0, within)
    }

    /// Like [`Proc::wait_line`], but panic with the whole output if the line never comes.
    pub fn expect_line(&self, needle: &str, within: Duration) -> Duration {
        self.wait_line(needle, within).unwrap_or_else(|| {
            panic!(
                "no line with {needle:?} within {within:?}:\n{}",
                self.output()
            )
        })
    }

    /// How many lines so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| l.contains(needle))
            .count()
    }

    /// The lines so far, each with when it was read.
    pub fn timed_lines(&self) -> Vec<(Instant, String)> {
        self.lines
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(t, l)| (self.start + *t, l.clone()))
            .collect()
    }

    /// The output so far, each line with its time.
    pub fn output(&self) -> String {
        self.lines
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(t, l)| format!("{:>8.3} {l}\n", t.as_secs_f64()))
            .collect()
    }

    /// The output so far as printed, each line ended by `\n`.
    pub fn text(&self) -> String {
        self.lines
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), sig).expect("kill");
    }

    /// Whether it has exited, without waiting.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("waitpid")
    }

    /// Wait for the exit, for at most `within`: the status, or `None` if it still runs. After
    /// an exit, the output it wrote is read to its end first (for at most 2 s more: a process
    /// it left behind may hold the pipes open).
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let status = crate::wait::exit(&mut self.child, within)?;
        let (m, cv) = &*self.lines;
        let guard = m.lock().unwrap();
        let _ = cv.wait_timeout_while(guard, Duration::from_secs(2), |_| {
            self.open.load(Ordering::SeqCst) > 0
        });
        Some(status)
    }

    /// Wait for the exit, for at most `within`, and panic with the output if it still runs:
    /// the exit code (`None` when killed by a signal).
    pub fn exit_code(&mut self, within: Duration) -> Option<i32> {
        match self.wait_exit(within) {
            Some(s) => s.code(),
            None => panic!("still running after {within:?}:\n{}", self.output()),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A background process whose output is discarded (a real server), killed on drop.
#[derive(Debug)]
pub struct Daemon(pub Child);

impl Daemon {
    pub fn spawn(cmd: &mut Command) -> Daemon {
        Daemon(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {cmd:?}: {e}")),
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
