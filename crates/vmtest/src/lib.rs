//! `vmtest`: run a test scenario on a real Linux kernel with IPVS, under qemu.
//!
//! The machines this project is built on run a kernel without IPVS; Debian's stock kernel has
//! it as modules and boots under qemu's software emulation in seconds. A test describes a
//! [`Guest`]: the binaries to copy in (with the libraries `ldd` lists), the kernel modules to
//! load, and a shell script; [`Guest::run`] builds an initramfs, boots the kernel, and returns
//! what the script printed on the serial console.
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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Why the harness cannot run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing(pub Vec<String>);

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the VM tests need: {} (on Debian: apt-get install --no-install-recommends qemu-system-x86 busybox-static ipvsadm iproute2)",
            self.0.join(", ")
        )
    }
}

fn which(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// What the host must have: qemu, busybox, apt-get, apt-cache and dpkg (for the kernel),
/// ldd, and the reference tools the guests get (`ipvsadm`, iproute2's `ip`).
pub fn prerequisites() -> Result<(), Missing> {
    let missing: Vec<String> = [
        "qemu-system-x86_64",
        "busybox",
        "apt-get",
        "apt-cache",
        "dpkg",
        "ldd",
        "ipvsadm",
        "ip",
    ]
    .into_iter()
    .filter(|c| which(c).is_none())
    .map(String::from)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Missing(missing))
    }
}

/// For a test: `true` when the VM can run. Otherwise print why and return `false` (skip), or
/// panic under CI, where a skipped VM test would hide a broken setup.
pub fn require() -> bool {
    match prerequisites() {
        Ok(()) => true,
        Err(m) => {
            if testkit::under_ci() {
                panic!("{m}");
            }
            eprintln!("SKIPPED: {m}");
            false
        }
    }
}

/// The harness's failures.
#[derive(Debug)]
pub enum VmError {
    Missing(Missing),
    Setup(String),
    /// The guest did not finish in time; what it printed so far.
    Timeout(String),
}

impl std::fmt::Display for VmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VmError::Missing(m) => m.fmt(f),
            VmError::Setup(s) => write!(f, "VM setup failed: {s}"),
            VmError::Timeout(out) => write!(f, "the guest timed out; its console:\n{out}"),
        }
    }
}

impl std::error::Error for VmError {}

fn setup(msg: impl std::fmt::Display) -> VmError {
    VmError::Setup(msg.to_string())
}

