//! Shared helpers: network namespaces, a nanny child process whose output lines are
//! timestamped, and small servers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
pub use vmtest::{must as sh, root_or_skip};

/// Whether a program is installed; under CI a missing one fails the test.
pub fn have(prog: &str, apt: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog} || test -x {prog}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        assert!(!ci, "{prog} is missing: apt-get install {apt}");
        eprintln!("SKIPPED: {prog} is missing: apt-get install {apt}");
    }
    found
}

/// Run `f` on a thread inside a fresh network namespace whose loopback is up. Threads and
/// processes started from `f` inherit the namespace.
pub fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        sh("ip link set lo up");
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

type Lines = Arc<(Mutex<Vec<(Duration, String)>>, Condvar)>;

/// A nanny process in the foreground with `--report -v`: every line it prints, timestamped
/// from its start.
pub struct Nanny {
    child: Child,
    lines: Lines,
}

impl Nanny {
    /// `nanny -n -v --report --lvs ARGS…`
    pub fn spawn(args: &[&str]) -> Nanny {
        let mut all = vec!["-n", "-v", "--report"];
        all.extend_from_slice(args);
        if !args.contains(&"--fos") {
            all.push("--lvs");
        }
        Nanny::spawn_raw(&all)
    }

    /// nanny with exactly these arguments.
    pub fn spawn_raw(args: &[&str]) -> Nanny {
        let start = Instant::now();
        // In the VM the binary is copied to /bin/nanny.
        let bin = std::env::var("NANNY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_nanny").into());
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nanny");
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let (m, cv) = &*lines;
                    m.lock().unwrap().push((start.elapsed(), line));
                    cv.notify_all();
                }
            });
        }
        Nanny { child, lines }
    }

    /// Wait for a line containing `needle` (after the first `skip` matches), for at most
    /// `within`; returns when it was printed, measured from nanny's start.
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

    pub fn wait_for(&self, needle: &str, within: Duration) -> Option<Duration> {
        self.wait_nth(needle, 0, within)
    }

    /// Like [`Nanny::wait_for`], but panics with the whole output if the line never comes.
    pub fn expect(&self, needle: &str, within: Duration) -> Duration {
        self.wait_for(needle, within).unwrap_or_else(|| {
            panic!(
                "no line with {needle:?} within {within:?}:\n{}",
                self.output()
            )
        })
    }

    pub fn count(&self, needle: &str) -> usize {
        self.lines
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| l.contains(needle))
            .count()
    }

    pub fn output(&self) -> String {
        self.lines
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(t, l)| format!("{:>8.3} {l}\n", t.as_secs_f64()))
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, sig).expect("kill");
    }

    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Nanny {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A background process (a real server) killed on drop.
pub struct Daemon(pub Child);

impl Daemon {
    pub fn spawn(cmd: &mut Command) -> Daemon {
        Daemon(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start server"),
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until something accepts TCP connections on `addr`.
pub fn wait_listening(addr: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on {addr}");
}

pub const S: fn(u64) -> Duration = Duration::from_secs;
pub const MS: fn(u64) -> Duration = Duration::from_millis;
