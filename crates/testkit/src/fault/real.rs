//! A real server whose behaviour a test changes while it runs: it answers, or accepts and
//! never answers, or resets every connection, or answers slowly, or flaps between answering
//! and resetting every second. The mode is read for each new connection, so the listener
//! (and the port) stays the same across a change, as a sick server's would.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::netns::in_netns;
use crate::servers::TcpServer;

/// How a real server treats a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Reads the request and answers `200 OK` with its name and the peer's address.
    Answer = 0,
    /// Accepts, reads, and never answers (holds the connection until the peer leaves).
    Silent = 1,
    /// Accepts and resets the connection at once (SO_LINGER 0).
    Reset = 2,
    /// Answers after [`SLOW`].
    Slow = 3,
    /// [`Mode::Answer`] in even seconds of the flapping, [`Mode::Reset`] in odd ones.
    Flap = 4,
}

/// How long a slow server takes to answer: more than a check's timeout (1 s) and than the
/// client's patience.
pub const SLOW: Duration = Duration::from_millis(2500);

/// A web server on port 80 of one namespace.
#[derive(Debug)]
pub struct RealServer {
    mode: Arc<AtomicU8>,
    _server: TcpServer,
}

impl RealServer {
    /// Serve port 80 in namespace `ns`, answering with `name`.
    pub fn start(ns: &str, name: &'static str) -> RealServer {
        let l = in_netns(ns, || {
            std::net::TcpListener::bind("0.0.0.0:80").expect("bind :80")
        });
        let mode = Arc::new(AtomicU8::new(Mode::Answer as u8));
        let m = mode.clone();
        let born = Instant::now();
        let server = TcpServer::serve(l, move |c, peer| {
            let mode = match m.load(Ordering::SeqCst) {
                0 => Mode::Answer,
                1 => Mode::Silent,
                2 => Mode::Reset,
                3 => Mode::Slow,
                _ if born.elapsed().as_secs().is_multiple_of(2) => Mode::Answer,
                _ => Mode::Reset,
            };
            serve(c, peer, name, mode);
        });
        RealServer {
            mode,
            _server: server,
        }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

fn serve(mut c: TcpStream, peer: SocketAddr, name: &str, mode: Mode) {
    if mode == Mode::Reset {
        let _ = nix::sys::socket::setsockopt(
            &c.as_fd(),
            nix::sys::socket::sockopt::Linger,
            &nix::libc::linger {
                l_onoff: 1,
                l_linger: 0,
            },
        );
        return;
    }
    let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => got.extend_from_slice(&buf[..k]),
        }
    }
    match mode {
        Mode::Silent => {
            // Until the peer gives up (or a minute passes).
            let _ = c.set_read_timeout(Some(Duration::from_secs(60)));
            while matches!(c.read(&mut buf), Ok(k) if k > 0) {}
            return;
        }
        Mode::Slow => std::thread::sleep(SLOW),
        _ => {}
    }
    let _ = c.write_all(format!("HTTP/1.0 200 OK\r\n\r\n{name}\nvia {}\n", peer.ip()).as_bytes());
}