/// `target/` of the workspace (or `CARGO_TARGET_DIR`).
fn target_dir() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t);
    }
    // target/<profile>/deps/<test exe>
    std::env::current_exe()
        .ok()
        .and_then(|e| e.ancestors().nth(3).map(Path::to_path_buf))
        .filter(|t| t.file_name().is_some_and(|n| n == "target"))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn run_ok(cmd: &mut Command) -> Result<String, VmError> {
    let out = cmd.output().map_err(|e| setup(format!("{cmd:?}: {e}")))?;
    if !out.status.success() {
        return Err(setup(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The kernel package's name (`linux-image-6.1.0-56-amd64`), from `linux-image-amd64`.
fn kernel_package() -> Result<String, VmError> {
    let deps = run_ok(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    deps.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-") && p != &"linux-image-amd64")
        .map(str::to_string)
        .ok_or_else(|| {
            setup("cannot tell the kernel package from `apt-cache depends linux-image-amd64`")
        })
}

/// The unpacked kernel package: `(vmlinuz, modules dir)`; downloaded once, then cached.
pub fn kernel() -> Result<(PathBuf, PathBuf), VmError> {
    let cache = target_dir().join("vm-cache");
    std::fs::create_dir_all(&cache).map_err(setup)?;
    // Reuse an unpacked kernel without asking apt (works offline once cached).
    let find = |cache: &Path| -> Option<(PathBuf, PathBuf)> {
        let root = cache.join("kernel");
        let boot = std::fs::read_dir(root.join("boot")).ok()?;
        let vmlinuz = boot.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })?;
        let version = vmlinuz.file_name()?.to_string_lossy()["vmlinuz-".len()..].to_string();
        let modules = root.join("lib/modules").join(version).join("kernel");
        modules.is_dir().then_some((vmlinuz, modules))
    };
    if let Some(k) = find(&cache) {
        return Ok(k);
    }
    // Test binaries run in parallel: one downloads, the others wait and reuse its kernel.
    let lock = std::fs::File::create(cache.join(".lock")).map_err(setup)?;
    lock.lock().map_err(setup)?;
    if let Some(k) = find(&cache) {
        return Ok(k);
    }
    let pkg = kernel_package()?;
    let dl = cache.join("download");
    std::fs::create_dir_all(&dl).map_err(setup)?;
    run_ok(
        Command::new("apt-get")
            .args(["download", "-q", &pkg])
            .current_dir(&dl),
    )?;
    let deb = std::fs::read_dir(&dl)
        .map_err(setup)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".deb") && p.to_string_lossy().contains(&pkg))
        .ok_or_else(|| setup(format!("apt-get download {pkg} left no .deb")))?;
    let tmp = cache.join("kernel.tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    run_ok(Command::new("dpkg").arg("-x").arg(&deb).arg(&tmp))?;
    let _ = std::fs::remove_dir_all(cache.join("kernel"));
    std::fs::rename(&tmp, cache.join("kernel")).map_err(setup)?;
    let _ = std::fs::remove_file(&deb);
    find(&cache).ok_or_else(|| setup("the kernel package has no vmlinuz or modules"))
}

/// Index of the kernel's modules: name (with `_`) → path.
fn module_index(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut idx = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Some(n) = p.file_name().and_then(|n| n.to_str())
                && let Some(stem) = [".ko", ".ko.xz", ".ko.zst"]
                    .iter()
                    .find_map(|ext| n.strip_suffix(ext))
            {
                idx.insert(stem.replace('-', "_"), p);
            }
        }
    }
    idx
}

