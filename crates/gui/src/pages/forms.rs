//! The fields of the forms, named by their lvs.cf keywords: what each page offers, how a field
//! is shown (with its value and lvscf's message), and what a submitted form changes in the
//! file ([`changes`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lvscf::Scheduler;

use super::html::esc;
use super::textedit::{Change, ScopeText};

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text as lvs.cf spells it (addresses, numbers, `IP DEVICE`).
    Text,
    /// A string, shown without its quotes and quoted when written: always (`send`, `expect`,
    /// as piranha's GUI did) or when needed.
    Str { always_quote: bool },
    /// `1` when ticked, `0` when not.
    Check,
    /// One of these words.
    Select(&'static [&'static str]),
}

/// One field.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    /// The heading it is shown under.
    pub group: &'static str,
}

const fn f(key: &'static str, label: &'static str, kind: Kind, group: &'static str) -> Field {
    Field {
        key,
        label,
        kind,
        group,
    }
}

const T: Kind = Kind::Text;
const C: Kind = Kind::Check;
const S: Kind = Kind::Str {
    always_quote: false,
};
const Q: Kind = Kind::Str { always_quote: true };

/// Every scheduler lvscf accepts, in its order.
pub fn schedulers() -> Vec<&'static str> {
    Scheduler::ALL.iter().map(|(_, s)| *s).collect()
}

const SCHEDULERS: &[&str] = &[
    "lc", "rr", "wlc", "wrr", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
];

/// GLOBAL SETTINGS.
pub const GLOBAL: &[Field] = &[
    f("primary", "Primary server public IP", T, "Nodes"),
    f("primary_private", "Primary server private IP", T, "Nodes"),
    f("primary_shared", "Primary shared device", S, "Nodes"),
    f(
        "service",
        "Cluster type",
        Kind::Select(&["lvs", "fos"]),
        "Cluster",
    ),
    f(
        "network",
        "Network type",
        Kind::Select(&["nat", "direct", "tunnel"]),
        "Cluster",
    ),
    f("nat_router", "NAT router IP and device", T, "Cluster"),
    f("nat_nmask", "NAT router netmask", T, "Cluster"),
    f(
        "dataplane",
        "Data plane",
        Kind::Select(&["auto", "ipvs", "userspace"]),
        "Cluster",
    ),
    f("rsh_command", "Sync tool (rsh or ssh)", S, "Daemons"),
    f("debug_level", "Debug level", S, "Daemons"),
    f("active_cmd", "Command when becoming active", S, "Daemons"),
    f(
        "inactive_cmd",
        "Command when becoming inactive",
        S,
        "Daemons",
    ),
    f("hard_shutdown", "Hard shutdown", C, "Daemons"),
    f("tcp_timeout", "IPVS TCP timeout (s)", T, "Timeouts"),
    f("tcpfin_timeout", "IPVS TCP FIN timeout (s)", T, "Timeouts"),
    f("udp_timeout", "IPVS UDP timeout (s)", T, "Timeouts"),
];

/// REDUNDANCY.
pub const REDUNDANCY: &[Field] = &[
    f("backup_active", "Backup enabled", C, "Backup"),
    f("backup", "Redundant server public IP", T, "Backup"),
    f("backup_private", "Redundant server private IP", T, "Backup"),
    f("backup_shared", "Redundant shared device", S, "Backup"),
    f("heartbeat", "Heartbeat", C, "Heartbeat"),
    f("keepalive", "Heartbeat interval (s)", T, "Heartbeat"),
    f("deadtime", "Assume dead after (s)", T, "Heartbeat"),
    f("heartbeat_port", "Heartbeat runs on port", T, "Heartbeat"),
    f(
        "monitor_links",
        "Monitor NIC links for failures",
        C,
        "Links and sync",
    ),
    f("syncdaemon", "Connection sync daemon", C, "Links and sync"),
    f("syncd_iface", "Sync daemon interface", S, "Links and sync"),
    f("syncd_id", "Sync daemon id", T, "Links and sync"),
    f(
        "hot_standby",
        "Hot standby (lvsd runs on the backup too)",
        C,
        "Backup",
    ),
];

