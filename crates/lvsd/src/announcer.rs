//! The VIPs announced through BIRD (`announce = bird`): a task that owns the announce file.
//!
//! The main loop says which VIPs can be served ([`Announcer::want`], after every event); the
//! task follows it with [`announce::Pacer`]: it writes the fragment, asks BIRD to
//! reconfigure (on the blocking pool) and retries with a back-off when BIRD is not running
//! or refuses. It reports what BIRD last accepted for the status report. On shutdown,
//! [`Announcer::withdraw`] empties the set and waits (bounded) until that attempt ends.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use announce::{Bird, Pacer, Step, Vips};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::info;

use crate::desired::Announce;

/// The announcement as the status report shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceStatus {
    /// The VIPs lvsd wants announced.
    pub wanted: Vec<IpAddr>,
    /// What BIRD last accepted; absent before the first success and after a failure.
    pub applied: Option<Vec<IpAddr>>,
    /// Failed attempts in a row, and the last one's error.
    pub failures: u32,
    pub last_error: Option<String>,
    /// The set of the last attempt that ended (whatever its result).
    #[serde(skip)]
    pub last_attempt: Option<Vips>,
}

/// The handle the main loop keeps.
#[derive(Debug)]
pub struct Announcer {
    wanted: watch::Sender<Vips>,
    report: watch::Receiver<AnnounceStatus>,
    pub drain: Duration,
}

fn list(v: &Vips) -> String {
    if v.is_empty() {
        return "no VIP".into();
    }
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Announcer {
    /// Start the task (on the current runtime); it writes the file at once, empty until the
    /// first call of [`Announcer::want`].
    pub fn spawn(settings: &Announce) -> Announcer {
        let (wanted, rx) = watch::channel(Vips::new());
        let (report_tx, report) = watch::channel(AnnounceStatus::default());
        let file = settings.file.clone();
        let bird = Bird::new(&settings.socket);
        tokio::spawn(run(rx, report_tx, file, bird));
        Announcer {
            wanted,
            report,
            drain: settings.drain,
        }
    }

    /// The VIPs to announce from now on.
    pub fn want(&self, vips: Vips) {
        self.wanted.send_if_modified(|w| {
            let changed = *w != vips;
            *w = vips;
            changed
        });
    }

    /// The report, with the set wanted now.
    pub fn status(&self) -> AnnounceStatus {
        let mut s = self.report.borrow().clone();
        s.wanted = self.wanted.borrow().iter().copied().collect();
        s
    }

    /// Withdraw every VIP and wait until BIRD took it or the attempt failed (at most
    /// `bound`); whether BIRD took it.
    pub async fn withdraw(&mut self, bound: Duration) -> bool {
        self.want(Vips::new());
        let empty = Vips::new();
        let waited = tokio::time::timeout(
            bound,
            self.report
                .wait_for(|r| r.last_attempt.as_ref() == Some(&empty)),
        )
        .await;
        matches!(waited, Ok(Ok(r)) if r.applied.as_ref().is_some_and(Vec::is_empty))
    }
}

impl Announcer {
    /// Shutdown: withdraw every VIP, then go on serving for `announce_drain` while the
    /// routers move the flows to the other directors (not when the table is already gone,
    /// `serving == false`: a nanny's death under `hard_shutdown`).
    pub async fn withdraw_and_drain(&mut self, serving: bool) {
        info!("withdrawing the VIPs from BIRD");
        if self.withdraw(Duration::from_secs(5)).await {
            info!("BIRD withdrew the VIPs");
        }
        if serving && !self.drain.is_zero() {
            info!("serving for {:?} more before stopping", self.drain);
            tokio::time::sleep(self.drain).await;
        }
    }
}

/// The task: follow the wanted set until the handle is dropped.
async fn run(
    mut rx: watch::Receiver<Vips>,
    report: watch::Sender<AnnounceStatus>,
    file: std::path::PathBuf,
    bird: Bird,
) {
    let mut pacer = Pacer::new();
    loop {
        pacer.want(rx.borrow_and_update().clone());
        match pacer.next(Instant::now()) {
            Step::Apply(vips) => {
                let (f, b, v) = (file.clone(), bird.clone(), vips.clone());
                let result = tokio::task::spawn_blocking(move || announce::apply(&f, &b, &v))
                    .await
                    .unwrap_or_else(|e| Err(announce::Error::Protocol(e.to_string())));
                let ok = result.is_ok();
                let retry = pacer.done(vips.clone(), ok, Instant::now());
                let error = match (result, retry) {
                    (Ok(how), _) => {
                        info!("announce: BIRD announces {} ({how:?})", list(&vips));
                        None
                    }
                    (Err(e), wait) => {
                        let secs = wait.unwrap_or_default().as_secs();
                        info!("announce: {e}; trying again in {secs} s");
                        Some(e.to_string())
                    }
                };
                report.send_modify(|r| {
                    r.wanted = pacer.wanted().iter().copied().collect();
                    r.applied = pacer.applied().map(|a| a.iter().copied().collect());
                    r.failures = pacer.failures();
                    r.last_error = error;
                    r.last_attempt = Some(vips);
                });
            }
            Step::WaitUntil(t) => {
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep_until(t.into()) => {}
                }
            }
            Step::Idle => {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// `lvsd --withdraw`: with `announce = bird`, write the announce file with no VIP and ask
/// BIRD to reconfigure, once; the exit status. A running lvsd owns the file: it is left
/// alone (it withdraws when it stops).
pub fn withdraw_once(o: &crate::opts::Opts) -> i32 {
    if std::os::unix::net::UnixStream::connect(&o.socket).is_ok() {
        eprintln!(
            "lvsd: a running lvsd answers on {}: it withdraws its VIPs when it stops",
            o.socket.display()
        );
        return 0;
    }
    let loaded = match lvscf::load(&o.config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("lvsd: {e}");
            return 1;
        }
    };
    let Some(cfg) = loaded.parsed.config() else {
        eprintln!("{}", loaded.render().trim_end());
        return 1;
    };
    let Some(settings) = Announce::of(cfg) else {
        eprintln!(
            "lvsd: {} does not announce through BIRD (announce = bird): nothing to withdraw",
            o.config.display()
        );
        return 0;
    };
    let bird = Bird::new(&settings.socket);
    match announce::apply(&settings.file, &bird, &Vips::new()) {
        Ok(how) => {
            println!("lvsd: BIRD announces no VIP ({how:?})");
            0
        }
        Err(e) => {
            eprintln!("lvsd: {e}");
            1
        }
    }
}
