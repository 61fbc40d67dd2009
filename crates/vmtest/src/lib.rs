//! `vmtest`: run a test scenario on a real Linux kernel with IPVS, under qemu.
//!
//! The machines this project is built on run a kernel without IPVS; Debian's stock kernel has
//! it as modules and boots under qemu's software emulation in seconds. A test describes a
//! [`Guest`]: the binaries to copy in (with the libraries `ldd` lists), the kernel modules to
//! load, and a shell script; [`Guest::run`] builds an initramfs, boots the kernel, and returns
//! what the script printed on the serial console.
//!
//! The steps, one module each: `host` checks the prerequisites, `kernel` fetches and caches
//! the kernel and orders its modules, `initramfs` packs the guest, `qemu` boots it, and
//! `output` reads the console ([`Output`]).
//!
//! Downloads (the kernel package) are cached under `target/vm-cache`. When something the
//! harness needs is missing, [`prerequisites`] says what to install; tests call [`require`],
//! which skips with that message on a developer machine and fails under CI (`CI=true`).
//! The helpers VM tests share with the other tests (root and CI checks, [`must`]) are in
//! `testkit`.
//!
//! In the guest, busybox's shell prefers its own applets to programs on `PATH`: call the real
//! iproute2 as `/sbin/ip` (busybox's `ip` has no `netns`).
//!
//! The "test runs itself in the guest" pattern: [`Guest::self_test`] copies the running test
//! executable into the guest and runs one of its tests there, with `VMTEST_GUEST=1` set;
//! [`in_guest`] tells the test which side it is on.

mod error;
mod host;
mod initramfs;
mod kernel;
mod output;
mod qemu;

use std::path::PathBuf;
use std::time::Duration;

pub use error::VmError;
pub use host::{Missing, prerequisites, require};
pub use kernel::kernel;
pub use output::Output;

/// Modules loaded by default: IPVS with every scheduler of the kernel, the SIP persistence
/// engine, and veth for network namespaces linked in pairs.
pub const IPVS_MODULES: &[&str] = &[
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "ip_vs_pe_sip",
    "veth",
];

/// Run a shell command (the guest side of a VM test uses it as the host side does).
pub use testkit::must;

/// True inside the guest (set by [`Guest::self_test`]).
pub fn in_guest() -> bool {
    std::env::var_os("VMTEST_GUEST").is_some()
}

/// A guest to boot.
#[derive(Debug, Clone)]
pub struct Guest {
    /// Host binaries to copy in, and where (`/bin/NAME` when only a name is given).
    pub bins: Vec<(PathBuf, String)>,
    /// Extra files: guest path and contents.
    pub files: Vec<(String, Vec<u8>, u32)>,
    pub modules: Vec<String>,
    /// The scenario, run by busybox `sh` after the modules are loaded.
    pub script: String,
    /// Environment variables for the scenario.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub memory_mb: u32,
}

impl Default for Guest {
    fn default() -> Self {
        Guest {
            bins: Vec::new(),
            files: Vec::new(),
            modules: IPVS_MODULES.iter().map(|s| s.to_string()).collect(),
            script: String::new(),
            env: Vec::new(),
            timeout: Duration::from_secs(240),
            memory_mb: 512,
        }
    }
}

impl Guest {
    pub fn new(script: impl Into<String>) -> Guest {
        Guest {
            script: script.into(),
            ..Guest::default()
        }
    }

    /// Copy a host binary to `/bin/<name>` in the guest.
    pub fn bin(mut self, path: impl Into<PathBuf>, name: &str) -> Guest {
        self.bins.push((path.into(), format!("/bin/{name}")));
        self
    }

    pub fn file(mut self, path: &str, data: impl Into<Vec<u8>>, mode: u32) -> Guest {
        self.files.push((path.to_string(), data.into(), mode));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Guest {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    /// A guest that runs test `name` of the running test executable, inside the VM.
    pub fn self_test(name: &str) -> Guest {
        let exe = std::env::current_exe().expect("test executable");
        Guest::new(format!(
            "VMTEST_GUEST=1 RUST_BACKTRACE=1 /bin/selftest --exact {name} --nocapture --test-threads=1\n"
        ))
        .bin(exe, "selftest")
    }

    /// Build the initramfs, boot, and return the console.
    pub fn run(&self) -> Result<Output, VmError> {
        prerequisites().map_err(VmError::Missing)?;
        let (vmlinuz, moddir) = kernel()?;
        let idx = kernel::module_index(&moddir);
        let wanted: Vec<&str> = self.modules.iter().map(String::as_str).collect();
        let order = kernel::module_order(&idx, &wanted)?;
        let initrd = self.initramfs(&idx, &order)?;
        let console = qemu::boot(&qemu::Boot {
            vmlinuz: &vmlinuz,
            initrd: &initrd,
            memory_mb: self.memory_mb,
            timeout: self.timeout,
        })?;
        Ok(Output::from_console(console))
    }

    /// Run, and panic with the console unless the scenario exited 0.
    pub fn run_ok(&self) -> Output {
        match self.run() {
            Ok(out) if out.status == Some(0) => out,
            Ok(out) => panic!(
                "the guest scenario failed (status {:?}); console:\n{}",
                out.status, out.console
            ),
            Err(e) => panic!("{e}"),
        }
    }
}
