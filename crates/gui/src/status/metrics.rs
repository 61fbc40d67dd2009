//! `GET /metrics`: the daemons' reports in Prometheus's text format 0.0.4, every family with
//! its `# HELP` and `# TYPE` lines, names prefixed `piranha_`, counters ending in `_total`.

use std::fmt::Write as _;

use super::report::{LvsdReport, PulseReport, RealReport, VirtualReport, split_service};

/// The reply's `Content-Type`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every family rendered, with its type and help: for the tests and the manual page.
pub const FAMILIES: &[(&str, &str, &str)] = &[
    (
        "piranha_daemon_up",
        "gauge",
        "Whether the daemon answered on its status socket (1) or not (0).",
    ),
    (
        "piranha_director_state",
        "gauge",
        "This director's role and state, as labels of a sample of value 1.",
    ),
    (
        "piranha_heartbeats_sent_total",
        "counter",
        "Heartbeats pulse sent.",
    ),
    (
        "piranha_heartbeats_received_total",
        "counter",
        "Heartbeats pulse accepted from its partner.",
    ),
    (
        "piranha_heartbeats_rejected_total",
        "counter",
        "Datagrams on pulse's heartbeat port it rejected, by cause.",
    ),
    (
        "piranha_failovers_total",
        "counter",
        "Times this director took the service over (became active) or gave it up.",
    ),
    (
        "piranha_reloads_total",
        "counter",
        "Times the daemon re-read lvs.cf after SIGHUP, by result (ok: applied, failed: refused).",
    ),
    (
        "piranha_real_server_up",
        "gauge",
        "Whether the real server's nanny reports it up (1) or not (0).",
    ),
    (
        "piranha_real_server_weight",
        "gauge",
        "The real server's weight in the table.",
    ),
    (
        "piranha_real_server_active_connections",
        "gauge",
        "Active connections to the real server.",
    ),
    (
        "piranha_real_server_inactive_connections",
        "gauge",
        "Inactive connections to the real server.",
    ),
    (
        "piranha_real_server_connections_total",
        "counter",
        "Connections scheduled to the real server.",
    ),
    (
        "piranha_real_server_in_bytes_total",
        "counter",
        "Bytes from clients to the real server.",
    ),
    (
        "piranha_real_server_out_bytes_total",
        "counter",
        "Bytes from the real server to clients.",
    ),
    (
        "piranha_real_server_checks_total",
        "counter",
        "Health checks the real server's nannies completed.",
    ),
    (
        "piranha_real_server_check_failures_total",
        "counter",
        "Health checks of the real server that failed.",
    ),
    (
        "piranha_real_server_check_duration_seconds_total",
        "counter",
        "The sum of the real server's health checks' durations.",
    ),
    (
        "piranha_real_server_last_check_duration_seconds",
        "gauge",
        "How long the real server's last health check took.",
    ),
];

type Labels = Vec<(&'static str, String)>;

/// One family's samples, in [`FAMILIES`]' order.
#[derive(Debug, Default)]
struct Samples(Vec<Vec<(Labels, String)>>);

impl Samples {
    fn add(&mut self, family: &str, labels: Labels, value: impl ToString) {
        let i = FAMILIES
            .iter()
            .position(|f| f.0 == family)
            .expect("a known family");
        if self.0.len() < FAMILIES.len() {
            self.0.resize_with(FAMILIES.len(), Vec::new);
        }
        self.0[i].push((labels, value.to_string()));
    }
}

/// The text for these reports; `None` for a daemon that did not answer.
pub fn render(pulse: Option<&PulseReport>, lvsd: Option<&LvsdReport>) -> String {
    let mut s = Samples::default();
    for (daemon, up) in [("pulse", pulse.is_some()), ("lvsd", lvsd.is_some())] {
        s.add(
            "piranha_daemon_up",
            vec![("daemon", daemon.into())],
            u8::from(up),
        );
    }
    if let Some(p) = pulse {
        director(&mut s, p);
    }
    if let Some(l) = lvsd {
        reloads(&mut s, "lvsd", l.reloads, l.reloads_failed);
        for v in &l.virtual_servers {
            for r in &v.real_servers {
                real_server(&mut s, v, r);
            }
        }
    }
    let mut out = String::new();
    for (i, (name, kind, help)) in FAMILIES.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in s.0.get(i).map(Vec::as_slice).unwrap_or_default() {
            out.push_str(name);
            if !labels.is_empty() {
                out.push('{');
                for (j, (k, v)) in labels.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {value}");
        }
    }
    out
}

fn director(s: &mut Samples, p: &PulseReport) {
    s.add(
        "piranha_director_state",
        vec![("role", p.role.clone()), ("state", p.state.clone())],
        1,
    );
    s.add("piranha_heartbeats_sent_total", vec![], p.heartbeats_sent);
    s.add(
        "piranha_heartbeats_received_total",
        vec![],
        p.heartbeats_received,
    );
    for (cause, n) in rejections(p) {
        s.add(
            "piranha_heartbeats_rejected_total",
            vec![("cause", cause)],
            n,
        );
    }
    for (direction, n) in [("took_over", p.took_over), ("gave_up", p.gave_up)] {
        s.add(
            "piranha_failovers_total",
            vec![("direction", direction.into())],
            n,
        );
    }
    reloads(s, "pulse", p.reloads, p.reloads_failed);
}

/// The rejected heartbeats by cause; what the causes do not account for (every rejection of
/// a pulse that does not report causes) is `unknown`.
fn rejections(p: &PulseReport) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = p
        .heartbeats_rejected_by_cause
        .iter()
        .map(|(c, n)| (c.clone(), *n))
        .collect();
    let known = v.iter().fold(0u64, |a, (_, n)| a.saturating_add(*n));
    if v.is_empty() || p.heartbeats_rejected > known {
        v.push((
            "unknown".into(),
            p.heartbeats_rejected.saturating_sub(known),
        ));
    }
    v
}

