//! A real server that resets a connection before its first reply byte (or closes it while
//! the client has not finished sending) has answered nothing:
//! the client's bytes so far (at most [`LIMIT`]) are kept until that first byte, so the
//! forwarder can send them to the next real server instead of failing the client. This is
//! what saves the requests waiting in the listen queue of a server that stops or dies: the
//! handshake was done by its kernel, but nothing read them.
//!
//! A server that read a request and died before writing a byte of its answer gets the
//! request replayed on another server too (as a proxy's retry on an empty response does):
//! a non-idempotent request may then run twice. `retries = 0` turns this off with the rest.
//! A reset is not reported to lvsd (a client could provoke one); the failed connects that
//! follow a dead server are.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How many of the client's bytes are kept for a replay; past it, the connection is
/// forwarded without one.
pub const LIMIT: usize = 64 * 1024;

/// How the wait for a server's first reply ended.
#[derive(Debug)]
pub(crate) enum Phase {
    /// The server's first bytes (empty: it closed without answering a client that had
    /// finished sending, or the client sent more than [`LIMIT`] first): forward from here on.
    Reply(Vec<u8>),
    /// The server reset the connection, or closed it while the client still had the
    /// connection open for sending, before answering: another may be tried.
    Reset,
    /// The client went away.
    ClientGone,
}

/// The client's bytes sent so far, while a replay is possible.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    sent: Vec<u8>,
    client_eof: bool,
}

impl Replay {
    /// How many client bytes went to the server before its reply.
    pub(crate) fn sent(&self) -> usize {
        self.sent.len()
    }

    /// Send the client's bytes so far to `backend` (a fresh server), then pass the client's
    /// further bytes on until the server answers.
    pub(crate) async fn until_reply(
        &mut self,
        client: &mut TcpStream,
        backend: &mut TcpStream,
    ) -> Phase {
        if !self.sent.is_empty() && backend.write_all(&self.sent).await.is_err() {
            return Phase::Reset;
        }
        if self.client_eof && backend.shutdown().await.is_err() {
            return Phase::Reset;
        }
        let mut from_client = vec![0u8; 8192];
        let mut reply = vec![0u8; 8192];
        loop {
            tokio::select! {
                r = backend.read(&mut reply) => return match r {
                    // Closed without a word while the client waits for one: as a reset
                    // (nginx closes the connections it has not read from when it stops).
                    Ok(0) if !self.client_eof => Phase::Reset,
                    Ok(n) => {
                        reply.truncate(n);
                        Phase::Reply(reply)
                    }
                    Err(_) => Phase::Reset,
                },
                r = client.read(&mut from_client), if !self.client_eof => match r {
                    Ok(0) => {
                        self.client_eof = true;
                        if backend.shutdown().await.is_err() {
                            return Phase::Reset;
                        }
                    }
                    Ok(n) => {
                        self.sent.extend_from_slice(&from_client[..n]);
                        if backend.write_all(&from_client[..n]).await.is_err() {
                            return Phase::Reset;
                        }
                        if self.sent.len() >= LIMIT {
                            return Phase::Reply(Vec::new());
                        }
                    }
                    Err(_) => return Phase::ClientGone,
                },
            }
        }
    }
}