/// A module file's contents, decompressed when the distribution ships `.ko.xz` or
/// `.ko.zst` (busybox's insmod takes plain ELF).
fn module_bytes(path: &Path) -> Result<Vec<u8>, VmError> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".xz") {
        "xz"
    } else if name.ends_with(".zst") {
        "zstd"
    } else {
        return std::fs::read(path).map_err(|e| setup(format!("{name}: {e}")));
    };
    let out = Command::new(tool)
        .arg("-dc")
        .arg(path)
        .output()
        .map_err(|e| setup(format!("{tool} -dc {name}: {e}")))?;
    if !out.status.success() {
        return Err(setup(format!(
            "{tool} -dc {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out.stdout)
}

/// The `depends=` list in a module's `.modinfo` section, plus its `softdep` pre-modules.
fn module_deps(path: &Path) -> Vec<String> {
    let Ok(bytes) = module_bytes(path) else {
        return Vec::new();
    };
    let field = |key: &[u8]| -> Option<String> {
        let at = bytes.windows(key.len()).position(|w| w == key)?;
        let rest = &bytes[at + key.len()..];
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    let mut deps: Vec<String> = field(b"depends=")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace('-', "_"))
        .collect();
    // `softdep=pre: crc32c` (libcrc32c needs a crc32c implementation loaded first). A module
    // may carry several softdep fields, and each may list `pre:` and `post:` modules.
    let key = b"softdep=";
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(key.len()).position(|w| w == key) {
        let start = at + i + key.len();
        let end = bytes[start..]
            .iter()
            .position(|&b| b == 0)
            .map_or(bytes.len(), |e| start + e);
        let soft = String::from_utf8_lossy(&bytes[start..end]);
        let mut pre = false;
        for word in soft.split_whitespace() {
            if let Some(section) = word.strip_suffix(':') {
                pre = section == "pre";
            } else if pre {
                deps.insert(0, word.replace('-', "_"));
            }
        }
        at = end;
    }
    deps
}

/// Modules to load, dependencies first.
fn module_order(idx: &BTreeMap<String, PathBuf>, wanted: &[&str]) -> Result<Vec<String>, VmError> {
    fn visit(
        n: &str,
        idx: &BTreeMap<String, PathBuf>,
        seen: &mut Vec<String>,
        out: &mut Vec<String>,
    ) -> Result<(), VmError> {
        // `crc32c` is an alias provided by crc32c_generic.
        let n = if n == "crc32c" { "crc32c_generic" } else { n };
        if seen.iter().any(|s| s == n) {
            return Ok(());
        }
        seen.push(n.to_string());
        let path = idx
            .get(n)
            .ok_or_else(|| setup(format!("kernel module {n} not found")))?;
        for d in module_deps(path) {
            visit(&d, idx, seen, out)?;
        }
        out.push(n.to_string());
        Ok(())
    }
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for w in wanted {
        visit(w, idx, &mut seen, &mut out)?;
    }
    Ok(out)
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

/// What the guest printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// The whole serial console, `\r` removed.
    pub console: String,
    /// The scenario's output (between the harness's start and end markers).
    pub script: String,
    /// The scenario's exit status.
    pub status: Option<i32>,
}

impl Output {
    /// For [`Guest::self_test`]: the one test run in the guest passed; otherwise panic with
    /// the scenario's output and the console.
    pub fn assert_self_test_passed(&self) {
        assert!(
            self.script.contains("test result: ok. 1 passed"),
            "the guest side failed:\n{}\n{}",
            self.script,
            self.console
        );
    }
}

impl Output {
    /// `RESULT name ok|fail` lines of the scenario.
    pub fn results(&self) -> BTreeMap<String, bool> {
        self.script
            .lines()
            .filter_map(|l| l.strip_prefix("RESULT "))
            .filter_map(|l| l.split_once(' '))
            .map(|(n, v)| (n.to_string(), v.trim() == "ok"))
            .collect()
    }

    /// The text between `==== BEGIN name ====` and `==== END name ====` lines.
    pub fn section(&self, name: &str) -> Option<String> {
        let begin = format!("==== BEGIN {name} ====\n");
        let end = format!("==== END {name} ====");
        let start = self.script.find(&begin)? + begin.len();
        let len = self.script[start..].find(&end)?;
        Some(self.script[start..start + len].to_string())
    }
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

/// Host programs every guest gets: `ipvsadm` (the reference) and iproute2's `ip` (busybox's
/// has no `netns`), when the host has them.
const HOST_TOOLS: &[&str] = &["ipvsadm", "ip"];

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

    /// Build the initramfs, boot, and return the console.
    pub fn run(&self) -> Result<Output, VmError> {
        prerequisites().map_err(VmError::Missing)?;
        let (vmlinuz, moddir) = kernel()?;
        let idx = module_index(&moddir);
        let wanted: Vec<&str> = self.modules.iter().map(String::as_str).collect();
        let order = module_order(&idx, &wanted)?;

        let mut entries = Vec::new();
        let add_file = |entries: &mut Vec<Entry>,
                        host: &Path,
                        guest: &str,
                        mode: u32|
         -> Result<(), VmError> {
            let data =
                std::fs::read(host).map_err(|e| setup(format!("{}: {e}", host.display())))?;
            entries.push(Entry {
                path: guest.to_string(),
                mode,
                data,
                link: None,
            });
            Ok(())
        };
        let busybox = which("busybox").ok_or_else(|| setup("busybox"))?;
        add_file(&mut entries, &busybox, "/bin/busybox", 0o755)?;
        let applets = run_ok(Command::new(&busybox).arg("--list"))?;
        for a in applets.lines().filter(|a| *a != "busybox" && !a.is_empty()) {
            entries.push(Entry {
                path: format!("/bin/{a}"),
                mode: 0o777,
                data: Vec::new(),
                link: Some("busybox".into()),
            });
        }
        let mut libs: Vec<PathBuf> = vec![busybox.clone()];
        let mut bins: Vec<(PathBuf, String)> = HOST_TOOLS
            .iter()
            .filter_map(|t| which(t).map(|p| (p, format!("/sbin/{t}"))))
            .collect();
        bins.extend(self.bins.iter().cloned());
        for (host, guest) in &bins {
            add_file(&mut entries, host, guest, 0o755)?;
            libs.push(host.clone());
        }
        let mut seen_libs: Vec<PathBuf> = Vec::new();
        for b in &libs {
            for l in libraries(b)? {
                if !seen_libs.contains(&l) {
                    let real = std::fs::canonicalize(&l).unwrap_or(l.clone());
                    add_file(&mut entries, &real, &l.to_string_lossy(), 0o755)?;
                    seen_libs.push(l);
                }
            }
        }
        for m in &order {
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
            data: self.init_script(&order).into_bytes(),
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

        let work =
            target_dir()
                .join("vm-cache")
                .join(format!("run-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&work).map_err(setup)?;
        let initrd = work.join("initrd.cpio");
        std::fs::write(&initrd, cpio(&entries)).map_err(setup)?;

        let mut child = Command::new("qemu-system-x86_64")
            .args(["-accel", "tcg", "-m", &self.memory_mb.to_string()])
            .args([
                "-nographic",
                "-no-reboot",
                "-nodefaults",
                "-serial",
                "stdio",
            ])
            .arg("-kernel")
            .arg(&vmlinuz)
            .arg("-initrd")
            .arg(&initrd)
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
                Ok(None) if start.elapsed() > self.timeout => break Err(None),
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
        let _ = std::fs::remove_dir_all(&work);
        let status = match ended {
            Ok(status) => status,
            Err(None) => return Err(VmError::Timeout(console)),
            Err(Some(e)) => return Err(setup(format!("waiting for qemu: {e}"))),
        };
        // The guest powers off, so qemu exits 0; anything else is qemu failing.
        if !status.success() {
            return Err(setup(format!(
                "qemu-system-x86_64 {status}: {qemu_err}\nconsole:\n{console}"
            )));
        }
        let start_marker = "==== VMTEST START ====\n";
        let script_start = console.find(start_marker).map(|i| i + start_marker.len());
        let (script, status) = match script_start {
            Some(s) => {
                let rest = &console[s..];
                match rest.rfind("==== VMTEST END ") {
                    Some(e) => {
                        let status = rest[e + 16..]
                            .split_whitespace()
                            .next()
                            .and_then(|n| n.parse().ok());
                        (rest[..e].to_string(), status)
                    }
                    None => (rest.to_string(), None),
                }
            }
            None => (String::new(), None),
        };
        Ok(Output {
            console,
            script,
            status,
        })
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

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_deps_read_depends_and_every_softdep_pre() {
        let dir = std::env::temp_dir().join(format!("vmtest-deps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ko = dir.join("m.ko");
        std::fs::write(
            &ko,
            b"\x7fELF..license=GPL\0depends=nf-conntrack,libcrc32c\0softdep=pre: crc32c post: zz\0\
              softdep=pre: aa-b bb\0",
        )
        .unwrap();
        let deps = module_deps(&ko);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            deps,
            ["bb", "aa_b", "crc32c", "nf_conntrack", "libcrc32c"],
            "pre-modules first, post-modules left out"
        );
    }

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

    #[test]
    fn results_and_sections_are_read_from_the_script_output() {
        let out = Output {
            console: String::new(),
            script: "RESULT a ok\nRESULT b fail\n==== BEGIN list ====\nx\ny\n==== END list ====\n"
                .into(),
            status: Some(0),
        };
        let r = out.results();
        assert_eq!(r.get("a"), Some(&true));
        assert_eq!(r.get("b"), Some(&false));
        assert_eq!(out.section("list").as_deref(), Some("x\ny\n"));
        assert_eq!(out.section("none"), None);
    }
}
