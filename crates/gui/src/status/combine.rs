//! `GET /api/v1/status`'s reply: both daemons' reports, each with its age, or marked stale with
//! the reason when its daemon did not answer.

use std::time::Instant;

use serde::Serialize;

use super::report::{LvsdReport, PulseReport};
use super::source::Reading;

/// One daemon's part of the reply: its report's fields next to `age_ms`, `stale` and, when
/// stale, `error`.
#[derive(Debug, Serialize)]
pub struct Part<'a, T> {
    /// Milliseconds since the report (or the failure) was read.
    pub age_ms: u64,
    /// The daemon did not answer: no report, see `error`.
    pub stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub report: Option<&'a T>,
}

/// The whole reply.
#[derive(Debug, Serialize)]
pub struct Combined<'a> {
    pub pulse: Part<'a, PulseReport>,
    pub lvsd: Part<'a, LvsdReport>,
}

/// The reply for these readings, as of `now`.
pub fn combine<'a>(
    pulse: &'a Reading<PulseReport>,
    lvsd: &'a Reading<LvsdReport>,
    now: Instant,
) -> Combined<'a> {
    Combined {
        pulse: part(pulse, now),
        lvsd: part(lvsd, now),
    }
}

fn part<T>(r: &Reading<T>, now: Instant) -> Part<'_, T> {
    let age_ms = now.saturating_duration_since(r.read_at).as_millis();
    Part {
        age_ms: u64::try_from(age_ms).unwrap_or(u64::MAX),
        stale: r.report.is_err(),
        error: r.report.as_ref().err().map(ToString::to_string),
        report: r.report.as_ref().ok(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::status::StatusError;
    use crate::status::report::{RealReport, Traffic, VirtualReport};

    fn pulse() -> PulseReport {
        PulseReport {
            role: "master".into(),
            state: "active".into(),
            partner: Some("10.0.0.2".into()),
            partner_last_heard_ms: Some(120),
            vips: vec!["10.0.0.100/32 eth0:1".into()],
            heartbeats_sent: 5,
            heartbeats_received: 4,
            heartbeats_rejected: 1,
            reloads: 2,
            reloads_failed: 1,
            took_over: 1,
            heartbeats_rejected_by_cause: [("too_short".to_owned(), 1)].into(),
            ..PulseReport::default()
        }
    }

    fn lvsd() -> LvsdReport {
        LvsdReport {
            reloads: 3,
            reloads_failed: 1,
            dataplane: "userspace".into(),
            virtual_servers: vec![VirtualReport {
                name: "web".into(),
                service: "TCP 10.0.0.100:80".into(),
                real_servers: vec![RealReport {
                    name: "a".into(),
                    address: "10.1.0.1".into(),
                    port: 80,
                    health: "up".into(),
                    in_table: true,
                    weight: 1,
                    admin: Some("drained".into()),
                    traffic: Some(Traffic {
                        active_conns: 2,
                        ..Traffic::default()
                    }),
                    checks: 9,
                    last_check_duration_us: Some(1500),
                    ..RealReport::default()
                }],
                ..VirtualReport::default()
            }],
        }
    }

    fn json_of(c: &Combined<'_>) -> Value {
        serde_json::to_value(c).unwrap()
    }

    #[test]
    fn both_answered_gives_both_reports_with_their_ages() {
        let t0 = Instant::now();
        let p = Reading {
            report: Ok(pulse()),
            read_at: t0,
        };
        let l = Reading {
            report: Ok(lvsd()),
            read_at: t0 + Duration::from_millis(5),
        };
        let v = json_of(&combine(&p, &l, t0 + Duration::from_millis(30)));
        assert_eq!(v["pulse"]["age_ms"], 30);
        assert_eq!(v["pulse"]["stale"], false);
        assert!(v["pulse"].get("error").is_none());
        assert_eq!(v["pulse"]["role"], "master");
        assert_eq!(v["pulse"]["partner_last_heard_ms"], 120);
        assert_eq!(v["pulse"]["heartbeats_rejected"], 1);
        assert_eq!(v["pulse"]["vips"], json!(["10.0.0.100/32 eth0:1"]));
        assert_eq!(v["lvsd"]["age_ms"], 25);
        let real = &v["lvsd"]["virtual_servers"][0]["real_servers"][0];
        assert_eq!(real["health"], "up");
        assert_eq!(real["admin"], "drained");
        assert_eq!(real["in_table"], true);
        assert_eq!(real["traffic"]["active_conns"], 2);
        // The counters are passed on.
        assert_eq!(real["checks"], 9);
        assert_eq!(real["last_check_duration_us"], 1500);
        assert_eq!(v["lvsd"]["reloads_failed"], 1);
        assert_eq!(
            (&v["pulse"]["reloads_failed"], &v["pulse"]["took_over"]),
            (&json!(1), &json!(1))
        );
        assert_eq!(
            v["pulse"]["heartbeats_rejected_by_cause"],
            json!({"too_short": 1})
        );
    }

    #[test]
    fn a_silent_daemon_is_stale_with_the_reason_and_no_report() {
        let t0 = Instant::now();
        let p = Reading {
            report: Ok(pulse()),
            read_at: t0,
        };
        let l: Reading<LvsdReport> = Reading {
            report: Err(StatusError::Timeout { daemon: "lvsd" }),
            read_at: t0,
        };
        let v = json_of(&combine(&p, &l, t0));
        assert_eq!(v["pulse"]["stale"], false);
        assert_eq!(
            v["lvsd"],
            json!({"age_ms": 0, "stale": true, "error": "lvsd did not answer within 2 s"})
        );
    }
}