/// A virtual server (its name is the field `name`, the block's header).
pub const VIRTUAL: &[Field] = &[
    f("active", "Active", C, "Virtual server"),
    f(
        "address",
        "Virtual IP address and device",
        T,
        "Virtual server",
    ),
    f("vip_nmask", "Virtual IP network mask", T, "Virtual server"),
    f("port", "Application port", T, "Virtual server"),
    f(
        "protocol",
        "Protocol",
        Kind::Select(&["tcp", "udp"]),
        "Virtual server",
    ),
    f("fwmark", "Firewall mark", T, "Virtual server"),
    f("sorry_server", "Sorry server", T, "Virtual server"),
    f(
        "scheduler",
        "Scheduling",
        Kind::Select(SCHEDULERS),
        "Scheduling",
    ),
    f(
        "sched_flags",
        "Scheduler flags (mh-port, mh-fallback, sh-port, sh-fallback)",
        T,
        "Scheduling",
    ),
    f("persistent", "Persistence (s)", T, "Scheduling"),
    f("pmask", "Persistence network mask", T, "Scheduling"),
    f("send", "Send", Q, "Monitoring"),
    f("expect", "Expect", Q, "Monitoring"),
    f(
        "use_regex",
        "Treat expect as a regular expression",
        C,
        "Monitoring",
    ),
    f("send_program", "Sending program", S, "Monitoring"),
    f(
        "load_monitor",
        "Load monitoring tool (none, uptime, rup, ruptime)",
        S,
        "Monitoring",
    ),
    f("timeout", "Service timeout (s)", T, "Monitoring"),
    f("reentry", "Re-entry time (s)", T, "Monitoring"),
    f("quiesce_server", "Quiesce server", C, "Monitoring"),
];

/// A failover service.
pub const FAILOVER: &[Field] = &[
    f("active", "Active", C, "Failover service"),
    f("address", "IP address and device", T, "Failover service"),
    f("vip_nmask", "Network mask", T, "Failover service"),
    f("port", "Port", T, "Failover service"),
    f(
        "protocol",
        "Protocol",
        Kind::Select(&["tcp", "udp"]),
        "Failover service",
    ),
    f("start_cmd", "Start command", S, "Failover service"),
    f("stop_cmd", "Stop command", S, "Failover service"),
    f(
        "hot_standby",
        "Hot standby (runs on both nodes)",
        C,
        "Failover service",
    ),
    f("send", "Send", Q, "Monitoring"),
    f("expect", "Expect", Q, "Monitoring"),
    f(
        "use_regex",
        "Treat expect as a regular expression",
        C,
        "Monitoring",
    ),
    f("send_program", "Sending program", S, "Monitoring"),
    f("timeout", "Service timeout (s)", T, "Monitoring"),
    f("reentry", "Re-entry time (s)", T, "Monitoring"),
];

/// A real server.
pub const SERVER: &[Field] = &[
    f("active", "Active", C, "Real server"),
    f("address", "Address", T, "Real server"),
    f("port", "Port", T, "Real server"),
    f("weight", "Weight", T, "Real server"),
];

/// Values by keyword.
pub type Values = BTreeMap<String, String>;
/// lvscf's messages by keyword.
pub type Errors = BTreeMap<String, String>;

/// The value of a statement's text (`key = value`, `key=value`, `key value`).
fn value_of(stmt: &str, key: &str) -> String {
    let rest = stmt.strip_prefix(key).unwrap_or(stmt).trim_start();
    rest.strip_prefix('=').unwrap_or(rest).trim().to_owned()
}

/// A string without one pair of surrounding quotes.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// What a form shows for the scope: the file's text of each statement present; for a
/// check box or a list, the value in effect (from `model`, the scope as lvscf's JSON) when
/// the file does not say.
pub fn current(
    text: &str,
    scope: &ScopeText,
    fields: &[Field],
    model: &serde_json::Value,
) -> Values {
    let mut out = Values::new();
    for fd in fields {
        let stmt = scope.stmts.iter().find(|(k, _)| *k == fd.key);
        let v = match (stmt, fd.kind) {
            (Some((_, s)), Kind::Str { .. }) => {
                unquote(&value_of(&text[s.range()], fd.key)).to_owned()
            }
            (Some((_, s)), Kind::Check) => match value_of(&text[s.range()], fd.key).as_str() {
                "0" => "0".to_owned(),
                _ => "1".to_owned(),
            },
            (Some((_, s)), _) => value_of(&text[s.range()], fd.key),
            (None, Kind::Check) => match model.get(fd.key) {
                Some(serde_json::Value::Bool(true)) => "1".to_owned(),
                _ => "0".to_owned(),
            },
            (None, Kind::Select(_)) => match model.get(fd.key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => String::new(),
            },
            (None, _) => String::new(),
        };
        out.insert(fd.key.to_owned(), v);
    }
    out
}

