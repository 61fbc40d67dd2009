//! One health check against the real server: TCP or UDP send/expect, or an external program.
//!
//! The verdict follows piranha's `pinger()` and `send_program` (spec §4.3, §4.7) with its
//! defects fixed: replies are read until the expect string is decided, UDP without an expect
//! string passes on any reply, and a program that fails, crashes or hangs is unhealthy.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::time::{Instant, timeout_at};

use crate::escape::show;
use crate::exec::{self, Ended};
use crate::expect::{Decision, Expect, MAX_REPLY, Mismatch};

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

fn target(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}

impl Probe {
    /// Run one check. Each step (connect, write, read; or the program) gets the timeout.
    pub async fn run(&self) -> Result<(), Failure> {
        if let Some(words) = &self.program {
            return self.program(words).await;
        }
        if self.udp {
            self.udp().await
        } else {
            self.tcp().await
        }
    }

    async fn tcp(&self) -> Result<(), Failure> {
        let t = target(self.addr);
        let sock = match self.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| Failure::Connect(t.clone(), io_err(&e)))?;
        let mut stream = match tokio::time::timeout(self.timeout, sock.connect(self.addr)).await {
            Err(_) => return Err(Failure::ConnectTimeout(t)),
            Ok(Err(e)) => return Err(Failure::Connect(t, io_err(&e))),
            Ok(Ok(s)) => s,
        };
        if let Some(send) = &self.send {
            match tokio::time::timeout(self.timeout, stream.write_all(send)).await {
                Err(_) => return Err(Failure::Write(t, "timed out".into())),
                Ok(Err(e)) => return Err(Failure::Write(t, io_err(&e))),
                Ok(Ok(())) => {}
            }
        }
        if !self.expect.wants_reply() {
            return Ok(());
        }
        let deadline = Instant::now() + self.timeout;
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = match timeout_at(deadline, stream.read(&mut buf)).await {
                Err(_) => return Err(Failure::ReadTimeout(t)),
                Ok(Err(e)) => return Err(Failure::Read(t, io_err(&e))),
                Ok(Ok(n)) => n,
            };
            let room = MAX_REPLY - reply.len();
            reply.extend_from_slice(&buf[..n.min(room)]);
            match self.expect.decide(&reply, n == 0) {
                Decision::Pass => return Ok(()),
                Decision::Fail(m) => return Err(Failure::Reply(t, m, reply)),
                Decision::NeedMore => {}
            }
        }
    }

    async fn udp(&self) -> Result<(), Failure> {
        let t = target(self.addr);
        let bind: SocketAddr = match self.addr {
            SocketAddr::V4(_) => (IpAddr::from([0, 0, 0, 0]), 0).into(),
            SocketAddr::V6(_) => (IpAddr::from([0u16; 8]), 0).into(),
        };
        let sock = UdpSocket::bind(bind)
            .await
            .map_err(|e| Failure::Connect(t.clone(), io_err(&e)))?;
        // A connected UDP socket reports ICMP port-unreachable as ECONNREFUSED on receive.
        sock.connect(self.addr)
            .await
            .map_err(|e| Failure::Connect(t.clone(), io_err(&e)))?;
        // Piranha sent nothing without -s and then always timed out; an empty datagram at
        // least draws a reply or a port-unreachable from the server.
        let payload = self.send.as_deref().unwrap_or(&[]);
        match tokio::time::timeout(self.timeout, sock.send(payload)).await {
            Err(_) => return Err(Failure::Write(t, "timed out".into())),
            Ok(Err(e)) => return Err(Failure::Write(t, io_err(&e))),
            Ok(Ok(_)) => {}
        }
        let deadline = Instant::now() + self.timeout;
        let mut buf = vec![0u8; 65_536];
        loop {
            let n = match timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => return Err(Failure::ReadTimeout(t)),
                Ok(Err(e)) => return Err(Failure::Read(t, io_err(&e))),
                Ok(Ok(n)) => n,
            };
            // One datagram is one whole reply.
            let d = match &self.expect {
                Expect::Nothing => Decision::Pass,
                e => e.decide(&buf[..n], true),
            };
            match d {
                Decision::Pass => return Ok(()),
                Decision::Fail(m) => return Err(Failure::Reply(t, m, buf[..n].to_vec())),
                Decision::NeedMore => {}
            }
        }
    }

    async fn program(&self, words: &[String]) -> Result<(), Failure> {
        let t = target(self.addr);
        let host = self.addr.ip().to_string();
        let argv: Vec<String> = words
            .iter()
            .map(|w| exec::substitute(w, &host, self.addr.port()))
            .collect();
        let out = exec::run(&argv, self.timeout).await;
        if out.ended != Ended::Exited(0) {
            return Err(Failure::Program(t, out.ended));
        }
        let Some(expect) = &self.expect_raw else {
            // No expect string: the exit status alone decides.
            return Ok(());
        };
        let mut got = out.stdout.as_slice();
        got = got.strip_suffix(b"\n").unwrap_or(got);
        got = got.strip_suffix(b"\r").unwrap_or(got);
        let ok = if self.regex {
            match self.expect.decide(got, true) {
                Decision::Pass => true,
                Decision::Fail(Mismatch::BadRegex) => {
                    return Err(Failure::Reply(t, Mismatch::BadRegex, got.to_vec()));
                }
                _ => false,
            }
        } else {
            got == expect.as_slice()
        };
        if ok {
            Ok(())
        } else {
            Err(Failure::ProgramOutput(t, got.to_vec()))
        }
    }
}
