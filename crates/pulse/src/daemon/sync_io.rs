//! The I/O of the lvs.cf transfer (`config_sync`, [`crate::sync_transfer`]): a TCP listener
//! that answers the partner with this node's file, and the fetch of the partner's newer file,
//! written in place atomically with the old one kept as `lvs.cf.prev`. After the answer the
//! fetching node writes one line back, `took N` or `refused: REASON`, which the serving node
//! logs, so that both sides report the outcome.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, info};

use super::Event;
use crate::auth::codec::Key;
use crate::sync_plan::Version;
use crate::sync_transfer::{self, NONCE};

/// What the listener serves: the signing key, the serial and the text as read.
pub(super) type Served = Arc<Mutex<Option<(Key, i64, String)>>>;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Answer the partner's requests on `(own, port)` until the daemon ends.
pub(super) fn listen(own: IpAddr, port: u16, partners: Vec<IpAddr>, served: Served) {
    tokio::spawn(async move {
        let l = match TcpListener::bind((own, port)).await {
            Ok(l) => l,
            Err(e) => {
                info!("config_sync: cannot listen on {own}:{port}/tcp: {e}");
                return;
            }
        };
        loop {
            let Ok((c, from)) = l.accept().await else {
                continue;
            };
            if !partners.contains(&from.ip()) {
                debug!("config_sync: connection from {from} refused (not the partner)");
                continue;
            }
            let served = served.clone();
            tokio::spawn(async move {
                if let Err(e) = tokio::time::timeout(TIMEOUT, serve(c, served)).await {
                    debug!("config_sync: answer to {from}: {e}");
                }
            });
        }
    });
}

async fn serve(mut c: TcpStream, served: Served) -> std::io::Result<()> {
    let mut nonce = [0u8; NONCE];
    c.read_exact(&mut nonce).await?;
    let answer = {
        let s = served.lock().unwrap_or_else(|p| p.into_inner());
        let Some((key, serial, text)) = s.as_ref() else {
            return Ok(());
        };
        sync_transfer::answer(key, &nonce, *serial, text.as_bytes())
    };
    c.write_all(&answer).await?;
    c.shutdown().await?;
    let mut reply = Vec::new();
    (&mut c).take(512).read_to_end(&mut reply).await?;
    let reply = String::from_utf8_lossy(&reply);
    match reply.trim_end().strip_prefix("refused: ") {
        Some(why) => info!("lvs.cf: the partner refused this node's file: {why}"),
        None if !reply.is_empty() => info!("lvs.cf: the partner {}", reply.trim_end()),
        None => {}
    }
    Ok(())
}

/// What a fetch needs.
pub(super) struct Fetch {
    pub partner: SocketAddr,
    pub keys: Vec<Key>,
    pub own: Version,
    pub path: PathBuf,
    pub nonce: [u8; NONCE],
}

/// Fetch the partner's file, check it and install it; the result comes back as
/// [`Event::Synced`].
pub(super) fn fetch(f: Fetch, tx: mpsc::UnboundedSender<Event>) {
    tokio::spawn(async move {
        let r = match tokio::time::timeout(TIMEOUT, ask(&f)).await {
            Ok(Ok((mut c, b))) => {
                let r = take(&f, &b).await;
                let line = match &r {
                    Ok(serial) => format!("took serial {serial}\n"),
                    Err(e) => format!("refused: {e}\n"),
                };
                let _ = tokio::time::timeout(TIMEOUT, c.write_all(line.as_bytes())).await;
                r
            }
            Ok(Err(e)) => Err(format!("cannot fetch it from {}: {e}", f.partner)),
            Err(_) => Err(format!("no answer from {} in time", f.partner)),
        };
        let _ = tx.send(Event::Synced(r));
    });
}

/// Send the nonce and read the answer (up to the partner's end of writing); the connection
/// stays open for the reply line.
async fn ask(f: &Fetch) -> std::io::Result<(TcpStream, Vec<u8>)> {
    let mut c = TcpStream::connect(f.partner).await?;
    c.write_all(&f.nonce).await?;
    let mut b = Vec::new();
    (&mut c)
        .take((sync_transfer::MAX_FILE + 100) as u64)
        .read_to_end(&mut b)
        .await?;
    Ok((c, b))
}

async fn take(f: &Fetch, answer: &[u8]) -> Result<i64, String> {
    let (serial, text) =
        sync_transfer::read_answer(&f.keys, &f.nonce, answer).map_err(|e| e.to_string())?;
    sync_transfer::check_received(f.own, serial, &text).map_err(|e| e.to_string())?;
    let path = f.path.clone();
    tokio::task::spawn_blocking(move || install(&path, &text))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot write it: {e}"))?;
    Ok(serial)
}

/// Replace `path` by `text` atomically, keeping its owner and mode; the old file is kept as
/// `<path>.prev`.
fn install(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let path = std::fs::canonicalize(path)?;
    let meta = std::fs::metadata(&path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("/"));
    let tmp = dir.join(format!(".{name}.pulse-{}", std::process::id()));
    let r = (|| {
        let mut t = std::fs::File::create(&tmp)?;
        t.write_all(text)?;
        t.sync_all()?;
        std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid()))?;
        std::fs::set_permissions(&tmp, meta.permissions())?;
        std::fs::copy(&path, dir.join(format!("{name}.prev")))?;
        std::fs::rename(&tmp, &path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}
