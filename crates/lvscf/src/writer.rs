//! The writer: canonical lvs.cf text from a model.
//!
//! Keys come in the order piranha's GUI wrote them (`parse.php`), followed by the keywords the
//! GUI did not know. Failover blocks precede virtual blocks, as in the GUI. Indentation is four
//! spaces per level and every statement is `key = value`. For every model the parser can
//! produce, parsing the output gives the same model back.
//!
//! Which keys are written: the ones that identify a service (`active`, `address`, `port`, ...)
//! always, the others when they differ from their default; with a [`SourceMap`], also every key
//! the original file had (so `lvscf fmt` keeps what the admin wrote); with `explicit`, all.
//!
//! A model built elsewhere (the web tool's JSON) may spell a value in a way lvs.cf cannot
//! (`fwmark: 0` for "no mark"); [`normalize`] maps it to the parser's spelling first, so
//! `parse(write(m)) == normalize(m)` for every model that can be written at all.

use std::fmt::Write as _;

use crate::model::{LoadMonitor, LvsConfig, Netmask, RealServer, VirtualServer};
use crate::source::{BlockRef, SourceMap};
use crate::trivia::{Anchor, Trivia};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// lvs.cf has no escape for quotes and no line continuation.
    #[error("{what} cannot be written to lvs.cf: {value:?} {why}")]
    Unrepresentable {
        what: String,
        value: String,
        why: &'static str,
    },
}

/// What to write besides the model.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions<'a> {
    /// Comments to put back.
    pub trivia: Option<&'a Trivia>,
    /// The keys the original file had (written even when they hold the default).
    pub source: Option<&'a SourceMap>,
    /// Write every key, defaults included.
    pub explicit: bool,
}

/// Canonical text of `cfg`.
pub fn write(cfg: &LvsConfig) -> Result<String, WriteError> {
    write_with(cfg, WriteOptions::default())
}

/// Canonical text of `cfg` with comments, kept keys or all defaults (see [`WriteOptions`]).
pub fn write_with(cfg: &LvsConfig, opts: WriteOptions<'_>) -> Result<String, WriteError> {
    let cfg = normalize(cfg)?;
    let mut w = Writer {
        opts,
        out: String::new(),
    };
    w.config(&cfg)?;
    Ok(w.out)
}

/// The model the parser gives for the text of `cfg`: values lvs.cf spells as "unset"
/// (`fwmark = 0`, `pmask = 255.255.255.255`, an unspecified `backup`...) become `None`, and
/// piranha's copy rule fills `primary_private`. Models no file can express are errors.
pub fn normalize(cfg: &LvsConfig) -> Result<LvsConfig, WriteError> {
    let mut c = cfg.clone();
    let invalid = |what: &str, value: &dyn std::fmt::Display, why: &'static str| {
        WriteError::Unrepresentable {
            what: what.to_string(),
            value: value.to_string(),
            why,
        }
    };
    for (what, host) in [
        ("primary", &c.primary),
        ("primary_private", &c.primary_private),
    ] {
        if let Some(h) = host.as_ref().filter(|h| h.is_unspecified()) {
            return Err(invalid(
                what,
                h,
                "is the unspecified address, which piranha refuses",
            ));
        }
    }
    if let Some(n) = c.nat_router.as_ref().filter(|n| n.address.is_unspecified()) {
        return Err(invalid(
            "nat_router",
            &n.address,
            "is the unspecified address",
        ));
    }
    let unset = |h: &mut Option<crate::model::Host>| {
        if h.as_ref().is_some_and(|h| h.is_unspecified()) {
            *h = None;
        }
    };
    unset(&mut c.backup);
    unset(&mut c.backup_private);
    if c.primary.is_some() && c.primary_private.is_none() {
        c.primary_private = c.primary.clone();
    }
    let mask = |what: &str, m: &mut Option<Netmask>| -> Result<(), WriteError> {
        match *m {
            Some(Netmask::V4(v)) if v.is_unspecified() => *m = None,
            Some(Netmask::Prefix(0)) => *m = None,
            Some(Netmask::Prefix(p)) if p > 128 => {
                return Err(invalid(what, &p, "is longer than 128 bits"));
            }
            Some(Netmask::V4(v))
                if u32::from(v).leading_ones() + u32::from(v).trailing_zeros() != 32 =>
            {
                return Err(invalid(
                    what,
                    &v,
                    "is not a netmask (its one bits are not contiguous)",
                ));
            }
            _ => {}
        }
        Ok(())
    };
    mask("nat_nmask", &mut c.nat_nmask)?;
    for vs in c
        .virtual_servers
        .iter_mut()
        .chain(c.failover_services.iter_mut())
    {
        mask("vip_nmask", &mut vs.vip_nmask)?;
        // lvsd ignores a pmask with holes; the parser reads it as no mask.
        if let Some(Netmask::V4(v)) = vs.pmask
            && u32::from(v).leading_ones() + u32::from(v).trailing_zeros() != 32
        {
            vs.pmask = None;
        }
        mask("pmask", &mut vs.pmask)?;
        if vs.pmask == Some(Netmask::V4(std::net::Ipv4Addr::BROADCAST)) {
            vs.pmask = None;
        }
        vs.fwmark = vs.fwmark.filter(|m| *m != 0);
        vs.persistent = vs.persistent.filter(|p| *p != 0);
        vs.sorry_server = vs.sorry_server.filter(|ip| !ip.is_unspecified());
        if let Some(LoadMonitor::Command(text)) = &vs.load_monitor {
            vs.load_monitor = Some(LoadMonitor::from_text(text));
        }
    }
    Ok(c)
}

