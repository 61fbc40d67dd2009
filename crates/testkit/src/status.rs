//! The daemons' status sockets: connect, ask for the status, read the JSON report to the end,
//! parse it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// The JSON status report a daemon's status socket writes (lvsd's or pulse's), if it
/// answers within 5 s and the report parses as `T`. The request line `status` is sent first
/// (lvsd reads one request; pulse answers at once and ignores it, so a failed write is no
/// matter).
pub fn read_json<T: DeserializeOwned>(sock: &Path) -> Option<T> {
    let mut c = UnixStream::connect(sock).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    c.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let _ = c.write_all(b"status\n");
    let mut s = String::new();
    c.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}
