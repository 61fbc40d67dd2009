//! A real web server (Debian's nginx) as one process (no master, no workers to outlive a
//! kill), with its configuration and logs in a scratch directory: `/` answers 200 with a
//! given body, everything else 404. It runs in the calling thread's network namespace.

use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::process::Daemon;
use crate::tempdir::TempDir;

pub const NGINX: &str = "/usr/sbin/nginx";

/// A running nginx, killed on drop (or by [`Nginx::stop`]).
#[derive(Debug)]
pub struct Nginx {
    daemon: Daemon,
    pub listen: String,
    dir: TempDir,
}

/// Whether nginx is installed; when not, skip with what to install, or fail under CI.
pub fn available() -> bool {
    crate::have(NGINX, "nginx-light")
}

impl Nginx {
    /// nginx listening on `listen` (`ADDR:PORT`), answering `/` with `body` and a newline;
    /// returns once it accepts connections. Panics with its error log if it exits first.
    pub fn start(listen: &str, body: &str) -> Nginx {
        let dir = TempDir::new("nginx");
        let d = dir.display();
        let conf = dir.write(
            "nginx.conf",
            &format!(
                "master_process off;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen {listen};
        root {d}/html;
        location = / {{ return 200 \"{body}\\n\"; }}
    }}
}}
"
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
                        "nginx on {listen} exited with {status}:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::net::TcpStream::connect(listen).is_ok()
            },
            || format!("nginx does not accept on {listen}"),
        );
        Nginx {
            daemon,
            listen: listen.to_owned(),
            dir,
        }
    }

    /// Its access log, where a request's line is written once it has been answered.
    pub fn access_log(&self) -> std::path::PathBuf {
        self.dir.join("access.log")
    }

    /// Send `sig` to nginx (SIGKILL: it dies at once, resetting its connections; SIGQUIT:
    /// it closes its listener and finishes the requests under way).
    pub fn signal(&self, sig: Signal) {
        let _ = kill(Pid::from_raw(self.daemon.0.id() as i32), sig);
    }

    /// Wait until nginx has exited.
    pub fn wait_exit(mut self, within: Duration) {
        crate::wait::exit(&mut self.daemon.0, within)
            .unwrap_or_else(|| panic!("nginx on {} still runs after {within:?}", self.listen));
    }

    /// Kill it (SIGKILL) and reap it: its port refuses connections from now on.
    pub fn stop(self) {
        drop(self.daemon);
    }
}
