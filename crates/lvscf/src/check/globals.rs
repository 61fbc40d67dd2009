//! Checks on the global section: the directors' addresses, heartbeat timings, and whether the
//! selected service has a block to run.

use super::Checker;
use crate::diag::Diagnostic;
use crate::model::{Announce, Network, Service};

impl Checker<'_> {
    pub(super) fn globals(&mut self, partial: bool) {
        self.directors();
        self.heartbeat();
        self.heartbeat_auth();
        self.announce();
        self.service_settings();
        if !partial {
            self.some_block_active();
        }
    }

    /// `primary`, `backup` and their private addresses.
    fn directors(&mut self) {
        let cfg = self.cfg;
        let g = self.g();
        if cfg.backup_active && cfg.backup.is_none() && !g.failed("backup") {
            self.diags.push(
                Diagnostic::semantic(
                    g.stmt("backup_active"),
                    "`backup_active = 1` but no `backup` address is set: pulse would run without a backup",
                )
                .with_help("set `backup = ADDRESS` of the backup director, or `backup_active = 0`"),
            );
        }
        if cfg.primary.is_none() && !g.failed("primary") {
            self.diags.push(
                Diagnostic::warning(
                    None,
                    "no `primary` address is set: pulse cannot tell which director is the primary",
                )
                .with_help("set `primary = ADDRESS` of the primary director"),
            );
        }
        if let (Some(p), Some(b)) = (&cfg.primary, &cfg.backup)
            && p == b
        {
            self.diags.push(
                Diagnostic::semantic(
                    g.value("backup"),
                    "`backup` is the same address as `primary`",
                )
                .with_note(g.value("primary"), "`primary` is set here"),
            );
        }
        if cfg.backup_active && cfg.primary_private != cfg.primary && cfg.backup_private.is_none() {
            self.diags.push(
                Diagnostic::warning(
                    g.stmt("primary_private"),
                    "`primary_private` is set but `backup_private` is not: heartbeats on the private network would go to 0.0.0.0",
                )
                .with_help("set `backup_private` to the backup's address on the private network"),
            );
        }
    }

    /// `keepalive`, `deadtime` and `heartbeat_port`.
    fn heartbeat(&mut self) {
        let cfg = self.cfg;
        let g = self.g();
        if g.failed("keepalive") || g.failed("deadtime") {
            // A rejected timing leaves its default: comparing it would mislead.
        } else if cfg.keepalive.as_millis() == 0 {
            self.diags.push(Diagnostic::semantic(
                g.value("keepalive"),
                "`keepalive` must be greater than 0",
            ));
        } else if cfg.deadtime <= cfg.keepalive {
            self.diags.push(
                Diagnostic::semantic(
                    g.value("deadtime").or(g.value("keepalive")),
                    format!(
                        "`deadtime` ({}) must be longer than `keepalive` ({}): the partner would be declared dead between two heartbeats",
                        cfg.deadtime, cfg.keepalive
                    ),
                )
                .with_help("make `deadtime` at least twice `keepalive`, e.g. keepalive 2, deadtime 5"),
            );
        }
        if cfg.heartbeat_port == 0 {
            self.diags.push(Diagnostic::semantic(
                g.value("heartbeat_port"),
                "`heartbeat_port` cannot be 0",
            ));
        }
    }

    /// `heartbeat_key_file` and `heartbeat_auth`.
    fn heartbeat_auth(&mut self) {
        let cfg = self.cfg;
        let g = self.g();
        match &cfg.heartbeat_key_file {
            Some(p) if !p.starts_with('/') => self.diags.push(
                Diagnostic::semantic(
                    g.value("heartbeat_key_file"),
                    format!("`heartbeat_key_file` must be an absolute path, not `{p}`"),
                )
                .with_help("pulse runs from `/`; write the full path of the key file"),
            ),
            Some(_) => {}
            None if cfg.heartbeat_auth.is_some() => self.diags.push(
                Diagnostic::semantic(
                    g.value("heartbeat_auth"),
                    "`heartbeat_auth` is set but `heartbeat_key_file` is not: there is no key to authenticate with",
                )
                .with_help("set `heartbeat_key_file`, or remove `heartbeat_auth`"),
            ),
            None => {}
        }
        if cfg.config_sync && cfg.heartbeat_key_file.is_none() {
            self.diags.push(
                Diagnostic::semantic(
                    g.value("config_sync"),
                    "`config_sync = 1` needs `heartbeat_key_file`: the file is only sent over an authenticated connection",
                )
                .with_help("set `heartbeat_key_file`, or remove `config_sync`"),
            );
        }
        if cfg.sync_port == Some(0) {
            self.diags.push(Diagnostic::semantic(
                g.value("sync_port"),
                "`sync_port` cannot be 0",
            ));
        }
    }

    /// `announce` and the settings of BIRD announcements.
    fn announce(&mut self) {
        let cfg = self.cfg;
        let g = self.g();
        for (key, path) in [
            ("bird_socket", &cfg.bird_socket),
            ("announce_file", &cfg.announce_file),
        ] {
            if let Some(p) = path
                && !p.starts_with('/')
            {
                self.diags.push(
                    Diagnostic::semantic(
                        g.value(key),
                        format!("`{key}` must be an absolute path, not `{p}`"),
                    )
                    .with_help("lvsd runs from `/`; write the full path"),
                );
            }
        }
        if let Some(d) = cfg.announce_drain
            && d.as_millis() > 60_000
        {
            self.diags.push(
                Diagnostic::semantic(
                    g.value("announce_drain"),
                    format!("`announce_drain` is at most 60 seconds, not {d}"),
                )
                .with_help("pulse stops lvsd with SIGKILL when it takes too long to stop"),
            );
        }
        if cfg.announce == Announce::Bird {
            if cfg.backup_active {
                self.diags.push(
                    Diagnostic::warning(
                        g.stmt("backup_active"),
                        "`announce = bird` with `backup_active = 1`: announcing directors are all active, each on its own",
                    )
                    .with_help("set `backup_active = 0` and make each director the `primary` of its own copy of the file"),
                );
            }
            return;
        }
        for key in ["bird_socket", "announce_file", "announce_drain"] {
            if let Some(at) = g.stmt(key) {
                self.diags.push(
                    Diagnostic::warning(
                        Some(at),
                        format!("`{key}` is only used with `announce = bird`"),
                    )
                    .with_help("set `announce = bird`, or remove this line"),
                );
            }
        }
    }

    /// Settings that only one `service` or `network` uses.
    fn service_settings(&mut self) {
        let cfg = self.cfg;
        let g = self.g();
        if cfg.service == Service::Fos
            && (cfg.primary_shared.is_some() || cfg.backup_shared.is_some())
            && cfg.reservation_conflict_action.is_none()
        {
            self.diags.push(
                Diagnostic::warning(
                    g.stmt("primary_shared").or(g.stmt("backup_shared")),
                    "a shared SCSI disk is set but `reservation_conflict_action` is not (piranha's pulse crashed on this)",
                )
                .with_help("set `reservation_conflict_action = nothing` or `preempt`"),
            );
        }
        if cfg.nat_router.is_some() && cfg.network != Network::Nat {
            self.diags.push(Diagnostic::warning(
                g.stmt("nat_router"),
                format!(
                    "`nat_router` is only used with `network = nat`; this file has `network = {}`",
                    cfg.network
                ),
            ));
        }
    }

    /// The selected service has at least one active block, or pulse refuses to start.
    fn some_block_active(&mut self) {
        let cfg = self.cfg;
        let (kind, other) = match cfg.service {
            Service::Lvs => ("virtual", "failover"),
            Service::Fos => ("failover", "virtual"),
        };
        if cfg.selected_blocks().iter().any(|b| b.active) {
            return;
        }
        let others = match cfg.service {
            Service::Lvs => &cfg.failover_services,
            Service::Fos => &cfg.virtual_servers,
        };
        let mut d = Diagnostic::semantic(
            self.g().stmt("service"),
            format!(
                "`service = {}` but no `{kind}` block is active: pulse would refuse to start",
                cfg.service
            ),
        );
        if others.iter().any(|b| b.active) {
            d = d.with_help(format!(
                "this file has active `{other}` blocks: did you mean `service = {}`?",
                if cfg.service == Service::Lvs {
                    "fos"
                } else {
                    "lvs"
                }
            ));
        } else {
            d = d.with_help(format!("set `active = 1` in a `{kind}` block"));
        }
        self.diags.push(d);
    }
}
