//! The daemons' status sockets: connect, ask for the status, read the JSON report to the end,
//! parse it.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// The JSON status report a daemon's status socket writes (lvsd's or pulse's), if it
/// answers within 5 s and the report parses as `T`. The request is an empty one: the writing
/// side is shut down at once, which lvsd takes as `status` and pulse (which answers every
/// connection at once and reads nothing) ignores. Writing `status` would not do for pulse: a
/// Unix socket closed with unread data resets the connection, and the report may be lost.
pub fn read_json<T: DeserializeOwned>(sock: &Path) -> Option<T> {
    let mut c = UnixStream::connect(sock).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let _ = c.shutdown(std::net::Shutdown::Write);
    let mut s = String::new();
    c.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}
