//! Reading a password file, refusing one that others may read or change.

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::document::Document;
use super::error::Error;
use super::passwords::Passwords;

/// Where piranha keeps the web GUI's password file.
pub const DEFAULT_PATH: &str = "/etc/sysconfig/ha/conf/piranha.passwd";

/// Read and check the password file at `path`.
///
/// Like ssh with private keys, the file is refused unless
/// - it is a regular file (a symbolic link to one is followed),
/// - it belongs to root or to the user running this program, and
/// - its mode gives nothing to others and at most read to its group: 0600 (piranha-passwd
///   writes it so, for the service's own user) or 0640 (owner root, group the service's, so
///   the service can read but not change it). 0400 and 0440 pass too.
///
/// Then every line must parse and every hash be one [`Hash`](super::Hash) accepts.
pub fn load(path: &Path) -> Result<Passwords, Error> {
    let read_err = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_err)?;
    // Check the file that is open, not the path again.
    let meta = file.metadata().map_err(read_err)?;
    check_metadata(path, &meta, nix::unistd::geteuid().as_raw())?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_err)?;
    Document::parse(&bytes, path)?.passwords()
}

/// The checks of [`load`] on a file's metadata, `euid` being the user reading it.
pub fn check_metadata(path: &Path, meta: &Metadata, euid: u32) -> Result<(), Error> {
    if !meta.is_file() {
        return Err(Error::NotAFile {
            path: path.to_owned(),
        });
    }
    let owner = meta.uid();
    if owner != 0 && owner != euid {
        return Err(Error::Owner {
            path: path.to_owned(),
            owner,
            euid,
        });
    }
    let mode = meta.mode() & 0o7777;
    // Group: read only. Others: nothing. No set-id or sticky bits either.
    if mode & 0o7037 != 0 {
        return Err(Error::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "gui-load-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn file_with_mode(mode: u32) -> std::path::PathBuf {
        let p = dir().join(format!("passwd-{mode:o}"));
        std::fs::write(&p, "piranha:{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=\n").unwrap();
        std::fs::set_permissions(&p, Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn private_and_group_readable_files_load() {
        for mode in [0o600, 0o640, 0o400, 0o440] {
            let p = load(&file_with_mode(mode)).unwrap();
            assert!(p.verify("piranha", b"p"), "{mode:o}");
        }
    }

    #[test]
    fn open_modes_are_refused_with_a_clear_message() {
        for mode in [0o644, 0o604, 0o660, 0o602, 0o620, 0o610, 0o601, 0o4600] {
            let path = file_with_mode(mode);
            let e = load(&path).unwrap_err();
            assert!(matches!(e, Error::Permissions { .. }), "{mode:o}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("mode {mode:04o} is too open")),
                "{msg}"
            );
            assert!(
                msg.contains(&format!("chmod 600 {}", path.display())),
                "{msg}"
            );
        }
    }

    #[test]
    fn a_file_of_another_user_is_refused() {
        let path = file_with_mode(0o600);
        let meta = std::fs::metadata(&path).unwrap();
        let me = meta.uid();
        assert!(check_metadata(&path, &meta, me).is_ok());
        if me == 0 {
            // Owned by root: anyone may read it.
            assert!(check_metadata(&path, &meta, 1234).is_ok());
            nix::unistd::chown(&path, Some(nix::unistd::Uid::from_raw(1234)), None).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            let e = check_metadata(&path, &meta, 0).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{}: owned by uid 1234, expected root or the user running this program (uid 0)",
                    path.display()
                )
            );
            assert!(check_metadata(&path, &meta, 1234).is_ok());
        } else {
            let e = check_metadata(&path, &meta, me + 1).unwrap_err();
            assert!(matches!(e, Error::Owner { .. }), "{e}");
        }
    }

    #[test]
    fn a_directory_or_missing_file_is_an_error() {
        let d = dir();
        assert!(matches!(load(&d).unwrap_err(), Error::NotAFile { .. }));
        let e = load(&d.join("missing")).unwrap_err();
        assert!(e.to_string().contains("missing: cannot read:"), "{e}");
    }

    #[test]
    fn a_bad_hash_fails_the_load() {
        let p = dir().join("plain");
        std::fs::write(&p, "# x\npiranha:Q\n").unwrap();
        std::fs::set_permissions(&p, Permissions::from_mode(0o600)).unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.to_string().contains(":2: user piranha:"), "{e}");
    }
}
