//! Reading the daemons' status reports: the [`StatusSource`] trait and its implementation on
//! the daemons' Unix sockets, [`SocketStatus`].

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::report::{LvsdReport, PulseReport};

/// pulse's status socket (pulse's own default).
pub const DEFAULT_PULSE_SOCKET: &str = "/run/pulse.sock";
/// How long one daemon may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// The largest report read (lvsd's with 1,000 real servers is about 400 KiB).
const MAX_REPORT: u64 = 64 * 1024 * 1024;

/// Why a daemon's report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{daemon} not reachable at {path}: {source}")]
    Unreachable {
        daemon: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{daemon} did not answer within {} s", TIMEOUT.as_secs())]
    Timeout { daemon: &'static str },
    #[error("{daemon} gave a report larger than {MAX_REPORT} bytes")]
    TooLarge { daemon: &'static str },
    #[error("{daemon} gave an unreadable report: {source}")]
    BadReport {
        daemon: &'static str,
        source: serde_json::Error,
    },
    #[error("reading the status failed: {0}")]
    Task(String),
}

/// One daemon's report, or why there is none, and when it was read.
#[derive(Debug)]
pub struct Reading<T> {
    pub report: Result<T, StatusError>,
    pub read_at: Instant,
}

impl<T> Reading<T> {
    /// A report read just now.
    pub fn now(report: Result<T, StatusError>) -> Reading<T> {
        Reading {
            report,
            read_at: Instant::now(),
        }
    }
}

/// Where the daemons' reports come from. Blocking: called on a blocking thread, and each
/// read gives up after [`TIMEOUT`].
pub trait StatusSource: Send + Sync + std::fmt::Debug {
    fn pulse(&self) -> Result<PulseReport, StatusError>;
    fn lvsd(&self) -> Result<LvsdReport, StatusError>;
}

/// The daemons' status sockets. pulse answers every connection with its report at once and
/// is never written to; lvsd is sent the line `status` and answers with its report.
#[derive(Debug, Clone)]
pub struct SocketStatus {
    pub pulse: PathBuf,
    pub lvsd: PathBuf,
    pub timeout: Duration,
}

impl SocketStatus {
    pub fn new(pulse: PathBuf, lvsd: PathBuf) -> SocketStatus {
        SocketStatus {
            pulse,
            lvsd,
            timeout: TIMEOUT,
        }
    }
}

impl StatusSource for SocketStatus {
    fn pulse(&self) -> Result<PulseReport, StatusError> {
        ask("pulse", &self.pulse, None, self.timeout)
    }

    fn lvsd(&self) -> Result<LvsdReport, StatusError> {
        ask("lvsd", &self.lvsd, Some(b"status\n"), self.timeout)
    }
}

/// Connect, send `request` if any, read until the daemon closes, all within `timeout`.
fn ask<T: DeserializeOwned>(
    daemon: &'static str,
    path: &Path,
    request: Option<&[u8]>,
    timeout: Duration,
) -> Result<T, StatusError> {
    let deadline = Instant::now() + timeout;
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            StatusError::Timeout { daemon }
        }
        _ => StatusError::Unreachable {
            daemon,
            path: path.to_owned(),
            source,
        },
    };
    let mut s = UnixStream::connect(path).map_err(io)?;
    if let Some(request) = request {
        s.set_write_timeout(Some(timeout)).map_err(io)?;
        s.write_all(request).map_err(io)?;
    }
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StatusError::Timeout { daemon });
        }
        s.set_read_timeout(Some(left)).map_err(io)?;
        let n = match s.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        if bytes.len() as u64 > MAX_REPORT {
            return Err(StatusError::TooLarge { daemon });
        }
    }
    serde_json::from_slice(&bytes).map_err(|source| StatusError::BadReport { daemon, source })
}
