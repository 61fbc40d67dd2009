//! One health check against the real server: TCP or UDP send/expect, or an external program.
//!
//! The verdict follows piranha's `pinger()` and `send_program` (spec §4.3, §4.7) with its
//! defects fixed: replies are read until the expect string is decided, UDP without an expect
//! string passes on any reply, and a program that fails, crashes or hangs is unhealthy.
//!
//! A check is plain blocking code on non-blocking sockets: every step that would block waits
//! in [`Waiter::wait`], so a signal abandons the check at once. A TCP check that needs no send
//! is `socket`, `connect`, two `ppoll`s, `read` and `close`.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrStorage, connect, getsockopt, socket, sockopt,
};

use crate::escape::show;
use crate::exec::{self, Ended};
use crate::expect::{Decision, Expect, MAX_REPLY, Mismatch};
use crate::wait::{Interrupt, Waiter, Wake, after};

/// What is checked and how.
#[derive(Debug)]
pub struct Probe {
    pub addr: SocketAddr,
    pub udp: bool,
    pub send: Option<Vec<u8>>,
    pub expect: Expect,
    /// Raw expect bytes, for program output comparison.
    pub expect_raw: Option<Vec<u8>>,
    /// `-e`: the program's words, `%h`/`%p` still in place.
    pub program: Option<Vec<String>>,
    pub regex: bool,
    /// Per-step timeout (the interval).
    pub timeout: Duration,
}

/// Why a check failed; the `Display` is the log line (piranha's wording where it had one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    ConnectTimeout(String),
    Connect(String, String),
    Write(String, String),
    ReadTimeout(String),
    Read(String, String),
    Reply(String, Mismatch, Vec<u8>),
    Program(String, Ended),
    ProgramOutput(String, Vec<u8>),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::ConnectTimeout(t) => write!(f, "CONNECT to {t} timed out"),
            Failure::Connect(t, e) => write!(f, "Failed to connect {t} ping socket: {e}"),
            Failure::Write(t, e) => write!(f, "WRITE operation for {t} returned error: {e}"),
            Failure::ReadTimeout(t) => write!(f, "READ to {t} timed out"),
            Failure::Read(t, e) => write!(f, "READ from {t} returned error: {e}"),
            Failure::Reply(t, Mismatch::TooShort { got, want }, _) => {
                write!(f, "READ from {t} was too short[{got}>={want}]")
            }
            Failure::Reply(t, Mismatch::Differs, got) => {
                write!(
                    f,
                    "READ from {t} did not match the expect string: got \"{}\"",
                    show(got)
                )
            }
            Failure::Reply(t, Mismatch::NoMatch, got) => write!(
                f,
                "READ from {t} did not match the expected regular expression: got \"{}\"",
                show(&got[..got.len().min(80)])
            ),
            Failure::Reply(t, Mismatch::TooLong, _) => {
                write!(
                    f,
                    "READ from {t} exceeded {MAX_REPLY} bytes without a match"
                )
            }
            Failure::Reply(_, Mismatch::BadRegex, _) => {
                f.write_str("the expected regular expression is invalid; the check fails")
            }
            Failure::Program(t, Ended::Exited(c)) => {
                write!(f, "external check program for {t} exited with status {c}")
            }
            Failure::Program(t, Ended::Signaled(s)) => {
                write!(f, "external check program for {t} was killed by signal {s}")
            }
            Failure::Program(t, Ended::TimedOut) => {
                write!(f, "timeout running the external check program for {t}")
            }
            Failure::Program(t, Ended::NotStarted(e)) => {
                write!(
                    f,
                    "external check program for {t} could not be started: {e}"
                )
            }
            Failure::ProgramOutput(t, out) => write!(
                f,
                "external check program for {t} returned \"{}\", not the expect string",
                show(out)
            ),
        }
    }
}

/// `strerror` wording, without Rust's " (os error N)" suffix.
fn io_err(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => ipvs::error::strerror(n),
        None => e.to_string(),
    }
}

fn errno_text(e: Errno) -> String {
    ipvs::error::strerror(e as i32)
}

fn target(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}

/// What a check ends with: its verdict, or the signal or stop time that cut it short.
pub type Outcome = Result<Result<(), Failure>, Interrupt>;

/// Why a step of a check did not go on.
enum Halt {
    Fail(Failure),
    Cut(Interrupt),
}

impl From<Failure> for Halt {
    fn from(f: Failure) -> Halt {
        Halt::Fail(f)
    }
}

/// Wait until `fd` reports `events`; `timed_out` is the failure at `deadline`.
fn ready(
    w: &mut Waiter,
    fd: BorrowedFd<'_>,
    events: PollFlags,
    deadline: Instant,
    timed_out: impl FnOnce() -> Failure,
) -> Result<PollFlags, Halt> {
    loop {
        match w.wait(Some((fd, events)), deadline) {
            Wake::Ready(r) => return Ok(r),
            Wake::TimedOut => return Err(Halt::Fail(timed_out())),
            Wake::Signal(e) => return Err(Halt::Cut(Interrupt::Signal(e))),
            Wake::Stop => return Err(Halt::Cut(Interrupt::Stop)),
            // A check program of an earlier check, reaped already: nothing to do here.
            Wake::Child => {}
        }
    }
}

fn family(addr: SocketAddr) -> AddressFamily {
    match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    }
}

impl Probe {
    /// Run one check. Each step (connect, write, read; or the program) gets the timeout.
    pub fn run(&self, w: &mut Waiter) -> Outcome {
        if let Some(words) = &self.program {
            return self.program(words, w);
        }
        let r = if self.udp { self.udp(w) } else { self.tcp(w) };
        match r {
            Ok(()) => Ok(Ok(())),
            Err(Halt::Fail(f)) => Ok(Err(f)),
            Err(Halt::Cut(i)) => Err(i),
        }
    }

