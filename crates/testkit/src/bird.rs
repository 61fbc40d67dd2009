//! BIRD 2 (Debian's `bird2`) as a test's routing daemon: one foreground process with its own
//! configuration and control socket in a scratch directory, in the calling thread's network
//! namespace, killed on drop. Used by the tests of VIPs announced over BGP.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::process::Proc;
use crate::tempdir::TempDir;

pub const BIRD: &str = "/usr/sbin/bird";

/// Whether BIRD is installed; when not, skip with what to install, or fail under CI.
pub fn available() -> bool {
    crate::have(BIRD, "bird2")
}

/// A running BIRD.
#[derive(Debug)]
pub struct Bird {
    pub proc: Proc,
    pub dir: TempDir,
}

impl Bird {
    /// BIRD on `conf` (written to `bird.conf` in a new scratch directory; `{dir}` in it is
    /// replaced by that directory), once its control socket answers.
    pub fn start(tag: &str, conf: &str) -> Bird {
        let dir = TempDir::new(tag);
        let conf = conf.replace("{dir}", &dir.display().to_string());
        let path = dir.write("bird.conf", &conf);
        Bird::start_in(dir, path)
    }

    /// BIRD on the configuration `conf` inside `dir` (already written).
    pub fn start_in(dir: TempDir, conf: PathBuf) -> Bird {
        let sock = dir.join("bird.ctl");
        let proc = Proc::spawn(
            Command::new(BIRD)
                .arg("-f")
                .arg("-c")
                .arg(&conf)
                .arg("-s")
                .arg(&sock)
                .arg("-P")
                .arg(dir.join("bird.pid")),
        );
        let b = Bird { proc, dir };
        crate::wait::expect_until(
            Duration::from_secs(10),
            || UnixStream::connect(&sock).is_ok(),
            || {
                format!(
                    "BIRD does not answer on {}:\n{}",
                    sock.display(),
                    b.proc.text()
                )
            },
        );
        b
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("bird.ctl")
    }

    /// One command on the control socket; the reply's lines (greeting excluded), or the error.
    pub fn cmd(&self, cmd: &str) -> std::io::Result<String> {
        let s = UnixStream::connect(self.socket())?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut w = s.try_clone()?;
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line)?; // the greeting
        w.write_all(format!("{cmd}\n").as_bytes())?;
        let mut out = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Ok(out);
            }
            out.push_str(&line);
            let b = line.as_bytes();
            if b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b' ' {
                return Ok(out);
            }
        }
    }
}
