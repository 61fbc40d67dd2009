//! External commands: the check program (`-e`) and the load command (`-U`).
//!
//! Piranha split these strings on single spaces and replaced `%h`/`%p` only as whole tokens.
//! Here the words are lvs.cf's ([`lvscf::split_words`]: runs of blanks separate words, `'…'`
//! and `"…"` group words), and `%h`/`%p` are replaced anywhere (`%h:80` works). There is still
//! no shell. The command runs in its own process group, which is killed when the timeout expires,
//! so a script's own children die with it.

use std::process::Stdio;
use std::time::Duration;

use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout};
use std::time::Instant;

use lvscf::split_words;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::PollFlags;

use crate::wait::{Interrupt, Waiter, Wake, after};

/// Output kept from a command; the rest is read and dropped.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// The longest sleep between two looks for a program's exit once its output has ended.
const MAX_EXIT_POLL: Duration = Duration::from_millis(50);

/// Replace `%h` with the host and `%p` with the port, inside words too; `%%` is a literal `%`.
pub fn substitute(word: &str, host: &str, port: u16) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('h') => {
                out.push_str(host);
                chars.next();
            }
            Some('p') => {
                out.push_str(&port.to_string());
                chars.next();
            }
            Some('%') => {
                out.push('%');
                chars.next();
            }
            _ => out.push('%'),
        }
    }
    out
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Exit status 0..=255.
    Exited(i32),
    /// Killed by this signal (a crash, or someone's kill).
    Signaled(i32),
    /// Still running at the timeout; killed.
    TimedOut,
    /// Could not be started.
    NotStarted(String),
}

/// The result of one command run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub ended: Ended,
    pub stdout: Vec<u8>,
}

/// Run `argv` (PATH search, no shell) with stdin and stderr on /dev/null, capturing stdout,
/// and kill its process group if it outlives `timeout`. A signal or the stop time abandons
/// it (the group is killed and the program reaped) and is returned instead.
pub fn run(argv: &[String], timeout: Duration, w: &mut Waiter) -> Result<Output, Interrupt> {
    let Some((prog, args)) = argv.split_first() else {
        return Ok(Output {
            ended: Ended::NotStarted("empty command".into()),
            stdout: Vec::new(),
        });
    };
    let deadline = after(timeout);
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0);
    unblock_in_child(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Ok(Output {
                ended: Ended::NotStarted(e.to_string()),
                stdout: Vec::new(),
            });
        }
    };
    let mut guard = GroupKill(i32::try_from(child.id()).ok());
    let mut stdout = Vec::new();
    let ended = match collect(&mut child, &mut stdout, w, deadline) {
        Ok(ended) => ended,
        Err(cut) => {
            guard.kill();
            // SIGKILL cannot be ignored, so this returns promptly.
            let _ = child.wait();
            match cut {
                Cut::TimedOut => Ended::TimedOut,
                Cut::Interrupted(i) => return Err(i),
            }
        }
    };
    // The leader has exited; children it left in the group are killed with it.
    guard.kill();
    Ok(Output { ended, stdout })
}

/// Start the program with no signal blocked: nanny blocks its own ([`crate::wait`]), and a
/// blocked mask is inherited through exec (the standard library does not reset it), so a
/// check script would otherwise ignore SIGTERM and SIGINT.
#[allow(unsafe_code)]
fn unblock_in_child(cmd: &mut std::process::Command) {
    use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};
    // SAFETY: the closure runs in the child between fork and exec and only calls
    // sigprocmask(2), which is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
                .map_err(std::io::Error::from)
        });
    }
}

/// Why [`collect`] stopped before the program ended.
enum Cut {
    TimedOut,
    Interrupted(Interrupt),
}

/// Wait for `what` to be ready (or a child to change state): `Ok` to try again.
fn wake(
    w: &mut Waiter,
    what: Option<(BorrowedFd<'_>, PollFlags)>,
    deadline: Instant,
) -> Result<(), Cut> {
    match w.wait(what, deadline) {
        Wake::Ready(_) | Wake::Child => Ok(()),
        Wake::TimedOut => Err(Cut::TimedOut),
        Wake::Signal(e) => Err(Cut::Interrupted(Interrupt::Signal(e))),
        Wake::Stop => Err(Cut::Interrupted(Interrupt::Stop)),
    }
}

/// Read `pipe` to its end, keeping [`MAX_OUTPUT`] bytes.
fn read_output(
    mut pipe: ChildStdout,
    stdout: &mut Vec<u8>,
    w: &mut Waiter,
    deadline: Instant,
) -> Result<(), Cut> {
    // Without O_NONBLOCK a read would block past a signal; if this fails, EOF is assumed.
    if fcntl(&pipe, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).is_err() {
        return Ok(());
    }
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(stdout.len());
                stdout.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                wake(w, Some((pipe.as_fd(), PollFlags::POLLIN)), deadline)?;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Ok(()),
        }
    }
}

/// Read the program's stdout to its end, then wait for it to exit.
fn collect(
    child: &mut Child,
    stdout: &mut Vec<u8>,
    w: &mut Waiter,
    deadline: Instant,
) -> Result<Ended, Cut> {
    if let Some(pipe) = child.stdout.take() {
        read_output(pipe, stdout, w, deadline)?;
    }
    let mut poll_every = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                return Ok(match (status.code(), status.signal()) {
                    (Some(c), _) => Ended::Exited(c),
                    (None, Some(s)) => Ended::Signaled(s),
                    (None, None) => Ended::Exited(255),
                });
            }
            // SIGCHLD wakes the wait at once when this thread is the one it goes to (always in
            // the single-threaded binary); the short sleeps cover an embedding process whose
            // other threads take it.
            Ok(None) => {
                let nap = after(poll_every).min(deadline);
                poll_every = (poll_every * 2).min(MAX_EXIT_POLL);
                match wake(w, None, nap) {
                    Err(Cut::TimedOut) if nap < deadline => {}
                    other => other?,
                }
            }
            Err(e) => return Ok(Ended::NotStarted(e.to_string())),
        }
    }
}