const INDENT: &str = "    ";

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Where a token stands on its line: the first value after `=` may start with `#` or `=`
/// (piranha read it as a value); any other word would start a comment or look like `=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    FirstValue,
    Word,
}

/// A string as one lvs.cf token: bare when that reads back the same, else quoted.
/// `prefer_quotes` quotes even a bare-safe value (send/expect, as the GUI did).
pub(crate) fn quote(
    what: &str,
    s: &str,
    place: Place,
    prefer_quotes: bool,
) -> Result<String, WriteError> {
    let err = |why| {
        Err(WriteError::Unrepresentable {
            what: what.to_string(),
            value: s.to_string(),
            why,
        })
    };
    if s.contains(['\n', '\r']) {
        return err("contains a line break");
    }
    let bare_safe = !(s.is_empty()
        || s.contains(is_blank)
        || s.starts_with(['"', '\''])
        || (place == Place::Word && s.starts_with(['#', '=']))
        || matches!(s, "{" | "}" | "[" | "]"));
    if bare_safe && !prefer_quotes {
        return Ok(s.to_string());
    }
    if !s.contains('"') {
        Ok(format!("\"{s}\""))
    } else if !s.contains('\'') {
        Ok(format!("'{s}'"))
    } else if bare_safe {
        // Both quote characters inside: only the bare form can hold it.
        Ok(s.to_string())
    } else {
        err("contains both quote characters and needs quoting")
    }
}

struct Writer<'a> {
    opts: WriteOptions<'a>,
    out: String,
}

/// Which statements a key belongs to, for presence in the source and comment anchors.
#[derive(Clone, Copy)]
enum Owner {
    Global,
    Block(BlockRef),
    Server(BlockRef, usize),
}

