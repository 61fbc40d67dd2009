//! The decision logic of nanny, free of I/O and clocks.
//!
//! [`Monitor`] is fed check results, load readings and override signals, and answers with the
//! [`Step`]s the I/O shell must carry out: IPVS operations, log lines, a load query, or exit.
//! It follows piranha 0.8.6's `run()` and `adjustWeight()` (spec §4.4–4.10) count for count.

use std::fmt;

/// Which kind of service is monitored (`--lvs` or `--fos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lvs,
    Fos,
}

/// The fixed parameters of one monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub kind: Kind,
    /// Configured weight (`-w`).
    pub weight: i32,
    /// Cap for load-based weight: `scale × weight` (`-S`).
    pub scale: i32,
    /// Consecutive successes needed to re-add a server: `reentry / interval`.
    pub count_thresh: u32,
    /// Adjust the weight every this many checks (about every 20 s).
    pub adjust_every: u32,
    /// `-q`: set weight 0 instead of deleting.
    pub quiesce: bool,
    /// A load command other than `none` was given (`-U`).
    pub load_monitor: bool,
    /// `RIP:RPORT` as printed in log lines.
    pub target: String,
}

impl Params {
    /// Derive the counts from the interval and reentry time, both in milliseconds.
    ///
    /// Piranha: `countThresh = reentry / interval`; the weight is adjusted when
    /// `interval > 20 || currCount % (20 / interval) == 0`.
    pub fn counts(interval_ms: u64, reentry_ms: u64) -> (u32, u32) {
        let interval_ms = interval_ms.max(1);
        let thresh = u32::try_from(reentry_ms / interval_ms).unwrap_or(u32::MAX);
        let every = if interval_ms > 20_000 {
            1
        } else {
            u32::try_from(20_000 / interval_ms)
                .unwrap_or(u32::MAX)
                .max(1)
        };
        (thresh, every)
    }
}

/// An IPVS operation on the monitored destination (what piranha ran `ipvsadm` for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `ipvsadm -a … -w N`
    Add(i32),
    /// `ipvsadm -e … -w N`
    Edit(i32),
    /// `ipvsadm -d …`
    Delete,
}

/// Why an operation is done (reported to lvsd).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Check,
    Ramp,
    Load,
    Override,
    Shutdown,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Check => "check",
            Reason::Ramp => "ramp",
            Reason::Load => "load",
            Reason::Override => "override",
            Reason::Shutdown => "shutdown",
        })
    }
}

/// A log line, worded as piranha's (spec §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Active(String),
    Inactive(String),
    NoServiceActive,
    RemoteAvailable(String),
    RemoteFailed(String),
    FailoverTimeout,
    OpaqueGlasses,
    RoseGlasses,
    RemovingGlasses,
    Terminating(i32),
}

impl Note {
    /// Whether the line is printed only with `-v` (piranha's `DEBUG` lines).
    pub fn verbose_only(&self, kind: Kind) -> bool {
        matches!(self, Note::NoServiceActive) && kind == Kind::Lvs
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Active(t) => write!(f, "[ active ] making {t} available"),
            Note::Inactive(t) => {
                write!(f, "[inactive] shutting down {t} due to connection failure")
            }
            Note::NoServiceActive => f.write_str("No service active & available..."),
            Note::RemoteAvailable(t) => write!(f, "Remote service {t} is available"),
            Note::RemoteFailed(t) => write!(f, "Exiting due to connection failure of {t}"),
            Note::FailoverTimeout => {
                f.write_str("Timeout waiting for remote service -- triggering failover!")
            }
            Note::OpaqueGlasses => f.write_str("opaque glasses on"),
            Note::RoseGlasses => f.write_str("rose-colored glasses on"),
            Note::RemovingGlasses => f.write_str("DEBUG -- removing glasses"),
            Note::Terminating(sig) => write!(f, "Terminating due to signal {sig}"),
        }
    }
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Log(Note),
    Ipvs {
        op: Op,
        reason: Reason,
        up: bool,
    },
    /// Run the load command and call [`Monitor::on_load`] with its reading.
    QueryLoad,
    /// Stop with this exit status (FOS verdicts).
    Exit(i32),
}

