//! Telling the daemons to re-read lvs.cf after a write.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// lvsd's status socket, where it takes `reload` requests (lvsd's own default).
pub const DEFAULT_LVSD_SOCKET: &str = "/run/lvsd.sock";

/// Why a reload did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("lvsd not reachable: {0}")]
    Unreachable(std::io::Error),
    #[error("lvsd refused the reload: {0}")]
    Refused(String),
    #[error("lvsd gave an unexpected reply: {0}")]
    BadReply(String),
}

/// Something that makes the daemons re-read the configuration.
pub trait Reloader: Send + Sync + std::fmt::Debug {
    /// Blocking: called on a blocking thread.
    fn reload(&self) -> Result<(), ReloadError>;
}

/// lvsd's socket protocol: the line `reload\n`, then one JSON line `{"ok":true}` or
/// `{"ok":false,"error":"…"}`.
#[derive(Debug, Clone)]
pub struct LvsdSocket {
    pub path: PathBuf,
    pub timeout: Duration,
}

impl LvsdSocket {
    pub fn new(path: PathBuf) -> LvsdSocket {
        LvsdSocket {
            path,
            timeout: Duration::from_secs(10),
        }
    }
}

impl Reloader for LvsdSocket {
    fn reload(&self) -> Result<(), ReloadError> {
        let line =
            exchange(&self.path, self.timeout, "reload").map_err(ReloadError::Unreachable)?;
        interpret(&line)
    }
}

/// Send lvsd one request line (`\n` added) and read its one-line reply, each within `timeout`.
pub(crate) fn exchange(path: &Path, timeout: Duration, request: &str) -> std::io::Result<String> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(format!("{request}\n").as_bytes())?;
    let mut line = String::new();
    BufReader::new(s).take(64 * 1024).read_line(&mut line)?;
    Ok(line)
}

/// The meaning of lvsd's reply line.
pub fn interpret(line: &str) -> Result<(), ReloadError> {
    let bad = || ReloadError::BadReply(line.trim().to_owned());
    let v: serde_json::Value = serde_json::from_str(line.trim()).map_err(|_| bad())?;
    match v.get("ok").and_then(serde_json::Value::as_bool) {
        Some(true) => Ok(()),
        Some(false) => Err(ReloadError::Refused(
            v.get("error")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("no reason given")
                .to_owned(),
        )),
        None => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;

    #[test]
    fn replies_are_interpreted() {
        assert!(interpret("{\"ok\":true}\n").is_ok());
        let e = interpret("{\"ok\":false,\"error\":\"lvs.cf:3: bad\"}").unwrap_err();
        assert_eq!(e.to_string(), "lvsd refused the reload: lvs.cf:3: bad");
        assert!(matches!(interpret("hello"), Err(ReloadError::BadReply(_))));
        assert!(matches!(interpret("{}"), Err(ReloadError::BadReply(_))));
    }

    #[test]
    fn speaks_the_line_protocol() {
        let d = testkit::tempdir::TempDir::new("gui-reload");
        let path = d.join("lvsd.sock");
        let l = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            (&s).write_all(b"{\"ok\":true}\n").unwrap();
            line
        });
        LvsdSocket::new(path.clone()).reload().unwrap();
        assert_eq!(server.join().unwrap(), "reload\n");
        let e = LvsdSocket::new(d.join("none")).reload().unwrap_err();
        assert!(e.to_string().starts_with("lvsd not reachable: "), "{e}");
    }
}
