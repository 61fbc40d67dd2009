//! The Debian package (issue 18): `cargo deb -p pulse` builds it, lintian finds no error in
//! it, and it installs into a fresh Debian root made with mmdebstrap from the host's mirror,
//! where every program runs, every manual page opens, the units pass `systemd-analyze
//! verify`, the user `piranha` and the conffile exist, and `dpkg --purge` leaves the root as
//! it found it.
//!
//! Needs root (chroot), cargo-deb (`cargo install cargo-deb --locked`), mmdebstrap and
//! lintian (apt-get install mmdebstrap lintian), and the Debian mirror of
//! /etc/apt/sources.list*; skips with a message without them, fails under CI. The root is
//! cached as a tarball in the target directory (`debian-root/`), so only the first run
//! downloads it; set PIRANHA_DEB_MIRROR to use another mirror.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use testkit::bins::workspace_root;
use testkit::tempdir::TempDir;

/// The programs of the package, all in /usr/sbin.
const PROGRAMS: [&str; 8] = [
    "pulse",
    "lvsd",
    "nanny",
    "fos",
    "lvscf",
    "ipvsadm-rs",
    "piranha-gui",
    "piranha-passwd",
];

/// The units of the package.
const UNITS: [&str; 3] = ["pulse.service", "lvsd.service", "piranha-gui.service"];

/// What the fresh root holds besides a minimal Debian: what the package depends on, and the
/// tools the checks use (man, systemd-analyze).
const ROOT_PACKAGES: &str = "iproute2,man-db,systemd";

/// The header of packaging/debian/lvs.cf, then etc/lvs.cf commented out with this prefix.
const SAMPLE_PREFIX: &str = "#| ";

#[test]
fn packaged_lvs_cf_is_the_sample_commented_out() {
    let root = workspace_root();
    let packaged = std::fs::read_to_string(root.join("packaging/debian/lvs.cf")).unwrap();
    let sample = std::fs::read_to_string(root.join("etc/lvs.cf")).unwrap();
    // Every line is a comment: as installed, the file defines nothing.
    for (n, line) in packaged.lines().enumerate() {
        assert!(
            line.starts_with('#'),
            "line {} is not a comment: {line}",
            n + 1
        );
    }
    let body: String = packaged
        .lines()
        .skip_while(|l| !l.starts_with(SAMPLE_PREFIX.trim_end()))
        .map(|l| {
            let text = l.strip_prefix(SAMPLE_PREFIX.trim_end()).unwrap();
            format!("{}\n", text.strip_prefix(' ').unwrap_or(text))
        })
        .collect();
    assert_eq!(
        body, sample,
        "packaging/debian/lvs.cf is out of date: run packaging/debian/make-sample"
    );
}

/// The target directory this test was built into (`<target>/<profile>/deps/<exe>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// Run and require success; standard output.
fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command inside the root, with a plain environment.
fn chroot(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("chroot");
    c.arg(root)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C.UTF-8")
        .env("DEBIAN_FRONTEND", "noninteractive");
    c
}

/// Whether a tool is there; skips (or fails under CI) with how to get it.
fn tool(prog: &str, how: &str) -> bool {
    let found = Command::new(prog)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(!testkit::under_ci(), "{prog} is missing: {how}");
        eprintln!("SKIPPED: {prog} is missing: {how}");
    }
    found
}

/// The host's Debian codename (the binaries need the host's libc or newer).
fn codename() -> Option<String> {
    let os = std::fs::read_to_string("/etc/os-release").ok()?;
    let id = os.lines().find_map(|l| l.strip_prefix("ID="))?;
    if id.trim_matches('"') != "debian" {
        return None;
    }
    os.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|c| c.trim_matches('"').to_string())
}

/// The Debian mirror the host uses: PIRANHA_DEB_MIRROR, else the first one of
/// /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list that serves `debian`.
fn mirror() -> String {
    if let Ok(m) = std::env::var("PIRANHA_DEB_MIRROR") {
        return m;
    }
    let mut texts = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        texts.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    texts.extend(std::fs::read_to_string("/etc/apt/sources.list").ok());
    for text in &texts {
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let uri = match words.as_slice() {
                ["URIs:", uri, ..] => *uri,
                ["deb", rest @ ..] => match rest.iter().find(|w| w.contains("://")) {
                    Some(uri) => *uri,
                    None => continue,
                },
                _ => continue,
            };
            if uri.trim_end_matches('/').ends_with("/debian") {
                return uri.to_string();
            }
        }
    }
    "http://deb.debian.org/debian".to_string()
}

