//! The UDP forwarder: a flow per client address, each with its own connected socket to the
//! destination, expired after the UDP idle timeout (IPVS's `--set` third value).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipvs::ServiceId;
use nix::sys::socket::{setsockopt, sockopt};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::{Counters, DestShared, State, lock};

/// Bind `at`, also when the address is not (yet) on this host; [`serve`] registers it with
/// the runtime it runs on.
pub fn bind(at: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let domain = if at.is_ipv4() {
        nix::sys::socket::AddressFamily::Inet
    } else {
        nix::sys::socket::AddressFamily::Inet6
    };
    let fd = nix::sys::socket::socket(
        domain,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC | nix::sys::socket::SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(io::Error::from)?;
    setsockopt(&fd, sockopt::IpFreebind, &true).map_err(io::Error::from)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(io::Error::from)?;
    let std_sock = std::net::UdpSocket::from(fd);
    let addr: nix::sys::socket::SockaddrStorage = at.into();
    nix::sys::socket::bind(std::os::fd::AsRawFd::as_raw_fd(&std_sock), &addr)
        .map_err(io::Error::from)?;
    Ok(std_sock)
}

struct Flow {
    shared: Arc<DestShared>,
    up: Arc<UdpSocket>,
    /// Milliseconds since `epoch` of the last datagram either way.
    last: Arc<AtomicU64>,
    replies: JoinHandle<()>,
}

/// Forward datagrams until `stop` turns true.
pub async fn serve(
    sock: std::net::UdpSocket,
    id: ServiceId,
    state: Arc<Mutex<State>>,
    mut stop: watch::Receiver<bool>,
) {
    let sock = match UdpSocket::from_std(sock) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::warn!("{id}: cannot forward on a forwarding thread: {e}");
            return;
        }
    };
    let epoch = Instant::now();
    let ms = move || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                let Ok((n, peer)) = r else { continue };
                let svc = lock(&state).service_counters(id);
                let Some(svc) = svc else { continue };
                let f = match flows.entry(peer) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let Some(f) = new_flow(&sock, &state, id, peer, &svc, epoch).await else { continue };
                        v.insert(f)
                    }
                };
                f.last.store(ms(), Ordering::Relaxed);
                if f.up.send(&buf[..n]).await.is_ok() {
                    for c in [&f.shared.counters, &*svc] {
                        c.inpkts.fetch_add(1, Ordering::Relaxed);
                        c.inbytes.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            }
            _ = sweep.tick() => {
                let idle = Duration::from_secs(u64::from(lock(&state).timeouts.udp.max(1)));
                let now = ms();
                flows.retain(|_, f| {
                    let keep = now.saturating_sub(f.last.load(Ordering::Relaxed)) < idle.as_millis() as u64
                        && !*f.shared.kill.borrow();
                    if !keep {
                        f.replies.abort();
                        f.shared.counters.inactive.fetch_sub(1, Ordering::Relaxed);
                    }
                    keep
                });
            }
            r = stop.changed() => if r.is_err() || *stop.borrow() { break },
        }
    }
    for (_, f) in flows {
        f.replies.abort();
        f.shared.counters.inactive.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn new_flow(
    sock: &Arc<UdpSocket>,
    state: &Arc<Mutex<State>>,
    id: ServiceId,
    peer: SocketAddr,
    svc: &Arc<Counters>,
    epoch: Instant,
) -> Option<Flow> {
    let ms = move || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    let p = lock(state).schedule(id, peer, Instant::now())?;
    let local: SocketAddr = if p.addr.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let up = UdpSocket::bind(local).await.ok()?;
    up.connect(p.addr).await.ok()?;
    let up = Arc::new(up);
    let c = &p.shared.counters;
    c.conns.fetch_add(1, Ordering::Relaxed);
    c.inactive.fetch_add(1, Ordering::Relaxed);
    svc.conns.fetch_add(1, Ordering::Relaxed);
    let last = Arc::new(AtomicU64::new(ms()));
    let replies = {
        let (up, sock, shared, svc) = (up.clone(), sock.clone(), p.shared.clone(), svc.clone());
        let last = last.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            // Replies go back from the VIP's socket to the client.
            while let Ok(n) = up.recv(&mut buf).await {
                last.store(ms(), Ordering::Relaxed);
                if sock.send_to(&buf[..n], peer).await.is_ok() {
                    for c in [&shared.counters, &*svc] {
                        c.outpkts.fetch_add(1, Ordering::Relaxed);
                        c.outbytes.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    Some(Flow {
        shared: p.shared,
        up,
        last,
        replies,
    })
}
