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
        "Heartbeats pulse rejected (bad size, magic or sender).",
    ),
    (
        "piranha_reloads_total",
        "counter",
        "Times the daemon re-read lvs.cf.",
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
        s.add(
            "piranha_reloads_total",
            vec![("daemon", "lvsd".into())],
            l.reloads,
        );
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
    s.add(
        "piranha_heartbeats_rejected_total",
        vec![],
        p.heartbeats_rejected,
    );
    s.add(
        "piranha_reloads_total",
        vec![("daemon", "pulse".into())],
        p.reloads,
    );
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
            "piranha_reloads_total{daemon=\"lvsd\"} 4".to_owned(),
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
            "piranha_heartbeats_rejected_total 2",
            "piranha_reloads_total{daemon=\"pulse\"} 1",
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
}