/// A manual override (SIGUSR1 / SIGUSR2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    Down,
    Up,
}

/// Ramp-up: double the last weight, capped at the configured weight (spec §4.5 step 1).
pub fn ramp(last: i32, weight: i32) -> i32 {
    last.saturating_mul(2).min(weight)
}

/// Load-based weight (spec §4.5 step 2); `None` means no change.
pub fn load_weight(load: f64, last: i32, weight: i32, scale: i32) -> Option<i32> {
    if !load.is_finite() || load < 0.0 || load == 1.0 {
        return None;
    }
    let scale_factor = f64::from(weight) / 2.0;
    let diff_thresh = f64::from(weight) / 4.0;
    let new = if load < 1.0 {
        let w = (f64::from(last) + scale_factor * (1.0 - load).cbrt()) as i32;
        w.min(scale.saturating_mul(weight))
    } else {
        let w = (f64::from(last) - scale_factor * (load - 1.0).cbrt()) as i32;
        w.max(weight)
    };
    (f64::from((new - last).abs()) >= diff_thresh && new != last).then_some(new)
}

/// The state of one monitored server.
#[derive(Debug, Clone)]
pub struct Monitor {
    p: Params,
    is_active: bool,
    curr_count: u32,
    /// Whether the destination exists in IPVS because of us.
    srv_up: bool,
    last_weight: i32,
    frozen: Option<Override>,
    /// FOS: a failure was seen before the service was ever available.
    fos_waiting: bool,
}

impl Monitor {
    pub fn new(p: Params) -> Monitor {
        let curr_count = p.count_thresh;
        Monitor {
            p,
            is_active: false,
            // Starting at the threshold makes the first success add the server at once.
            curr_count,
            srv_up: false,
            last_weight: 0,
            frozen: None,
            fos_waiting: false,
        }
    }

    /// A monitor that takes over a destination already in the table at `weight` (`--assume-up`,
    /// lvsd restarting a nanny): the first failure removes it, successes keep it and go on
    /// ramping from `weight` towards the configured weight.
    pub fn new_up(p: Params, weight: i32) -> Monitor {
        let mut m = Monitor::new(p);
        m.is_active = true;
        m.srv_up = true;
        m.last_weight = weight;
        m
    }

    pub fn params(&self) -> &Params {
        &self.p
    }

    pub fn is_active(&self) -> bool {
        self.is_active
    }

    /// Whether the destination is in IPVS because of this monitor.
    pub fn is_in_table(&self) -> bool {
        self.srv_up
    }

    pub fn last_weight(&self) -> i32 {
        self.last_weight
    }

    /// An override signal holds checks until SIGHUP.
    pub fn frozen(&self) -> Option<Override> {
        self.frozen
    }

    fn initial_weight(&self) -> i32 {
        // Piranha starts at weight >> 5, at least 1. A configured weight of 0 stays 0: an admin
        // who wrote 0 wants no new connections, not 1.
        if self.p.weight <= 0 {
            0
        } else {
            (self.p.weight >> 5).max(1)
        }
    }

    /// Feed the result of one check.
    pub fn on_check(&mut self, ok: bool) -> Vec<Step> {
        match self.p.kind {
            Kind::Lvs => self.lvs_check(ok),
            Kind::Fos => self.fos_check(ok),
        }
    }