/// The cached tarball of a fresh root (made once per codename and package list).
fn root_tarball(suite: &str) -> PathBuf {
    let dir = target_dir().join("debian-root");
    std::fs::create_dir_all(&dir).unwrap();
    let tar = dir.join(format!("{suite}-{}.tar", ROOT_PACKAGES.replace(',', "+")));
    if !tar.exists() {
        let partial = tar.with_extension("tar.partial");
        ok(Command::new("mmdebstrap")
            .args(["--quiet", "--variant=apt", "--format=tar"])
            .arg(format!("--include={ROOT_PACKAGES}"))
            .arg(suite)
            .arg(&partial)
            .arg(mirror())
            .stdin(std::process::Stdio::null()));
        std::fs::rename(&partial, &tar).unwrap();
    }
    tar
}

/// `cargo deb`: the release build and the package; its path.
fn build_package() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = ok(Command::new(cargo)
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target_dir())
        .args(["deb", "-p", "pulse", "--locked"]));
    let deb = PathBuf::from(out.lines().last().unwrap_or("").trim());
    assert!(
        deb.extension().is_some_and(|e| e == "deb") && deb.exists(),
        "cargo deb printed no package: {out}"
    );
    deb
}

/// Every path of the root, except where dpkg, man-db and the account tools keep their
/// records, which installing and purging a package changes by design, and /run and /tmp
/// (systemd-analyze leaves a runtime file in /run; both are emptied at boot).
fn tree(root: &Path) -> BTreeSet<String> {
    let out = ok(Command::new("find").arg(root).arg("-xdev"));
    let ignored = [
        "/var/lib/dpkg/",
        "/var/log/",
        "/var/cache/",
        "/var/lib/systemd/deb-systemd-",
        "/tmp/",
        "/run/",
    ];
    let backups = [
        "/etc/passwd-",
        "/etc/group-",
        "/etc/shadow-",
        "/etc/gshadow-",
    ];
    out.lines()
        .filter_map(|l| l.strip_prefix(root.to_str().unwrap()))
        .filter(|p| !ignored.iter().any(|i| p.starts_with(i)) && !backups.contains(p))
        .map(str::to_string)
        .collect()
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path.trim_start_matches('/'))).unwrap_or_default()
}

#[test]
fn package_installs_runs_and_purges_cleanly() {
    if !testkit::root_or_skip()
        || !tool("cargo-deb", "cargo install cargo-deb --locked")
        || !tool("mmdebstrap", "apt-get install mmdebstrap")
        || !tool("lintian", "apt-get install lintian")
    {
        return;
    }
    let Some(suite) = codename() else {
        assert!(!testkit::under_ci(), "the package test needs a Debian host");
        eprintln!("SKIPPED: not a Debian host (/etc/os-release)");
        return;
    };

    let deb = build_package();

    check_lint_and_control(&deb);
    // A fresh root, from the cached tarball.
    let tar = root_tarball(&suite);
    let scratch = TempDir::new("piranha-deb");
    let root = scratch.join("root");
    std::fs::create_dir(&root).unwrap();
    ok(Command::new("tar")
        .args(["-xf"])
        .arg(&tar)
        .arg("-C")
        .arg(&root));
    let before = tree(&root);
    let accounts =
        ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"].map(|f| read(&root, f));

    std::fs::copy(&deb, root.join("tmp/piranha.deb")).unwrap();
    ok(&mut chroot(&root, &["dpkg", "-i", "/tmp/piranha.deb"]));

    check_programs(&root);
    check_manuals(&root);
    check_services(&root);
    check_account_and_conffiles(&root);
    check_what_piranha_may_write(&root);
    ok(&mut chroot(&root, &["dpkg", "--purge", "piranha"]));
    let after = tree(&root);
    let left: Vec<_> = after.difference(&before).collect();
    let lost: Vec<_> = before.difference(&after).collect();
    assert!(
        left.is_empty() && lost.is_empty(),
        "dpkg --purge left {left:#?} and removed {lost:#?}"
    );
    let accounts_after =
        ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"].map(|f| read(&root, f));
    assert_eq!(accounts, accounts_after, "the accounts differ after purge");
    // (dpkg-statoverride --list fails when it lists nothing.)
    let overrides = run(&mut chroot(&root, &["dpkg-statoverride", "--list"]));
    let overrides = String::from_utf8_lossy(&overrides.stdout);
    assert!(!overrides.contains("sysconfig"), "{overrides}");
}

