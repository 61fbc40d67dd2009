//! The demo's web servers, and the client that asks the virtual address who answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

/// The virtual service of `etc/lvs.cf.demo`.
pub const VIP: &str = "127.0.0.80:8080";

/// A web server on its own thread that can be stopped and started again.
pub struct Web {
    stop: Arc<AtomicBool>,
}

impl Web {
    pub fn start(name: &'static str, port: u16) -> anyhow::Result<Web> {
        let l = std::net::TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        l.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 1024];
                        let _ = c.read(&mut buf);
                        let _ = c.write_all(
                            format!("HTTP/1.0 200 OK\r\n\r\nhello from {name}\n").as_bytes(),
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Web { stop })
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One request through the virtual address; the name of the server that answered.
pub fn request() -> String {
    let Ok(mut s) = TcpStream::connect(VIP) else {
        return "refused".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("hello from "))
        .unwrap_or("(no answer)")
        .to_owned()
}
