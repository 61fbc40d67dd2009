//! Readiness: `READY=1` to the socket named by `NOTIFY_SOCKET`.
//!
//! This is systemd's protocol (`Type=notify`), and pulse uses the same one: it starts lvsd with
//! `NOTIFY_SOCKET` pointing at its own datagram socket and waits for `READY=1`. piranha used a
//! POSIX semaphore that only pulse could wait on.

use std::os::unix::net::UnixDatagram;

/// Send `msg` (for example `READY=1`) if `NOTIFY_SOCKET` is set. A name starting with `@` is
/// in the abstract namespace.
pub fn notify(msg: &str) -> std::io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let sock = UnixDatagram::unbound()?;
    let path = path.to_string_lossy().into_owned();
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(msg.as_bytes(), &addr)?;
    } else {
        sock.send_to(msg.as_bytes(), &path)?;
    }
    Ok(true)
}
