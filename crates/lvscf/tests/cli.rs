//! The `lvscf` binary as admins and scripts run it: exit codes, streams, formats, and files
//! left untouched on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn lvscf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvscf"))
        .args(args)
        .output()
        .expect("run lvscf")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvscf-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const VALID: &str = "primary = 10.0.0.1\nvirtual web {\n    active = 1\n    address = 10.0.0.100 eth0:1\n    scheduler = rr\n    server a {\n        address = 10.0.1.1\n        active = 1\n    }\n}\n";
const BROKEN: &str = "primary = 10.0.0.1\nkeepalive = fast\nvirtual web {\n    active = 2\n    address = 10.0.0.100\n}\n";

#[test]
fn check_valid_file_exits_0_and_summarises() {
    let o = lvscf(&["check", &data("seed-0.4-sample.cf")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("valid (service = lvs; 1 of 2 virtual servers active with 2 active real servers; 1 of 2 failover services active)"), "{}", stdout(&o));
    let q = lvscf(&["check", "-q", &data("seed-0.4-sample.cf")]);
    assert_eq!((q.status.code(), stdout(&q).as_str()), (Some(0), ""));
}

#[test]
fn check_broken_file_reports_every_error_with_location_and_exits_1() {
    let dir = scratch("broken");
    let f = write(&dir, "lvs.cf", BROKEN);
    let o = lvscf(&["check", &f]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{f}:2:13: error: integer expected")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:4:14: error: boolean expected")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}:5:25: error: missing arguments")),
        "{err}"
    );
    assert!(
        err.contains(" 4 |     active = 2\n   |              ^\n"),
        "{err}"
    );
    assert!(
        err.ends_with(&format!("lvscf: {f}: 3 errors, 0 warnings\n")),
        "{err}"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn check_json_lists_diagnostics_with_positions() {
    let dir = scratch("json");
    let f = write(&dir, "lvs.cf", BROKEN);
    let o = lvscf(&["check", "--json", &f]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["valid"], false);
    let d = &doc["diagnostics"][1];
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(4), Some(14))
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(d["category"], "bool-expected");
    assert_eq!(d["message"], "boolean expected: `active` is 0 or 1, not 2");
    // An unreadable file is still a JSON document.
    let o = lvscf(&["check", "--json", "/nonexistent/lvs.cf"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["valid"], false);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot read /nonexistent/lvs.cf")
    );
    // Notes carry their own position.
    let f = write(
        &dir,
        "eof.cf",
        "primary = 10.0.0.1\nvirtual web {\n active = 0\n",
    );
    let doc: serde_json::Value =
        serde_json::from_str(&stdout(&lvscf(&["check", "--json", &f]))).unwrap();
    let note = &doc["diagnostics"][0]["notes"][0];
    assert_eq!(
        (note["line"].as_u64(), note["column"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(note["message"], "`virtual web` opened here");
}

#[test]
fn warnings_fail_only_with_strict() {
    let dir = scratch("strict");
    let f = write(
        &dir,
        "lvs.cf",
        &VALID.replace(
            "    scheduler = rr\n",
            "    scheduler = rr\n    timeout = 10\n    reentry = 5\n",
        ),
    );
    let o = lvscf(&["check", &f]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("warning: `reentry` (5) is shorter than `timeout` (10)"));
    assert_eq!(lvscf(&["check", "--strict", &f]).status.code(), Some(1));
}

#[test]
fn unreadable_file_exits_1_and_usage_errors_exit_2() {
    let o = lvscf(&["check", "/nonexistent/lvs.cf"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "lvscf: cannot read /nonexistent/lvs.cf: No such file or directory (os error 2)\n"
    );
    assert_eq!(lvscf(&["check", "--bogus"]).status.code(), Some(2));
    assert_eq!(lvscf(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(lvscf(&[]).status.code(), Some(2));
}

#[test]
fn config_option_and_stdin_are_accepted() {
    assert_eq!(
        lvscf(&["check", "-c", &data("gui-rhel6.cf")]).status.code(),
        Some(0)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_lvscf"))
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(BROKEN.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("<stdin>:2:13: error: integer expected"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dump_fills_in_every_default() {
    let dir = scratch("dump");
    let f = write(&dir, "lvs.cf", VALID);
    let o = lvscf(&["dump", "--json", &f]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["heartbeat_port"], 539);
    assert_eq!(doc["keepalive"], 2);
    assert_eq!(doc["deadtime"], 5);
    assert_eq!(doc["primary_private"], "10.0.0.1");
    let vs = &doc["virtual_servers"][0];
    assert_eq!(
        (
            vs["port"].as_u64(),
            vs["timeout"].as_u64(),
            vs["reentry"].as_u64()
        ),
        (Some(80), Some(10), Some(180))
    );
    assert_eq!(vs["scheduler"], "rr");
    assert_eq!(vs["servers"][0]["weight"], 1);
    assert_eq!(vs["servers"][0]["port"], 80);

    let text = lvscf(&["dump", &f]);
    let dumped = stdout(&text);
    for line in [
        "heartbeat_port = 539",
        "hard_shutdown = 1",
        "    client_monitor = /usr/sbin/nanny",
        "        port = 80",
    ] {
        assert!(
            dumped.lines().any(|l| l == line),
            "missing {line:?} in\n{dumped}"
        );
    }
    // The explicit dump means the same as the file.
    let again = write(&dir, "dumped.cf", &dumped);
    let j2 = stdout(&lvscf(&["dump", "--json", &again]));
    assert_eq!(j2, stdout(&o));
}

#[test]
fn fmt_prints_checks_and_rewrites() {
    let dir = scratch("fmt");
    let messy = "# cluster\nvirtual web {\n\tserver a {\n\t\tactive=1\n\t\taddress = 10.0.1.1 # rack 4\n\t}\n\taddress   =   10.0.0.100 eth0:1\n  active = 1\n}\nprimary = 10.0.0.1\n";
    let f = write(&dir, "lvs.cf", messy);
    let o = lvscf(&["fmt", &f]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        // The comment stays with the block it was written above.
        "primary = 10.0.0.1\nservice = lvs\nbackup_active = 0\nheartbeat_port = 539\nkeepalive = 2\ndeadtime = 5\nnetwork = nat\n\n# cluster\nvirtual web {\n    active = 1\n    address = 10.0.0.100 eth0:1\n    port = 80\n    scheduler = wlc\n    protocol = tcp\n    timeout = 10\n    reentry = 180\n\n    server a {\n        address = 10.0.1.1 # rack 4\n        active = 1\n        weight = 1\n    }\n}\n"
    );
    let c = lvscf(&["fmt", "--check", &f]);
    assert_eq!(c.status.code(), Some(1));
    assert!(stderr(&c).contains("is not in canonical form"));

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(lvscf(&["fmt", "--write", &f]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), stdout(&o));
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(lvscf(&["fmt", "--check", &f]).status.code(), Some(0));
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn fmt_write_follows_a_symlink_and_keeps_service_names() {
    let dir = scratch("symlink");
    let real = write(
        &dir,
        "real.cf",
        "primary = 10.0.0.1\nheartbeat_port=https\nvirtual web {\n active = 1\n address = 10.0.0.100 eth0:1\n port = http\n server a {\n address = 10.0.1.1\n active = 1\n }\n}\n",
    );
    let link = dir.join("lvs.cf");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let link = link.display().to_string();
    assert_eq!(lvscf(&["fmt", "--write", &link]).status.code(), Some(0));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains("\nheartbeat_port = https\n"), "{text}");
    assert!(text.contains("\n    port = http\n"), "{text}");
}

#[test]
fn fmt_and_dump_refuse_a_broken_file_and_leave_it_untouched() {
    let dir = scratch("untouched");
    let f = write(&dir, "lvs.cf", BROKEN);
    for args in [
        vec!["fmt", "--write", f.as_str()],
        vec!["fmt", f.as_str()],
        vec!["dump", f.as_str()],
    ] {
        let o = lvscf(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(stdout(&o), "", "{args:?}");
        assert!(stderr(&o).contains("nothing to"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read_to_string(&f).unwrap(), BROKEN);
}

#[test]
fn shipped_sample_is_valid_and_canonical() {
    let sample = format!("{}/../../etc/lvs.cf", env!("CARGO_MANIFEST_DIR"));
    let o = lvscf(&["check", "--strict", &sample]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = lvscf(&["fmt", "--check", &sample]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn bump_raises_serial_no_in_place_and_refuses_a_broken_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("bump");
    let text = format!("# hand edited\nserial_no = 7  # v\n{VALID}");
    let p = write(&dir, "lvs.cf", &text);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = lvscf(&["bump", &p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{p}: serial_no 8\n"));
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        text.replace("serial_no = 7", "serial_no = 8")
    );
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // Without serial_no: serial_no = 1 first.
    let q = write(&dir, "new.cf", VALID);
    assert_eq!(lvscf(&["bump", "-c", &q]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&q).unwrap(),
        format!("serial_no = 1\n{VALID}")
    );
    // A broken file: exit 1, untouched.
    let b = write(&dir, "broken.cf", BROKEN);
    let o = lvscf(&["bump", &b]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nothing to bump"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&b).unwrap(), BROKEN);
    // Not standard input.
    assert_eq!(lvscf(&["bump", "-"]).status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