/// lintian and the control fields.
fn check_lint_and_control(deb: &Path) {
    // lintian: no error. Its warnings are explained in docs/DECISIONS.md.
    let lint = run(Command::new("lintian")
        .args(["--tag-display-limit", "0", "--suppress-tags"])
        .arg("no-manual-page")
        .arg(deb));
    let report = String::from_utf8_lossy(&lint.stdout);
    eprintln!(
        "lintian:\n{report}{}",
        String::from_utf8_lossy(&lint.stderr)
    );
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors: {errors:#?}");

    // The control fields: iproute2 and the C library, nothing else at run time.
    let control = ok(Command::new("dpkg-deb").args(["--field"]).arg(deb));
    let depends = control
        .lines()
        .find_map(|l| l.strip_prefix("Depends: "))
        .unwrap_or_default();
    let names: BTreeSet<&str> = depends
        .split(',')
        .map(|d| d.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["iproute2", "libc6"]),
        "Depends: {depends}"
    );
    assert!(control.contains("\nSuggests: ipvsadm\n"), "{control}");
}

/// The installed programs: they run, and link only the C library.
fn check_programs(root: &Path) {
    // Every program runs and knows its version. ipvsadm-rs, like ipvsadm, first opens IPVS,
    // and says so when the kernel has none (ipvsadm-rs(8)): that too shows that it runs.
    for prog in PROGRAMS {
        let path = format!("/usr/sbin/{prog}");
        let out = run(&mut chroot(root, &[&path, "--version"]));
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        if prog == "ipvsadm-rs" && out.status.code() == Some(2) {
            assert!(err.starts_with("Can't initialize ipvs"), "{prog}: {err}");
        } else {
            assert!(
                out.status.success(),
                "{prog} --version: {}: {err}",
                out.status
            );
            assert!(!text.trim().is_empty(), "{prog} --version printed nothing");
        }
        // Nothing but the C library (and the loader) is linked in.
        let libs = ok(&mut chroot(root, &["ldd", &path]));
        for line in libs.lines() {
            let lib = line.split_whitespace().next().unwrap_or("");
            assert!(
                lib.starts_with("linux-vdso")
                    || lib.starts_with("/lib64/ld-linux")
                    || ["libc.so.6", "libm.so.6", "libgcc_s.so.1"].contains(&lib),
                "{prog} needs {lib}"
            );
        }
    }
}

/// The manual pages.
fn check_manuals(root: &Path) {
    // Every manual page is compressed, in its section, and opens.
    let pages = std::fs::read_dir(workspace_root().join("man")).unwrap();
    let mut opened = 0;
    for page in pages {
        let name = page.unwrap().file_name().into_string().unwrap();
        let section = name.rsplit('.').next().unwrap();
        let path = format!("/usr/share/man/man{section}/{name}.gz");
        let mut cmd = chroot(root, &["man", "-l", &path]);
        cmd.env("MANPAGER", "cat").env("MANWIDTH", "80");
        let text = ok(&mut cmd);
        assert!(text.contains("NAME"), "{path} renders no NAME section");
        opened += 1;
    }
    assert!(opened >= 9, "only {opened} manual pages");
}

/// The systemd units and SysV scripts: valid, none enabled.
fn check_services(root: &Path) {
    // The units are valid, and the services are not enabled.
    let units: Vec<String> = UNITS
        .iter()
        .map(|u| format!("/usr/lib/systemd/system/{u}"))
        .collect();
    let mut args = vec!["systemd-analyze", "verify"];
    args.extend(units.iter().map(String::as_str));
    let verify = run(&mut chroot(root, &args));
    let complaints = String::from_utf8_lossy(&verify.stderr).into_owned();
    assert!(
        verify.status.success() && !UNITS.iter().any(|u| complaints.contains(u)),
        "systemd-analyze verify: {complaints}"
    );
    for unit in UNITS {
        assert!(
            !root
                .join("etc/systemd/system/multi-user.target.wants")
                .join(unit)
                .exists(),
            "{unit} is enabled on installation"
        );
    }
    // The SysV scripts are registered, but started in no runlevel.
    let links: Vec<String> = std::fs::read_dir(root.join("etc"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("rc"))
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten())
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    for script in ["pulse", "lvsd", "piranha-gui"] {
        assert!(root.join("etc/init.d").join(script).exists());
        assert!(root.join("etc/default").join(script).exists());
        let mine: Vec<_> = links
            .iter()
            .filter(|l| l.get(3..) == Some(script))
            .collect();
        assert!(
            !mine.is_empty() && mine.iter().all(|l| l.starts_with('K')),
            "{script}: {mine:?}"
        );
    }
}

