//! What fos remembers of the hot services (`hot_standby = 1`) it started on this node: one
//! marker file per service in a directory only root may write (`--run-dir`), written once a
//! `start_cmd` succeeded and removed whenever the service's `stop_cmd` runs. A marker holds
//! the `start_cmd` that started the copy, so a changed command starts the service again.
//!
//! A marker says "fos started this copy and has not stopped it", not that it still answers:
//! on the inactive node the copy is checked by a monitor of its own, and on the active node
//! by the partner's monitor, as every failover service is.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use tracing::info;

use crate::plan::Service;

/// The markers' directory, or none when it cannot be trusted (then every hot service is
/// taken as not running here: stopped and started again, never started twice on purpose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markers {
    dir: Option<PathBuf>,
}

/// Why the directory is not used.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error("cannot create {0}: {1}")]
    Create(PathBuf, #[source] std::io::Error),
    #[error("{0} is not a directory of this user that only it may write")]
    Unsafe(PathBuf),
}

impl Markers {
    /// Markers in `dir`, created (mode 0700) if missing.
    pub fn open(dir: &Path) -> Result<Markers, MarkerError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| MarkerError::Create(dir.to_owned(), e))?;
        let meta =
            std::fs::symlink_metadata(dir).map_err(|e| MarkerError::Create(dir.to_owned(), e))?;
        let safe = meta.is_dir()
            && meta.uid() == nix::unistd::geteuid().as_raw()
            && meta.mode() & 0o022 == 0;
        if !safe {
            return Err(MarkerError::Unsafe(dir.to_owned()));
        }
        Ok(Markers {
            dir: Some(dir.to_owned()),
        })
    }

    /// [`Markers::open`], or no markers (logged) when the directory cannot be used.
    pub fn open_or_none(dir: &Path) -> Markers {
        Markers::open(dir).unwrap_or_else(|e| {
            info!("{e}: hot services are started again at each role change");
            Markers { dir: None }
        })
    }

    fn path(&self, s: &Service) -> Option<PathBuf> {
        let d = self.dir.as_ref()?;
        Some(d.join(format!("hot-{}", s.label())))
    }

    fn text(s: &Service) -> String {
        let mut t = s.start.as_deref().unwrap_or_default().join("\n");
        t.push('\n');
        t
    }

    /// fos started this copy with the `start_cmd` it has now, and has not stopped it.
    pub fn running(&self, s: &Service) -> bool {
        self.path(s)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .is_some_and(|t| t == Self::text(s))
    }

    /// A marker is there, whatever command it names.
    pub fn marked(&self, s: &Service) -> bool {
        self.path(s).is_some_and(|p| p.exists())
    }

    /// The copy was started.
    pub fn mark(&self, s: &Service) {
        let Some(p) = self.path(s) else { return };
        if let Err(e) = std::fs::write(&p, Self::text(s)) {
            info!("cannot write {}: {e}", p.display());
        }
    }

    /// The copy was stopped (or its stop was tried).
    pub fn unmark(&self, s: &Service) {
        let Some(p) = self.path(s) else { return };
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => info!("cannot remove {}: {e}", p.display()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A hot (or cold) service whose commands are `start`/`stop`.
    pub(crate) fn service(port: u16, hot: bool, start: &[&str], stop: &[&str]) -> Service {
        let words = |w: &[&str]| Some(w.iter().map(|s| s.to_string()).collect());
        Service {
            name: format!("s{port}"),
            vip: "10.0.0.50".parse().unwrap(),
            port,
            start: words(start),
            stop: words(stop),
            monitor: vec!["/bin/true".into()],
            hot,
            local_monitor: hot.then(|| vec!["/bin/true".into()]),
        }
    }

    #[test]
    fn markers_record_the_start_command() {
        let dir = testkit::tempdir::TempDir::new("fos-markers");
        let m = Markers::open(&dir.join("run/fos")).unwrap();
        let mode = std::fs::metadata(dir.join("run/fos")).unwrap().mode();
        assert_eq!(mode & 0o777, 0o700);
        let s = service(80, true, &["/bin/a"], &["/bin/b"]);
        assert!(!m.running(&s) && !m.marked(&s));
        m.mark(&s);
        assert!(m.running(&s) && m.marked(&s));
        // Another start_cmd: not the copy the file asks for.
        let changed = service(80, true, &["/bin/c"], &["/bin/b"]);
        assert!(!m.running(&changed) && m.marked(&changed));
        assert!(!m.running(&service(81, true, &["/bin/a"], &[])));
        m.unmark(&s);
        m.unmark(&s);
        assert!(!m.running(&s) && !m.marked(&s));
    }

    #[test]
    fn a_directory_others_may_write_is_not_trusted() {
        let dir = testkit::tempdir::TempDir::new("fos-markers");
        let d = dir.join("open");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = Markers::open(&d).unwrap_err().to_string();
        assert!(e.contains("only it may write"), "{e}");
        // Without markers nothing counts as running, and marking does nothing.
        let m = Markers::open_or_none(&d);
        let s = service(80, true, &["/bin/a"], &[]);
        m.mark(&s);
        assert!(!m.running(&s));
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        // A symbolic link to a good directory is refused too.
        let good = dir.join("good");
        std::fs::create_dir(&good).unwrap();
        std::os::unix::fs::symlink(&good, dir.join("link")).unwrap();
        assert!(Markers::open(&dir.join("link")).is_err());
    }
}