/// Kills a process group once, on demand or when dropped.
struct GroupKill(Option<i32>);

impl GroupKill {
    fn kill(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Parse the 1-minute load average from `uptime`, `rup` or `ruptime` output.
///
/// Piranha required a `:` after `load`, so ruptime's `load 0.07, 0.05, 0.01` never parsed
/// (spec §7.2 item 16). Accepted here: `load average: N`, `load averages: N`, `load N`.
pub fn parse_load(out: &str) -> Option<f64> {
    // The first "load" that is followed by a load figure: a host name such as "loadbal1" in
    // rup or ruptime output must not stop the search.
    out.match_indices("load")
        .find_map(|(at, _)| load_after(&out[at + 4..]))
}

fn load_after(rest: &str) -> Option<f64> {
    let rest = rest
        .strip_prefix(" averages")
        .or_else(|| rest.strip_prefix(" average"))
        .unwrap_or(rest);
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (num, after) = rest.split_at(end);
    if num.is_empty() || !(after.is_empty() || after.starts_with([',', ' ', '\n'])) {
        return None;
    }
    num.parse().ok()
}

/// The load command's argv: `cmd [args…] RIP`, plus `uptime` when the program is rsh or ssh
/// (by base name, so `/usr/bin/ssh` works too; piranha compared the whole string).
pub fn load_argv(cmd: &str, host: &str) -> Vec<String> {
    let mut argv = split_words(cmd);
    let remote_shell = argv
        .first()
        .map(|p| matches!(p.rsplit('/').next(), Some("rsh" | "ssh")))
        .unwrap_or(false);
    argv.push(host.to_owned());
    if remote_shell {
        argv.push("uptime".into());
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_inside_words() {
        assert_eq!(substitute("%h:%p", "10.0.0.2", 80), "10.0.0.2:80");
        assert_eq!(substitute("--host=%h", "::1", 53), "--host=::1");
        assert_eq!(substitute("100%%", "h", 1), "100%");
        assert_eq!(substitute("%x%", "h", 1), "%x%");
    }

    #[test]
    fn load_outputs() {
        assert_eq!(
            parse_load(" 10:01:02 up 3 days,  2 users,  load average: 0.42, 0.30, 0.20\n"),
            Some(0.42)
        );
        assert_eq!(
            parse_load("host1   up  3+02:01,  0 users,  load 0.07, 0.05, 0.01"),
            Some(0.07)
        );
        assert_eq!(
            parse_load("rs1  up 3 days, load average: 1.50 1.0 1.0"),
            Some(1.5)
        );
        assert_eq!(parse_load("load averages: 2.00, 1.00"), Some(2.0));
        assert_eq!(
            parse_load("loadbal1  up 3 days, load average: 0.30, 0.2, 0.1"),
            Some(0.3)
        );
        assert_eq!(
            parse_load("loadbal1 up 2+01:00, 0 users, load 0.50, 0.40, 0.30"),
            Some(0.5)
        );
        assert_eq!(parse_load("no such host"), None);
        assert_eq!(parse_load("load average: abc"), None);
        assert_eq!(parse_load("load average: 1.2x"), None);
    }

    #[test]
    fn load_command_shapes() {
        assert_eq!(load_argv("rsh", "10.0.0.2"), ["rsh", "10.0.0.2", "uptime"]);
        assert_eq!(
            load_argv("/usr/bin/ssh -i /k", "10.0.0.2"),
            ["/usr/bin/ssh", "-i", "/k", "10.0.0.2", "uptime"]
        );
        assert_eq!(load_argv("rup", "10.0.0.2"), ["rup", "10.0.0.2"]);
    }

    #[test]
    fn run_captures_and_times_out() {
        let w = &mut Waiter::new().unwrap();
        let o = run(
            &["sh".into(), "-c".into(), "echo OK; exit 3".into()],
            Duration::from_secs(5),
            w,
        )
        .unwrap();
        assert_eq!(o.ended, Ended::Exited(3));
        assert_eq!(o.stdout, b"OK\n");
        let t = std::time::Instant::now();
        // The grandchild (sleep) holds the pipe; killing the group ends it at the timeout.
        let o = run(
            &["sh".into(), "-c".into(), "sleep 30; echo late".into()],
            Duration::from_millis(300),
            w,
        )
        .unwrap();
        assert_eq!(o.ended, Ended::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(10));
        let o = run(
            &["sh".into(), "-c".into(), "kill -SEGV $$".into()],
            Duration::from_secs(5),
            w,
        )
        .unwrap();
        assert_eq!(o.ended, Ended::Signaled(11));
        let o = run(&["/nonexistent/prog".into()], Duration::from_secs(5), w).unwrap();
        assert!(matches!(o.ended, Ended::NotStarted(_)));
    }

    #[test]
    fn programs_start_with_no_signal_blocked() {
        // The waiter blocks nanny's signals in this thread; a check program must not inherit
        // that, or it would ignore SIGTERM from its own users.
        let w = &mut Waiter::new().unwrap();
        let o = run(
            &["grep".into(), "^SigBlk:".into(), "/proc/self/status".into()],
            Duration::from_secs(5),
            w,
        )
        .unwrap();
        assert_eq!(o.ended, Ended::Exited(0));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "SigBlk:\t0000000000000000"
        );
    }
}
