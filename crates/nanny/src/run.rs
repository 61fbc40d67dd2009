//! The I/O shell around [`Monitor`]: checks on a timer, signals, load queries, and applying
//! the monitor's steps.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::{debug, info};

use crate::apply::{Apply, Target};
use crate::check::{Failure, Probe};
use crate::exec;
use crate::expect::Expect;
use crate::monitor::{Kind, Monitor, Override, Params, Step};
use crate::opts::{Config, host_port};
use crate::report::Check;

/// Exit status for an IPVS failure during operation (piranha's `-1`).
pub const EXIT_IPVS: i32 = 255;

/// Build the check from the configuration.
pub fn probe(cfg: &Config) -> Probe {
    Probe {
        addr: SocketAddr::new(cfg.server, cfg.rport),
        udp: cfg.udp,
        send: cfg.send.clone(),
        expect: Expect::new(cfg.expect.as_deref(), cfg.regex),
        expect_raw: cfg.expect.clone(),
        program: cfg.program.as_deref().map(lvscf::split_words),
        regex: cfg.regex,
        timeout: cfg.interval,
    }
}

/// Build the monitor's parameters from the configuration.
pub fn params(cfg: &Config) -> Params {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let (count_thresh, adjust_every) = Params::counts(ms(cfg.interval), ms(cfg.reentry));
    Params {
        kind: cfg.kind,
        weight: cfg.weight,
        scale: cfg.scale,
        count_thresh,
        adjust_every,
        quiesce: cfg.quiesce,
        load_monitor: cfg.load_cmd.is_some(),
        target: host_port(&cfg.server.to_string(), cfg.rport),
    }
}

/// The first line nanny logs.
pub fn banner(cfg: &Config) -> String {
    let rs = host_port(&cfg.server.to_string(), cfg.rport);
    match cfg.kind {
        Kind::Lvs => {
            let vip = cfg.vip.as_deref().unwrap_or("0.0.0.0");
            format!(
                "starting LVS client monitor for {} -> {rs}",
                host_port(vip, cfg.port)
            )
        }
        Kind::Fos => format!("Failover service monitor for {rs} started"),
    }
}

struct Signals {
    term: Signal,
    int: Signal,
    usr1: Signal,
    usr2: Signal,
    hup: Signal,
}

enum Event {
    Terminate(i32),
    Override(Override),
    Resume,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            usr1: signal(SignalKind::user_defined1())?,
            usr2: signal(SignalKind::user_defined2())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> Event {
        tokio::select! {
            _ = self.term.recv() => Event::Terminate(libc::SIGTERM),
            _ = self.int.recv() => Event::Terminate(libc::SIGINT),
            _ = self.usr1.recv() => Event::Override(Override::Down),
            _ = self.usr2.recv() => Event::Override(Override::Up),
            _ = self.hup.recv() => Event::Resume,
        }
    }
}

/// Runs one monitor until a signal or a verdict ends it; returns the exit status.
#[derive(Debug)]
pub struct Runner<'a, A: Apply> {
    pub cfg: &'a Config,
    pub monitor: Monitor,
    pub probe: Probe,
    pub applier: A,
    /// For `-v` logs of the equivalent ipvsadm commands; `None` in FOS mode.
    pub target: Option<Target>,
    /// Whether a check has completed.
    checked: bool,
}

