//! The TCP forwarder: accept on the VIP, schedule, connect to the destination, copy both ways.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipvs::ServiceId;
use nix::sys::socket::{setsockopt, sockopt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

use crate::state::{Counters, Picked, State, lock};

/// How long a destination may take to accept a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Copy buffer per direction. Each connection zeroes two of them, so bigger costs short
/// connections more than it gains long ones (measured in bench/README.md).
const BUFFER: usize = 32 * 1024;

/// Listen on `at`, also when the address is not (yet) on this host: pulse adds VIPs when the
/// node becomes active.
pub fn listen(at: SocketAddr) -> io::Result<TcpListener> {
    let sock = match at {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    sock.set_reuseaddr(true)?;
    setsockopt(&sock, sockopt::IpFreebind, &true).map_err(io::Error::from)?;
    sock.bind(at)?;
    sock.listen(1024)
}

/// Close with a reset (what a client sees when IPVS has no destination or it died).
fn reset(s: TcpStream) {
    // SO_LINGER with a zero time: close() sends RST at once and does not block.
    let zero = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = setsockopt(&s, sockopt::Linger, &zero);
    drop(s);
}

/// Accept connections until `stop` turns true (the service was deleted), with one accepting
/// task per core so that connection set-up is not serialised on one thread.
pub async fn serve(
    l: TcpListener,
    id: ServiceId,
    state: Arc<Mutex<State>>,
    stop: watch::Receiver<bool>,
) {
    let l = Arc::new(l);
    let n = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        tasks.push(tokio::spawn(accept_loop(
            l.clone(),
            id,
            state.clone(),
            stop.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn accept_loop(
    l: Arc<TcpListener>,
    id: ServiceId,
    state: Arc<Mutex<State>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = l.accept() => match r {
                Ok((client, peer)) => {
                    let (picked, svc) = {
                        let mut st = lock(&state);
                        (st.schedule(id, peer, Instant::now()), st.service_counters(id))
                    };
                    match (picked, svc) {
                        (Some(p), Some(svc)) => {
                            tokio::spawn(connection(client, p, svc));
                        }
                        _ => reset(client),
                    }
                }
                // EMFILE and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            r = stop.changed() => if r.is_err() || *stop.borrow() { break },
        }
    }
}

async fn connection(mut client: TcpStream, p: Picked, svc: Arc<Counters>) {
    let c = &p.shared.counters;
    c.conns.fetch_add(1, Ordering::Relaxed);
    svc.conns.fetch_add(1, Ordering::Relaxed);
    c.inactive.fetch_add(1, Ordering::Relaxed);
    let backend = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(p.addr)).await;
    c.inactive.fetch_sub(1, Ordering::Relaxed);
    let Ok(Ok(mut backend)) = backend else {
        reset(client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    c.active.fetch_add(1, Ordering::Relaxed);
    let mut kill = p.shared.kill.subscribe();
    let copied = tokio::select! {
        r = tokio::io::copy_bidirectional_with_sizes(&mut client, &mut backend, BUFFER, BUFFER) => Some(r),
        _ = kill.wait_for(|k| *k) => None,
    };
    c.active.fetch_sub(1, Ordering::Relaxed);
    match copied {
        Some(Ok((up, down))) => {
            for counters in [c, &*svc] {
                counters.inbytes.fetch_add(up, Ordering::Relaxed);
                counters.outbytes.fetch_add(down, Ordering::Relaxed);
            }
        }
        // The destination reset or vanished, or its drain time is over: the client gets a
        // reset too, as through IPVS.
        Some(Err(_)) | None => {
            reset(client);
            reset(backend);
        }
    }
}
