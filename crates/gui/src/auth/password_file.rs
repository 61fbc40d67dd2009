//! The password file as the server sees it: loaded at start, re-read when it changes.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing::info;

use crate::passwd::{self, Passwords};

/// What tells a changed file: inode, size, modification time.
type Stamp = (u64, u64, u64, i64, i64);

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// The password file: [`PasswordFile::current`] re-reads it when its inode, size or
/// modification time changed since the last read (piranha-passwd replaces it by rename), so a
/// new password works without restarting the service. A file that no longer loads (bad mode,
/// bad line) is logged and the last good passwords stay in use.
#[derive(Debug)]
pub struct PasswordFile {
    path: PathBuf,
    /// The file's stamp when last read, how many times it was read, the passwords.
    state: Mutex<(Option<Stamp>, u64, Arc<Passwords>)>,
}

impl PasswordFile {
    /// Load `path` (with [`passwd::load`]'s checks).
    pub fn open(path: &Path) -> Result<PasswordFile, passwd::Error> {
        let st = stamp(path);
        let pw = passwd::load(path)?;
        Ok(PasswordFile {
            path: path.to_owned(),
            state: Mutex::new((st, 0, Arc::new(pw))),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The passwords, re-read first if the file changed.
    pub fn current(&self) -> Arc<Passwords> {
        self.current_with_generation().1
    }

    /// [`PasswordFile::current`], with the number of times the file was read again since the
    /// start (what was verified against an older generation is stale).
    pub fn current_with_generation(&self) -> (u64, Arc<Passwords>) {
        let now = stamp(&self.path);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now != st.0 {
            st.0 = now;
            match passwd::load(&self.path) {
                Ok(pw) => {
                    info!("re-read {}", self.path.display());
                    st.1 += 1;
                    st.2 = Arc::new(pw);
                }
                Err(e) => info!("{e}; the previous passwords stay in use"),
            }
        }
        (st.1, st.2.clone())
    }
}