impl<'a, A: Apply> Runner<'a, A> {
    pub fn new(cfg: &'a Config, applier: A, target: Option<Target>) -> Runner<'a, A> {
        let monitor = match cfg.assume_up {
            Some(w) if cfg.kind == Kind::Lvs => Monitor::new_up(params(cfg), w),
            _ => Monitor::new(params(cfg)),
        };
        Runner {
            cfg,
            monitor,
            checked: false,
            probe: probe(cfg),
            applier,
            target,
        }
    }

    /// Carry out steps; `Some(status)` when nanny must exit.
    async fn steps(&mut self, steps: Vec<Step>) -> Option<i32> {
        let mut queue = std::collections::VecDeque::from(steps);
        while let Some(step) = queue.pop_front() {
            match step {
                Step::Log(note) => {
                    if note.verbose_only(self.cfg.kind) {
                        debug!("{note}");
                    } else {
                        info!("{note}");
                    }
                }
                Step::Ipvs { op, reason, up } => {
                    if let Some(t) = &self.target {
                        debug!("DEBUG -- {}", t.ipvsadm_line(&self.cfg.ipvsadm, op));
                    }
                    if let Err(e) = self.applier.apply(op, reason, up) {
                        info!("{e}");
                        if self.applier.is_ipvs() {
                            info!("{} command failed!", self.cfg.ipvsadm);
                        }
                        return Some(EXIT_IPVS);
                    }
                }
                Step::QueryLoad => {
                    let load = self.load().await;
                    queue.extend(self.monitor.on_load(load));
                }
                Step::Exit(code) => return Some(code),
            }
        }
        None
    }

    async fn load(&self) -> Option<f64> {
        let cmd = self.cfg.load_cmd.as_deref()?;
        let argv = exec::load_argv(cmd, &self.cfg.server.to_string());
        let out = exec::run(&argv, self.cfg.interval).await;
        match out.ended {
            exec::Ended::Exited(0) => {}
            exec::Ended::TimedOut => {
                info!("timeout running the following: {}", argv.join(" "));
                return None;
            }
            _ => {
                info!("The following exited abnormally: {}", argv.join(" "));
                info!("failed to read remote load");
                return None;
            }
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let load = exec::parse_load(&text);
        if load.is_none() {
            info!("bad load average returned: {}", text.trim_end());
        }
        load
    }

    fn log_failure(&self, f: &Failure) {
        // Piranha logged a refused connection only with -v; timeouts and bad replies always.
        if matches!(f, Failure::Connect(..)) {
            debug!("{f}");
        } else {
            info!("{f}");
        }
    }

    /// Handle a signal; `Some(status)` when nanny must exit.
    async fn event(&mut self, e: Event) -> Option<i32> {
        match e {
            Event::Terminate(sig) => {
                let steps = self.monitor.terminate(sig);
                // Piranha exits 1 when the cleanup's ipvsadm fails.
                Some(match self.steps(steps).await {
                    Some(EXIT_IPVS) => 1,
                    Some(c) => c,
                    None => 0,
                })
            }
            Event::Override(o) => {
                let steps = self.monitor.override_to(o);
                self.steps(steps).await
            }
            Event::Resume => {
                let steps = self.monitor.resume();
                self.steps(steps).await
            }
        }
    }

    /// Log the start-up lines (the banner, and a broken regex).
    pub fn announce(&self) {
        info!("{}", banner(self.cfg));
        if let Expect::BadRegex(msg) = &self.probe.expect {
            info!(
                "Error '{msg}' processing expected regular expression {}",
                String::from_utf8_lossy(self.cfg.expect.as_deref().unwrap_or_default())
            );
        }
    }

    /// Run until a signal or a verdict ends it; returns the exit status.
    pub async fn run(&mut self) -> i32 {
        self.announce();
        match self.run_until(std::future::pending::<()>()).await {
            Some(code) => code,
            None => unreachable!("a pending future never completes"),
        }
    }

    /// What SIGTERM does: remove the server if we added it; returns the exit status.
    pub async fn shutdown(&mut self, signal: i32) -> i32 {
        self.event(Event::Terminate(signal)).await.unwrap_or(0)
    }

    /// Run until `stop` completes (`None`, state kept, so this can be called again) or a
    /// signal or verdict ends nanny (`Some(status)`).
    pub async fn run_until<F: std::future::Future>(&mut self, stop: F) -> Option<i32> {
        tokio::pin!(stop);
        tokio::select! {
            code = self.checks() => Some(code),
            _ = &mut stop => None,
        }
    }

    async fn checks(&mut self) -> i32 {
        let mut signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => {
                info!("cannot install signal handlers: {e}");
                return 1;
            }
        };
        loop {
            if self.monitor.frozen().is_some() {
                let e = signals.next().await;
                if let Some(code) = self.event(e).await {
                    return code;
                }
                continue;
            }
            let started = std::time::Instant::now();
            let result = tokio::select! {
                r = self.probe.run() => r,
                e = signals.next() => {
                    // A signal abandons the check in progress (its program is killed).
                    if let Some(code) = self.event(e).await {
                        return code;
                    }
                    continue;
                }
            };
            if let Err(f) = &result {
                self.log_failure(f);
            }
            let check = Check {
                ok: result.is_ok(),
                took: started.elapsed(),
            };
            if let Err(e) = self.applier.checked(check) {
                info!("{e}");
                return EXIT_IPVS;
            }
            let steps = self.monitor.on_check(result.is_ok());
            let first = !std::mem::replace(&mut self.checked, true);
            if first && !steps.iter().any(|s| matches!(s, Step::Ipvs { .. })) {
                // lvsd learns the first verdict even when it changes nothing.
                if let Err(e) = self.applier.verdict(result.is_ok()) {
                    info!("{e}");
                    return EXIT_IPVS;
                }
            }
            if let Some(code) = self.steps(steps).await {
                return code;
            }
            // Sleep one interval; a signal ends the sleep (SIGHUP resumes checking at once,
            // an override freezes).
            tokio::select! {
                () = tokio::time::sleep(self.cfg.interval) => {}
                e = signals.next() => {
                    if let Some(code) = self.event(e).await {
                        return code;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::DryRun;

    fn cfg(args: &[&str]) -> Config {
        crate::opts::config(args).unwrap()
    }

    #[tokio::test]
    async fn load_command_output_reaches_the_monitor() {
        // The host is appended as the last word: $0 for sh -c.
        let c = cfg(&[
            "-h",
            "10.0.0.2",
            "--lvs",
            "-p",
            "81",
            "-U",
            "sh -c 'echo \" 10:00 up 1 day, load average: 0.25, 0.1, 0.0\"'",
        ]);
        let r = Runner::new(&c, DryRun, None);
        assert_eq!(r.load().await, Some(0.25));
        let c = cfg(&[
            "-h",
            "10.0.0.2",
            "--lvs",
            "-p",
            "81",
            "-t",
            "1",
            "-U",
            "sh -c 'echo garbage'",
        ]);
        assert_eq!(Runner::new(&c, DryRun, None).load().await, None);
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-p", "81", "-U", "false"]);
        assert_eq!(Runner::new(&c, DryRun, None).load().await, None);
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-p", "81", "-U", "none"]);
        assert_eq!(Runner::new(&c, DryRun, None).load().await, None);
    }

    #[test]
    fn banners() {
        let c = cfg(&[
            "-h",
            "10.0.0.2",
            "--lvs",
            "-p",
            "81",
            "-r",
            "8081",
            "-V",
            "192.0.2.1",
        ]);
        assert_eq!(
            banner(&c),
            "starting LVS client monitor for 192.0.2.1:81 -> 10.0.0.2:8081"
        );
        let c = cfg(&["-h", "192.0.2.1", "--fos", "-p", "25"]);
        assert_eq!(
            banner(&c),
            "Failover service monitor for 192.0.2.1:25 started"
        );
    }
}