    fn lvs_check(&mut self, ok: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        if ok {
            self.curr_count = self.curr_count.saturating_add(1);
            if !self.is_active && self.curr_count >= self.p.count_thresh {
                self.is_active = true;
                steps.push(Step::Log(Note::Active(self.p.target.clone())));
                let w = self.initial_weight();
                let op = if self.p.quiesce && self.srv_up {
                    Op::Edit(w)
                } else {
                    Op::Add(w)
                };
                self.srv_up = true;
                self.last_weight = w;
                steps.push(Step::Ipvs {
                    op,
                    reason: Reason::Check,
                    up: true,
                });
            }
        } else if self.is_active {
            self.curr_count = 0;
            self.is_active = false;
            steps.push(Step::Log(Note::Inactive(self.p.target.clone())));
            let op = if self.p.quiesce && self.srv_up {
                Op::Edit(0)
            } else {
                self.srv_up = false;
                Op::Delete
            };
            steps.push(Step::Ipvs {
                op,
                reason: Reason::Check,
                up: false,
            });
        } else if self.curr_count > 0 {
            self.curr_count = 0;
            steps.push(Step::Log(Note::NoServiceActive));
        }
        if self.is_active
            && (self.p.adjust_every <= 1 || self.curr_count % self.p.adjust_every == 0)
        {
            steps.extend(self.adjust());
        }
        steps
    }

    fn adjust(&mut self) -> Vec<Step> {
        if self.last_weight < self.p.weight {
            let w = ramp(self.last_weight.max(1), self.p.weight);
            self.last_weight = w;
            return vec![Step::Ipvs {
                op: Op::Edit(w),
                reason: Reason::Ramp,
                up: true,
            }];
        }
        if self.p.load_monitor {
            vec![Step::QueryLoad]
        } else {
            Vec::new()
        }
    }

    /// Feed the 1-minute load average read after [`Step::QueryLoad`]; `None` if it failed.
    pub fn on_load(&mut self, load: Option<f64>) -> Vec<Step> {
        if !self.is_active || self.frozen.is_some() {
            return Vec::new();
        }
        let Some(load) = load else { return Vec::new() };
        match load_weight(load, self.last_weight, self.p.weight, self.p.scale) {
            Some(w) => {
                self.last_weight = w;
                vec![Step::Ipvs {
                    op: Op::Edit(w),
                    reason: Reason::Load,
                    up: true,
                }]
            }
            None => Vec::new(),
        }
    }

    fn fos_check(&mut self, ok: bool) -> Vec<Step> {
        let target = self.p.target.clone();
        if ok {
            // Only consecutive failures before the first availability trigger failover.
            self.fos_waiting = false;
            self.curr_count = self.curr_count.saturating_add(1);
            if !self.is_active && self.curr_count >= self.p.count_thresh {
                self.is_active = true;
                return vec![Step::Log(Note::RemoteAvailable(target))];
            }
            return Vec::new();
        }
        if self.is_active {
            return vec![Step::Log(Note::RemoteFailed(target)), Step::Exit(0)];
        }
        self.curr_count = 0;
        if self.fos_waiting {
            vec![Step::Log(Note::FailoverTimeout), Step::Exit(1)]
        } else {
            self.fos_waiting = true;
            vec![Step::Log(Note::NoServiceActive)]
        }
    }

    /// SIGUSR1 (down) or SIGUSR2 (up): act, then hold checks until [`Monitor::resume`].
    pub fn override_to(&mut self, o: Override) -> Vec<Step> {
        self.frozen = Some(o);
        let mut steps = Vec::new();
        match o {
            Override::Down => {
                steps.push(Step::Log(Note::OpaqueGlasses));
                if self.is_active && self.p.kind == Kind::Lvs {
                    self.is_active = false;
                    self.srv_up = false;
                    steps.push(Step::Ipvs {
                        op: Op::Delete,
                        reason: Reason::Override,
                        up: false,
                    });
                }
                self.is_active = false;
            }
            Override::Up => {
                steps.push(Step::Log(Note::RoseGlasses));
                if !self.is_active && self.p.kind == Kind::Lvs {
                    let w = self.p.weight;
                    let op = if self.srv_up { Op::Edit(w) } else { Op::Add(w) };
                    self.srv_up = true;
                    self.last_weight = w;
                    steps.push(Step::Ipvs {
                        op,
                        reason: Reason::Override,
                        up: true,
                    });
                }
                self.is_active = true;
            }
        }
        steps
    }