/// The submitted values of `fields`: a box is `1` when ticked, `0` when only its hidden `0`
/// came; a field the form does not carry keeps its current value.
pub fn submitted(form: &[(String, String)], fields: &[Field], current: &Values) -> Values {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
    };
    // A box sends its hidden `0` and, when ticked, `1`; a form without the field keeps it.
    let ticked = |k: &str| {
        let mut vals = form.iter().filter(|(n, _)| n == k).map(|(_, v)| v.trim());
        let first = vals.next()?;
        Some(first == "1" || vals.any(|v| v == "1"))
    };
    fields
        .iter()
        .map(|fd| {
            let v = match fd.kind {
                Kind::Check => match ticked(fd.key) {
                    Some(true) => "1".to_owned(),
                    Some(false) => "0".to_owned(),
                    None => current
                        .get(fd.key)
                        .cloned()
                        .unwrap_or_else(|| "0".to_owned()),
                },
                _ => {
                    get(fd.key).unwrap_or_else(|| current.get(fd.key).cloned().unwrap_or_default())
                }
            };
            (fd.key.to_owned(), v)
        })
        .collect()
}

/// The value as lvs.cf spells it.
fn spelt(kind: Kind, v: &str) -> String {
    match kind {
        Kind::Str { always_quote } => {
            let needs =
                v.is_empty() || v.contains(|c: char| c.is_whitespace() || "#{}=\"'".contains(c));
            if !(always_quote || needs) {
                v.to_owned()
            } else if !v.contains('"') {
                format!("\"{v}\"")
            } else if !v.contains('\'') {
                format!("'{v}'")
            } else {
                v.to_owned()
            }
        }
        _ => v.to_owned(),
    }
}

