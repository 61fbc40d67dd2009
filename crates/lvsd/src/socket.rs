//! The status socket's I/O: binding it (with `--socket-group`), reading one request per
//! connection in a task of its own (so a slow or silent client never holds the main loop),
//! and the client side used by `lvsd --status`, `--drain`, ….

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::request::{self, MAX_LINE, Reply, Request};

/// How long a client has to send its request line; then the connection is dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Bind the socket at `path` (replacing a stale one); with `gid`, give it that group and mode
/// 0660.
pub fn bind(path: &Path, gid: Option<u32>) -> std::io::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path)?;
    if let Some(gid) = gid {
        plog::socket::share(path, gid)?;
    }
    Ok(l)
}

/// Read the request line: up to `\n` or EOF, at most [`MAX_LINE`] bytes (a longer line is
/// cut short, and refused by [`request::parse`]).
async fn read_line(c: &mut UnixStream) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = c.read(&mut chunk).await?;
        if n == 0 {
            return Ok(line);
        }
        if let Some(i) = chunk[..n].iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&chunk[..=i]);
            return Ok(line);
        }
        line.extend_from_slice(&chunk[..n]);
        if line.len() > MAX_LINE + 1 {
            return Ok(line);
        }
    }
}

/// Read a client's request within [`REQUEST_TIMEOUT`]. A request that cannot be parsed is
/// answered here; `None` when there is nothing (more) to do with the connection.
pub async fn read_request(mut c: UnixStream) -> Option<(Request, UnixStream)> {
    let line = match tokio::time::timeout(REQUEST_TIMEOUT, read_line(&mut c)).await {
        Ok(Ok(line)) => line,
        Ok(Err(_)) | Err(_) => return None,
    };
    match request::parse(&line) {
        Ok(r) => Some((r, c)),
        Err(e) => {
            let _ = c.write_all(Reply::error(e).to_line().as_bytes()).await;
            let _ = c.shutdown().await;
            // Read what the client still sends (a line too long): a Unix socket closed with
            // unread data resets the connection, and the client could lose the reply.
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, drain(&mut c)).await;
            None
        }
    }
}

/// Read and drop up to 1 MiB, until EOF.
async fn drain(c: &mut UnixStream) {
    let mut chunk = [0u8; 4096];
    let mut total = 0;
    while total < (1 << 20) {
        match c.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}

/// Write the reply and close the connection.
pub async fn answer(mut c: UnixStream, body: String) {
    let _ = c.write_all(body.as_bytes()).await;
    let _ = c.shutdown().await;
}

/// Send one request line to the lvsd on `socket` and read its reply.
pub fn ask(socket: &Path, line: &str) -> std::io::Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(format!("{line}\n").as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
