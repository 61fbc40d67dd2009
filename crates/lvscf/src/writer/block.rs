//! `virtual`/`failover` blocks and their `server` blocks.

use std::fmt::Write as _;

use super::quote::{Place, quote};
use super::{INDENT, Owner, WriteError, Writer, bool01};
use crate::model::{RealServer, VirtualServer};
use crate::source::BlockRef;
use crate::trivia::Anchor;

/// A string value that may be unset, quoted when `prefer` (send/expect, as the GUI did).
fn q(v: &Option<String>, key: &str, prefer: bool) -> Result<Option<String>, WriteError> {
    v.as_deref()
        .map(|v| quote(key, v, Place::FirstValue, prefer))
        .transpose()
}

impl Writer<'_> {
    pub(super) fn block(&mut self, v: &VirtualServer, r: BlockRef) -> Result<(), WriteError> {
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
        self.service_keys(v, r)?;
        self.monitor_keys(v, r)?;
        for (idx, rs) in v.servers.iter().enumerate() {
            self.server(rs, r, idx, v.port)?;
        }
        self.leading(Anchor::BlockEnd(r), i);
        self.out.push('}');
        self.end_line(Anchor::BlockEnd(r));
        Ok(())
    }

    /// What the service is: address, port, marks, persistence.
    fn service_keys(&mut self, v: &VirtualServer, r: BlockRef) -> Result<(), WriteError> {
        let b = Owner::Block(r);
        let i = INDENT;
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
        Ok(())
    }

    /// How it is monitored and scheduled, and the failover service's commands.
    fn monitor_keys(&mut self, v: &VirtualServer, r: BlockRef) -> Result<(), WriteError> {
        let d = VirtualServer::new("");
        let b = Owner::Block(r);
        let i = INDENT;
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
            "connect_timeout",
            v.connect_timeout.map(|s| s.to_string()),
            true,
        );
        self.kv(b, i, "retries", v.retries.map(|n| n.to_string()), true);
        let flags: Vec<&str> = v.sched_flags.iter().map(|f| f.as_str()).collect();
        self.kv(
            b,
            i,
            "sched_flags",
            (!flags.is_empty()).then(|| flags.join(",")),
            true,
        );
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
            "hot_standby",
            Some(bool01(v.hot_standby)),
            v.hot_standby != d.hot_standby,
        );
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
