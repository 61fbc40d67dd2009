//! Readiness: `READY=1` to the socket named by `NOTIFY_SOCKET`; and leaving the terminal.
//!
//! This is systemd's protocol (`Type=notify`), and pulse uses the same one: it starts lvsd with
//! `NOTIFY_SOCKET` pointing at its own datagram socket and waits for `READY=1`. piranha used a
//! POSIX semaphore that only pulse could wait on.

use std::os::unix::net::UnixDatagram;

/// Send `msg` (for example `READY=1`) if `NOTIFY_SOCKET` is set. A name starting with `@` is
/// in the abstract namespace.
pub fn notify(msg: &str) -> std::io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let sock = UnixDatagram::unbound()?;
    let path = path.to_string_lossy().into_owned();
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(msg.as_bytes(), &addr)?;
    } else {
        sock.send_to(msg.as_bytes(), &path)?;
    }
    Ok(true)
}

/// How often to send `WATCHDOG=1`, when the supervisor asks for keep-alives: a third of
/// `WATCHDOG_USEC` (systemd's protocol; pulse uses it for lvsd), unless `WATCHDOG_PID` names
/// another process.
pub fn watchdog_period() -> Option<std::time::Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID").ok()
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    (usec > 0).then(|| {
        std::time::Duration::from_micros(usec / 3).max(std::time::Duration::from_millis(1))
    })
}

/// Leave the terminal as a daemon and write `pidfile`. With `fork`, fork and let the parent
/// exit (a daemon started by hand or by an init script); without, stay the same process (when
/// a supervisor such as pulse waits on it) but still start a new session and drop the
/// terminal.
pub fn detach(fork: bool, pidfile: &std::path::Path) {
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;
    if fork {
        let _ = nix::unistd::daemon(false, false);
    } else {
        let _ = nix::unistd::setsid();
        if let Ok(fd) = open("/dev/null", OFlag::O_RDWR, Mode::empty()) {
            let _ = nix::unistd::dup2_stdin(&fd);
            let _ = nix::unistd::dup2_stdout(&fd);
            let _ = nix::unistd::dup2_stderr(&fd);
        }
    }
    let _ = std::fs::write(pidfile, format!("{}\n", std::process::id()));
}

/// Start with no signal blocked: a parent that blocked some (a shell's trap, a supervisor)
/// passes its mask on through exec, and a daemon must still hear SIGTERM and SIGHUP.
pub fn unblock_signals() {
    use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// Make the child `cmd` will start receive SIGTERM when this process dies
/// (`PR_SET_PDEATHSIG`), so nannies never outlive lvsd and lvsd never outlives pulse. The
/// signal follows the thread that forks: spawn from a thread that lives as long as the
/// process (the daemons spawn from their main thread).
#[allow(unsafe_code)]
pub fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only calls prctl(2),
    // which is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                .map_err(std::io::Error::from)
        });
    }
}

/// Start the child `cmd` will start `value` nice levels below this process (at most 19):
/// health checkers run at a lower priority than the daemons whose heartbeats and data plane
/// must never wait for a burst of checks.
#[allow(unsafe_code)]
pub fn run_niced(cmd: &mut std::process::Command, value: i32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only calls
    // getpriority(2) and setpriority(2), plain system calls; it allocates nothing and takes
    // no lock. A failure is ignored (the child runs at the parent's priority).
    unsafe {
        cmd.pre_exec(move || {
            let now = nix::libc::getpriority(nix::libc::PRIO_PROCESS, 0);
            nix::libc::setpriority(nix::libc::PRIO_PROCESS, 0, (now + value).min(19));
            Ok(())
        });
    }
}
