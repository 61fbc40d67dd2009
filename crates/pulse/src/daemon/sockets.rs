//! The heartbeat sockets: bound to this node's public and private addresses, each read by a
//! task of its own that hands datagrams to the main loop.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info};

use super::Event;
use crate::settings::Settings;

/// The open heartbeat sockets and their readers (stopped when dropped).
#[derive(Debug)]
pub(super) struct Sockets {
    public: Arc<UdpSocket>,
    private: Option<Arc<UdpSocket>>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Sockets {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
    }
}

fn bind_std(ip: IpAddr, port: u16) -> std::io::Result<std::net::UdpSocket> {
    // std sockets are opened with SOCK_CLOEXEC, so lvsd and commands do not inherit them.
    let s = std::net::UdpSocket::bind((ip, port))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Bind the heartbeat sockets (before detaching, so a failure reaches the terminal).
pub fn bind(settings: &Settings) -> std::io::Result<Vec<std::net::UdpSocket>> {
    let mut v = vec![bind_std(settings.own, settings.port)?];
    if let Some(p) = settings.own_private {
        v.push(bind_std(p, settings.port)?);
    }
    Ok(v)
}

fn reader(sock: Arc<UdpSocket>, private: bool, tx: mpsc::UnboundedSender<Event>) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Larger than any heartbeat, so that an oversized datagram is seen as one.
        let mut buf = [0u8; 512];
        loop {
            match sock.recv_from(&mut buf).await {
                Ok((n, from)) => {
                    let data = buf[..n].to_vec();
                    if tx
                        .send(Event::Datagram {
                            private,
                            from,
                            data,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {}
                Err(e) => {
                    info!("recvfrom() failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

impl Sockets {
    /// Take over the sockets [`bind`] opened.
    pub(super) fn new(
        std: Vec<std::net::UdpSocket>,
        tx: &mpsc::UnboundedSender<Event>,
    ) -> std::io::Result<Sockets> {
        let mut it = std.into_iter();
        let public = Arc::new(UdpSocket::from_std(
            it.next()
                .ok_or_else(|| std::io::Error::other("no socket"))?,
        )?);
        let private = match it.next() {
            Some(s) => Some(Arc::new(UdpSocket::from_std(s)?)),
            None => None,
        };
        Ok(Sockets::with(public, private, tx))
    }

    fn with(
        public: Arc<UdpSocket>,
        private: Option<Arc<UdpSocket>>,
        tx: &mpsc::UnboundedSender<Event>,
    ) -> Sockets {
        let mut readers = Vec::new();
        // piranha served the private socket first; here both are read concurrently.
        if let Some(p) = &private {
            readers.push(reader(p.clone(), true, tx.clone()));
        }
        readers.push(reader(public.clone(), false, tx.clone()));
        Sockets {
            public,
            private,
            readers,
        }
    }

    /// Whether there is a private heartbeat socket.
    pub(super) fn has_private(&self) -> bool {
        self.private.is_some()
    }

    /// The sockets for `new`, keeping those whose address and port did not change (binding
    /// them again would fail while they are open).
    pub(super) fn rebind(
        &self,
        old: &Settings,
        new: &Settings,
        tx: &mpsc::UnboundedSender<Event>,
    ) -> std::io::Result<Sockets> {
        let open = |ip: IpAddr| -> std::io::Result<Arc<UdpSocket>> {
            Ok(Arc::new(UdpSocket::from_std(bind_std(ip, new.port)?)?))
        };
        let public = if (new.own, new.port) == (old.own, old.port) {
            self.public.clone()
        } else {
            open(new.own)?
        };
        let private = match new.own_private {
            None => None,
            Some(p) if (Some(p), new.port) == (old.own_private, old.port) => self.private.clone(),
            Some(p) => Some(open(p)?),
        };
        Ok(Sockets::with(public, private, tx))
    }

    /// Send a heartbeat to the partner's addresses, one datagram from `make` for each; how
    /// many datagrams went out.
    pub(super) async fn send(
        &self,
        make: &mut (dyn FnMut() -> Vec<u8> + Send),
        settings: &Settings,
    ) -> u64 {
        let port = settings.port;
        let mut sent = 0;
        if let Some(p) = settings.partner {
            match self.public.send_to(&make(), (p, port)).await {
                Ok(_) => sent += 1,
                Err(e) => debug!("Warning -- failed to send heartbeat (public if): {e}"),
            }
        }
        if let (Some(s), Some(p)) = (&self.private, settings.partner_private) {
            match s.send_to(&make(), (p, port)).await {
                Ok(_) => sent += 1,
                Err(e) => debug!("Warning -- failed to send heartbeat (private if): {e}"),
            }
        }
        sent
    }
}
