//! The workspace's binaries, for tests that run more than their own package's.
//!
//! Cargo builds a package's own binaries before its integration tests (`CARGO_BIN_EXE_<name>`
//! names them), but not the binaries of other packages: `cargo test -p e2e` would find no
//! `pulse`, or a stale one from an earlier build. So [`bin`] runs `cargo build --bin <name>…`
//! once per test process, for the profile (and target) the running test was built for, into
//! the same target directory, and returns `target/<profile>/<name>`. When everything is up to
//! date (as after `cargo test --workspace`, which has just built every binary) that costs a
//! fraction of a second. Cargo runs test executables one after another and releases its build
//! lock before running them, so the nested build neither waits for nor races with another.
//!
//! Run outside cargo (a test executable started by hand, or inside a VM guest, where `CARGO`
//! is not set), nothing is built and the binaries are taken as they are.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The workspace's root directory (where the top Cargo.toml, README.md and etc/ are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit sits two levels below the workspace root")
        .to_path_buf()
}

/// Where the running test executable was built: `<target dir>[/<triple>]/<profile dir>/deps`.
#[derive(Debug)]
struct Layout {
    target_dir: PathBuf,
    triple: Option<String>,
    /// `debug`, `release` or a custom profile's name.
    profile_dir: String,
}

impl Layout {
    fn of_current_exe() -> Layout {
        let exe = std::env::current_exe().expect("test executable path");
        let deps = exe.parent().expect("test executable in a directory");
        let profile = deps.parent().expect("target/<profile>/deps");
        let profile_dir = profile
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let above = profile.parent().expect("a target directory");
        // Cargo marks its target directory's root with CACHEDIR.TAG; one level more is a
        // `--target <triple>` build.
        if !above.join("CACHEDIR.TAG").exists()
            && let Some(root) = above.parent()
            && root.join("CACHEDIR.TAG").exists()
        {
            return Layout {
                target_dir: root.to_path_buf(),
                triple: above.file_name().map(|n| n.to_string_lossy().into_owned()),
                profile_dir,
            };
        }
        Layout {
            target_dir: above.to_path_buf(),
            triple: None,
            profile_dir,
        }
    }

    fn bin_dir(&self) -> PathBuf {
        match &self.triple {
            Some(t) => self.target_dir.join(t).join(&self.profile_dir),
            None => self.target_dir.join(&self.profile_dir),
        }
    }

    /// The cargo profile that writes to this directory.
    fn profile(&self) -> &str {
        match self.profile_dir.as_str() {
            "debug" => "dev",
            p => p,
        }
    }
}

/// The target directory the running test executable was built in (`CARGO_TARGET_DIR` or the
/// workspace's `target/`).
pub fn target_dir() -> PathBuf {
    Layout::of_current_exe().target_dir
}

/// Path of binary `name` of this workspace, built (once per process) for the running test's
/// profile. Panics when it cannot be built or is not there.
pub fn bin(name: &str) -> PathBuf {
    bins(&[name]).remove(0)
}

/// Paths of these binaries of the workspace, built with one cargo run (once per process).
pub fn bins(names: &[&str]) -> Vec<PathBuf> {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let layout = Layout::of_current_exe();
    // Held during the build: the other tests of this process wait for it.
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !built.contains(*n))
        .collect();
    if !missing.is_empty() {
        build(&layout, &missing);
        built.extend(missing.iter().map(|n| n.to_string()));
    }
    names
        .iter()
        .map(|n| {
            let p = layout.bin_dir().join(n);
            assert!(
                p.exists(),
                "{} is missing: build it with `cargo build --bin {n}`",
                p.display()
            );
            p
        })
        .collect()
}

/// `cargo build --bin …` into the running test's target directory and profile, when cargo
/// runs the test.
fn build(layout: &Layout, names: &[&str]) {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return;
    };
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--quiet")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&layout.target_dir)
        .args(["--profile", layout.profile()]);
    if let Some(t) = &layout.triple {
        cmd.args(["--target", t]);
    }
    for n in names {
        cmd.args(["--bin", n]);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        status.success(),
        "{cmd:?} failed ({status}); its errors are above"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_read_from_the_test_executable() {
        let l = Layout::of_current_exe();
        assert!(l.target_dir.join("CACHEDIR.TAG").exists(), "{l:?}");
        assert!(l.bin_dir().join("deps").is_dir(), "{l:?}");
        assert!(workspace_root().join("Cargo.toml").exists());
    }
}
