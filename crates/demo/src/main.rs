//! piranha-demo: a small cluster on loopback, without root and without IPVS.
//!
//! It starts three web servers (127.0.0.1:9001-9003), then lvsd on `etc/lvs.cf.demo` with
//! the userspace data plane and one nanny per web server, sends requests through the virtual
//! address 127.0.0.80:8080 every second and prints who answered, stops web2 for a while so
//! nanny takes it out and puts it back, and stops everything on Ctrl-C.
//!
//! The one binary is also `lvsd` and `nanny`: it links both and dispatches on the name it was
//! started as (the demo runs them through symbolic links), so `cargo run` builds all it needs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const CONFIG: &str = include_str!("../../../etc/lvs.cf.demo");
const VIP: &str = "127.0.0.80:8080";

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let code = match name.as_str() {
        "nanny" => nanny::start::main(args),
        "lvsd" => lvsd::start::main(args),
        _ => match demo(&args) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("piranha-demo: {e:#}");
                1
            }
        },
    };
    std::process::exit(code);
}

/// A web server on its own thread that can be stopped and started again.
struct Web {
    stop: Arc<AtomicBool>,
}

impl Web {
    fn start(name: &'static str, port: u16) -> anyhow::Result<Web> {
        let l = std::net::TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        l.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 1024];
                        let _ = c.read(&mut buf);
                        let _ = c.write_all(
                            format!("HTTP/1.0 200 OK\r\n\r\nhello from {name}\n").as_bytes(),
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Web { stop })
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One request through the virtual address; the name of the server that answered.
fn request() -> String {
    let Ok(mut s) = TcpStream::connect(VIP) else {
        return "refused".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("hello from "))
        .unwrap_or("(no answer)")
        .to_owned()
}

fn seconds_option(args: &[std::ffi::OsString]) -> anyhow::Result<Option<u64>> {
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

fn demo(args: &[std::ffi::OsString]) -> anyhow::Result<()> {
    let seconds = seconds_option(args)?;
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

    let dir = std::env::temp_dir().join(format!("piranha-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cleanup = Cleanup {
        dir: dir.clone(),
        lvsd: None,
    };
    let exe = std::env::current_exe()?;
    for name in ["lvsd", "nanny"] {
        std::os::unix::fs::symlink(&exe, dir.join(name))?;
    }
    std::fs::write(dir.join("lvs.cf"), CONFIG)?;

    let mut webs: Vec<Web> = [("web1", 9001), ("web2", 9002), ("web3", 9003)]
        .into_iter()
        .map(|(n, p)| Web::start(n, p))
        .collect::<anyhow::Result<_>>()?;
    println!("demo: web servers web1, web2, web3 on 127.0.0.1:9001-9003");

    let notify = UnixDatagram::bind(dir.join("notify"))?;
    notify.set_read_timeout(Some(Duration::from_secs(20)))?;
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
    let out = lvsd.stdout.take();
    cleanup.lvsd = Some(lvsd);
    // lvsd's and the nannies' log lines, as they come.
    if let Some(out) = out {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("  | {line}");
            }
        });
    }
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

    let start = Instant::now();
    let mut web2_down = false;
    let mut round = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let t = start.elapsed().as_secs();
        if seconds.is_some_and(|s| t >= s) {
            break;
        }
        if (4..12).contains(&t) && !web2_down {
            println!("demo: stopping web2: its nanny takes it out of rotation at the next check");
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
    println!("demo: stopping");
    drop(cleanup);
    for w in &webs {
        w.stop();
    }
    Ok(())
}
