//! BIRD's control socket: connect, read the greeting, send `configure`, read the reply.
//! Blocking, with a deadline on every read and write (lvsd calls it from its blocking pool).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::reply::{self, Accepted, Reply};

/// The longest line read from BIRD; a longer one is cut there.
const MAX_LINE: u64 = 64 * 1024;
/// The most lines of one reply (a `configure` reply has two).
const MAX_LINES: usize = 1000;

/// A BIRD control socket.
#[derive(Debug, Clone)]
pub struct Bird {
    pub socket: PathBuf,
    /// How long to wait for each reply (BIRD parses its whole configuration first).
    pub timeout: Duration,
}

impl Bird {
    pub fn new(socket: impl Into<PathBuf>) -> Bird {
        Bird {
            socket: socket.into(),
            timeout: Duration::from_secs(5),
        }
    }

    /// Ask BIRD to read its configuration again (`configure`).
    pub fn configure(&self) -> Result<Accepted, Error> {
        let r = self.command("configure")?;
        reply::configure_outcome(&r)
    }

    /// Send one command and read its reply (after the greeting).
    pub fn command(&self, cmd: &str) -> Result<Reply, Error> {
        let stream = UnixStream::connect(&self.socket).map_err(|source| Error::Connect {
            socket: self.socket.clone(),
            source,
        })?;
        let io = |source| Error::Io {
            socket: self.socket.clone(),
            source,
        };
        stream.set_read_timeout(Some(self.timeout)).map_err(io)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let mut w = stream.try_clone().map_err(io)?;
        let mut r = BufReader::new(stream);
        let hello = self.read_reply(&mut r)?;
        if hello.code != reply::WELCOME {
            return Err(Error::Refused {
                code: hello.code,
                message: hello.text,
            });
        }
        w.write_all(format!("{cmd}\n").as_bytes()).map_err(io)?;
        self.read_reply(&mut r)
    }

    fn read_reply(&self, r: &mut impl BufRead) -> Result<Reply, Error> {
        let mut reply = Reply::default();
        for _ in 0..MAX_LINES {
            let mut buf = Vec::new();
            let n = r
                .by_ref()
                .take(MAX_LINE)
                .read_until(b'\n', &mut buf)
                .map_err(|source| Error::Io {
                    socket: self.socket.clone(),
                    source,
                })?;
            if n == 0 {
                return Err(Error::Io {
                    socket: self.socket.clone(),
                    source: std::io::ErrorKind::UnexpectedEof.into(),
                });
            }
            let text = String::from_utf8_lossy(&buf);
            if reply.push(text.trim_end_matches(['\n', '\r']))? {
                return Ok(reply);
            }
        }
        Err(Error::Protocol(format!("more than {MAX_LINES} lines")))
    }
}
