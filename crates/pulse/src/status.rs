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
    pub heartbeats_received: u64,
    pub heartbeats_rejected: u64,
    /// Addresses this node holds now, as `IP/PREFIX DEVICE`.
    pub vips: Vec<String>,
    pub child: Option<ChildStatus>,
    pub reloads: u64,
}

impl Status {
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
        let back: Status = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
        assert_eq!(back, st);
    }
}