    /// A non-blocking TCP connection to the server, connected.
    fn connect(&self, w: &mut Waiter) -> Result<TcpStream, Halt> {
        let addr = self.addr;
        let refused = |e: Errno| Failure::Connect(target(addr), errno_text(e));
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let fd = socket(family(addr), SockType::Stream, flags, None).map_err(refused)?;
        match connect(fd.as_raw_fd(), &SockaddrStorage::from(addr)) {
            Ok(()) => {}
            Err(Errno::EINPROGRESS | Errno::EINTR) => {
                let deadline = after(self.timeout);
                let r = ready(w, fd.as_fd(), PollFlags::POLLOUT, deadline, || {
                    Failure::ConnectTimeout(target(addr))
                })?;
                if r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) {
                    // The connection's own error decides, as for any non-blocking connect.
                    match getsockopt(&fd, sockopt::SocketError) {
                        Ok(0) => {}
                        Ok(e) => return Err(refused(Errno::from_raw(e)).into()),
                        Err(e) => return Err(refused(e).into()),
                    }
                }
            }
            Err(e) => return Err(refused(e).into()),
        }
        Ok(TcpStream::from(fd))
    }

    fn tcp(&self, w: &mut Waiter) -> Result<(), Halt> {
        let addr = self.addr;
        let mut stream = self.connect(w)?;
        if let Some(send) = &self.send {
            let deadline = after(self.timeout);
            let mut rest = send.as_slice();
            while !rest.is_empty() {
                match stream.write(rest) {
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        ready(w, stream.as_fd(), PollFlags::POLLOUT, deadline, || {
                            Failure::Write(target(addr), "timed out".into())
                        })?;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(Failure::Write(target(addr), io_err(&e)).into()),
                }
            }
        }
        if !self.expect.wants_reply() {
            return Ok(());
        }
        let deadline = after(self.timeout);
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            ready(w, stream.as_fd(), PollFlags::POLLIN, deadline, || {
                Failure::ReadTimeout(target(addr))
            })?;
            let n = match stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    continue;
                }
                Err(e) => return Err(Failure::Read(target(addr), io_err(&e)).into()),
            };
            let room = MAX_REPLY - reply.len();
            reply.extend_from_slice(&buf[..n.min(room)]);
            match self.expect.decide(&reply, n == 0) {
                Decision::Pass => return Ok(()),
                Decision::Fail(m) => return Err(Failure::Reply(target(addr), m, reply).into()),
                Decision::NeedMore => {}
            }
        }
    }

    fn udp(&self, w: &mut Waiter) -> Result<(), Halt> {
        let addr = self.addr;
        let refused = |e: std::io::Error| Failure::Connect(target(addr), io_err(&e));
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let fd =
            socket(family(addr), SockType::Datagram, flags, None).map_err(|e| refused(e.into()))?;
        let sock = UdpSocket::from(fd);
        // A connected UDP socket reports ICMP port-unreachable as ECONNREFUSED on receive.
        sock.connect(addr).map_err(refused)?;
        // Piranha sent nothing without -s and then always timed out; an empty datagram at
        // least draws a reply or a port-unreachable from the server.
        let payload = self.send.as_deref().unwrap_or(&[]);
        let deadline = after(self.timeout);
        loop {
            match sock.send(payload) {
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    ready(w, sock.as_fd(), PollFlags::POLLOUT, deadline, || {
                        Failure::Write(target(addr), "timed out".into())
                    })?;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Failure::Write(target(addr), io_err(&e)).into()),
            }
        }
        let deadline = after(self.timeout);
        let mut buf = vec![0u8; 65_536];
        loop {
            ready(w, sock.as_fd(), PollFlags::POLLIN, deadline, || {
                Failure::ReadTimeout(target(addr))
            })?;
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    continue;
                }
                Err(e) => return Err(Failure::Read(target(addr), io_err(&e)).into()),
            };
            // One datagram is one whole reply.
            let d = match &self.expect {
                Expect::Nothing => Decision::Pass,
                e => e.decide(&buf[..n], true),
            };
            match d {
                Decision::Pass => return Ok(()),
                Decision::Fail(m) => {
                    return Err(Failure::Reply(target(addr), m, buf[..n].to_vec()).into());
                }
                Decision::NeedMore => {}
            }
        }
    }

    fn program(&self, words: &[String], w: &mut Waiter) -> Outcome {
        let t = target(self.addr);
        let host = self.addr.ip().to_string();
        let argv: Vec<String> = words
            .iter()
            .map(|w| exec::substitute(w, &host, self.addr.port()))
            .collect();
        let out = exec::run(&argv, self.timeout, w)?;
        if out.ended != Ended::Exited(0) {
            return Ok(Err(Failure::Program(t, out.ended)));
        }
        let Some(expect) = &self.expect_raw else {
            // No expect string: the exit status alone decides.
            return Ok(Ok(()));
        };
        let mut got = out.stdout.as_slice();
        got = got.strip_suffix(b"\n").unwrap_or(got);
        got = got.strip_suffix(b"\r").unwrap_or(got);
        let ok = if self.regex {
            match self.expect.decide(got, true) {
                Decision::Pass => true,
                Decision::Fail(Mismatch::BadRegex) => {
                    return Ok(Err(Failure::Reply(t, Mismatch::BadRegex, got.to_vec())));
                }
                _ => false,
            }
        } else {
            got == expect.as_slice()
        };
        Ok(if ok {
            Ok(())
        } else {
            Err(Failure::ProgramOutput(t, got.to_vec()))
        })
    }
}
