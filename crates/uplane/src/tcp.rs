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
use crate::workers::{Carried, Threads};

/// Copy buffer per direction. Each connection zeroes two of them, so bigger costs short
/// connections more than it gains long ones (measured in bench/README.md).
const BUFFER: usize = 32 * 1024;

/// Listen on `at`, also when the address is not (yet) on this host: pulse adds VIPs when the
/// node becomes active. Needs a runtime context (the socket is made with tokio's builder and
/// handed back unregistered, for [`serve`] to share among the forwarding threads).
pub fn listen(at: SocketAddr) -> io::Result<std::net::TcpListener> {
    let sock = match at {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    sock.set_reuseaddr(true)?;
    setsockopt(&sock, sockopt::IpFreebind, &true).map_err(io::Error::from)?;
    sock.bind(at)?;
    sock.listen(1024)?.into_std()
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

/// Accept connections until `stop` turns true (the service was deleted): one accepting task
/// on each forwarding thread (see [`workers`](crate::workers)), each on its own duplicate of
/// the listening socket; a connection lives on one thread, the least loaded.
pub fn serve(
    threads: &Arc<Threads>,
    l: std::net::TcpListener,
    id: ServiceId,
    state: &Arc<Mutex<State>>,
    stop: &watch::Receiver<bool>,
) -> io::Result<()> {
    let mut copies = Vec::with_capacity(threads.handles().len());
    for _ in threads.handles() {
        copies.push(l.try_clone()?);
    }
    drop(l);
    for (me, copy) in copies.into_iter().enumerate() {
        let a = Acceptor {
            me,
            threads: threads.clone(),
            id,
            state: state.clone(),
        };
        let stop = stop.clone();
        threads.handles()[me].spawn(async move {
            match TcpListener::from_std(copy) {
                Ok(l) => a.run(l, stop).await,
                Err(e) => tracing::warn!("{id}: cannot accept on a forwarding thread: {e}"),
            }
        });
    }
    Ok(())
}

/// One forwarding thread's accepting task.
struct Acceptor {
    me: usize,
    threads: Arc<Threads>,
    id: ServiceId,
    state: Arc<Mutex<State>>,
}

impl Acceptor {
    async fn run(self, l: TcpListener, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                r = l.accept() => match r {
                    Ok((client, peer)) => self.accepted(client, peer),
                    // EMFILE and the like: back off instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                r = stop.changed() => if r.is_err() || *stop.borrow() { break },
            }
        }
    }

    /// Schedule, then forward on this thread or hand the connection to a lighter one.
    fn accepted(&self, client: TcpStream, peer: SocketAddr) {
        let id = self.id;
        let (picked, svc, policy) = {
            let mut st = lock(&self.state);
            (
                st.schedule(id, peer, Instant::now()),
                st.service_counters(id),
                st.policy(id),
            )
        };
        let (Some(p), Some(svc)) = (picked, svc) else {
            reset(client);
            return;
        };
        let to = Client {
            id,
            peer,
            state: self.state.clone(),
            svc,
        };
        let there = self.threads.pick(self.me);
        let carried = self.threads.carry(there);
        if there == self.me {
            tokio::spawn(to.serve(client, p, policy, carried));
            return;
        }
        // Moved: off this thread's epoll, onto the other's.
        match client.into_std() {
            Ok(c) => {
                self.threads.handles()[there].spawn(async move {
                    if let Ok(client) = TcpStream::from_std(c) {
                        to.serve(client, p, policy, carried).await;
                    }
                });
            }
            Err(e) => debug!("{id}: cannot hand a connection to another thread: {e}"),
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
    async fn serve(
        self,
        mut client: TcpStream,
        first: Picked,
        policy: RetryPolicy,
        _carried: Carried,
    ) {
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
