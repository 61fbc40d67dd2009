//! The TCP forwarder: accept on the VIP, schedule, connect to the destination (trying the
//! next one when it fails, see [`retry`](crate::retry)), copy both ways.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipvs::ServiceId;
use nix::sys::socket::{setsockopt, sockopt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

use tracing::debug;

use crate::replay::{Phase, Replay};
use crate::retry::{Attempts, ConnectFailure, RetryPolicy};
use crate::state::{Counters, Picked, State, lock};

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
                    let (picked, svc, policy) = {
                        let mut st = lock(&state);
                        (st.schedule(id, peer, Instant::now()), st.service_counters(id), st.policy(id))
                    };
                    match (picked, svc) {
                        (Some(p), Some(svc)) => {
                            let to = Client { id, peer, state: state.clone(), svc };
                            tokio::spawn(to.serve(client, p, policy));
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

/// One client's connection through the service.
struct Client {
    id: ServiceId,
    peer: SocketAddr,
    state: Arc<Mutex<State>>,
    svc: Arc<Counters>,
}

impl Client {
    /// Connect to `first`, or to the next servers the scheduler gives when it fails (see
    /// [`retry`](crate::retry)), then copy both ways.
    async fn serve(self, mut client: TcpStream, first: Picked, policy: RetryPolicy) {
        self.svc.conns.fetch_add(1, Ordering::Relaxed);
        let _ = client.set_nodelay(true);
        let mut attempts = Attempts::new(policy);
        let mut p = first;
        let mut deadline = attempts.begin(p.addr, Instant::now());
        let mut replay = Replay::default();
        loop {
            let cause = match self.connect(&p, deadline).await {
                Ok(mut backend) => {
                    // Established from here on, for the schedulers that count connections.
                    let active = &p.shared.counters.active;
                    active.fetch_add(1, Ordering::Relaxed);
                    match replay.until_reply(&mut client, &mut backend).await {
                        Phase::Reply(first) => {
                            let sent = replay.sent() as u64;
                            forward(&mut client, backend, &p, &self.svc, (sent, first)).await;
                            active.fetch_sub(1, Ordering::Relaxed);
                            return;
                        }
                        Phase::ClientGone => {
                            active.fetch_sub(1, Ordering::Relaxed);
                            reset(backend);
                            return;
                        }
                        Phase::Reset => {
                            active.fetch_sub(1, Ordering::Relaxed);
                            debug!("{}: {} reset before answering", self.id, p.addr);
                            None
                        }
                    }
                }
                Err(cause) => {
                    debug!("{}: connecting to {} failed ({cause})", self.id, p.addr);
                    Some(cause)
                }
            };
            let next = {
                let mut st = lock(&self.state);
                if let Some(cause) = cause {
                    st.report(self.id, &p, cause);
                }
                let mut picked = None;
                let next = attempts.next(
                    |except| {
                        picked = st.schedule_except(self.id, self.peer, Instant::now(), except);
                        picked.as_ref().map(|p| p.addr)
                    },
                    Instant::now(),
                );
                next.zip(picked)
            };
            let Some(((_, d), picked)) = next else {
                reset(client);
                return;
            };
            (p, deadline) = (picked, d);
        }
    }

    /// One attempt at `p`, until `deadline`.
    async fn connect(&self, p: &Picked, deadline: Instant) -> Result<TcpStream, ConnectFailure> {
        let c = &p.shared.counters;
        c.conns.fetch_add(1, Ordering::Relaxed);
        c.inactive.fetch_add(1, Ordering::Relaxed);
        let r = tokio::time::timeout_at(deadline.into(), TcpStream::connect(p.addr)).await;
        c.inactive.fetch_sub(1, Ordering::Relaxed);
        match r {
            Ok(Ok(b)) => {
                let _ = b.set_nodelay(true);
                Ok(b)
            }
            Ok(Err(e)) => Err(ConnectFailure::of(&e)),
            Err(_) => Err(ConnectFailure::TimedOut),
        }
    }
}

/// Copy both ways until either side is done or the destination's connections are killed;
/// `before` is what was exchanged before (client bytes sent, the server's first reply).
async fn forward(
    client: &mut TcpStream,
    mut backend: TcpStream,
    p: &Picked,
    svc: &Counters,
    before: (u64, Vec<u8>),
) {
    let c = &p.shared.counters;
    let (sent, first) = before;
    if client.write_all(&first).await.is_err() {
        reset(backend);
        return;
    }
    for counters in [c, svc] {
        counters.inbytes.fetch_add(sent, Ordering::Relaxed);
        counters
            .outbytes
            .fetch_add(first.len() as u64, Ordering::Relaxed);
    }
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    let mut kill = p.shared.kill.subscribe();
    let copied = tokio::select! {
        r = tokio::io::copy_bidirectional_with_sizes(client, &mut backend, BUFFER, BUFFER) => Some(r),
        _ = kill.wait_for(|k| *k) => None,
    };
    match copied {
        Some(Ok((up, down))) => {
            for counters in [c, svc] {
                counters.inbytes.fetch_add(up, Ordering::Relaxed);
                counters.outbytes.fetch_add(down, Ordering::Relaxed);
            }
        }
        // The destination reset or vanished, or its drain time is over: the client gets a
        // reset too, as through IPVS.
        Some(Err(_)) | None => {
            let _ = nix::sys::socket::setsockopt(
                &*client,
                sockopt::Linger,
                &nix::libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                },
            );
            reset(backend);
        }
    }
}
