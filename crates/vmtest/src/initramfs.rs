//! The guest's initramfs: busybox, the programs with their libraries, the kernel modules, the
//! scenario and an `/init` that loads the modules and runs it, as a `newc` cpio archive.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Guest;
use crate::error::{VmError, setup};
use crate::host::{run_ok, which};
use crate::kernel::module_bytes;

/// Host programs every guest gets: `ipvsadm` (the reference) and iproute2's `ip` (busybox's
/// has no `netns`), when the host has them.
const HOST_TOOLS: &[&str] = &["ipvsadm", "ip"];

impl Guest {
    fn init_script(&self, order: &[String]) -> String {
        let mut s = String::from(
            "#!/bin/busybox sh\n\
             /bin/busybox mount -t proc proc /proc\n\
             /bin/busybox mount -t sysfs sys /sys\n\
             /bin/busybox mount -t devtmpfs dev /dev\n\
             /bin/busybox mount -t tmpfs run /run\n\
             /bin/busybox mount -t tmpfs tmp /tmp\n\
             mkdir -p /run/netns\n\
             export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp\n\
             ip link set lo up 2>/dev/null\n",
        );
        for m in order {
            let _ = writeln!(
                s,
                "insmod /lib/modules/{m}.ko || echo \"VMTEST insmod {m} failed\""
            );
        }
        for (k, v) in &self.env {
            let _ = writeln!(s, "export {k}='{}'", v.replace('\'', "'\\''"));
        }
        s.push_str(
            "echo '==== VMTEST START ===='\n\
             cd /tmp\n\
             sh /scenario.sh\n\
             echo \"==== VMTEST END $? ====\"\n\
             poweroff -f\n",
        );
        s
    }

    /// The initramfs (a `newc` cpio archive): busybox and its applets, the host tools and
    /// the guest's binaries with their libraries, the modules in `order`, the guest's files,
    /// the scenario and `/init`.
    pub(crate) fn initramfs(
        &self,
        idx: &BTreeMap<String, PathBuf>,
        order: &[String],
    ) -> Result<Vec<u8>, VmError> {
        let mut entries = Vec::new();
        let busybox = add_busybox(&mut entries)?;
        let mut bins: Vec<(PathBuf, String)> = HOST_TOOLS
            .iter()
            .filter_map(|t| which(t).map(|p| (p, format!("/sbin/{t}"))))
            .collect();
        bins.extend(self.bins.iter().cloned());
        add_programs(&mut entries, &busybox, &bins)?;
        for m in order {
            entries.push(Entry {
                path: format!("/lib/modules/{m}.ko"),
                mode: 0o644,
                data: module_bytes(&idx[m])?,
                link: None,
            });
        }
        for (path, data, mode) in &self.files {
            entries.push(Entry {
                path: path.clone(),
                mode: *mode,
                data: data.clone(),
                link: None,
            });
        }
        entries.push(Entry {
            path: "/scenario.sh".into(),
            mode: 0o755,
            data: self.script.clone().into_bytes(),
            link: None,
        });
        entries.push(Entry {
            path: "/init".into(),
            mode: 0o755,
            data: self.init_script(order).into_bytes(),
            link: None,
        });
        for d in ["proc", "sys", "dev", "run", "tmp", "etc"] {
            entries.push(Entry {
                path: format!("/{d}/.keep"),
                mode: 0o644,
                data: Vec::new(),
                link: None,
            });
        }
        Ok(cpio(&entries))
    }
}

/// A host file at `guest` in the initramfs.
fn add_file(entries: &mut Vec<Entry>, host: &Path, guest: &str, mode: u32) -> Result<(), VmError> {
    let data = std::fs::read(host).map_err(|e| setup(format!("{}: {e}", host.display())))?;
    entries.push(Entry {
        path: guest.to_string(),
        mode,
        data,
        link: None,
    });
    Ok(())
}

/// `/bin/busybox` and a link per applet; the host's busybox.
fn add_busybox(entries: &mut Vec<Entry>) -> Result<PathBuf, VmError> {
    let busybox = which("busybox").ok_or_else(|| setup("busybox"))?;
    add_file(entries, &busybox, "/bin/busybox", 0o755)?;
    let applets = run_ok(Command::new(&busybox).arg("--list"))?;
    for a in applets.lines().filter(|a| *a != "busybox" && !a.is_empty()) {
        entries.push(Entry {
            path: format!("/bin/{a}"),
            mode: 0o777,
            data: Vec::new(),
            link: Some("busybox".into()),
        });
    }
    Ok(busybox)
}

/// The programs (host path, guest path), and the shared libraries of them and of busybox, each
/// once, at the path `ldd` names.
fn add_programs(
    entries: &mut Vec<Entry>,
    busybox: &Path,
    bins: &[(PathBuf, String)],
) -> Result<(), VmError> {
    let mut libs: Vec<PathBuf> = vec![busybox.to_path_buf()];
    for (host, guest) in bins {
        add_file(entries, host, guest, 0o755)?;
        libs.push(host.clone());
    }
    let mut seen_libs: Vec<PathBuf> = Vec::new();
    for b in &libs {
        for l in libraries(b)? {
            if !seen_libs.contains(&l) {
                let real = std::fs::canonicalize(&l).unwrap_or(l.clone());
                add_file(entries, &real, &l.to_string_lossy(), 0o755)?;
                seen_libs.push(l);
            }
        }
    }
    Ok(())
}

/// Shared libraries of a dynamic executable, from `ldd`.
fn libraries(bin: &Path) -> Result<Vec<PathBuf>, VmError> {
    let out = Command::new("ldd").arg(bin).output().map_err(setup)?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
        .map(PathBuf::from)
        .collect())
}

/// A file in the initramfs.
struct Entry {
    path: String,
    mode: u32,
    data: Vec<u8>,
    /// Symlink target instead of data.
    link: Option<String>,
}

/// An uncompressed `newc` cpio archive (the kernel unpacks it as the initramfs).
fn cpio(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dirs: Vec<String> = Vec::new();
    for e in entries {
        let mut p = String::new();
        for part in e
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .split_last()
            .map(|x| x.1)
            .unwrap_or(&[])
        {
            p.push_str(part);
            if !dirs.contains(&p) {
                dirs.push(p.clone());
            }
            p.push('/');
        }
    }
    let mut ino = 1u32;
    let mut header = |out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]| {
        let _ = write!(
            VecWriter(out),
            "070701{ino:08X}{mode:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        ino += 1;
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    };
    for d in &dirs {
        header(&mut out, d, 0o040755, &[]);
    }
    for e in entries {
        let name = e.path.trim_start_matches('/');
        match &e.link {
            Some(target) => header(&mut out, name, 0o120777, target.as_bytes()),
            None => header(&mut out, name, 0o100000 | e.mode, &e.data),
        }
    }
    header(&mut out, "TRAILER!!!", 0, &[]);
    out
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_quoted_for_the_shell() {
        let g = Guest::new("true").env("X", "it's");
        assert!(g.init_script(&[]).contains("export X='it'\\''s'\n"));
    }

    #[test]
    fn cpio_entries_are_aligned_and_end_with_a_trailer() {
        let a = cpio(&[Entry {
            path: "/bin/x".into(),
            mode: 0o755,
            data: b"abc".to_vec(),
            link: None,
        }]);
        assert!(a.starts_with(b"070701"));
        assert_eq!(a.len() % 4, 0);
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("bin\0"), "parent directory first");
        assert!(text.contains("bin/x\0"));
        assert!(text.contains("TRAILER!!!\0"));
    }
}
