//! The one way nanny blocks: `ppoll` on at most one descriptor plus a signalfd, until a deadline.
//!
//! nanny does one thing at a time (a check, then a sleep), so it needs no event loop: every
//! step that may block waits here, and a signal ends the wait at once. The signals nanny acts
//! on (SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP) and SIGCHLD are blocked in the calling thread
//! and read from a signalfd, so a signal that arrives between two waits stays pending for the
//! next one instead of being lost. Check programs do not inherit the blocked mask:
//! [`crate::exec`] empties it in the child before exec.
//!
//! SIGCHLD only wakes a wait promptly when the kernel delivers it to the waiting thread, which
//! is always so in the single-threaded binary; [`crate::exec`] also looks for a program's exit
//! on a short backoff for processes that embed the library in a thread.
//!
//! A wait may also be bounded by a stop time ([`Waiter::stop_at`]), which the in-process
//! callers of [`crate::run::Runner::run_until`] use instead of a signal.

use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::time::TimeSpec;

use crate::monitor::Override;

/// What a signal asks of nanny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// SIGTERM or SIGINT: clean up and exit (the signal number).
    Terminate(i32),
    /// SIGUSR1 (down) or SIGUSR2 (up): freeze the monitor.
    Override(Override),
    /// SIGHUP: resume checking.
    Resume,
}

impl Event {
    fn of(signo: i32) -> Option<Event> {
        match Signal::try_from(signo).ok()? {
            Signal::SIGTERM => Some(Event::Terminate(libc::SIGTERM)),
            Signal::SIGINT => Some(Event::Terminate(libc::SIGINT)),
            Signal::SIGUSR1 => Some(Event::Override(Override::Down)),
            Signal::SIGUSR2 => Some(Event::Override(Override::Up)),
            Signal::SIGHUP => Some(Event::Resume),
            _ => None,
        }
    }
}

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The descriptor is ready; the poll flags it returned.
    Ready(PollFlags),
    /// The deadline passed.
    TimedOut,
    /// A child process changed state (SIGCHLD).
    Child,
    /// A signal nanny acts on.
    Signal(Event),
    /// The stop time passed.
    Stop,
}

/// Why a step was abandoned before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    Signal(Event),
    Stop,
}

/// The signals read from the signalfd.
fn mask() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    set
}

/// Block nanny's signals in the calling thread, so that they wait for a [`Waiter`] instead of
/// running their default action. The binary calls this first thing; [`Waiter::new`] does too.
pub fn block_signals() -> nix::Result<()> {
    mask().thread_block()
}

/// Waits on a descriptor, the signals and a deadline.
#[derive(Debug)]
pub struct Waiter {
    signals: SignalFd,
    stop: Option<Instant>,
    /// While set, signals are kept in `held` instead of ending waits.
    hold: bool,
    held: VecDeque<Event>,
}

impl Waiter {
    /// Block the signals in this thread and open the signalfd.
    pub fn new() -> nix::Result<Waiter> {
        block_signals()?;
        let signals =
            SignalFd::with_flags(&mask(), SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Waiter {
            signals,
            stop: None,
            hold: false,
            held: VecDeque::new(),
        })
    }

    /// While `hold` is set, signals do not end waits; they are kept, in order, and end the
    /// first wait after it is cleared. The stop time still ends waits.
    pub fn hold(&mut self, hold: bool) {
        self.hold = hold;
    }

    /// Every wait also ends (with [`Wake::Stop`]) at this time; `None`: never.
    pub fn stop_at(&mut self, stop: Option<Instant>) {
        self.stop = stop;
    }

    /// Sleep until `deadline` or a signal.
    pub fn sleep(&mut self, deadline: Instant) -> Wake {
        self.wait(None, deadline)
    }

