//! Replacing lvs.cf atomically, keeping the previous version as `lvs.cf.prev`.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::atomic::hidden;

/// Where the previous version of `path` is kept: the same name plus `.prev`.
pub fn prev_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".prev");
    PathBuf::from(name)
}

/// Replace the existing file `path` with `bytes`: its owner, group and mode are kept, and the
/// old version is linked (or copied) to `path.prev` just before the new one takes its place
/// ([`crate::atomic::write`]).
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    crate::atomic::write(
        path,
        bytes,
        meta.mode() & 0o7777,
        Some((meta.uid(), meta.gid())),
        |dir, name| keep_prev(path, dir, name),
    )
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
    use std::os::unix::fs::PermissionsExt;

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
