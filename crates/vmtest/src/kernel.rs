//! Debian's kernel: the package downloaded once with apt and cached under
//! `target/vm-cache`, and its modules (index, `.modinfo` dependencies, load order).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{VmError, setup};
use crate::host::{run_ok, target_dir};

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
pub(crate) fn module_index(dir: &Path) -> BTreeMap<String, PathBuf> {
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
pub(crate) fn module_bytes(path: &Path) -> Result<Vec<u8>, VmError> {
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
pub(crate) fn module_order(
    idx: &BTreeMap<String, PathBuf>,
    wanted: &[&str],
) -> Result<Vec<String>, VmError> {
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
}
