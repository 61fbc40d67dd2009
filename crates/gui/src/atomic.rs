//! Replacing a file atomically, for lvs.cf and the password file: a temporary file beside it
//! with the wanted mode and owner, fsync, rename over the file, fsync of the directory.
//! Readers see the old file or the new one, never a part.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `path`'s directory (`.` for a bare name) and file name.
fn dir_and_name(path: &Path) -> std::io::Result<(PathBuf, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

/// `.NAME.WHAT-PID`: a scratch name beside the file, per process.
pub(crate) fn hidden(name: &OsStr, what: &str) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(format!(".{what}-{}", std::process::id()));
    s
}

/// Replace `path` with `bytes`, with `mode` and, when given, `owner` (uid, gid; a caller that
/// may not give the file away keeps the group at least). `before_rename` runs once the new
/// text is on disk, with the directory and the file name (to keep the old version, say); a
/// failure leaves `path` as it was and removes the temporary file.
pub fn write(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    before_rename: impl FnOnce(&Path, &OsStr) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (dir, name) = dir_and_name(path)?;
    let tmp = dir.join(hidden(name, "tmp"));
    let result = write_tmp(&tmp, bytes, mode, owner).and_then(|()| {
        before_rename(&dir, name)?;
        std::fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_tmp(
    tmp: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> std::io::Result<()> {
    // A temporary file left by a crashed run of the same pid is stale.
    match std::fs::remove_file(tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)?;
    if let Some((uid, gid)) = owner {
        let meta = file.metadata()?;
        if (meta.uid(), meta.gid()) != (uid, gid) {
            // Only root may give a file away; a group member may set the group.
            if let Err(e) = std::os::unix::fs::fchown(&file, Some(uid), Some(gid)) {
                std::os::unix::fs::fchown(&file, None, Some(gid)).map_err(|_| e)?;
            }
        }
    }
    // Exactly `mode`: the umask narrowed the one given at creation.
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()
}
