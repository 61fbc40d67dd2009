//! Writing a password file atomically ([`crate::atomic`]), mode 0600, creating its directory.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;

use super::error::Error;

/// Write `text` to `path` with mode 0600, atomically: readers see the old file or the new one.
///
/// Missing directories are created (mode 0755). A file being replaced keeps its owner and
/// group; a new file gets `new_owner` (uid, gid) when given, else belongs to the caller.
pub fn store(path: &Path, text: &str, new_owner: Option<(u32, u32)>) -> Result<(), Error> {
    let err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(err)?;
    }
    let owner = match std::fs::metadata(path) {
        Ok(meta) => Some((meta.uid(), meta.gid())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => new_owner,
        Err(e) => return Err(err(e)),
    };
    crate::atomic::write(path, text.as_bytes(), 0o600, owner, |_, _| Ok(())).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gui-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn creates_directories_and_writes_mode_0600() {
        let d = dir("create");
        let path = d.join("conf/piranha.passwd");
        store(&path, "a:b\n", None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a:b\n");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o600);
        // No temporary file is left.
        let names: Vec<_> = std::fs::read_dir(d.join("conf")).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn replacing_resets_the_mode_and_keeps_the_owner() {
        let d = dir("replace");
        std::fs::create_dir_all(&d).unwrap();
        let path = d.join("p");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let before = std::fs::metadata(&path).unwrap();
        if before.uid() == 0 {
            std::os::unix::fs::chown(&path, Some(4321), Some(4322)).unwrap();
        }
        let before = std::fs::metadata(&path).unwrap();
        store(&path, "new\n", Some((1, 1))).unwrap();
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(after.mode() & 0o7777, 0o600);
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_ne!(after.ino(), before.ino(), "replaced by rename");
    }

    #[test]
    fn a_new_file_gets_the_new_owner_when_root() {
        let d = dir("owner");
        let path = d.join("p");
        if nix::unistd::geteuid().is_root() {
            store(&path, "x\n", Some((4321, 4322))).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
        }
    }

    #[test]
    fn an_unwritable_place_is_an_error_naming_the_file() {
        let d = dir("unwritable");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("file"), "").unwrap();
        let path = d.join("file/p");
        let e = store(&path, "x\n", None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: cannot write:", path.display())),
            "{e}"
        );
    }
}
