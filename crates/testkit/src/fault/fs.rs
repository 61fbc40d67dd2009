//! File-system faults: a directory made read-only inside one process's mount namespace (a
//! director's private view, as a read-only remount of /run would be), and a tiny tmpfs that
//! fills up (a full disk under lvs.cf).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("run a mount command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Make `dir` read-only in the mount namespace of process `pid` (the other namespaces keep
/// it writable): a bind mount of it onto itself, remounted read-only.
pub fn read_only_in(pid: u32, dir: &Path) {
    let d = dir.display();
    sh(Command::new("nsenter").args([
        "-t",
        &pid.to_string(),
        "-m",
        "--",
        "sh",
        "-c",
        &format!("mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}'"),
    ]));
}

/// A tmpfs of `size_kib` KiB mounted on a new directory (removed, lazily unmounted, on drop).
#[derive(Debug)]
pub struct SmallFs {
    pub dir: PathBuf,
}

impl SmallFs {
    /// Mount it at `dir` (created) in the test's mount namespace, so that processes started
    /// afterwards (in namespaces copied from it) see it too.
    pub fn mount(dir: &Path, size_kib: u32) -> SmallFs {
        std::fs::create_dir_all(dir).expect("create the mount point");
        sh(Command::new("mount").args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size_kib}k,mode=0755"),
            "tmpfs",
            &dir.display().to_string(),
        ]));
        SmallFs {
            dir: dir.to_owned(),
        }
    }

    /// Fill it: a file of zeros written until the file system says it is full (ENOSPC).
    /// Returns the filler's path; removing it frees the space.
    pub fn fill(&self) -> PathBuf {
        let p = self.dir.join("filler");
        let mut f = std::fs::File::create(&p).expect("create the filler");
        let chunk = [0u8; 4096];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", p.display()),
            }
        }
        p
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
