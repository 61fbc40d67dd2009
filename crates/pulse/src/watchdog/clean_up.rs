//! Cleaning up after a dead pulse: what the watchdog does at once, and what `pulse --clean-up`
//! (the service unit's `ExecStopPost=`) does again from pulse's [file](mod@super::file) in case
//! the watchdog was killed with the rest of the unit. Both are safe to repeat: an address
//! already gone is skipped, and a STOPPED the partner already took is refused there as a
//! replay (counted, harmless).

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use tracing::info;

use super::{Report, file};

/// How long to wait for the supervised program to go before the addresses do.
const CHILD_WAIT: Duration = Duration::from_millis(250);

/// Tell the partner (it starts taking over at once), let lvsd close its connections while
/// the addresses are still there (a connection whose address is gone can send nothing, not
/// even a reset, and its client waits for a timeout), then take the addresses down.
pub async fn clean_up(netif: Option<netif::Netif>, r: &Report) {
    info!("pulse {} died: cleaning up after it", r.pid);
    for d in &r.last {
        let sent = std::net::UdpSocket::bind((d.from, 0)).and_then(|s| s.send_to(&d.data, d.to));
        match sent {
            Ok(_) => info!("told {} that this node stopped", d.to),
            Err(e) => info!("cannot tell {} that this node stopped: {e}", d.to),
        }
    }
    if let Some(pid) = r.child {
        let t0 = Instant::now();
        while !gone(pid) && t0.elapsed() < CHILD_WAIT {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if gone(pid) {
            info!("child {pid} gone after {} ms", t0.elapsed().as_millis());
        } else {
            info!("child {pid} still runs after {CHILD_WAIT:?}");
        }
    }
    match &netif {
        Some(n) => {
            for v in &r.vips {
                match n.del_address(&v.device, v.ip).await {
                    Ok(true) => info!("removed {} from {}", v.ip, v.device),
                    Ok(false) => {}
                    Err(e) => info!("cannot remove {} from {}: {e}", v.ip, v.device),
                }
            }
        }
        None if !r.vips.is_empty() => info!("no rtnetlink: addresses left in place"),
        None => {}
    }
}

/// Whether process `pid` has exited with all its threads: gone, or a zombie whose other
/// threads are gone too (a zombie leader's threads may still be exiting, and the sockets close
/// only when the last one does).
fn gone(pid: u32) -> bool {
    let zombie = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => return true,
        Ok(st) => st.rsplit_once(')').is_some_and(|(_, rest)| {
            matches!(rest.trim_start().as_bytes().first(), Some(b'Z' | b'X'))
        }),
    };
    zombie && std::fs::read_dir(format!("/proc/{pid}/task")).map_or(true, |d| d.count() <= 1)
}

/// `pulse --clean-up`: nothing while a pulse answers on `socket` or when its file is gone
/// (it stopped in order, or the watchdog did the work); otherwise what the watchdog would
/// have done. The exit status: 0, or 1 when the file cannot be used.
pub fn main(socket: &Path) -> i32 {
    plog::init("pulse", &[plog::Sink::Stdout], false);
    let path = file::path_for(socket);
    if UnixStream::connect(socket).is_ok() {
        info!(
            "--clean-up: pulse still answers on {}: nothing to do",
            socket.display()
        );
        return 0;
    }
    let report = match file::read(&path) {
        Ok(Some(r)) => r,
        Ok(None) => return 0,
        Err(e) => {
            info!("--clean-up: {e}");
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            info!("--clean-up: {e}");
            return 1;
        }
    };
    rt.block_on(async {
        let netif = netif::Netif::new()
            .map_err(|e| info!("--clean-up: {e}"))
            .ok();
        clean_up(netif, &report).await;
    });
    file::remove(&path);
    0
}
