//! pulse's copy of the watchdog's report on disk, for `pulse --clean-up` (the service unit's
//! `ExecStopPost=`), which runs when the watchdog may have been killed along with the rest of
//! the unit. It sits next to the status socket (`/run/pulse.sock` → `/run/pulse.watchdog`),
//! mode 0600: it holds a STOPPED heartbeat ready to send, which only root may use. Written
//! whole (a temporary file renamed over it) when the report changes, removed when pulse stops
//! in order and once someone has cleaned up.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{Message, Report};

/// The file that goes with the status socket `socket`.
pub fn path_for(socket: &Path) -> PathBuf {
    socket.with_extension("watchdog")
}

/// Replace the file's content with `r` (mode 0600). An error leaves the old file or none.
pub fn write(path: &Path, r: &Report) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&Message::Report(r.clone()).line())?;
    drop(f);
    std::fs::rename(&tmp, path)
}

pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Why the file is not used.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not owned by this user or is writable by others: ignored")]
    Unsafe(String),
    #[error("{0} cannot be read as a report: ignored")]
    Garbled(String),
}

/// The report in the file; `None` when there is no file (pulse stopped in order, or someone
/// cleaned up already).
pub fn read(path: &Path) -> Result<Option<Report>, Unusable> {
    let name = || path.display().to_string();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Unusable::Read(name(), e)),
    };
    let mode = meta.permissions().mode();
    if !meta.is_file() || meta.uid() != nix::unistd::geteuid().as_raw() || mode & 0o022 != 0 {
        return Err(Unusable::Unsafe(name()));
    }
    let text = std::fs::read(path).map_err(|e| Unusable::Read(name(), e))?;
    let line = text.strip_suffix(b"\n").unwrap_or(&text);
    match serde_json::from_slice::<Message>(line) {
        Ok(Message::Report(r)) => Ok(Some(r)),
        _ => Err(Unusable::Garbled(name())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Held;
    use super::*;

    #[test]
    fn written_whole_read_back_private() {
        let dir = std::env::temp_dir().join(format!("wdfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = path_for(&dir.join("pulse.sock"));
        assert_eq!(p, dir.join("pulse.watchdog"));
        assert!(read(&p).unwrap().is_none());
        let r = Report {
            pid: 9,
            vips: vec![Held {
                device: "eth0:1".into(),
                ip: "192.0.2.5".parse().unwrap(),
            }],
            last: Vec::new(),
            child: Some(3),
        };
        write(&p, &r).unwrap();
        write(&p, &r).unwrap();
        assert_eq!(read(&p).unwrap(), Some(r));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&p, "junk").unwrap();
        assert!(matches!(read(&p), Err(Unusable::Garbled(_))));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(read(&p), Err(Unusable::Unsafe(_))));
        remove(&p);
        assert!(read(&p).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