fn reloads(s: &mut Samples, daemon: &str, ok: u64, failed: u64) {
    for (result, n) in [("ok", ok), ("failed", failed)] {
        s.add(
            "piranha_reloads_total",
            vec![("daemon", daemon.into()), ("result", result.into())],
            n,
        );
    }
}

fn real_server(s: &mut Samples, v: &VirtualReport, r: &RealReport) {
    let (proto, vip, vport) = split_service(&v.service);
    let labels = || -> Labels {
        vec![
            ("virtual", v.name.clone()),
            ("server", r.name.clone()),
            ("proto", proto.to_owned()),
            ("vip", vip.to_owned()),
            ("vport", vport.to_owned()),
            ("rip", r.address.clone()),
            ("rport", r.port.to_string()),
        ]
    };
    s.add(
        "piranha_real_server_up",
        labels(),
        u8::from(r.health == "up"),
    );
    s.add("piranha_real_server_weight", labels(), r.weight);
    if let Some(t) = r.traffic {
        s.add(
            "piranha_real_server_active_connections",
            labels(),
            t.active_conns,
        );
        s.add(
            "piranha_real_server_inactive_connections",
            labels(),
            t.inactive_conns,
        );
        s.add("piranha_real_server_connections_total", labels(), t.conns);
        s.add("piranha_real_server_in_bytes_total", labels(), t.inbytes);
        s.add("piranha_real_server_out_bytes_total", labels(), t.outbytes);
    }
    s.add("piranha_real_server_checks_total", labels(), r.checks);
    s.add(
        "piranha_real_server_check_failures_total",
        labels(),
        r.checks_failed,
    );
    s.add(
        "piranha_real_server_check_duration_seconds_total",
        labels(),
        seconds(r.check_duration_us_sum),
    );
    if let Some(us) = r.last_check_duration_us {
        s.add(
            "piranha_real_server_last_check_duration_seconds",
            labels(),
            seconds(us),
        );
    }
}

