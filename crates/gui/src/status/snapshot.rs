//! The daemons' reports as the service last read them, shared by every request for at most
//! [`MAX_AGE`]: one read at a time whatever the number of clients, so a busy dashboard or a
//! client hammering `/metrics` costs pulse and lvsd at most four reads a second, and a
//! request costs the service little more than writing out what it already has.
//!
//! [`Snapshots::get`] gives the current [`Snapshot`], reading both daemons afresh (at the same
//! time, on blocking threads, each within [`TIMEOUT`]) when the last one is older than
//! `max_age`; requests that arrive during a read wait for it instead of starting their own.
//! A snapshot renders its metrics text once ([`Snapshot::metrics`]). The ages the status API
//! reports are counted from the read, so a cached datum is never shown younger than it is.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use super::metrics;
use super::report::{LvsdReport, PulseReport};
use super::source::{Reading, StatusError, StatusSource, TIMEOUT};

/// How long a snapshot serves.
pub const MAX_AGE: Duration = Duration::from_millis(250);

/// Both daemons' readings of one moment.
#[derive(Debug)]
pub struct Snapshot {
    pub pulse: Reading<PulseReport>,
    pub lvsd: Reading<LvsdReport>,
    metrics: OnceLock<Bytes>,
}

impl Snapshot {
    pub fn new(pulse: Reading<PulseReport>, lvsd: Reading<LvsdReport>) -> Snapshot {
        Snapshot {
            pulse,
            lvsd,
            metrics: OnceLock::new(),
        }
    }

    /// The `/metrics` text of this snapshot, rendered on first use.
    pub fn metrics(&self) -> Bytes {
        self.metrics
            .get_or_init(|| {
                Bytes::from(metrics::render(
                    self.pulse.report.as_ref().ok(),
                    self.lvsd.report.as_ref().ok(),
                ))
            })
            .clone()
    }

    /// When the older of the two readings was taken.
    fn taken(&self) -> Instant {
        self.pulse.read_at.min(self.lvsd.read_at)
    }
}

/// The latest snapshot, and the lock that makes one read at a time.
#[derive(Debug)]
pub struct Snapshots {
    max_age: Duration,
    latest: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots::new(MAX_AGE)
    }
}

impl Snapshots {
    pub fn new(max_age: Duration) -> Snapshots {
        Snapshots {
            max_age,
            latest: tokio::sync::Mutex::new(None),
        }
    }

    /// A snapshot at most `max_age` old, read from `source` if need be.
    pub async fn get(&self, source: &Arc<dyn StatusSource>) -> Arc<Snapshot> {
        let mut latest = self.latest.lock().await;
        if let Some(s) = latest.as_ref()
            && s.taken().elapsed() < self.max_age
        {
            return s.clone();
        }
        let (pulse, lvsd) = read_both(source).await;
        let s = Arc::new(Snapshot::new(pulse, lvsd));
        *latest = Some(s.clone());
        s
    }
}

/// Both daemons' reports, read at the same time.
pub async fn read_both(
    source: &Arc<dyn StatusSource>,
) -> (Reading<PulseReport>, Reading<LvsdReport>) {
    tokio::join!(
        read(source.clone(), "pulse", |s| s.pulse()),
        read(source.clone(), "lvsd", |s| s.lvsd()),
    )
}

async fn read<T: Send + 'static>(
    source: Arc<dyn StatusSource>,
    daemon: &'static str,
    f: fn(&dyn StatusSource) -> Result<T, StatusError>,
) -> Reading<T> {
    let task = tokio::task::spawn_blocking(move || f(&*source));
    let report = match tokio::time::timeout(TIMEOUT, task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(StatusError::Task(e.to_string())),
        Err(_) => Err(StatusError::Timeout { daemon }),
    };
    Reading::now(report)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl StatusSource for Counting {
        fn pulse(&self) -> Result<PulseReport, StatusError> {
            Err(StatusError::Unreachable {
                daemon: "pulse",
                path: PathBuf::from("/nowhere"),
                source: std::io::ErrorKind::NotFound.into(),
            })
        }
        fn lvsd(&self) -> Result<LvsdReport, StatusError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) as u64;
            Ok(LvsdReport {
                reloads: n,
                ..LvsdReport::default()
            })
        }
    }

    #[tokio::test]
    async fn a_snapshot_serves_until_it_is_too_old() {
        let counting = Arc::new(Counting::default());
        let source: Arc<dyn StatusSource> = counting.clone();
        let snaps = Snapshots::new(Duration::from_millis(300));
        let a = snaps.get(&source).await;
        let b = snaps.get(&source).await;
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(counting.0.load(Ordering::SeqCst), 1);
        assert_eq!(a.metrics(), b.metrics());
        tokio::time::sleep(Duration::from_millis(320)).await;
        let c = snaps.get(&source).await;
        assert_eq!(counting.0.load(Ordering::SeqCst), 2);
        assert_eq!(c.lvsd.report.as_ref().unwrap().reloads, 1);
        assert!(
            std::str::from_utf8(&c.metrics())
                .unwrap()
                .contains("piranha_reloads_total{daemon=\"lvsd\",result=\"ok\"} 1\n")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clients_at_the_same_time_share_one_read() {
        let counting = Arc::new(Counting::default());
        let source: Arc<dyn StatusSource> = counting.clone();
        let snaps = Arc::new(Snapshots::new(Duration::from_secs(60)));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (snaps, source) = (snaps.clone(), source.clone());
                tokio::spawn(async move { snaps.get(&source).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(counting.0.load(Ordering::SeqCst), 1);
    }
}
