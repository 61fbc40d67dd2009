//! The I/O shell around [`Monitor`]: checks on a timer, signals, load queries, and applying
//! the monitor's steps.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tracing::{debug, info};

use crate::apply::{Apply, Target};
use crate::check::{Failure, Probe};
use crate::exec;
use crate::expect::Expect;
use crate::monitor::{Kind, Monitor, Params, Step};
use crate::opts::{Config, host_port};
use crate::report::Check;
use crate::wait::{Event, Interrupt, Waiter, Wake, after};

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

/// What a step of the loop leads to.
enum Next {
    /// Go on.
    Go,
    /// Exit with this status.
    Exit(i32),
    /// The stop time passed.
    Stop,
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
    /// Signals and timeouts; opened by the first run.
    waiter: Option<Waiter>,
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
            waiter: None,
        }
    }

    /// The waiter, opened on first use (this blocks nanny's signals in the calling thread).
    fn waiter(&mut self) -> std::io::Result<Waiter> {
        match self.waiter.take() {
            Some(w) => Ok(w),
            None => Ok(Waiter::new()?),
        }
    }

    /// Carry out steps. Signals wait until they are done (a load query is not cut short).
    fn steps(&mut self, steps: Vec<Step>, w: &mut Waiter) -> Next {
        w.hold(true);
        let next = self.carry_out(steps, w);
        w.hold(false);
        next
    }

    fn carry_out(&mut self, steps: Vec<Step>, w: &mut Waiter) -> Next {
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
                        return Next::Exit(EXIT_IPVS);
                    }
                }
                Step::QueryLoad => {
                    let Ok(load) = self.load(w) else {
                        return Next::Stop;
                    };
                    queue.extend(self.monitor.on_load(load));
                }
                Step::Exit(code) => return Next::Exit(code),
            }
        }
        Next::Go
    }

    /// The load command's reading; `Err` only when the stop time cut it short.
    fn load(&self, w: &mut Waiter) -> Result<Option<f64>, Interrupt> {
        let Some(cmd) = self.cfg.load_cmd.as_deref() else {
            return Ok(None);
        };
        let argv = exec::load_argv(cmd, &self.cfg.server.to_string());
        let out = exec::run(&argv, self.cfg.interval, w)?;
        match out.ended {
            exec::Ended::Exited(0) => {}
            exec::Ended::TimedOut => {
                info!("timeout running the following: {}", argv.join(" "));
                return Ok(None);
            }
            _ => {
                info!("The following exited abnormally: {}", argv.join(" "));
                info!("failed to read remote load");
                return Ok(None);
            }
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let load = exec::parse_load(&text);
        if load.is_none() {
            info!("bad load average returned: {}", text.trim_end());
        }
        Ok(load)
    }

    fn log_failure(&self, f: &Failure) {
        // Piranha logged a refused connection only with -v; timeouts and bad replies always.
        if matches!(f, Failure::Connect(..)) {
            debug!("{f}");
        } else {
            info!("{f}");
        }
    }

    /// Handle a signal.
    fn event(&mut self, e: Event, w: &mut Waiter) -> Next {
        match e {
            Event::Terminate(sig) => {
                let steps = self.monitor.terminate(sig);
                // Piranha exits 1 when the cleanup's ipvsadm fails.
                Next::Exit(match self.steps(steps, w) {
                    Next::Exit(EXIT_IPVS) => 1,
                    Next::Exit(c) => c,
                    Next::Go | Next::Stop => 0,
                })
            }
            Event::Override(o) => {
                let steps = self.monitor.override_to(o);
                self.steps(steps, w)
            }
            Event::Resume => {
                let steps = self.monitor.resume();
                self.steps(steps, w)
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
    pub fn run(&mut self) -> i32 {
        self.announce();
        loop {
            if let Some(code) = self.run_until(None) {
                return code;
            }
        }
    }

    /// What SIGTERM does: remove the server if we added it; returns the exit status.
    pub fn shutdown(&mut self, signal: i32) -> i32 {
        let mut w = match self.waiter() {
            Ok(w) => w,
            Err(e) => {
                info!("cannot install signal handlers: {e}");
                return 1;
            }
        };
        w.stop_at(None);
        let next = self.event(Event::Terminate(signal), &mut w);
        self.waiter = Some(w);
        match next {
            Next::Exit(c) => c,
            Next::Go | Next::Stop => 0,
        }
    }

    /// Run for `d`: see [`Runner::run_until`].
    pub fn run_for(&mut self, d: Duration) -> Option<i32> {
        self.run_until(Some(after(d)))
    }

    /// Run until `stop` (`None`, state kept, so this can be called again; a check in progress
    /// is abandoned) or until a signal or verdict ends nanny (`Some(status)`). A first call
    /// blocks nanny's signals in the calling thread ([`crate::wait`]).
    pub fn run_until(&mut self, stop: Option<Instant>) -> Option<i32> {
        let mut w = match self.waiter() {
            Ok(w) => w,
            Err(e) => {
                info!("cannot install signal handlers: {e}");
                return Some(1);
            }
        };
        w.stop_at(stop);
        let code = self.checks(&mut w);
        self.waiter = Some(w);
        code
    }

    /// Sleep until `deadline`; a signal ends the sleep (SIGHUP resumes checking at once, an
    /// override freezes).
    fn pause(&mut self, deadline: Instant, w: &mut Waiter) -> Next {
        loop {
            match w.sleep(deadline) {
                Wake::Signal(e) => return self.event(e, w),
                Wake::Stop => return Next::Stop,
                Wake::TimedOut => return Next::Go,
                // A late SIGCHLD, or a readiness nobody asked for: sleep on.
                Wake::Child | Wake::Ready(_) => {}
            }
        }
    }

    /// One check and what follows from it.
    fn check(&mut self, w: &mut Waiter) -> Next {
        let started = Instant::now();
        let result = match self.probe.run(w) {
            Ok(r) => r,
            // A signal abandons the check in progress (its program is killed).
            Err(Interrupt::Signal(e)) => return self.event(e, w),
            Err(Interrupt::Stop) => return Next::Stop,
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
            return Next::Exit(EXIT_IPVS);
        }
        let steps = self.monitor.on_check(result.is_ok());
        let first = !std::mem::replace(&mut self.checked, true);
        if first && !steps.iter().any(|s| matches!(s, Step::Ipvs { .. })) {
            // lvsd learns the first verdict even when it changes nothing.
            if let Err(e) = self.applier.verdict(result.is_ok()) {
                info!("{e}");
                return Next::Exit(EXIT_IPVS);
            }
        }
        match self.steps(steps, w) {
            Next::Go => self.pause(after(self.cfg.interval), w),
            other => other,
        }
    }

    fn checks(&mut self, w: &mut Waiter) -> Option<i32> {
        loop {
            let next = if self.monitor.frozen().is_some() {
                // Frozen by an override: only a signal moves nanny.
                self.pause(after(FOREVER), w)
            } else {
                self.check(w)
            };
            match next {
                Next::Go => {}
                Next::Exit(code) => return Some(code),
                Next::Stop => return None,
            }
        }
    }
}

/// A sleep that only a signal (or the stop time) ends.
const FOREVER: Duration = Duration::from_secs(86_400 * 365);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::DryRun;

    fn cfg(args: &[&str]) -> Config {
        crate::opts::config(args).unwrap()
    }

    #[test]
    fn load_command_output_reaches_the_monitor() {
        let w = &mut Waiter::new().unwrap();
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
        assert_eq!(r.load(w), Ok(Some(0.25)));
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
        assert_eq!(Runner::new(&c, DryRun, None).load(w), Ok(None));
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-p", "81", "-U", "false"]);
        assert_eq!(Runner::new(&c, DryRun, None).load(w), Ok(None));
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-p", "81", "-U", "none"]);
        assert_eq!(Runner::new(&c, DryRun, None).load(w), Ok(None));
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
