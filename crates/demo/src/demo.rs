//! The demo itself: its command line, the cluster's start-up, the request rounds with web2
//! stopped for a while, and the clean-up.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::web::{VIP, Web, request};

const CONFIG: &str = include_str!("../../../etc/lvs.cf.demo");

fn seconds_option(args: &[OsString]) -> anyhow::Result<Option<u64>> {
    let mut it = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    let mut seconds = None;
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().context("--seconds needs a number")?;
                seconds = Some(v.parse().context("--seconds needs a number")?);
            }
            "-h" | "--help" => {
                println!(
                    "usage: piranha-demo [--seconds N]\n\nRuns three web servers, lvsd with nannies and the userspace data plane on loopback,\nand shows requests through 127.0.0.80:8080 being balanced. Ctrl-C stops it."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (try --help)"),
        }
    }
    Ok(seconds)
}

/// Stops lvsd (and its nannies) and removes the demo's directory, however the demo ends.
struct Cleanup {
    dir: PathBuf,
    lvsd: Option<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut c) = self.lvsd.take() {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run the demo (`args` with the program name first).
pub fn run(args: &[OsString]) -> anyhow::Result<()> {
    let seconds = seconds_option(args)?;
    let stop = stop_on_signals()?;

    let dir = std::env::temp_dir().join(format!("piranha-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cleanup = Cleanup {
        dir: dir.clone(),
        lvsd: None,
    };
    install(&dir)?;

    let mut webs: Vec<Web> = [("web1", 9001), ("web2", 9002), ("web3", 9003)]
        .into_iter()
        .map(|(n, p)| Web::start(n, p))
        .collect::<anyhow::Result<_>>()?;
    println!("demo: web servers web1, web2, web3 on 127.0.0.1:9001-9003");

    let notify = UnixDatagram::bind(dir.join("notify"))?;
    notify.set_read_timeout(Some(Duration::from_secs(20)))?;
    cleanup.lvsd = Some(start_lvsd(&dir)?);
    let mut buf = [0u8; 64];
    match notify.recv(&mut buf) {
        Ok(n) if &buf[..n] == b"READY=1" => {}
        _ => bail!("lvsd did not become ready"),
    }
    println!("demo: lvsd is ready; virtual server {VIP}, round robin. Ctrl-C stops the demo.");
    // Ready means the table is built and the nannies run; the servers come in with their
    // first good check.
    let deadline = Instant::now() + Duration::from_secs(10);
    while request() == "(no answer)" && Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }

    rounds(&mut webs, seconds, &stop)?;
    println!("demo: stopping");
    drop(cleanup);
    for w in &webs {
        w.stop();
    }
    Ok(())
}

/// A flag that SIGINT or SIGTERM sets.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [nix::sys::signal::SIGINT, nix::sys::signal::SIGTERM] {
        let stop = stop.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::spawn(move || {
            rt.block_on(async {
                let kind = tokio::signal::unix::SignalKind::from_raw(sig as i32);
                if let Ok(mut s) = tokio::signal::unix::signal(kind) {
                    s.recv().await;
                    stop.store(true, Ordering::SeqCst);
                }
            });
        });
    }
    Ok(stop)
}

/// The demo's directory: `lvsd` and `nanny` as links to this program, and the configuration.
fn install(dir: &Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    for name in ["lvsd", "nanny"] {
        std::os::unix::fs::symlink(&exe, dir.join(name))?;
    }
    std::fs::write(dir.join("lvs.cf"), CONFIG)?;
    Ok(())
}

/// Start lvsd in the foreground with the userspace data plane; its log lines (and the
/// nannies') are printed as they come.
fn start_lvsd(dir: &Path) -> anyhow::Result<Child> {
    let mut lvsd = Command::new(dir.join("lvsd"))
        .args(["-n", "--dataplane", "userspace", "-c"])
        .arg(dir.join("lvs.cf"))
        .arg("--nanny")
        .arg(dir.join("nanny"))
        .arg("--socket")
        .arg(dir.join("lvsd.sock"))
        .arg("--state-file")
        .arg(dir.join("lvsd.state"))
        .arg("--pidfile")
        .arg(dir.join("lvsd.pid"))
        .env("NOTIFY_SOCKET", dir.join("notify"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start lvsd")?;
    if let Some(out) = lvsd.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("  | {line}");
            }
        });
    }
    Ok(lvsd)
}

/// Six requests a second until `seconds` (or a signal), with web2 stopped from second 4 to 12.
fn rounds(webs: &mut [Web], seconds: Option<u64>, stop: &AtomicBool) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut web2_down = false;
    let mut round = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let t = start.elapsed().as_secs();
        if seconds.is_some_and(|s| t >= s) {
            break;
        }
        if (4..12).contains(&t) && !web2_down {
            println!(
                "demo: stopping web2: its requests go to the others, and lvsd takes it out of rotation at once"
            );
            webs[1].stop();
            web2_down = true;
        }
        if t >= 12 && web2_down {
            println!("demo: starting web2 again: back after two good checks");
            webs[1] = Web::start("web2", 9002)?;
            web2_down = false;
        }
        round += 1;
        let answers: Vec<String> = (0..6).map(|_| request()).collect();
        println!("demo: round {round:>3}: {}", answers.join(" "));
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}