    /// Wait until `fd` reports one of `events` (or an error or hang-up), a signal arrives, or
    /// `deadline` (or the stop time, if earlier) passes. A signal that comes with readiness goes
    /// first; readiness goes before a deadline that has passed. Pending signals are found
    /// through the poll, so a wait costs one `ppoll` when nothing is pending.
    pub fn wait(&mut self, fd: Option<(BorrowedFd<'_>, PollFlags)>, deadline: Instant) -> Wake {
        if !self.hold
            && let Some(e) = self.held.pop_front()
        {
            return Wake::Signal(e);
        }
        loop {
            let (end, at_end) = match self.stop {
                Some(stop) if stop <= deadline => (stop, Wake::Stop),
                _ => (deadline, Wake::TimedOut),
            };
            // Past the deadline this is one poll that does not sleep: what is ready still wins.
            let left = end.saturating_duration_since(Instant::now());
            let timeout = Some(TimeSpec::from_duration(left));
            let sig = PollFd::new(self.signals.as_fd(), PollFlags::POLLIN);
            let (signalled, ready) = match fd {
                Some((fd, events)) => {
                    let mut fds = [sig, PollFd::new(fd, events)];
                    match ppoll(&mut fds, timeout, None) {
                        Ok(_) => (fds[0].any(), fds[1].revents()),
                        Err(Errno::EINTR) => continue,
                        // Only EFAULT, EINVAL or ENOMEM: do not spin; take it as the deadline.
                        Err(_) => return at_end,
                    }
                }
                None => {
                    let mut fds = [sig];
                    match ppoll(&mut fds, timeout, None) {
                        Ok(_) => (fds[0].any(), None),
                        Err(Errno::EINTR) => continue,
                        Err(_) => return at_end,
                    }
                }
            };
            if signalled == Some(true)
                && let Some(w) = self.pending()
            {
                return w;
            }
            if let Some(r) = ready.filter(|r| !r.is_empty()) {
                return Wake::Ready(r);
            }
            // Timed out, or a signal nanny ignores: the clock decides.
            if left.is_zero() || Instant::now() >= end {
                return at_end;
            }
        }
    }

    /// The first pending signal nanny acts on, or SIGCHLD; others are dropped.
    fn pending(&mut self) -> Option<Wake> {
        while let Ok(Some(info)) = self.signals.read_signal() {
            let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
            if signo == libc::SIGCHLD {
                return Some(Wake::Child);
            }
            match Event::of(signo) {
                Some(e) if self.hold => self.held.push_back(e),
                Some(e) => return Some(Wake::Signal(e)),
                None => {}
            }
        }
        None
    }
}

/// `deadline` from now, saturating far in the future.
pub fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::raise;

    // Each test blocks the signals in its own thread before raising one at itself (raise is
    // thread-directed), so no other test thread sees them.

    #[test]
    fn a_signal_ends_a_long_wait_and_is_reported_once() {
        let mut w = Waiter::new().unwrap();
        raise(Signal::SIGUSR1).unwrap();
        let long = after(Duration::from_secs(60));
        assert_eq!(w.sleep(long), Wake::Signal(Event::Override(Override::Down)));
        raise(Signal::SIGTERM).unwrap();
        assert_eq!(w.sleep(long), Wake::Signal(Event::Terminate(libc::SIGTERM)));
        // Nothing left: a short sleep runs to its end.
        let start = Instant::now();
        let d = Duration::from_millis(30);
        assert_eq!(w.sleep(after(d)), Wake::TimedOut);
        assert!(start.elapsed() >= d);
    }

    #[test]
    fn held_signals_wait_for_the_hold_to_end_in_order() {
        let mut w = Waiter::new().unwrap();
        w.hold(true);
        raise(Signal::SIGHUP).unwrap();
        raise(Signal::SIGUSR2).unwrap();
        assert_eq!(w.sleep(after(Duration::from_millis(20))), Wake::TimedOut);
        w.hold(false);
        let long = after(Duration::from_secs(60));
        let first = w.sleep(long);
        let second = w.sleep(long);
        // Both come out; pending signals are read lowest number first (SIGHUP is 1).
        assert_eq!(first, Wake::Signal(Event::Resume));
        assert_eq!(second, Wake::Signal(Event::Override(Override::Up)));
    }

    #[test]
    fn the_stop_time_ends_a_wait_before_its_deadline() {
        let mut w = Waiter::new().unwrap();
        w.stop_at(Some(after(Duration::from_millis(20))));
        assert_eq!(w.sleep(after(Duration::from_secs(60))), Wake::Stop);
        w.stop_at(None);
        assert_eq!(w.sleep(after(Duration::from_millis(10))), Wake::TimedOut);
    }

    #[test]
    fn readiness_wins_over_a_passed_deadline() {
        let mut w = Waiter::new().unwrap();
        let (r, wr) = nix::unistd::pipe().unwrap();
        let poll =
            |w: &mut Waiter, deadline| w.wait(Some((r.as_fd(), PollFlags::POLLIN)), deadline);
        assert_eq!(poll(&mut w, Instant::now()), Wake::TimedOut);
        nix::unistd::write(&wr, b"x").unwrap();
        let past = Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(poll(&mut w, past), Wake::Ready(f) if f.contains(PollFlags::POLLIN)));
    }
}
