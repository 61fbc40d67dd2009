//! The status report: what `pulse --status` prints, as JSON on the status socket.

use serde::{Deserialize, Serialize};

/// The supervised program (lvsd or fos).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildStatus {
    pub program: String,
    pub pid: u32,
    /// `starting`, `ready` or `stopping`.
    pub state: String,
}

/// One node's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Status {
    pub pid: u32,
    /// `lvs` or `fos`.
    pub mode: String,
    /// `master` or `backup`.
    pub role: String,
    /// `active` or `inactive`.
    pub state: String,
    /// `CHILDFAIL`, `LINKFAIL`, `NORUN`, `NOBACKUP`.
    pub flags: Vec<String>,
    pub own: String,
    pub partner: Option<String>,
    /// Milliseconds since the partner's last accepted heartbeat.
    pub partner_last_heard_ms: Option<u64>,
    /// What that heartbeat said: `active`, `inactive`, or another magic's name.
    pub partner_state: Option<String>,
    pub keepalive_ms: u64,
    pub deadtime_ms: u64,
    pub heartbeats_sent: u64,
    /// Heartbeats accepted from the partner.
    pub heartbeats_received: u64,
    /// Datagrams on the heartbeat port not taken as heartbeats, every cause together.
    pub heartbeats_rejected: u64,
    /// `heartbeats_rejected` by cause.
    #[serde(default)]
    pub heartbeats_rejected_by_cause: Rejections,
    /// Addresses this node holds now, as `IP/PREFIX DEVICE`.
    pub vips: Vec<String>,
    pub child: Option<ChildStatus>,
    /// Configurations read after SIGHUP and taken.
    pub reloads: u64,
    /// Configurations read after SIGHUP and refused (unreadable, invalid, or a change pulse
    /// cannot make while running); the running configuration stayed.
    #[serde(default)]
    pub reloads_failed: u64,
    /// Times this node became active (took the service over), the first activation included.
    #[serde(default)]
    pub took_over: u64,
    /// Times this node stopped being active while running (gave the service up).
    #[serde(default)]
    pub gave_up: u64,
}

/// Why a datagram on the heartbeat port was not taken as a heartbeat: a small fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectCause {
    /// Fewer than the 4 bytes of a magic.
    TooShort,
    /// A magic this node does not accept (the other mode's, a big-endian sender's, garbage).
    BadMagic,
    /// Not from the partner's address.
    UnexpectedSource,
}

impl RejectCause {
    /// The cause's name in reports: `too_short`, `bad_magic`, `unexpected_source`.
    pub fn name(self) -> &'static str {
        match self {
            RejectCause::TooShort => "too_short",
            RejectCause::BadMagic => "bad_magic",
            RejectCause::UnexpectedSource => "unexpected_source",
        }
    }
}

/// Rejected heartbeats per cause (the JSON keys are [`RejectCause::name`]s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Rejections {
    pub too_short: u64,
    pub bad_magic: u64,
    pub unexpected_source: u64,
}

impl Rejections {
    /// Every cause with its count, in a fixed order.
    pub fn by_name(&self) -> [(&'static str, u64); 3] {
        [
            (RejectCause::TooShort.name(), self.too_short),
            (RejectCause::BadMagic.name(), self.bad_magic),
            (RejectCause::UnexpectedSource.name(), self.unexpected_source),
        ]
    }
}

impl Status {
    /// Count a rejected datagram.
    pub fn reject(&mut self, cause: RejectCause) {
        self.heartbeats_rejected += 1;
        let r = &mut self.heartbeats_rejected_by_cause;
        *match cause {
            RejectCause::TooShort => &mut r.too_short,
            RejectCause::BadMagic => &mut r.bad_magic,
            RejectCause::UnexpectedSource => &mut r.unexpected_source,
        } += 1;
    }

    /// Record whether the node is active now, counting a change as a takeover or a giving up.
    pub fn set_active(&mut self, active: bool) {
        let was = self.state == "active";
        match (was, active) {
            (false, true) => self.took_over += 1,
            (true, false) => self.gave_up += 1,
            _ => {}
        }
        self.state = if active { "active" } else { "inactive" }.into();
    }

