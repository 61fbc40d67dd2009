//! The commands README.md tells a newcomer to run work on a fresh clone.

use std::process::Command;

use testkit::bins::{bin, workspace_root as repo_root};

#[test]
fn readme_main_command_checks_the_shipped_sample() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        readme.contains("lvscf check etc/lvs.cf"),
        "README.md no longer shows the main command"
    );
    let o = Command::new(bin("lvscf"))
        .args(["check", "etc/lvs.cf"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "etc/lvs.cf: valid (service = lvs; 1 of 2 virtual servers active with 2 active real servers; 0 of 1 failover services active)\n"
    );
}

#[test]
fn ci_runs_exactly_the_readme_test_command() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    let cmd = readme
        .lines()
        .skip_while(|l| !l.contains("<!-- test-command -->"))
        .nth(2)
        .expect("README.md has a test command block after <!-- test-command -->")
        .trim();
    assert!(cmd.starts_with("cargo test"), "{cmd}");
    assert!(
        ci.lines().any(|l| l.trim() == cmd),
        ".ci/run does not run `{cmd}` verbatim"
    );
}

#[test]
fn readme_shows_the_demo() {
    // The demo itself is run by crates/demo/tests/demo.rs.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        readme.contains("cargo run -q --bin piranha-demo"),
        "README.md no longer shows the demo"
    );
}
