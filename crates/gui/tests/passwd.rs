//! piranha-passwd as a program, and password files made by Apache's real `htpasswd`
//! (Debian's apache2-utils).

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use gui::passwd::{self, Error};
use testkit::tempdir::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_piranha-passwd");

/// A fresh directory for one test (removed when the test ends).
fn tempdir(name: &str) -> TempDir {
    TempDir::new(&format!("gui-passwd-{name}"))
}

/// Whether Apache's `htpasswd` is installed; without it the test is skipped, under CI it fails.
fn htpasswd_or_skip() -> bool {
    testkit::have("htpasswd", "apache2-utils")
}

/// Run a command to its end, at most 60 seconds; stdin is `input`.
fn run(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{cmd:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// piranha-passwd without a controlling terminal (a new session), so it never prompts on the
/// terminal of whoever runs the tests.
fn passwd_cmd(args: &[&str]) -> Output {
    run(
        Command::new("setsid").arg("--wait").arg(BIN).args(args),
        b"",
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn a_password_on_the_command_line_is_set_with_a_warning() {
    let dir = tempdir("cmdline");
    // The directory is created as needed.
    let file = dir.join("conf/piranha.passwd");
    let out = passwd_cmd(&["--file", file.to_str().unwrap(), "s3cret pass"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("Warning: sensitive information entered on command line.")
            && err.contains("process list"),
        "{err}"
    );
    assert_eq!(mode(&file), 0o600);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("piranha:$2y$12$"), "{written}");
    assert_eq!(written.lines().count(), 1);
    let p = passwd::load(&file).unwrap();
    assert!(p.verify("piranha", b"s3cret pass"));
    assert!(!p.verify("piranha", b"s3cret"));
    assert!(!p.verify("root", b"s3cret pass"));
}

#[test]
fn replacing_keeps_other_lines_and_comments() {
    let dir = tempdir("replace");
    let file = dir.join("piranha.passwd");
    let before = "# web GUI users\n\
                  alice:{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=\n\
                  \n\
                  # the GUI's own user\n\
                  piranha:$apr1$zEkq.Iih$/IqrSVEI2ydLY2XAZ5tDU.\n\
                  bob:$apr1$zEkq.Iih$/IqrSVEI2ydLY2XAZ5tDU.\n";
    std::fs::write(&file, before).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        passwd::load(&file).unwrap_err(),
        Error::Permissions { mode: 0o644, .. }
    ));

    let out = passwd_cmd(&["--file", file.to_str().unwrap(), "new one"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(mode(&file), 0o600);
    let after = std::fs::read_to_string(&file).unwrap();
    let (old_lines, new_lines): (Vec<_>, Vec<_>) =
        (before.lines().collect(), after.lines().collect());
    assert_eq!(new_lines.len(), old_lines.len());
    for (i, (old, new)) in old_lines.iter().zip(&new_lines).enumerate() {
        if i == 4 {
            assert!(new.starts_with("piranha:$2y$12$"), "{new}");
        } else {
            assert_eq!(old, new);
        }
    }
    let p = passwd::load(&file).unwrap();
    assert!(p.verify("piranha", b"new one"));
    assert!(!p.verify("piranha", b"p"));
    assert!(p.verify("alice", b"p"));
    assert!(p.verify("bob", b"p"));
}

#[test]
fn version_help_and_bad_arguments() {
    let out = passwd_cmd(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!("piranha-passwd {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = passwd_cmd(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--file <FILE>"));
    let out = passwd_cmd(&["--nonsense"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--nonsense"));
}

#[test]
fn without_a_terminal_the_prompt_fails_with_status_2() {
    let dir = tempdir("notty");
    let file = dir.join("piranha.passwd");
    let out = passwd_cmd(&["--file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot read the password from the terminal"));
    assert!(!file.exists());
}

/// The prompt on a pseudo-terminal (made by script(1), from util-linux). The answers are typed
/// ahead, so the terminal echoes them before the prompt turns echo off: whether echo is off is
/// not checked here (rpassword does it).
#[test]
fn the_prompt_asks_twice_on_the_terminal() {
    if !testkit::have("script", "util-linux") {
        return;
    }
    let dir = tempdir("prompt");
    let file = dir.join("piranha.passwd");
    let cmdline = format!("{BIN} --file {}", file.display());
    let script = |input: &[u8]| {
        run(
            Command::new("script").args(["-q", "-e", "-c", &cmdline, "/dev/null"]),
            input,
        )
    };

    let out = script(b"typed pw\ntyped pw\n");
    let screen = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(
        screen.contains("New password: ") && screen.contains("Retype new password: "),
        "{screen}"
    );
    assert!(passwd::load(&file).unwrap().verify("piranha", b"typed pw"));

    let out = script(b"one\ntwo\n");
    let screen = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{screen}");
    assert!(screen.contains("the passwords do not match"), "{screen}");
    assert!(passwd::load(&file).unwrap().verify("piranha", b"typed pw"));
}

/// `htpasswd -v` accepts what piranha-passwd wrote.
#[test]
fn htpasswd_verifies_what_piranha_passwd_wrote() {
    if !htpasswd_or_skip() {
        return;
    }
    let dir = tempdir("reverse");
    let file = dir.join("piranha.passwd");
    let out = passwd_cmd(&["--file", file.to_str().unwrap(), "pä ss:wörd!"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let f = file.to_str().unwrap();
    let ok = run(
        Command::new("htpasswd").args(["-vb", f, "piranha", "pä ss:wörd!"]),
        b"",
    );
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let bad = run(
        Command::new("htpasswd").args(["-vb", f, "piranha", "wrong"]),
        b"",
    );
    assert!(!bad.status.success());
}

/// Every format htpasswd writes verifies, right and wrong passwords.
#[test]
fn every_htpasswd_format_verifies() {
    if !htpasswd_or_skip() {
        return;
    }
    let dir = tempdir("htpasswd");
    let formats: [(&str, &[&str], &str); 6] = [
        ("apr1 (default)", &[], "$apr1$"),
        ("bcrypt", &["-B"], "$2y$05$"),
        ("SHA-1", &["-s"], "{SHA}"),
        ("crypt", &["-d"], ""),
        ("SHA-256", &["-2"], "$5$"),
        ("SHA-512", &["-5"], "$6$"),
    ];
    let passwords = ["p", "pä ss:wörd!", "Tr0ub4dor&3"];
    let mut all = String::new();
    for (i, (name, flags, prefix)) in formats.iter().enumerate() {
        for (j, password) in passwords.iter().enumerate() {
            let file = dir.join(format!("f{i}-{j}"));
            let out = run(
                Command::new("htpasswd")
                    .arg("-b")
                    .arg("-c")
                    .args(*flags)
                    .args([file.to_str().unwrap(), "user", password]),
                b"",
            );
            assert!(out.status.success(), "{name}: {}", text(&out.stderr));
            // htpasswd leaves the mode to the umask: usually 0644, which load refuses.
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            let written = std::fs::read_to_string(&file).unwrap();
            assert!(
                written.starts_with(&format!("user:{prefix}")),
                "{name}: {written}"
            );
            let p = passwd::load(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
            let hash = p.get("user").unwrap();
            assert!(
                p.verify("user", password.as_bytes()),
                "{name}: {password} {written}"
            );
            assert!(!p.verify("user", b"wrong"), "{name}: {written}");
            assert!(
                !p.verify("user", format!("{password}x").as_bytes()) || *name == "crypt",
                "{name}: {written}"
            );
            if j == 0 {
                assert!(!p.verify("other", password.as_bytes()), "{name}");
            }
            eprintln!("{name}: {} ok", hash.format());
            all.push_str(&written.replacen("user:", &format!("u{i}{j}:"), 1));
        }
    }
    // One file with all of them, plus a comment.
    let file = dir.join("all");
    std::fs::write(&file, format!("# every format\n{all}")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let p = passwd::load(&file).unwrap();
    assert_eq!(p.users().count(), formats.len() * passwords.len());
    for i in 0..formats.len() {
        for (j, password) in passwords.iter().enumerate() {
            assert!(p.verify(&format!("u{i}{j}"), password.as_bytes()));
        }
    }
}

/// htpasswd's plaintext (-p) is refused, naming the file and line.
#[test]
fn htpasswd_plaintext_is_refused() {
    if !htpasswd_or_skip() {
        return;
    }
    let dir = tempdir("plain");
    let file = dir.join("plain");
    let f = file.to_str().unwrap();
    let out = run(
        Command::new("htpasswd").args(["-bcp", f, "piranha", "secret"]),
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = passwd::load(&file).unwrap_err();
    assert!(matches!(e, Error::BadHash { line: 1, .. }), "{e}");
    assert!(
        e.to_string().starts_with(&format!("{f}:1: user piranha: ")),
        "{e}"
    );
    assert!(
        e.to_string().contains("plaintext passwords are refused"),
        "{e}"
    );
}
