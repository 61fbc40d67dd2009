//! Replacing lvs.cf atomically, keeping the previous version as `lvs.cf.prev`.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where the previous version of `path` is kept: the same name plus `.prev`.
pub fn prev_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".prev");
    PathBuf::from(name)
}

/// Replace the existing file `path` with `bytes`: a temporary file in the same directory with
/// the old file's owner, group and mode, fsync, the old version linked (or copied) to
/// `path.prev`, rename, fsync of the directory. Readers see the old file or the new one.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let meta = std::fs::metadata(path)?;
    let tmp = dir.join(hidden(name, "tmp"));
    let result = write_tmp(&tmp, bytes, &meta).and_then(|()| {
        keep_prev(path, &dir, name)?;
        std::fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn hidden(name: &std::ffi::OsStr, what: &str) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(format!(".{what}-{}", std::process::id()));
    s
}

fn write_tmp(tmp: &Path, bytes: &[u8], like: &std::fs::Metadata) -> std::io::Result<()> {
    match std::fs::remove_file(tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mode = like.mode() & 0o7777;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)?;
    let meta = file.metadata()?;
    if (meta.uid(), meta.gid()) != (like.uid(), like.gid()) {
        // Only root may give a file away; a group member may set the group.
        if let Err(e) = std::os::unix::fs::fchown(&file, Some(like.uid()), Some(like.gid())) {
            std::os::unix::fs::fchown(&file, None, Some(like.gid())).map_err(|_| e)?;
        }
    }
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// `path.prev` becomes the current version: a hard link when allowed, else a copy.
fn keep_prev(path: &Path, dir: &Path, name: &std::ffi::OsStr) -> std::io::Result<()> {
    let tmp = dir.join(hidden(name, "prev"));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(path, &tmp).is_err() {
        std::fs::copy(path, &tmp)?;
        File::open(&tmp)?.sync_all()?;
    }
    std::fs::rename(&tmp, prev_path(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeping_mode_owner_and_the_previous_version() {
        let d = testkit::tempdir::TempDir::new("gui-replace");
        let p = d.join("lvs.cf");
        std::fs::write(&p, "old\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::chown(&p, Some(4321), Some(4322)).unwrap();
        }
        let before = std::fs::metadata(&p).unwrap();
        replace(&p, b"new\n").unwrap();
        let after = std::fs::metadata(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        assert_eq!(std::fs::read_to_string(prev_path(&p)).unwrap(), "old\n");
        assert_eq!(after.mode() & 0o7777, 0o664);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_ne!(after.ino(), before.ino());
        replace(&p, b"newer\n").unwrap();
        assert_eq!(std::fs::read_to_string(prev_path(&p)).unwrap(), "new\n");
        let mut names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["lvs.cf", "lvs.cf.prev"]);
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let d = testkit::tempdir::TempDir::new("gui-replace-missing");
        assert!(replace(&d.join("none"), b"x").is_err());
    }
}