/// The account of the web service, the conffiles, the owner of lvs.cf, the installed sample.
fn check_account_and_conffiles(root: &Path) {
    // The user and group of the web service: a system account without a login.
    let user = ok(&mut chroot(root, &["getent", "passwd", "piranha"]));
    let fields: Vec<&str> = user.trim().split(':').collect();
    assert!(fields[2].parse::<u32>().unwrap() < 1000, "{user}");
    assert_eq!(fields[6], "/usr/sbin/nologin", "{user}");
    ok(&mut chroot(root, &["getent", "group", "piranha"]));

    // The sample lvs.cf is a conffile and belongs to piranha with its directory.
    let conffiles = ok(&mut chroot(
        root,
        &["dpkg-query", "-W", "-f=${Conffiles}\\n", "piranha"],
    ));
    for f in [
        "/etc/sysconfig/ha/lvs.cf",
        "/etc/default/pulse",
        "/etc/init.d/pulse",
    ] {
        assert!(conffiles.contains(&format!(" {f} ")), "{f}: {conffiles}");
    }
    let owners = ok(&mut chroot(
        root,
        &[
            "stat",
            "-c",
            "%U:%G %a %n",
            "/etc/sysconfig/ha",
            "/etc/sysconfig/ha/lvs.cf",
        ],
    ));
    assert_eq!(
        owners,
        "piranha:piranha 755 /etc/sysconfig/ha\npiranha:piranha 644 /etc/sysconfig/ha/lvs.cf\n"
    );
    // As installed it defines nothing, so pulse would refuse to start; lvscf reads it
    // without being told where it is (lvscf::default_path). The sample it comes from,
    // shipped as an example, is valid.
    let check = run(&mut chroot(root, &["lvscf", "check"]));
    let said = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(1), "{said}");
    assert!(
        said.starts_with("/etc/sysconfig/ha/lvs.cf: ")
            && said.contains("no `virtual` block is active"),
        "{said}"
    );
    ok(&mut chroot(
        root,
        &[
            "lvscf",
            "check",
            "--strict",
            "/usr/share/doc/piranha/examples/lvs.cf",
        ],
    ));
}

/// What user piranha may write, and the files the tools leave for the purge.
fn check_what_piranha_may_write(root: &Path) {
    // User piranha (piranha-gui) can replace lvs.cf in its directory, as lvscf fmt --write
    // does (a new file beside it, renamed over it), and nothing else in /etc.
    let sample = std::fs::read_to_string(root.join("usr/share/doc/piranha/examples/lvs.cf"));
    std::fs::write(
        root.join("etc/sysconfig/ha/lvs.cf"),
        format!("{}serial_no = 3\n", sample.unwrap()),
    )
    .unwrap();
    let as_piranha = [
        "setpriv",
        "--reuid=piranha",
        "--regid=piranha",
        "--init-groups",
    ];
    let fmt = [
        &as_piranha[..],
        &["lvscf", "fmt", "--write", "/etc/sysconfig/ha/lvs.cf"],
    ]
    .concat();
    ok(&mut chroot(root, &fmt));
    let formatted = read(root, "/etc/sysconfig/ha/lvs.cf");
    assert!(formatted.starts_with("serial_no = 3\n") || formatted.contains("\nserial_no = 3\n"));
    let owner = ok(&mut chroot(
        root,
        &["stat", "-c", "%U", "/etc/sysconfig/ha/lvs.cf"],
    ));
    assert_eq!(owner, "piranha\n");
    let touch = [&as_piranha[..], &["touch", "/etc/piranha-was-here"]].concat();
    assert!(!run(&mut chroot(root, &touch)).status.success());

    // What the tools write there goes at purge too: the password file of piranha-passwd and
    // the previous lvs.cf that piranha-gui keeps.
    ok(&mut chroot(root, &["piranha-passwd", "a-test-password"]));
    let passwd = ok(&mut chroot(
        root,
        &[
            "stat",
            "-c",
            "%U %a",
            "/etc/sysconfig/ha/conf/piranha.passwd",
        ],
    ));
    assert_eq!(passwd, "piranha 600\n");
    std::fs::write(root.join("etc/sysconfig/ha/lvs.cf.prev"), "# old\n").unwrap();
}
