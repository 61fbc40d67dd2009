//! Tiny TCP servers for tests: each connection is handled on its own thread, and stopping the
//! server closes its listener before [`TcpServer::stop`] returns (connections are refused
//! from then on).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A listener served by `handler` until stopped (explicitly or on drop).
#[derive(Debug)]
pub struct TcpServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl TcpServer {
    /// Serve `listener` (bound wherever the caller chose, say in a namespace): each accepted
    /// connection goes to `handler` on a thread of its own, in blocking mode.
    pub fn serve(
        listener: TcpListener,
        handler: impl Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    ) -> TcpServer {
        let addr = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handler = Arc::new(handler);
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((c, peer)) => {
                        let h = handler.clone();
                        std::thread::spawn(move || {
                            let _ = c.set_nonblocking(false);
                            h(c, peer)
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            // The listener is closed here.
        });
        TcpServer {
            stop,
            thread: Some(thread),
            addr,
        }
    }

    /// Bind `addr` and serve it with `handler`.
    pub fn bind(
        addr: impl ToSocketAddrs,
        handler: impl Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    ) -> TcpServer {
        TcpServer::serve(TcpListener::bind(addr).expect("bind"), handler)
    }

    /// Bind `addr`; every connection gets `reply` and is closed.
    pub fn reply(addr: impl ToSocketAddrs, reply: impl Into<Vec<u8>>) -> TcpServer {
        let reply = reply.into();
        TcpServer::bind(addr, move |mut c, _| {
            let _ = c.write_all(&reply);
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting and close the listener (connections already accepted go on).
    pub fn stop(mut self) {
        self.halt();
    }

    /// Keep serving until the process ends.
    pub fn detach(mut self) {
        self.thread.take();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.halt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn replies_then_refuses_once_stopped() {
        let s = TcpServer::reply("127.0.0.1:0", "OK\n");
        let addr = s.addr();
        let mut got = String::new();
        TcpStream::connect(addr)
            .unwrap()
            .read_to_string(&mut got)
            .unwrap();
        assert_eq!(got, "OK\n");
        s.stop();
        assert!(TcpStream::connect(addr).is_err());
    }
}