/// Microseconds as seconds (Prometheus's base unit), without an exponent.
fn seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// A label value as the format writes it: backslash, double quote and newline escaped.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A help text as the format writes it: backslash and newline escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::report::Traffic;

    fn lvsd() -> LvsdReport {
        LvsdReport {
            reloads: 4,
            virtual_servers: vec![VirtualReport {
                name: "web".into(),
                service: "TCP 10.0.0.100:80".into(),
                real_servers: vec![
                    RealReport {
                        name: "a".into(),
                        address: "10.1.0.1".into(),
                        port: 8080,
                        health: "up".into(),
                        weight: 3,
                        traffic: Some(Traffic {
                            active_conns: 2,
                            inactive_conns: 1,
                            conns: 9,
                            inbytes: 100,
                            outbytes: 2000,
                        }),
                        ..RealReport::default()
                    },
                    RealReport {
                        name: "b".into(),
                        address: "10.1.0.2".into(),
                        port: 80,
                        health: "down".into(),
                        ..RealReport::default()
                    },
                ],
                ..VirtualReport::default()
            }],
            ..LvsdReport::default()
        }
    }

    #[test]
    fn real_servers_have_their_samples_and_labels() {
        let text = render(None, Some(&lvsd()));
        let a = "{virtual=\"web\",server=\"a\",proto=\"TCP\",vip=\"10.0.0.100\",vport=\"80\",\
                 rip=\"10.1.0.1\",rport=\"8080\"}";
        for line in [
            format!("piranha_real_server_up{a} 1"),
            format!("piranha_real_server_weight{a} 3"),
            format!("piranha_real_server_active_connections{a} 2"),
            format!("piranha_real_server_inactive_connections{a} 1"),
            format!("piranha_real_server_connections_total{a} 9"),
            format!("piranha_real_server_in_bytes_total{a} 100"),
            format!("piranha_real_server_out_bytes_total{a} 2000"),
            "piranha_daemon_up{daemon=\"pulse\"} 0".to_owned(),
            "piranha_daemon_up{daemon=\"lvsd\"} 1".to_owned(),
            "piranha_reloads_total{daemon=\"lvsd\",result=\"ok\"} 4".to_owned(),
            "piranha_reloads_total{daemon=\"lvsd\",result=\"failed\"} 0".to_owned(),
            format!("piranha_real_server_checks_total{a} 0"),
        ] {
            assert!(text.lines().any(|l| l == line), "no {line} in\n{text}");
        }
        // b is down and not in the table: up 0, weight, no traffic samples.
        assert!(text.contains("piranha_real_server_up{virtual=\"web\",server=\"b\","));
        assert!(
            !text.contains("piranha_real_server_connections_total{virtual=\"web\",server=\"b\"")
        );
        assert!(!text.contains("piranha_director_state{"));
        for (name, kind, _) in FAMILIES {
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name}");
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert_eq!(kind == &"counter", name.ends_with("_total"), "{name}");
        }
    }

    #[test]
    fn the_director_is_an_info_style_gauge() {
        let p = PulseReport {
            role: "master".into(),
            state: "active".into(),
            heartbeats_sent: 7,
            heartbeats_received: 6,
            heartbeats_rejected: 2,
            reloads: 1,
            ..PulseReport::default()
        };
        let text = render(Some(&p), None);
        for line in [
            "piranha_director_state{role=\"master\",state=\"active\"} 1",
            "piranha_heartbeats_sent_total 7",
            "piranha_heartbeats_received_total 6",
            "piranha_heartbeats_rejected_total{cause=\"unknown\"} 2",
            "piranha_reloads_total{daemon=\"pulse\",result=\"ok\"} 1",
            "piranha_failovers_total{direction=\"took_over\"} 0",
            "piranha_daemon_up{daemon=\"pulse\"} 1",
            "piranha_daemon_up{daemon=\"lvsd\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line} in\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        let mut l = lvsd();
        l.virtual_servers[0].name = "we\"b\n".into();
        let text = render(None, Some(&l));
        assert!(text.contains("virtual=\"we\\\"b\\n\""), "{text}");
        assert!(text.lines().all(|l| !l.is_empty()));
    }

    /// Parse with a real parser (prometheus-parse): every line understood, every sample typed
    /// by its family's TYPE line (counters end in `_total`) and documented.
    fn parse(text: &str) -> prometheus_parse::Scrape {
        use prometheus_parse::LineInfo;
        for line in text.lines() {
            assert!(
                !matches!(LineInfo::parse(line), LineInfo::Ignored | LineInfo::Empty),
                "not understood: {line:?}"
            );
        }
        let s = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
        for x in &s.samples {
            match x.value {
                prometheus_parse::Value::Counter(_) => assert!(x.metric.ends_with("_total")),
                prometheus_parse::Value::Gauge(_) => assert!(!x.metric.ends_with("_total")),
                ref v => panic!("{}: {v:?}", x.metric),
            }
            assert!(s.docs.contains_key(&x.metric), "{}", x.metric);
        }
        s
    }

    fn value(s: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<f64> = s
            .samples
            .iter()
            .filter(|x| {
                x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v))
            })
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
                _ => f64::NAN,
            })
            .collect();
        assert_eq!(found.len(), 1, "{metric} {labels:?}: {found:?}");
        found[0]
    }

    #[test]
    fn the_counters_parse_with_their_labels_and_base_units() {
        let mut by_cause = std::collections::BTreeMap::new();
        by_cause.insert("too_short".to_owned(), 2);
        by_cause.insert("bad_magic".to_owned(), 0);
        by_cause.insert("unexpected_source".to_owned(), 5);
        let p = PulseReport {
            role: "backup".into(),
            state: "active".into(),
            heartbeats_sent: 70,
            heartbeats_received: 60,
            heartbeats_rejected: 8,
            heartbeats_rejected_by_cause: by_cause,
            reloads: 3,
            reloads_failed: 1,
            took_over: 2,
            gave_up: 1,
            ..PulseReport::default()
        };
        let mut l = lvsd();
        l.reloads_failed = 2;
        let a = &mut l.virtual_servers[0].real_servers[0];
        a.checks = 40;
        a.checks_failed = 3;
        a.check_duration_us_sum = 61_500_250;
        a.last_check_duration_us = Some(1_834);
        let s = parse(&render(Some(&p), Some(&l)));
        let a = [
            ("virtual", "web"),
            ("server", "a"),
            ("vip", "10.0.0.100"),
            ("vport", "80"),
            ("proto", "TCP"),
            ("rip", "10.1.0.1"),
            ("rport", "8080"),
        ];
        let v = |m: &str, l: &[(&str, &str)]| value(&s, m, l);
        assert_eq!(v("piranha_heartbeats_sent_total", &[]), 70.0);
        assert_eq!(v("piranha_heartbeats_received_total", &[]), 60.0);
        for (cause, n) in [
            ("too_short", 2.0),
            ("bad_magic", 0.0),
            ("unexpected_source", 5.0),
            // The one rejection the causes do not account for.
            ("unknown", 1.0),
        ] {
            assert_eq!(
                v("piranha_heartbeats_rejected_total", &[("cause", cause)]),
                n
            );
        }
        assert_eq!(
            v("piranha_failovers_total", &[("direction", "took_over")]),
            2.0
        );
        assert_eq!(
            v("piranha_failovers_total", &[("direction", "gave_up")]),
            1.0
        );
        for (daemon, result, n) in [
            ("pulse", "ok", 3.0),
            ("pulse", "failed", 1.0),
            ("lvsd", "ok", 4.0),
            ("lvsd", "failed", 2.0),
        ] {
            assert_eq!(
                v(
                    "piranha_reloads_total",
                    &[("daemon", daemon), ("result", result)]
                ),
                n
            );
        }
        assert_eq!(v("piranha_real_server_checks_total", &a), 40.0);
        assert_eq!(v("piranha_real_server_check_failures_total", &a), 3.0);
        assert_eq!(
            v("piranha_real_server_check_duration_seconds_total", &a),
            61.50025
        );
        assert_eq!(
            v("piranha_real_server_last_check_duration_seconds", &a),
            0.001834
        );
        // b was never checked: counts of 0, no last duration.
        let b = [("server", "b")];
        assert_eq!(v("piranha_real_server_checks_total", &b), 0.0);
        assert!(!s.samples.iter().any(|x| x.metric
            == "piranha_real_server_last_check_duration_seconds"
            && x.labels.get("server") == Some("b")));
        // Every family's samples carry the same label names.
        for (name, _, _) in FAMILIES {
            let mut keys = s.samples.iter().filter(|x| x.metric == *name).map(|x| {
                let mut k: Vec<String> = x.labels.keys().cloned().collect();
                k.sort();
                k
            });
            if let Some(first) = keys.next() {
                assert!(keys.all(|k| k == first), "{name}");
            }
        }
    }

    #[test]
    fn an_older_pulse_without_causes_reports_its_rejections_as_unknown() {
        let p = PulseReport {
            heartbeats_rejected: 4,
            ..PulseReport::default()
        };
        let s = parse(&render(Some(&p), None));
        assert_eq!(
            value(
                &s,
                "piranha_heartbeats_rejected_total",
                &[("cause", "unknown")]
            ),
            4.0
        );
        assert_eq!(
            s.samples
                .iter()
                .filter(|x| x.metric == "piranha_heartbeats_rejected_total")
                .count(),
            1
        );
    }

    #[test]
    fn seconds_are_written_without_an_exponent() {
        assert_eq!(seconds(0), "0.000000");
        assert_eq!(seconds(1_834), "0.001834");
        assert_eq!(seconds(61_500_250), "61.500250");
        assert_eq!(seconds(u64::MAX), "18446744073709.551615");
    }
}
