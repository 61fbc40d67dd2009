//! nginx as a real web server for tests: one process (`master_process off`, so no worker
//! outlives a kill) on one address, answering `/` with `200 <name>`, its files in a scratch
//! directory of its own.

use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::process::Daemon;
use crate::tempdir::TempDir;

/// The nginx binary of Debian's `nginx-light` (or any nginx package).
pub const NGINX: &str = "/usr/sbin/nginx";

/// A running nginx, killed on drop.
#[derive(Debug)]
pub struct Nginx {
    daemon: Daemon,
    pub addr: String,
    pub dir: TempDir,
}

impl Nginx {
    /// Start nginx on `addr` (`127.0.0.1:7401`) answering `/` with `200 <name>\n`, and wait
    /// until it accepts connections (panics with its error log if it exits first).
    pub fn start(addr: &str, name: &str) -> Nginx {
        let dir = TempDir::new(&format!("nginx-{name}"));
        let d = dir.display();
        let conf = dir.write(
            "nginx.conf",
            &format!(
                "master_process off;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 1024; }}\nhttp {{\n    access_log off;\n    \
                 client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    \
                 fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    \
                 scgi_temp_path {d}/scgi;\n    server {{\n        listen {addr};\n        \
                 location = / {{ return 200 \"{name}\\n\"; }}\n    }}\n}}\n"
            ),
        );
        let mut daemon = Daemon::spawn(
            Command::new(NGINX)
                .arg("-c")
                .arg(&conf)
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.join("error.log")),
        );
        let log = dir.join("error.log");
        crate::wait::expect_until(
            Duration::from_secs(10),
            || {
                if let Ok(Some(status)) = daemon.0.try_wait() {
                    panic!(
                        "nginx exited with {status}:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::net::TcpStream::connect(addr).is_ok()
            },
            || format!("nginx: nothing listens on {addr}"),
        );
        Nginx {
            daemon,
            addr: addr.to_owned(),
            dir,
        }
    }

    /// Send `sig` to nginx (SIGKILL: it dies at once, resetting its connections; SIGQUIT:
    /// it closes its listener and finishes the requests under way).
    pub fn signal(&self, sig: Signal) {
        let _ = kill(Pid::from_raw(self.daemon.0.id() as i32), sig);
    }

    /// Wait until nginx has exited.
    pub fn wait_exit(mut self, within: Duration) {
        crate::wait::exit(&mut self.daemon.0, within)
            .unwrap_or_else(|| panic!("nginx on {} still runs after {within:?}", self.addr));
    }
}
