//! Checks on one `virtual` or `failover` block's own keys.

use std::net::IpAddr;

use super::Checker;
use crate::diag::Diagnostic;
use crate::model::{Netmask, Service, VirtualServer};
use crate::source::BlockRef;

impl Checker<'_> {
    pub(super) fn block(&mut self, vs: &VirtualServer, r: BlockRef) {
        self.block_timing(vs, r);
        let vip = vs.vip();
        self.block_address(vs, r);
        self.block_options(vs, r, vip);
        if r.failover {
            self.failover_block(vs, r);
            return;
        }
        if vs.hot_standby {
            self.diags.push(
                Diagnostic::warning(
                    self.at(r, "hot_standby"),
                    "`hot_standby` in a `virtual` block is ignored",
                )
                .with_help("for virtual servers, hot standby is the global `hot_standby = 1`"),
            );
        }
        self.servers(vs, r, vip);
    }

    /// `timeout` and `reentry`; `connect_timeout`.
    fn block_timing(&mut self, vs: &VirtualServer, r: BlockRef) {
        let keys = &self.src(r).keys;
        if vs.connect_timeout.is_some_and(|s| s.as_millis() == 0) {
            self.diags.push(
                Diagnostic::semantic(
                    self.at(r, "connect_timeout"),
                    "`connect_timeout` must be greater than 0",
                )
                .with_help("it is how long a real server may take to accept a connection, e.g. `1` or `0.5`"),
            );
        }
        if vs.timeout == 0 {
            self.diags.push(
                Diagnostic::semantic(self.at(r, "timeout"), "`timeout` must be at least 1 second")
                    .with_help("`timeout` is nanny's check interval and its connect/read timeout"),
            );
        } else if vs.reentry != 0
            && vs.reentry < vs.timeout
            && !keys.failed("timeout")
            && !keys.failed("reentry")
        {
            self.diags.push(
                Diagnostic::warning(
                    self.at(r, "reentry"),
                    format!(
                        "`reentry` ({}) is shorter than `timeout` ({}): a failed server comes back after its first successful check",
                        vs.reentry, vs.timeout
                    ),
                )
                .with_help("a server needs reentry/timeout consecutive good checks to come back"),
            );
        }
    }

    /// An active block's `address` and `port`.
    fn block_address(&mut self, vs: &VirtualServer, r: BlockRef) {
        let keys = &self.src(r).keys;
        let kind = if r.failover { "failover" } else { "virtual" };
        if vs.active && !keys.failed("address") {
            match &vs.address {
                None => self.diags.push(
                    Diagnostic::semantic(
                        self.header(r),
                        format!("active {kind} block `{}` has no `address`", vs.name),
                    )
                    .with_help("add `address = VIP DEVICE`, e.g. `address = 192.168.1.10 eth0:1`"),
                ),
                Some(a) if a.address.is_unspecified() => self.diags.push(Diagnostic::semantic(
                    self.at(r, "address"),
                    format!(
                        "active {kind} block `{}` has the unspecified address {}",
                        vs.name, a.address
                    ),
                )),
                Some(_) => {}
            }
        }
        if vs.active
            && !r.failover
            && vs.port == 0
            && vs.fwmark.is_none()
            && vs.persistent.is_none()
        {
            self.diags.push(Diagnostic::semantic(
                self.at(r, "port"),
                "port 0 is only allowed for a persistent or fwmark service",
            ));
        }
    }

    /// Masks, and options that have no effect without another one.
    fn block_options(&mut self, vs: &VirtualServer, r: BlockRef, vip: Option<IpAddr>) {
        let keys = &self.src(r).keys;
        if let Some(pmask) = vs.pmask {
            if vs.persistent.is_none() && !keys.failed("persistent") {
                self.diags.push(Diagnostic::warning(
                    self.at(r, "pmask"),
                    "`pmask` has no effect without `persistent`",
                ));
            }
            self.mask_family(r, "pmask", pmask, vip);
        }
        if let Some(m) = vs.vip_nmask {
            self.mask_family(r, "vip_nmask", m, vip);
        }
        if let Some(f) = vs
            .sched_flags
            .iter()
            .find(|f| f.scheduler() != vs.scheduler)
            && !r.failover
            && !keys.failed("scheduler")
        {
            self.diags.push(Diagnostic::semantic(
                self.at(r, "sched_flags"),
                format!(
                    "`sched_flags`: `{f}` is a flag of scheduler `{}`, not `{}`",
                    f.scheduler(),
                    vs.scheduler
                ),
            ));
        }
        if vs.use_regex && vs.expect.is_none() && !keys.failed("expect") {
            self.diags.push(Diagnostic::warning(
                self.at(r, "use_regex"),
                "`use_regex = 1` has no effect without `expect`",
            ));
        }
        if vs.send_program.is_some() && vs.send.is_some() {
            self.diags.push(
                Diagnostic::warning(
                    self.at(r, "send"),
                    "`send` is ignored: `send_program` replaces it",
                )
                .with_note(self.at(r, "send_program"), "`send_program` is set here"),
            );
        }
    }

    fn mask_family(&mut self, r: BlockRef, key: &str, m: Netmask, vip: Option<IpAddr>) {
        let bad = match (m, vip) {
            (Netmask::V4(_), Some(IpAddr::V6(_))) => {
                Some("a dotted mask cannot apply to an IPv6 address; write a prefix length")
            }
            (Netmask::Prefix(p), Some(IpAddr::V4(_))) if p > 32 => {
                Some("an IPv4 prefix length is at most 32")
            }
            _ => None,
        };
        if let Some(why) = bad {
            self.diags.push(Diagnostic::semantic(
                self.at(r, key),
                format!("`{key}` = {m}: {why}"),
            ));
        }
    }

    /// What only a `failover` block has: no servers, and the commands fos runs.
    fn failover_block(&mut self, vs: &VirtualServer, r: BlockRef) {
        if !vs.servers.is_empty() {
            self.diags.push(Diagnostic::warning(
                self.src(r).servers.first().map(|s| s.header),
                "`server` blocks inside a `failover` block are ignored",
            ));
        }
        if vs.active && self.cfg.service == Service::Fos {
            for cmd in ["start_cmd", "stop_cmd"] {
                let set = if cmd == "start_cmd" {
                    &vs.start_cmd
                } else {
                    &vs.stop_cmd
                };
                if set.is_none() && !self.src(r).keys.failed(cmd) {
                    self.diags.push(Diagnostic::warning(
                        self.header(r),
                        format!(
                            "failover service `{}` has no `{cmd}`: fos cannot {} it",
                            vs.name,
                            &cmd[..cmd.len() - 4]
                        ),
                    ));
                }
            }
        }
    }
}
