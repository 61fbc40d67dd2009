//! `GET /api/v1/events`: `GET /api/v1/status` as server-sent events, one `status` event each
//! time the status changes.
//!
//! One poller per process reads the daemons every [`Hub::interval`] while anyone listens, and
//! stops when the last listener leaves, so a hundred open pages cost the daemons what one does.
//! "Changes" ignores the fields that move with the clock alone ([`CLOCK_FIELDS`]); the status is
//! also sent again every [`REFRESH`] so the ages a page shows stay honest, and a stream ends
//! when the session that opened it ends (logout or idle timeout).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde_json::Value;
use tokio::sync::watch;

use crate::server::guard::Caller;
use crate::server::state::Shared;
use crate::status::combine;

/// Fields that change with time alone; a change in them alone sends nothing.
pub const CLOCK_FIELDS: &[&str] = &["age_ms", "partner_last_heard_ms"];
/// The status is sent at least this often, changed or not.
pub const REFRESH: Duration = Duration::from_secs(15);
/// How often the daemons are read while anyone listens: as often as the status snapshots
/// allow (their [`MAX_AGE`](crate::status::snapshot::MAX_AGE)), so that a page shows a
/// server going down within a check interval of nanny and a fraction of a second.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// The latest status event, shared by every listener.
#[derive(Debug)]
pub struct Hub {
    tx: watch::Sender<Option<Arc<str>>>,
    /// Whether the poller runs; its lock orders "subscribe" against "the last one left".
    running: Mutex<bool>,
    pub interval: Duration,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(INTERVAL)
    }
}

impl Hub {
    pub fn new(interval: Duration) -> Hub {
        Hub {
            tx: watch::Sender::new(None),
            running: Mutex::new(false),
            interval,
        }
    }

    /// A new listener; starts the poller if none runs.
    fn subscribe(state: &Shared) -> watch::Receiver<Option<Arc<str>>> {
        let hub = &state.events;
        let mut running = hub.running.lock().unwrap_or_else(|e| e.into_inner());
        let rx = hub.tx.subscribe();
        if !*running {
            *running = true;
            // A status left by an earlier poller is old: start from nothing.
            hub.tx.send_replace(None);
            tokio::spawn(poll(state.clone()));
        }
        rx
    }

    /// Called by the poller: stop if nobody listens.
    fn nobody_listens(&self) -> bool {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if self.tx.receiver_count() == 0 {
            *running = false;
            return true;
        }
        false
    }
}

/// The status with [`CLOCK_FIELDS`] removed, at every depth.
pub fn without_clock(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !CLOCK_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without_clock(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_clock).collect()),
        v => v.clone(),
    }
}

/// The poller: read, compare, publish; until nobody listens.
async fn poll(state: Shared) {
    let mut last: Option<(Value, Instant)> = None;
    loop {
        if state.events.nobody_listens() {
            return;
        }
        let snap = state.snapshots.get(&state.status).await;
        let now = Instant::now();
        let full =
            serde_json::to_value(combine(&snap.pulse, &snap.lvsd, now)).unwrap_or(Value::Null);
        let key = without_clock(&full);
        let due = match &last {
            None => true,
            Some((k, at)) => *k != key || now.duration_since(*at) >= REFRESH,
        };
        if due {
            state
                .events
                .tx
                .send_replace(Some(Arc::from(full.to_string())));
            last = Some((key, now));
        }
        tokio::time::sleep(state.events.interval).await;
    }
}

/// Whether the caller may still listen: a session must be alive (Basic callers proved
/// themselves for the whole stream).
fn allowed(state: &Shared, caller: &Caller) -> bool {
    match caller {
        Caller::Basic { .. } => true,
        Caller::Session { id, .. } => state.sessions().alive(id, Instant::now()),
    }
}

/// `GET /api/v1/events`.
pub async fn events(State(state): State<Shared>, Extension(caller): Extension<Caller>) -> Response {
    let rx = Hub::subscribe(&state);
    Sse::new(status_events(state, caller, rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn status_events(
    state: Shared,
    caller: Caller,
    rx: watch::Receiver<Option<Arc<str>>>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(
        (state, caller, rx, true),
        |(state, caller, mut rx, first)| async move {
            loop {
                // The first event is the current status, if the poller has one already.
                if !first || rx.borrow().is_none() {
                    rx.changed().await.ok()?;
                }
                if !allowed(&state, &caller) {
                    return None;
                }
                let data = rx.borrow_and_update().clone();
                if let Some(data) = data {
                    let ev = Event::default().event("status").data(&*data);
                    return Some((Ok(ev), (state, caller, rx, false)));
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn clock_fields_are_ignored_at_every_depth() {
        let a = json!({"pulse": {"age_ms": 1, "state": "active", "partner_last_heard_ms": 5},
            "lvsd": {"age_ms": 2, "virtual_servers": [{"real_servers": [
                {"age_ms": 1, "health": "up"}]}]}});
        let b = json!({"pulse": {"age_ms": 900, "state": "active", "partner_last_heard_ms": 800},
            "lvsd": {"age_ms": 7, "virtual_servers": [{"real_servers": [
                {"age_ms": 9, "health": "up"}]}]}});
        assert_eq!(without_clock(&a), without_clock(&b));
        let c = json!({"pulse": {"age_ms": 1, "state": "active", "partner_last_heard_ms": 5},
            "lvsd": {"age_ms": 2, "virtual_servers": [{"real_servers": [
                {"age_ms": 1, "health": "down"}]}]}});
        assert_ne!(without_clock(&a), without_clock(&c));
    }
}
