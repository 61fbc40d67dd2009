//! The state the status socket reports, and the socket's server.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::debug;

use crate::status::Status;

/// State shared by the main loop, the executor and the status socket.
#[derive(Debug, Default)]
pub struct Shared {
    pub status: Status,
    pub last_heard: Option<Instant>,
}

/// Lock the shared state (a panic elsewhere does not make it unreadable).
pub fn lock(s: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Answer every connection to the status socket with the status as one line of JSON.
pub(super) fn serve(
    l: std::os::unix::net::UnixListener,
    shared: Arc<Mutex<Shared>>,
) -> std::io::Result<()> {
    l.set_nonblocking(true)?;
    let l = tokio::net::UnixListener::from_std(l)?;
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        loop {
            let mut c = match l.accept().await {
                Ok((c, _)) => c,
                Err(e) => {
                    // Out of descriptors, say: the socket itself is fine; try again later.
                    debug!("status socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let text = {
                let sh = lock(&shared);
                let mut st = sh.status.clone();
                st.partner_last_heard_ms = sh.last_heard.map(|t| t.elapsed().as_millis() as u64);
                serde_json::to_string(&st).unwrap_or_default()
            };
            tokio::spawn(async move {
                let _ = c.write_all(text.as_bytes()).await;
                let _ = c.write_all(b"\n").await;
            });
        }
    });
    Ok(())
}
