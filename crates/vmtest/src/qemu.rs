//! Booting the kernel and the initramfs under qemu (TCG, serial console on stdio) and
//! collecting the console when the guest powers off or the time is up.

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{VmError, setup};
use crate::host::target_dir;

/// What one boot needs.
pub(crate) struct Boot<'a> {
    pub(crate) vmlinuz: &'a Path,
    /// The initramfs archive.
    pub(crate) initrd: &'a [u8],
    pub(crate) memory_mb: u32,
    pub(crate) timeout: Duration,
}

/// Boot and return the serial console, `\r` removed. The guest powers off, so qemu exits 0;
/// anything else is qemu failing.
pub(crate) fn boot(b: &Boot<'_>) -> Result<String, VmError> {
    let work =
        target_dir()
            .join("vm-cache")
            .join(format!("run-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&work).map_err(setup)?;
    let initrd = work.join("initrd.cpio");
    let ran = std::fs::write(&initrd, b.initrd)
        .map_err(setup)
        .and_then(|()| qemu(b, &initrd));
    let _ = std::fs::remove_dir_all(&work);
    let (ended, console, qemu_err) = ran?;
    let status = match ended {
        Ok(status) => status,
        Err(None) => return Err(VmError::Timeout(console)),
        Err(Some(e)) => return Err(setup(format!("waiting for qemu: {e}"))),
    };
    if !status.success() {
        return Err(setup(format!(
            "qemu-system-x86_64 {status}: {qemu_err}\nconsole:\n{console}"
        )));
    }
    Ok(console)
}

/// The guest's memory: what the scenario asked for, but never less than the archive needs.
/// The kernel keeps the uncompressed archive in memory while it unpacks it into the
/// tmpfs root, so the archive sits in RAM twice; debug builds of our binaries make it
/// hundreds of megabytes, and a guest short of room panics with "Initramfs unpacking
/// failed: write error".
fn guest_memory_mb(b: &Boot<'_>) -> u64 {
    let archive_mb = (b.initrd.len() as u64).div_ceil(1 << 20);
    u64::from(b.memory_mb).max(2 * archive_mb + 384)
}

/// How qemu ended: its status, or `Err(None)` for the timeout (it was killed), or the error
/// waiting for it.
type Ended = Result<ExitStatus, Option<std::io::Error>>;

/// Run qemu until it exits or the timeout; how it ended, the console and qemu's stderr.
fn qemu(b: &Boot<'_>, initrd: &Path) -> Result<(Ended, String, String), VmError> {
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-m", &guest_memory_mb(b).to_string()])
        .args([
            "-nographic",
            "-no-reboot",
            "-nodefaults",
            "-serial",
            "stdio",
        ])
        .arg("-kernel")
        .arg(b.vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 quiet loglevel=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| setup(format!("qemu-system-x86_64: {e}")))?;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let start = Instant::now();
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if start.elapsed() > b.timeout => break Err(None),
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => break Err(Some(e)),
        }
    };
    if ended.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let console = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).replace('\r', "");
    let qemu_err = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    Ok((ended, console, qemu_err))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot(initrd: &[u8], memory_mb: u32) -> u64 {
        guest_memory_mb(&Boot {
            vmlinuz: Path::new("/boot/vmlinuz"),
            initrd,
            memory_mb,
            timeout: Duration::from_secs(1),
        })
    }

    #[test]
    fn a_large_archive_raises_the_guest_memory() {
        assert_eq!(boot(&[0; 1000], 512), 512);
        assert_eq!(boot(&[0; 1000], 1536), 1536);
        let big = vec![0u8; 200 << 20];
        assert_eq!(boot(&big, 512), 2 * 200 + 384);
        assert_eq!(boot(&big, 2048), 2048);
    }
}
