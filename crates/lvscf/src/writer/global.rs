//! The global keys, in the GUI's order, then the blocks (failover before virtual).

use std::fmt::Write as _;

use super::quote::{Place, quote};
use super::{Owner, WriteError, Writer, bool01};
use crate::model::LvsConfig;
use crate::source::BlockRef;
use crate::trivia::Anchor;

/// A string value as the first value of its line.
fn s(v: &str, key: &str) -> Result<String, WriteError> {
    quote(key, v, Place::FirstValue, false)
}

/// As [`s`], for a value that may be unset.
fn so(v: &Option<String>, key: &str) -> Result<Option<String>, WriteError> {
    v.as_deref()
        .map(|v| quote(key, v, Place::FirstValue, false))
        .transpose()
}

impl Writer<'_> {
    pub(super) fn config(&mut self, c: &LvsConfig) -> Result<(), WriteError> {
        if let Some(t) = self.opts.trivia
            && let Some(lines) = t.leading.get(&Anchor::FileStart)
        {
            for l in lines {
                let _ = writeln!(self.out, "{l}");
            }
            self.out.push('\n');
        }
        self.nodes(c)?;
        self.heartbeat_and_network(c)?;
        self.daemons(c)?;
        self.ipvs(c)?;
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

    /// The two directors: addresses, service, commands between them.
    fn nodes(&mut self, c: &LvsConfig) -> Result<(), WriteError> {
        let d = LvsConfig::default();
        let g = Owner::Global;
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
        Ok(())
    }

    /// Heartbeat, timings, routing.
    fn heartbeat_and_network(&mut self, c: &LvsConfig) -> Result<(), WriteError> {
        let d = LvsConfig::default();
        let g = Owner::Global;
        self.kv(
            g,
            "",
            "heartbeat_port",
            Some(c.heartbeat_port.to_string()),
            true,
        );
        self.kv(g, "", "keepalive", Some(c.keepalive.to_string()), true);
        self.kv(g, "", "deadtime", Some(c.deadtime.to_string()), true);
        self.kv(
            g,
            "",
            "heartbeat_key_file",
            so(&c.heartbeat_key_file, "heartbeat_key_file")?,
            true,
        );
        self.kv(
            g,
            "",
            "heartbeat_auth",
            c.heartbeat_auth.map(|a| a.to_string()),
            true,
        );
        self.kv(
            g,
            "",
            "config_sync",
            Some(bool01(c.config_sync)),
            c.config_sync,
        );
        self.kv(g, "", "sync_port", c.sync_port.map(|p| p.to_string()), true);
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
        Ok(())
    }

    /// Commands, link monitoring and the sync daemon.
    fn daemons(&mut self, c: &LvsConfig) -> Result<(), WriteError> {
        let d = LvsConfig::default();
        let g = Owner::Global;
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
        Ok(())
    }

    /// IPVS timeouts, shutdown, the data plane and the commands that change the table.
    fn ipvs(&mut self, c: &LvsConfig) -> Result<(), WriteError> {
        let d = LvsConfig::default();
        let g = Owner::Global;
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
            "hot_standby",
            Some(bool01(c.hot_standby)),
            c.hot_standby != d.hot_standby,
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
        self.kv(
            g,
            "",
            "announce",
            Some(c.announce.to_string()),
            c.announce != d.announce,
        );
        self.kv(
            g,
            "",
            "bird_socket",
            so(&c.bird_socket, "bird_socket")?,
            true,
        );
        self.kv(
            g,
            "",
            "announce_file",
            so(&c.announce_file, "announce_file")?,
            true,
        );
        self.kv(
            g,
            "",
            "announce_drain",
            c.announce_drain.map(|s| s.to_string()),
            true,
        );
        Ok(())
    }
}