    /// SIGHUP: leave override mode; the next success counts as a full re-entry.
    pub fn resume(&mut self) -> Vec<Step> {
        self.frozen = None;
        self.curr_count = self.p.count_thresh;
        vec![Step::Log(Note::RemovingGlasses)]
    }

    /// SIGTERM/SIGINT: remove the destination if this monitor put it in the table (also a
    /// quiesced one: piranha left those behind).
    pub fn terminate(&mut self, signal: i32) -> Vec<Step> {
        let mut steps = vec![Step::Log(Note::Terminating(signal))];
        if self.p.kind == Kind::Lvs && self.srv_up {
            self.srv_up = false;
            self.is_active = false;
            steps.push(Step::Ipvs {
                op: Op::Delete,
                reason: Reason::Shutdown,
                up: false,
            });
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kind: Kind, weight: i32, interval_ms: u64, reentry_ms: u64) -> Params {
        let (count_thresh, adjust_every) = Params::counts(interval_ms, reentry_ms);
        Params {
            kind,
            weight,
            scale: 10,
            count_thresh,
            adjust_every,
            quiesce: false,
            load_monitor: false,
            target: "10.0.0.2:80".into(),
        }
    }

    fn ops(steps: &[Step]) -> Vec<Op> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Ipvs { op, .. } => Some(*op),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn counts_follow_piranha() {
        assert_eq!(Params::counts(10_000, 180_000), (18, 2));
        assert_eq!(Params::counts(6_000, 15_000), (2, 3));
        assert_eq!(Params::counts(30_000, 180_000), (6, 1));
        assert_eq!(Params::counts(500, 2_000), (4, 40));
        assert_eq!(Params::counts(10_000, 5_000), (0, 2));
    }

    #[test]
    fn first_success_adds_and_one_failure_removes() {
        let mut m = Monitor::new(params(Kind::Lvs, 1, 10_000, 180_000));
        let s = m.on_check(true);
        assert_eq!(s[0], Step::Log(Note::Active("10.0.0.2:80".into())));
        assert_eq!(
            s[0].to_string_for_test(),
            "[ active ] making 10.0.0.2:80 available"
        );
        assert_eq!(ops(&s), [Op::Add(1)]);
        assert!(m.is_active());
        let s = m.on_check(false);
        assert_eq!(
            s[0].to_string_for_test(),
            "[inactive] shutting down 10.0.0.2:80 due to connection failure"
        );
        assert_eq!(ops(&s), [Op::Delete]);
        assert!(!m.is_in_table());
    }

    #[test]
    fn reentry_needs_reentry_over_interval_successes() {
        // reentry 15 / timeout 6 → 2 checks (spec example).
        let mut m = Monitor::new(params(Kind::Lvs, 1, 6_000, 15_000));
        m.on_check(true);
        m.on_check(false);
        assert!(ops(&m.on_check(true)).is_empty());
        assert!(!m.is_active());
        assert_eq!(ops(&m.on_check(true)), [Op::Add(1)]);
        // A failure in between starts the count again.
        let mut m = Monitor::new(params(Kind::Lvs, 1, 10_000, 180_000));
        m.on_check(true);
        m.on_check(false);
        for _ in 0..17 {
            assert!(ops(&m.on_check(true)).is_empty());
        }
        assert_eq!(m.on_check(false), vec![Step::Log(Note::NoServiceActive)]);
        for _ in 0..17 {
            assert!(ops(&m.on_check(true)).is_empty());
        }
        assert_eq!(ops(&m.on_check(true)), [Op::Add(1)]);
    }

    #[test]
    fn repeated_failures_while_down_are_quiet() {
        let mut m = Monitor::new(params(Kind::Lvs, 1, 10_000, 180_000));
        // currCount starts at the threshold, so the first failure logs once, then nothing.
        assert_eq!(m.on_check(false), vec![Step::Log(Note::NoServiceActive)]);
        assert!(m.on_check(false).is_empty());
        assert!(Note::NoServiceActive.verbose_only(Kind::Lvs));
    }

    #[test]
    fn weight_ramps_from_w_over_32_doubling() {
        // interval 10 s: adjust when currCount is even; threshold 18 → first add at count 19.
        let mut m = Monitor::new(params(Kind::Lvs, 100, 10_000, 180_000));
        let mut weights = Vec::new();
        for _ in 0..16 {
            for op in ops(&m.on_check(true)) {
                match op {
                    Op::Add(w) | Op::Edit(w) => weights.push(w),
                    Op::Delete => panic!("no delete"),
                }
            }
        }
        assert_eq!(weights, [3, 6, 12, 24, 48, 96, 100]);
        assert_eq!(m.last_weight(), 100);
    }

    #[test]
    fn ramp_adjusts_right_after_add_when_count_is_due() {
        // Piranha checks the adjust condition in the same round: count 18+1=19 is odd at 10 s,
        // so no immediate ramp; at interval 30 s every round adjusts.
        let mut m = Monitor::new(params(Kind::Lvs, 100, 30_000, 180_000));
        assert_eq!(ops(&m.on_check(true)), [Op::Add(3), Op::Edit(6)]);
    }

    #[test]
    fn quiesce_keeps_the_entry_at_weight_zero() {
        let mut p = params(Kind::Lvs, 64, 10_000, 20_000);
        p.quiesce = true;
        let mut m = Monitor::new(p);
        assert_eq!(ops(&m.on_check(true)), [Op::Add(2)]);
        assert_eq!(ops(&m.on_check(false)), [Op::Edit(0)]);
        assert!(m.is_in_table());
        m.on_check(true);
        // Recovery edits the kept entry back to weight >> 5.
        assert_eq!(ops(&m.on_check(true))[0], Op::Edit(2));
        // Termination deletes it even in quiesce mode, and even when quiesced.
        m.on_check(false);
        assert_eq!(ops(&m.terminate(15)), [Op::Delete]);
    }

    #[test]
    fn terminate_only_removes_what_we_added() {
        let mut m = Monitor::new(params(Kind::Lvs, 1, 10_000, 180_000));
        assert_eq!(m.terminate(15), vec![Step::Log(Note::Terminating(15))]);
        m.on_check(true);
        assert_eq!(ops(&m.terminate(2)), [Op::Delete]);
    }

    #[test]
    fn assume_up_takes_over_without_an_operation() {
        let mut m = Monitor::new_up(params(Kind::Lvs, 8, 10_000, 180_000), 8);
        assert!(ops(&m.on_check(true)).is_empty());
        assert_eq!(m.last_weight(), 8);
        assert_eq!(ops(&m.on_check(false)), [Op::Delete]);
        let mut m = Monitor::new_up(params(Kind::Lvs, 8, 10_000, 180_000), 8);
        assert_eq!(ops(&m.terminate(15)), [Op::Delete]);
        // Taken over in the middle of the ramp: the ramp goes on from there.
        let mut m = Monitor::new_up(params(Kind::Lvs, 100, 30_000, 180_000), 12);
        assert_eq!(ops(&m.on_check(true)), [Op::Edit(24)]);
    }

    #[test]
    fn zero_weight_stays_zero() {
        let mut m = Monitor::new(params(Kind::Lvs, 0, 10_000, 180_000));
        assert_eq!(ops(&m.on_check(true)), [Op::Add(0)]);
        assert!(ops(&m.on_check(true)).is_empty());
    }

    #[test]
    fn load_formula() {
        // Lightly loaded: rises by weight/2 * cbrt(1 - load), capped at scale × weight.
        assert_eq!(load_weight(0.0, 10, 10, 10), Some(15));
        assert_eq!(load_weight(0.0, 96, 10, 10), Some(100));
        assert_eq!(load_weight(0.0, 98, 10, 10), None);
        // Change smaller than weight/4 is ignored.
        assert_eq!(load_weight(0.99, 10, 10, 10), None);
        // Loaded: falls, never below the configured weight.
        assert_eq!(load_weight(9.0, 40, 10, 10), Some(30));
        assert_eq!(load_weight(9.0, 12, 10, 10), None);
        assert_eq!(load_weight(100.0, 30, 10, 10), Some(10));
        assert_eq!(load_weight(1.0, 10, 10, 10), None);
        assert_eq!(load_weight(-1.0, 10, 10, 10), None);
    }

    #[test]
    fn load_is_queried_only_after_the_ramp() {
        let mut p = params(Kind::Lvs, 2, 30_000, 30_000);
        p.load_monitor = true;
        let mut m = Monitor::new(p);
        // weight 2: starts at 1, ramps to 2 in the same round.
        assert_eq!(ops(&m.on_check(true)), [Op::Add(1), Op::Edit(2)]);
        assert_eq!(m.on_check(true), vec![Step::QueryLoad]);
        assert_eq!(ops(&m.on_load(Some(0.0))), [Op::Edit(3)]);
        assert!(m.on_load(None).is_empty());
    }

    #[test]
    fn overrides_freeze_and_hup_resumes() {
        let mut m = Monitor::new(params(Kind::Lvs, 50, 10_000, 180_000));
        m.on_check(true);
        let s = m.override_to(Override::Down);
        assert_eq!(s[0], Step::Log(Note::OpaqueGlasses));
        assert_eq!(ops(&s), [Op::Delete]);
        assert_eq!(m.frozen(), Some(Override::Down));
        let s = m.override_to(Override::Up);
        assert_eq!(s[0], Step::Log(Note::RoseGlasses));
        assert_eq!(ops(&s), [Op::Add(50)]);
        assert_eq!(m.resume(), vec![Step::Log(Note::RemovingGlasses)]);
        assert_eq!(m.frozen(), None);
        // After HUP a failure removes the server as usual.
        assert_eq!(ops(&m.on_check(false)), [Op::Delete]);
        // And the next success re-adds at once (currCount was set to the threshold).
        m.override_to(Override::Down);
        m.resume();
        assert_eq!(ops(&m.on_check(true))[0], Op::Add(1));
    }

    #[test]
    fn fos_exit_semantics() {
        let (t, e) = Params::counts(10_000, 10_000);
        let mut p = params(Kind::Fos, 1, 10_000, 10_000);
        p.count_thresh = t;
        p.adjust_every = e;
        let mut m = Monitor::new(p.clone());
        assert_eq!(
            m.on_check(true),
            vec![Step::Log(Note::RemoteAvailable("10.0.0.2:80".into()))]
        );
        assert!(m.on_check(true).is_empty());
        assert_eq!(
            m.on_check(false),
            vec![
                Step::Log(Note::RemoteFailed("10.0.0.2:80".into())),
                Step::Exit(0)
            ]
        );
        // Never seen up: two failures trigger failover with status 1.
        let mut m = Monitor::new(p);
        assert_eq!(m.on_check(false), vec![Step::Log(Note::NoServiceActive)]);
        assert!(!Note::NoServiceActive.verbose_only(Kind::Fos));
        assert_eq!(
            m.on_check(false),
            vec![Step::Log(Note::FailoverTimeout), Step::Exit(1)]
        );
        // A success in between (not yet enough to count as available) restarts the wait.
        let mut p2 = params(Kind::Fos, 1, 10_000, 30_000);
        p2.count_thresh = 3;
        let mut m2 = Monitor::new(p2);
        m2.on_check(false);
        m2.on_check(true);
        assert_eq!(m2.on_check(false), vec![Step::Log(Note::NoServiceActive)]);
        // FOS never touches IPVS, not even on termination.
        assert_eq!(m.terminate(15).len(), 1);
    }

    impl Step {
        fn to_string_for_test(&self) -> String {
            match self {
                Step::Log(n) => n.to_string(),
                other => format!("{other:?}"),
            }
        }
    }
}
