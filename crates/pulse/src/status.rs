//! The status report: what `pulse --status` prints, as JSON on the status socket.

use serde::{Deserialize, Serialize};

/// The supervised program (lvsd or fos).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildStatus {
    pub program: String,
    pub pid: u32,
    /// `starting`, `ready` or `stopping`.
    pub state: String,
    /// lvsd said every real server has had its first check (`STATUS=table complete`).
    #[serde(default)]
    pub table_complete: bool,
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
    /// The last rejected datagram, if any.
    #[serde(default)]
    pub last_rejection: Option<LastRejection>,
    /// Authenticated heartbeats; null when they are off.
    #[serde(default)]
    pub auth: Option<AuthStatus>,
    /// `config_sync`: this file's and the partner's versions; null when it is off.
    #[serde(default)]
    pub config_sync: Option<SyncStatus>,
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
    /// The pid of the watchdog (`pulse-watchdog`) that cleans up if pulse dies; null while
    /// none runs.
    #[serde(default)]
    pub watchdog_pid: Option<u32>,
    /// LVS `hot_standby = 1`: lvsd runs on the inactive node too.
    #[serde(default)]
    pub hot_standby: bool,
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
    /// A plain heartbeat while authentication is enforced.
    Unauthenticated,
    /// Longer than 4 bytes but shorter than an authenticated heartbeat.
    Truncated,
    /// Longer than an authenticated heartbeat.
    Oversized,
    /// An authenticated heartbeat of another format version.
    BadVersion,
    /// Signed with a key id this node does not have.
    UnknownKey,
    /// The tag does not match the key of that id.
    Forged,
    /// A sequence number already seen, or a replaced sender id.
    Replayed,
    /// A new sender id that did not answer this node's challenge.
    Unchallenged,
}

macro_rules! causes {
    ($($var:ident => $name:ident),+ $(,)?) => {
        impl RejectCause {
            /// Every cause, in report order.
            pub const ALL: &'static [RejectCause] = &[$(RejectCause::$var),+];

            /// The cause's name in reports and JSON (`too_short`, `forged`, ...).
            pub fn name(self) -> &'static str {
                match self { $(RejectCause::$var => stringify!($name)),+ }
            }
        }

        /// Rejected heartbeats per cause (the JSON keys are [`RejectCause::name`]s).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
        #[serde(default)]
        pub struct Rejections {
            $(pub $name: u64,)+
        }

        impl Rejections {
            /// Every cause with its count, in a fixed order.
            pub fn by_name(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name)),+]
            }

            fn count(&mut self, c: RejectCause) -> &mut u64 {
                match c { $(RejectCause::$var => &mut self.$name),+ }
            }
        }
    };
}

causes! {
    TooShort => too_short,
    BadMagic => bad_magic,
    UnexpectedSource => unexpected_source,
    Unauthenticated => unauthenticated,
    Truncated => truncated,
    Oversized => oversized,
    BadVersion => bad_version,
    UnknownKey => unknown_key,
    Forged => forged,
    Replayed => replayed,
    Unchallenged => unchallenged,
}

/// The last datagram rejected: why, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRejection {
    /// A [`RejectCause::name`].
    pub cause: String,
    /// `IP:PORT` of the sender.
    pub source: String,
}

/// The lvs.cf versions of the two directors, with `config_sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SyncStatus {
    pub serial: i64,
    /// The first 8 bytes of the SHA-256 of the file, in hexadecimal.
    pub digest: String,
    pub partner_serial: Option<i64>,
    pub partner_digest: Option<String>,
    /// `unknown` (the partner's version not heard yet), `in_sync`, `newer`, `older` or
    /// `conflict` (same serial, different files).
    pub state: String,
    /// The last transfer from the partner: when (seconds since 1970) and how it ended
    /// (`took serial N`, or why the file was refused).
    pub last_sync_unix: Option<u64>,
    pub last_sync_result: Option<String>,
}

/// Authenticated heartbeats, when `heartbeat_key_file` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AuthStatus {
    /// `enforce` or `permissive`.
    pub mode: String,
    /// The key id that signs, then every key id, in file order.
    pub signing_key: u8,
    pub keys: Vec<u8>,
    /// This node's sender id and the partner's accepted one, in hexadecimal.
    pub sender_id: String,
    pub partner_sender_id: Option<String>,
    /// Times a new partner sender id was accepted (the partner started or restarted).
    pub partner_starts: u64,
    /// Plain heartbeats accepted in permissive mode.
    pub plain_accepted: u64,
}

