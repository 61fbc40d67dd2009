//! Helpers for the workspace end-to-end tests: locate the suite's binaries and the
//! repository root, so tests run real processes exactly as an admin would.

use std::path::PathBuf;

/// The repository root (where README.md and etc/ live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

/// Path of a binary of the workspace, built by the same `cargo test --workspace` run (cargo
/// builds the binaries of every package whose tests it runs before running any test).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable is in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}