/// The changes a submitted form makes: a field as it was is kept, an emptied one removed, any
/// other set; or, for values that cannot be a statement (a line break), the errors.
pub fn changes(
    fields: &[Field],
    was: &Values,
    now: &Values,
) -> Result<Vec<(&'static str, Change)>, Errors> {
    let mut out = Vec::new();
    let mut errors = Errors::new();
    for fd in fields {
        let (old, new) = (
            was.get(fd.key).map_or("", String::as_str),
            now.get(fd.key).map_or("", String::as_str),
        );
        if new.contains(|c: char| c.is_control()) {
            errors.insert(
                fd.key.to_owned(),
                "a value is one line, without control characters".to_owned(),
            );
            continue;
        }
        let change = if old == new {
            Change::Keep
        } else if new.is_empty() {
            Change::Remove
        } else {
            Change::Set(spelt(fd.kind, new))
        };
        out.push((fd.key, change));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The fields, grouped under their headings, with their values and errors.
pub fn render(fields: &[Field], values: &Values, errors: &Errors) -> String {
    let mut out = String::new();
    let mut group = "";
    for fd in fields {
        if fd.group != group {
            if !group.is_empty() {
                out.push_str("</fieldset>\n");
            }
            group = fd.group;
            let _ = writeln!(out, "<fieldset><legend>{}</legend>", esc(group));
        }
        let v = values.get(fd.key).map_or("", String::as_str);
        out.push_str(&field(fd.key, fd.label, fd.kind, v, errors.get(fd.key)));
    }
    if !group.is_empty() {
        out.push_str("</fieldset>\n");
    }
    out
}

/// One field: its label, its input and, when lvscf refused it, the message right after.
pub fn field(key: &str, label: &str, kind: Kind, v: &str, error: Option<&String>) -> String {
    let (k, id) = (esc(key), format!("f-{}", esc(key)));
    let described = if error.is_some() {
        format!(" aria-invalid=\"true\" aria-describedby=\"error-{k}\"")
    } else {
        String::new()
    };
    let input = match kind {
        Kind::Check => format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"0\">\
             <input type=\"checkbox\" id=\"{id}\" name=\"{k}\" value=\"1\"{}{described}>",
            if v == "1" { " checked" } else { "" }
        ),
        Kind::Select(options) => {
            let mut s = format!("<select id=\"{id}\" name=\"{k}\"{described}>");
            let known = options.contains(&v);
            if !known {
                let _ = write!(s, "<option value=\"{0}\" selected>{0}</option>", esc(v));
            }
            for o in options {
                let sel = if *o == v { " selected" } else { "" };
                let _ = write!(s, "<option value=\"{0}\"{sel}>{0}</option>", esc(o));
            }
            s.push_str("</select>");
            s
        }
        Kind::Text | Kind::Str { .. } => format!(
            "<input type=\"text\" id=\"{id}\" name=\"{k}\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\"{described}>",
            esc(v)
        ),
    };
    let mut out = format!(
        "<div class=\"field\"><label for=\"{id}\">{} <code>{k}</code></label>\n{input}\n",
        esc(label)
    );
    if let Some(e) = error {
        let _ = writeln!(
            out,
            "<p class=\"field-error\" id=\"error-{k}\" role=\"alert\">{}</p>",
            esc(e)
        );
    }
    out.push_str("</div>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheduler_of_lvscf_is_offered() {
        assert_eq!(SCHEDULERS, schedulers().as_slice());
    }

    #[test]
    fn field_keys_are_lvs_cf_keywords() {
        use lvscf::keywords::{GLOBAL_KEYWORDS, SERVER_KEYWORDS, VIRTUAL_KEYWORDS};
        for (fields, table) in [
            (GLOBAL, GLOBAL_KEYWORDS),
            (REDUNDANCY, GLOBAL_KEYWORDS),
            (VIRTUAL, VIRTUAL_KEYWORDS),
            (FAILOVER, VIRTUAL_KEYWORDS),
            (SERVER, SERVER_KEYWORDS),
        ] {
            for fd in fields {
                assert!(table.contains(&fd.key), "{}", fd.key);
            }
        }
        for k in lvscf::edit::REDUNDANCY_KEYS {
            assert!(REDUNDANCY.iter().any(|f| f.key == *k), "{k}");
        }
    }

    #[test]
    fn strings_are_quoted_as_needed() {
        assert_eq!(spelt(Q, "GET / HTTP/1.0\\r\\n"), "\"GET / HTTP/1.0\\r\\n\"");
        assert_eq!(spelt(Q, "HTTP"), "\"HTTP\"");
        assert_eq!(spelt(S, "uptime"), "uptime");
        assert_eq!(spelt(S, "/bin/x -a"), "\"/bin/x -a\"");
        assert_eq!(spelt(S, "say \"hi\""), "'say \"hi\"'");
        assert_eq!(spelt(T, "10.0.0.1 eth0:1"), "10.0.0.1 eth0:1");
    }

    #[test]
    fn changes_keep_remove_set_and_refuse_line_breaks() {
        let was: Values = [("port", "80"), ("send", "GET /"), ("active", "1")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let form: Vec<(String, String)> = [("port", " 81 "), ("send", ""), ("active", "0")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let fields = [
            f("port", "", T, ""),
            f("send", "", Q, ""),
            f("active", "", C, ""),
            f("expect", "", Q, ""),
        ];
        let now = submitted(&form, &fields, &was);
        let c = changes(&fields, &was, &now).unwrap();
        assert_eq!(
            c,
            vec![
                ("port", Change::Set("81".into())),
                ("send", Change::Remove),
                ("active", Change::Set("0".into())),
                ("expect", Change::Keep),
            ]
        );
        let mut bad = now.clone();
        bad.insert("port".into(), "80\nprimary = 6.6.6.6".into());
        let e = changes(&fields, &was, &bad).unwrap_err();
        assert!(e.contains_key("port"));
    }

    #[test]
    fn fields_escape_values_and_show_errors() {
        let errors: Errors = [("send".to_owned(), "bad <value>".to_owned())].into();
        let h = field("send", "Send", Q, "\"><script>", errors.get("send"));
        assert!(h.contains("value=\"&quot;&gt;&lt;script&gt;\""), "{h}");
        assert!(
            h.contains(
                "<p class=\"field-error\" id=\"error-send\" role=\"alert\">bad &lt;value&gt;</p>"
            ),
            "{h}"
        );
        let s = field("scheduler", "S", Kind::Select(SCHEDULERS), "wlc", None);
        assert!(s.contains("<option value=\"wlc\" selected>"), "{s}");
    }
}