impl Writer<'_> {
    fn present(&self, scope: Owner, key: &str) -> bool {
        let Some(src) = self.opts.source else {
            return false;
        };
        match scope {
            Owner::Global => src.global.stmt(key).is_some(),
            Owner::Block(r) => src.block(r).is_some_and(|b| b.keys.stmt(key).is_some()),
            Owner::Server(r, i) => src
                .block(r)
                .and_then(|b| b.servers.get(i))
                .is_some_and(|s| s.keys.stmt(key).is_some()),
        }
    }

    fn anchor(scope: Owner, key: &'static str) -> Anchor {
        match scope {
            Owner::Global => Anchor::Global(key),
            Owner::Block(r) => Anchor::BlockKey(r, key),
            Owner::Server(r, i) => Anchor::ServerKey(r, i, key),
        }
    }

    fn leading(&mut self, anchor: Anchor, indent: &str) {
        if let Some(lines) = self.opts.trivia.and_then(|t| t.leading.get(&anchor)) {
            for l in lines {
                if l.is_empty() {
                    // One blank line at most, and none at the top of the file.
                    if !self.out.is_empty() && !self.out.ends_with("\n\n") {
                        self.out.push('\n');
                    }
                } else {
                    let _ = writeln!(self.out, "{indent}{l}");
                }
            }
        }
    }

    fn end_line(&mut self, anchor: Anchor) {
        if let Some(c) = self.opts.trivia.and_then(|t| t.trailing.get(&anchor)) {
            self.out.push(' ');
            self.out.push_str(c);
        }
        self.out.push('\n');
    }

    /// Write `key = value` when `wanted` (or explicit, or present in the source).
    fn kv(
        &mut self,
        scope: Owner,
        indent: &str,
        key: &'static str,
        value: Option<String>,
        wanted: bool,
    ) {
        self.kv_or(scope, indent, key, value, None, wanted);
    }

    /// As [`Writer::kv`]; an unset value that the source file did write is written as
    /// `unset` (`fwmark = 0`, `pmask = 255.255.255.255`), which reads back as unset.
    fn kv_or(
        &mut self,
        scope: Owner,
        indent: &str,
        key: &'static str,
        value: Option<String>,
        unset: Option<&str>,
        wanted: bool,
    ) {
        let present = self.present(scope, key);
        let value = match (value, unset) {
            (Some(v), _) => v,
            (None, Some(u)) if present => u.to_string(),
            (None, _) => return,
        };
        if !(wanted || self.opts.explicit || present) {
            return;
        }
        let anchor = Self::anchor(scope, key);
        // Keep a service name the file used for this value (`port = http`).
        let value = match self.opts.trivia.and_then(|t| t.spelled.get(&anchor)) {
            Some((name, number)) if value == number.to_string() => name.clone(),
            _ => value,
        };
        self.leading(anchor, indent);
        let _ = write!(self.out, "{indent}{key} = {value}");
        self.end_line(anchor);
    }

    fn config(&mut self, c: &LvsConfig) -> Result<(), WriteError> {
        let d = LvsConfig::default();
        let g = Owner::Global;
        if let Some(t) = self.opts.trivia
            && let Some(lines) = t.leading.get(&Anchor::FileStart)
        {
            for l in lines {
                let _ = writeln!(self.out, "{l}");
            }
            self.out.push('\n');
        }
        let s = |v: &str, key: &str| quote(key, v, Place::FirstValue, false);
        let so = |v: &Option<String>, key: &str| {
            v.as_deref()
                .map(|v| quote(key, v, Place::FirstValue, false))
                .transpose()
        };
        // piranha copies primary/backup into the private addresses only when
        // `primary_private` is absent: write the private pair unless that copy restores it.
        let privates_derived =
            c.primary.is_some() && c.primary_private == c.primary && c.backup_private == c.backup;

        self.kv(
            g,
            "",
            "serial_no",
            Some(c.serial_no.to_string()),
            c.serial_no != d.serial_no,
        );
        self.kv(
            g,
            "",
            "primary",
            c.primary.as_ref().map(ToString::to_string),
            true,
        );
        self.kv(
            g,
            "",
            "primary_private",
            c.primary_private.as_ref().map(ToString::to_string),
            !privates_derived,
        );
        self.kv(
            g,
            "",
            "primary_shared",
            so(&c.primary_shared, "primary_shared")?,
            true,
        );
        self.kv(g, "", "service", Some(c.service.to_string()), true);
        self.kv(
            g,
            "",
            "rsh_command",
            Some(s(&c.rsh_command, "rsh_command")?),
            c.rsh_command != d.rsh_command,
        );
        self.kv(g, "", "backup_active", Some(bool01(c.backup_active)), true);
        self.kv_or(
            g,
            "",
            "backup",
            c.backup.as_ref().map(ToString::to_string),
            Some("0.0.0.0"),
            true,
        );
        self.kv_or(
            g,
            "",
            "backup_private",
            c.backup_private.as_ref().map(ToString::to_string),
            Some("0.0.0.0"),
            !privates_derived,
        );
        self.kv(
            g,
            "",
            "backup_shared",
            so(&c.backup_shared, "backup_shared")?,
            true,
        );
        self.kv(
            g,
            "",
            "heartbeat",
            Some(bool01(c.heartbeat)),
            c.heartbeat != d.heartbeat,
        );
        self.kv(
            g,
            "",
            "heartbeat_port",
            Some(c.heartbeat_port.to_string()),
            true,
        );
        self.kv(g, "", "keepalive", Some(c.keepalive.to_string()), true);
        self.kv(g, "", "deadtime", Some(c.deadtime.to_string()), true);
        self.kv(g, "", "network", Some(c.network.to_string()), true);
        let nat = match &c.nat_router {
            Some(i) => Some(format!(
                "{} {}",
                i.address,
                quote("nat_router device", &i.device, Place::Word, false)?
            )),
            None => None,
        };
        self.kv(g, "", "nat_router", nat, true);
        self.kv_or(
            g,
            "",
            "nat_nmask",
            c.nat_nmask.map(|m| m.to_string()),
            Some("0"),
            true,
        );
        self.kv(
            g,
            "",
            "reservation_conflict_action",
            c.reservation_conflict_action.map(|a| a.to_string()),
            true,
        );
        self.kv(
            g,
            "",
            "debug_level",
            Some(s(&c.debug_level, "debug_level")?),
            c.debug_level != d.debug_level,
        );
        self.kv(g, "", "active_cmd", so(&c.active_cmd, "active_cmd")?, true);
        self.kv(
            g,
            "",
            "inactive_cmd",
            so(&c.inactive_cmd, "inactive_cmd")?,
            true,
        );
        self.kv(
            g,
            "",
            "monitor_links",
            Some(bool01(c.monitor_links)),
            c.monitor_links != d.monitor_links,
        );
        self.kv(
            g,
            "",
            "syncdaemon",
            Some(bool01(c.syncdaemon)),
            c.syncdaemon != d.syncdaemon,
        );
        self.kv(
            g,
            "",
            "syncd_iface",
            Some(s(&c.syncd_iface, "syncd_iface")?),
            c.syncd_iface != d.syncd_iface,
        );
        self.kv(
            g,
            "",
            "syncd_id",
            Some(c.syncd_id.to_string()),
            c.syncd_id != d.syncd_id,
        );
        self.kv(
            g,
            "",
            "tcp_timeout",
            Some(c.tcp_timeout.to_string()),
            c.tcp_timeout != d.tcp_timeout,
        );
        self.kv(
            g,
            "",
            "tcpfin_timeout",
            Some(c.tcpfin_timeout.to_string()),
            c.tcpfin_timeout != d.tcpfin_timeout,
        );
        self.kv(
            g,
            "",
            "udp_timeout",
            Some(c.udp_timeout.to_string()),
            c.udp_timeout != d.udp_timeout,
        );
        self.kv(
            g,
            "",
            "hard_shutdown",
            Some(bool01(c.hard_shutdown)),
            c.hard_shutdown != d.hard_shutdown,
        );
        self.kv(
            g,
            "",
            "dataplane",
            Some(c.dataplane.to_string()),
            c.dataplane != d.dataplane,
        );
        self.kv(
            g,
            "",
            "ipvsadm",
            Some(s(&c.ipvsadm, "ipvsadm")?),
            c.ipvsadm != d.ipvsadm,
        );
        self.kv(g, "", "sync", Some(bool01(c.sync)), c.sync != d.sync);

        for (index, vs) in c.failover_services.iter().enumerate() {
            self.block(
                vs,
                BlockRef {
                    failover: true,
                    index,
                },
            )?;
        }
        for (index, vs) in c.virtual_servers.iter().enumerate() {
            self.block(
                vs,
                BlockRef {
                    failover: false,
                    index,
                },
            )?;
        }
        self.leading(Anchor::FileEnd, "");
        Ok(())
    }

    fn block(&mut self, v: &VirtualServer, r: BlockRef) -> Result<(), WriteError> {
        let d = VirtualServer::new("");
        let b = Owner::Block(r);
        let i = INDENT;
        let keyword = if r.failover { "failover" } else { "virtual" };
        self.out.push('\n');
        self.leading(Anchor::Block(r), "");
        let _ = write!(
            self.out,
            "{keyword} {} {{",
            quote("block name", &v.name, Place::Word, false)?
        );
        self.end_line(Anchor::Block(r));
        let q = |v: &Option<String>, key: &str, prefer: bool| {
            v.as_deref()
                .map(|v| quote(key, v, Place::FirstValue, prefer))
                .transpose()
        };
        self.kv(b, i, "active", Some(bool01(v.active)), true);
        let address = match &v.address {
            Some(a) => Some(format!(
                "{} {}",
                a.address,
                quote("address device", &a.device, Place::Word, false)?
            )),
            None => None,
        };
        self.kv(b, i, "address", address, true);
        self.kv_or(
            b,
            i,
            "sorry_server",
            v.sorry_server.map(|s| s.to_string()),
            Some("0.0.0.0"),
            true,
        );
        self.kv_or(
            b,
            i,
            "vip_nmask",
            v.vip_nmask.map(|m| m.to_string()),
            Some("0"),
            true,
        );
        self.kv_or(
            b,
            i,
            "fwmark",
            v.fwmark.map(|m| m.to_string()),
            Some("0"),
            true,
        );
        self.kv(b, i, "port", Some(v.port.to_string()), true);
        self.kv_or(
            b,
            i,
            "persistent",
            v.persistent.map(|p| p.to_string()),
            Some("0"),
            true,
        );
        self.kv_or(
            b,
            i,
            "pmask",
            v.pmask.map(|m| m.to_string()),
            Some("255.255.255.255"),
            true,
        );
        self.kv(b, i, "send", q(&v.send, "send", true)?, true);
        self.kv(b, i, "expect", q(&v.expect, "expect", true)?, true);
        self.kv(
            b,
            i,
            "use_regex",
            Some(bool01(v.use_regex)),
            v.use_regex != d.use_regex,
        );
        self.kv(
            b,
            i,
            "send_program",
            q(&v.send_program, "send_program", true)?,
            true,
        );
        let lm = match &v.load_monitor {
            Some(m) => Some(quote("load_monitor", m.as_str(), Place::FirstValue, false)?),
            None => None,
        };
        self.kv(b, i, "load_monitor", lm, true);
        self.kv(
            b,
            i,
            "scheduler",
            Some(v.scheduler.to_string()),
            // fos has no scheduler: failover blocks carry it only when set.
            !r.failover || v.scheduler != d.scheduler,
        );
        self.kv(b, i, "protocol", Some(v.protocol.to_string()), true);
        self.kv(b, i, "timeout", Some(v.timeout.to_string()), true);
        self.kv(b, i, "reentry", Some(v.reentry.to_string()), true);
        self.kv(
            b,
            i,
            "quiesce_server",
            Some(bool01(v.quiesce_server)),
            v.quiesce_server != d.quiesce_server,
        );
        self.kv(
            b,
            i,
            "client_monitor",
            Some(quote(
                "client_monitor",
                &v.client_monitor,
                Place::FirstValue,
                false,
            )?),
            v.client_monitor != d.client_monitor,
        );
        self.kv(b, i, "start_cmd", q(&v.start_cmd, "start_cmd", true)?, true);
        self.kv(b, i, "stop_cmd", q(&v.stop_cmd, "stop_cmd", true)?, true);
        self.kv(
            b,
            i,
            "master",
            v.master.as_ref().map(ToString::to_string),
            true,
        );
        let dirs = match &v.dirs {
            Some(list) => {
                let mut s = String::from("[");
                for d in list {
                    s.push(' ');
                    s.push_str(&quote("dirs entry", d, Place::Word, false)?);
                }
                s.push_str(" ]");
                Some(s)
            }
            None => None,
        };
        self.kv(b, i, "dirs", dirs, true);
        for (idx, rs) in v.servers.iter().enumerate() {
            self.server(rs, r, idx, v.port)?;
        }
        self.leading(Anchor::BlockEnd(r), i);
        self.out.push('}');
        self.end_line(Anchor::BlockEnd(r));
        Ok(())
    }

    fn server(
        &mut self,
        rs: &RealServer,
        r: BlockRef,
        idx: usize,
        vport: u16,
    ) -> Result<(), WriteError> {
        let s = Owner::Server(r, idx);
        let i = "        ";
        self.out.push('\n');
        self.leading(Anchor::Server(r, idx), INDENT);
        let _ = write!(
            self.out,
            "{INDENT}server {} {{",
            quote("server name", &rs.name, Place::Word, false)?
        );
        self.end_line(Anchor::Server(r, idx));
        self.kv(
            s,
            i,
            "address",
            rs.address.as_ref().map(ToString::to_string),
            true,
        );
        self.kv(s, i, "active", Some(bool01(rs.active)), true);
        self.kv(s, i, "port", Some(rs.port.to_string()), rs.port != vport);
        self.kv(s, i, "weight", Some(rs.weight.to_string()), true);
        self.leading(Anchor::ServerEnd(r, idx), i);
        let _ = write!(self.out, "{INDENT}}}");
        self.end_line(Anchor::ServerEnd(r, idx));
        Ok(())
    }
}

fn bool01(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        let w = |s: &str| quote("x", s, Place::Word, false);
        let v = |s: &str, prefer| quote("x", s, Place::FirstValue, prefer);
        assert_eq!(w("eth0:1").unwrap(), "eth0:1");
        assert_eq!(v("HTTP", true).unwrap(), "\"HTTP\"");
        assert_eq!(w("a b").unwrap(), "\"a b\"");
        assert_eq!(w("say \"hi\" now").unwrap(), "'say \"hi\" now'");
        assert_eq!(w("").unwrap(), "\"\"");
        assert_eq!(w("#x").unwrap(), "\"#x\"");
        assert_eq!(
            v("#x", false).unwrap(),
            "#x",
            "a first value may start with #"
        );
        assert_eq!(w("=x").unwrap(), "\"=x\"");
        assert_eq!(w("{").unwrap(), "\"{\"");
        assert!(w("a\"b' c").is_err());
        // Both quotes and no blank: bare even where quotes are preferred.
        assert_eq!(v("it's\"", true).unwrap(), "it's\"");
        assert_eq!(v("#it's\"", true).unwrap(), "#it's\"");
        assert!(w("a\nb").is_err());
    }
}