impl Status {
    /// Count a rejected datagram from `source`.
    pub fn reject(&mut self, cause: RejectCause, source: &str) {
        self.heartbeats_rejected += 1;
        *self.heartbeats_rejected_by_cause.count(cause) += 1;
        self.last_rejection = Some(LastRejection {
            cause: cause.name().into(),
            source: source.into(),
        });
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

    /// The state as the first line says it: a hot standby is `standby (hot)`.
    fn state_text(&self) -> &str {
        if self.hot_standby && self.state == "inactive" {
            "standby (hot)"
        } else {
            &self.state
        }
    }

    /// Hot standby: whether lvsd's table is complete (lvsd ready), for the line
    /// `standby table: …`.
    fn table_text(&self) -> String {
        match &self.child {
            Some(c) if c.state == "ready" && c.table_complete => {
                format!("ready (lvsd pid {})", c.pid)
            }
            Some(c) if c.state == "ready" => {
                format!("not ready (lvsd pid {}: first checks under way)", c.pid)
            }
            Some(c) => format!("not ready (lvsd pid {} {})", c.pid, c.state),
            None => "not ready (lvsd not running)".into(),
        }
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
            self.pid,
            self.mode,
            self.role,
            self.state_text(),
            flags
        ));
        if self.hot_standby {
            s.push_str(&format!("standby table: {}\n", self.table_text()));
        }
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
        if let Some(l) = &self.last_rejection {
            s.push_str(&format!("last rejected: {} from {}\n", l.cause, l.source));
        }
        if let Some(c) = &self.config_sync {
            s.push_str(&format!(
                "lvs.cf: serial {} ({}), partner {} ({}): {}\n",
                c.serial,
                c.digest,
                c.partner_serial.map_or("?".into(), |v| v.to_string()),
                c.partner_digest.as_deref().unwrap_or("?"),
                c.state
            ));
            if let Some(r) = &c.last_sync_result {
                s.push_str(&format!("last sync: {r}\n"));
            }
        }
        if let Some(a) = &self.auth {
            let keys: Vec<String> = a.keys.iter().map(u8::to_string).collect();
            s.push_str(&format!(
                "authentication: {}, signing key {} (keys {}); partner starts {}, plain accepted {}\n",
                a.mode,
                a.signing_key,
                keys.join(", "),
                a.partner_starts,
                a.plain_accepted
            ));
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
        match self.watchdog_pid {
            None => s.push_str("watchdog: none\n"),
            Some(p) => s.push_str(&format!("watchdog: pid {p}\n")),
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
                table_complete: true,
            }),
            watchdog_pid: Some(44),
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
        assert!(text.contains("watchdog: pid 44\n"));
        assert!(!text.contains("rejected:"), "{text}");
        let back: Status = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
        assert_eq!(back, st);
        assert!(!text.contains("standby"), "{text}");
    }

    #[test]
    fn a_hot_standby_says_so_and_whether_its_table_is_ready() {
        let mut st = Status {
            pid: 7,
            mode: "lvs".into(),
            role: "backup".into(),
            state: "inactive".into(),
            hot_standby: true,
            child: Some(ChildStatus {
                program: "lvsd".into(),
                pid: 8,
                state: "ready".into(),
                table_complete: true,
            }),
            ..Status::default()
        };
        let text = st.render();
        assert!(
            text.starts_with(
                "pulse 7 (lvs): backup standby (hot)\nstandby table: ready (lvsd pid 8)\n"
            ),
            "{text}"
        );
        st.child.as_mut().unwrap().table_complete = false;
        assert!(
            st.render()
                .contains("standby table: not ready (lvsd pid 8: first checks under way)\n")
        );
        st.child.as_mut().unwrap().state = "starting".into();
        assert!(
            st.render()
                .contains("standby table: not ready (lvsd pid 8 starting)\n")
        );
        st.child = None;
        st.flags = vec!["CHILDFAIL".into()];
        assert!(st.render().starts_with(
            "pulse 7 (lvs): backup standby (hot) [CHILDFAIL]\nstandby table: not ready (lvsd not running)\n"
        ));
        st.set_active(true);
        assert!(
            st.render()
                .starts_with("pulse 7 (lvs): backup active [CHILDFAIL]\n")
        );
        // JSON keeps `inactive`/`active` for programs; files without the field read.
        let old: Status = serde_json::from_str(r#"{"pid":1,"mode":"lvs","role":"master","state":"inactive","flags":[],"own":"10.0.0.1","partner":null,"partner_last_heard_ms":null,"partner_state":null,"keepalive_ms":1,"deadtime_ms":1,"heartbeats_sent":0,"heartbeats_received":0,"heartbeats_rejected":0,"vips":[],"child":null,"reloads":0}"#).unwrap();
        assert!(!old.hot_standby);
    }

    #[test]
    fn rejections_are_counted_by_cause_and_in_total() {
        let mut st = Status::default();
        st.reject(RejectCause::TooShort, "10.0.0.2:539");
        st.reject(RejectCause::UnexpectedSource, "10.0.0.9:539");
        st.reject(RejectCause::Forged, "10.0.0.9:1000");
        assert_eq!(st.heartbeats_rejected, 3);
        assert_eq!(
            st.heartbeats_rejected_by_cause,
            Rejections {
                too_short: 1,
                unexpected_source: 1,
                forged: 1,
                ..Rejections::default()
            }
        );
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(v["heartbeats_rejected_by_cause"]["forged"], 1);
        assert_eq!(v["heartbeats_rejected_by_cause"]["replayed"], 0);
        assert_eq!(
            v["last_rejection"],
            serde_json::json!({"cause": "forged", "source": "10.0.0.9:1000"})
        );
        let text = st.render();
        assert!(
            text.contains(
                "sent 0, received 0, rejected 3\nrejected: too_short 1, unexpected_source 1, forged 1\nlast rejected: forged from 10.0.0.9:1000\n"
            ),
            "{text}"
        );
        assert_eq!(
            RejectCause::ALL.len(),
            Rejections::default().by_name().len()
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
            "last_rejection",
            "auth",
            "config_sync",
            "reloads_failed",
            "took_over",
            "gave_up",
            "watchdog_pid",
        ] {
            assert!(o.remove(k).is_some(), "{k}");
        }
        let st: Status = serde_json::from_value(v).unwrap();
        assert_eq!(st, Status::default());
    }
}
