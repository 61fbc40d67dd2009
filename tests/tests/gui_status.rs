//! piranha-gui reads pulse's and lvsd's status reports with structs of its own (it does not
//! depend on the daemons' crates): the reports the daemons write must stay readable by it.

use gui::status::metrics;
use gui::status::{LvsdReport, PulseReport};

fn pulse_status() -> pulse::status::Status {
    pulse::status::Status {
        pid: 10,
        mode: "lvs".into(),
        role: "backup".into(),
        state: "active".into(),
        flags: vec!["NOBACKUP".into()],
        own: "10.0.0.2".into(),
        partner: Some("10.0.0.1".into()),
        partner_last_heard_ms: Some(2500),
        partner_state: Some("inactive".into()),
        keepalive_ms: 500,
        deadtime_ms: 1500,
        heartbeats_sent: 100,
        heartbeats_received: 90,
        heartbeats_rejected: 3,
        heartbeats_rejected_by_cause: pulse::status::Rejections {
            too_short: 1,
            bad_magic: 0,
            unexpected_source: 2,
            ..Default::default()
        },
        vips: vec!["10.0.0.100/32 eth0:1".into()],
        child: Some(pulse::status::ChildStatus {
            program: "lvsd".into(),
            pid: 11,
            state: "ready".into(),
            table_complete: true,
        }),
        reloads: 4,
        reloads_failed: 5,
        took_over: 6,
        gave_up: 7,
        ..Default::default()
    }
}

fn lvsd_status() -> lvsd::status::Status {
    let traffic = lvsd::status::Traffic {
        active_conns: 5,
        inactive_conns: 6,
        conns: 70,
        inbytes: 800,
        outbytes: 9000,
    };
    lvsd::status::Status {
        pid: 11,
        config: "/etc/sysconfig/ha/lvs.cf".into(),
        reloads: 2,
        reloads_failed: 1,
        test_start: false,
        dataplane: "userspace".into(),
        announce: None,
        virtual_servers: vec![lvsd::status::VirtualStatus {
            name: "web".into(),
            service: "TCP [2001:db8::100]:443".into(),
            scheduler: "wlc".into(),
            persistent: None,
            sorry_server: None,
            sorry_active: false,
            in_table: true,
            traffic: Some(traffic),
            real_servers: vec![lvsd::status::RealStatus {
                name: "a".into(),
                address: "2001:db8::1".into(),
                port: 8443,
                health: "up".into(),
                in_table: true,
                weight: 0,
                configured_weight: 2,
                admin: Some("drained".into()),
                nanny_pid: Some(12),
                last_reason: Some("check".into()),
                since_secs: Some(1.5),
                nanny_restarts: 0,
                checks: 30,
                checks_failed: 4,
                check_duration_us_sum: 45_000_500,
                last_check_duration_us: Some(2_250),
                plane_down: true,
                plane_failures: 3,
                traffic: Some(traffic),
            }],
        }],
    }
}

#[test]
fn pulses_report_is_read_by_the_gui() {
    let json = serde_json::to_string(&pulse_status()).unwrap();
    let p: PulseReport = serde_json::from_str(&json).unwrap();
    assert_eq!((p.role.as_str(), p.state.as_str()), ("backup", "active"));
    assert_eq!(p.flags, ["NOBACKUP"]);
    assert_eq!(p.partner.as_deref(), Some("10.0.0.1"));
    assert_eq!(p.partner_last_heard_ms, Some(2500));
    assert_eq!(p.partner_state.as_deref(), Some("inactive"));
    assert_eq!(
        (
            p.heartbeats_sent,
            p.heartbeats_received,
            p.heartbeats_rejected
        ),
        (100, 90, 3)
    );
    assert_eq!(p.vips, ["10.0.0.100/32 eth0:1"]);
    assert_eq!(p.reloads, 4);
    assert_eq!((p.reloads_failed, p.took_over, p.gave_up), (5, 6, 7));
    let causes: Vec<(&str, u64)> = p
        .heartbeats_rejected_by_cause
        .iter()
        .map(|(c, n)| (c.as_str(), *n))
        .filter(|(c, n)| *n > 0 || *c == "bad_magic")
        .collect();
    assert_eq!(
        causes,
        [("bad_magic", 0), ("too_short", 1), ("unexpected_source", 2)]
    );
    // Every cause pulse knows is there, the authentication ones too.
    assert_eq!(
        p.heartbeats_rejected_by_cause.len(),
        pulse::status::RejectCause::ALL.len()
    );
    assert_eq!(p.child.as_ref().unwrap().program, "lvsd");
    // Every cause pulse knows reaches the metrics, and nothing is left `unknown`.
    let text = metrics::render(Some(&p), None);
    for (cause, n) in pulse_status().heartbeats_rejected_by_cause.by_name() {
        let line = format!("piranha_heartbeats_rejected_total{{cause=\"{cause}\"}} {n}");
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    assert!(!text.contains("cause=\"unknown\""), "{text}");
    for line in [
        "piranha_failovers_total{direction=\"took_over\"} 6",
        "piranha_failovers_total{direction=\"gave_up\"} 7",
        "piranha_reloads_total{daemon=\"pulse\",result=\"failed\"} 5",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
}

#[test]
fn lvsds_report_is_read_by_the_gui() {
    let json = serde_json::to_string(&lvsd_status()).unwrap();
    let l: LvsdReport = serde_json::from_str(&json).unwrap();
    assert_eq!((l.reloads, l.dataplane.as_str()), (2, "userspace"));
    let v = &l.virtual_servers[0];
    assert_eq!(
        (v.name.as_str(), v.service.as_str()),
        ("web", "TCP [2001:db8::100]:443")
    );
    let r = &v.real_servers[0];
    assert_eq!((r.address.as_str(), r.port), ("2001:db8::1", 8443));
    assert_eq!((r.health.as_str(), r.in_table), ("up", true));
    assert_eq!((r.weight, r.configured_weight), (0, 2));
    assert_eq!(r.admin.as_deref(), Some("drained"));
    assert_eq!(
        (
            r.checks,
            r.checks_failed,
            r.check_duration_us_sum,
            r.last_check_duration_us
        ),
        (30, 4, 45_000_500, Some(2_250))
    );
    assert_eq!(l.reloads_failed, 1);
    let t = r.traffic.unwrap();
    assert_eq!(
        (
            t.active_conns,
            t.inactive_conns,
            t.conns,
            t.inbytes,
            t.outbytes
        ),
        (5, 6, 70, 800, 9000)
    );
    let text = metrics::render(None, Some(&l));
    let a = "{virtual=\"web\",server=\"a\",proto=\"TCP\",vip=\"2001:db8::100\",vport=\"443\",\
             rip=\"2001:db8::1\",rport=\"8443\"}";
    for line in [
        format!("piranha_real_server_connections_total{a} 70"),
        format!("piranha_real_server_checks_total{a} 30"),
        format!("piranha_real_server_check_failures_total{a} 4"),
        format!("piranha_real_server_check_duration_seconds_total{a} 45.000500"),
        format!("piranha_real_server_last_check_duration_seconds{a} 0.002250"),
        "piranha_reloads_total{daemon=\"lvsd\",result=\"failed\"} 1".to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
}