    /// The human-readable form.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let flags = if self.flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.flags.join(","))
        };
        s.push_str(&format!(
            "pulse {} ({}): {} {}{}\n",
            self.pid, self.mode, self.role, self.state, flags
        ));
        s.push_str(&format!(
            "heartbeat: keepalive {} s, deadtime {} s; sent {}, received {}, rejected {}\n",
            self.keepalive_ms as f64 / 1000.0,
            self.deadtime_ms as f64 / 1000.0,
            self.heartbeats_sent,
            self.heartbeats_received,
            self.heartbeats_rejected
        ));
        if self.heartbeats_rejected > 0 {
            let causes: Vec<String> = self
                .heartbeats_rejected_by_cause
                .by_name()
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            s.push_str(&format!("rejected: {}\n", causes.join(", ")));
        }
        s.push_str(&format!(
            "failovers: took over {}, gave up {}; reloads: {} ok, {} failed\n",
            self.took_over, self.gave_up, self.reloads, self.reloads_failed
        ));
        match (&self.partner, self.partner_last_heard_ms) {
            (None, _) => s.push_str("partner: none (no backup)\n"),
            (Some(p), None) => s.push_str(&format!("partner: {p}, never heard\n")),
            (Some(p), Some(ms)) => s.push_str(&format!(
                "partner: {p}, {} {:.1} s ago\n",
                self.partner_state.as_deref().unwrap_or("?"),
                ms as f64 / 1000.0
            )),
        }
        if self.vips.is_empty() {
            s.push_str("addresses held: none\n");
        } else {
            s.push_str(&format!("addresses held: {}\n", self.vips.join(", ")));
        }
        match &self.child {
            None => s.push_str("child: none\n"),
            Some(c) => s.push_str(&format!("child: {} pid {} {}\n", c.program, c.pid, c.state)),
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_main_facts() {
        let st = Status {
            pid: 42,
            mode: "lvs".into(),
            role: "master".into(),
            state: "active".into(),
            flags: vec!["CHILDFAIL".into()],
            own: "10.0.0.1".into(),
            partner: Some("10.0.0.2".into()),
            partner_last_heard_ms: Some(1500),
            partner_state: Some("inactive".into()),
            keepalive_ms: 500,
            deadtime_ms: 1500,
            vips: vec!["10.0.0.50/32 eth0:1".into()],
            child: Some(ChildStatus {
                program: "lvsd".into(),
                pid: 43,
                state: "ready".into(),
            }),
            ..Status::default()
        };
        let text = st.render();
        assert!(
            text.starts_with("pulse 42 (lvs): master active [CHILDFAIL]\n"),
            "{text}"
        );
        assert!(text.contains("partner: 10.0.0.2, inactive 1.5 s ago"));
        assert!(text.contains("keepalive 0.5 s, deadtime 1.5 s"));
        assert!(text.contains("addresses held: 10.0.0.50/32 eth0:1"));
        assert!(text.contains("child: lvsd pid 43 ready"));
        assert!(!text.contains("rejected:"), "{text}");
        let back: Status = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
        assert_eq!(back, st);
    }

    #[test]
    fn rejections_are_counted_by_cause_and_in_total() {
        let mut st = Status::default();
        st.reject(RejectCause::TooShort);
        st.reject(RejectCause::UnexpectedSource);
        st.reject(RejectCause::UnexpectedSource);
        assert_eq!(st.heartbeats_rejected, 3);
        assert_eq!(
            st.heartbeats_rejected_by_cause,
            Rejections {
                too_short: 1,
                bad_magic: 0,
                unexpected_source: 2
            }
        );
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(
            v["heartbeats_rejected_by_cause"],
            serde_json::json!({"too_short": 1, "bad_magic": 0, "unexpected_source": 2})
        );
        let text = st.render();
        assert!(
            text.contains(
                "sent 0, received 0, rejected 3\nrejected: too_short 1, unexpected_source 2\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn changes_of_state_count_as_takeovers_and_givings_up() {
        let mut st = Status {
            state: "inactive".into(),
            ..Status::default()
        };
        for active in [false, true, true, false, false, true] {
            st.set_active(active);
        }
        assert_eq!(
            (st.took_over, st.gave_up, st.state.as_str()),
            (2, 1, "active")
        );
        st.reloads = 3;
        st.reloads_failed = 1;
        assert!(
            st.render()
                .contains("failovers: took over 2, gave up 1; reloads: 3 ok, 1 failed\n"),
            "{}",
            st.render()
        );
    }

    #[test]
    fn an_older_report_without_the_new_counters_still_reads() {
        let mut v = serde_json::to_value(Status::default()).unwrap();
        let o = v.as_object_mut().unwrap();
        for k in [
            "heartbeats_rejected_by_cause",
            "reloads_failed",
            "took_over",
            "gave_up",
        ] {
            assert!(o.remove(k).is_some(), "{k}");
        }
        let st: Status = serde_json::from_value(v).unwrap();
        assert_eq!(st, Status::default());
    }
}
