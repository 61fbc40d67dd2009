//! Checks on the real servers of a `virtual` block, and on its sorry server.

use std::net::IpAddr;

use super::{Checker, join_host_port};
use crate::diag::Diagnostic;
use crate::model::{Network, RealServer, VirtualServer};
use crate::source::BlockRef;
use crate::span::Span;

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

impl Checker<'_> {
    pub(super) fn servers(&mut self, vs: &VirtualServer, r: BlockRef, vip: Option<IpAddr>) {
        self.some_server_active(vs, r);
        for (i, rs) in vs.servers.iter().enumerate() {
            self.real_address(vs, r, i, rs);
            if rs.address.is_none() {
                continue;
            }
            self.real_family(r, i, rs, vip);
            self.real_twin(vs, r, i, rs);
        }
        if let (Some(sorry), Some(v)) = (vs.sorry_server, vip)
            && sorry.is_ipv4() != v.is_ipv4()
            && self.cfg.network != Network::Tunnel
        {
            self.diags.push(Diagnostic::semantic(
                self.at(r, "sorry_server"),
                format!(
                    "`sorry_server` is {} but the virtual address is {}",
                    family(sorry),
                    family(v)
                ),
            ));
        }
    }

    /// Span of `key`'s value in real server `i` of a block, else that server's header.
    fn server_at(&self, r: BlockRef, i: usize, key: &str) -> Option<Span> {
        self.src(r)
            .servers
            .get(i)
            .and_then(|s| s.keys.value(key).or(Some(s.header)))
    }

    /// An active virtual server with no active real server takes no traffic.
    fn some_server_active(&mut self, vs: &VirtualServer, r: BlockRef) {
        let src = self.src(r);
        if vs.active
            && !vs.servers.iter().any(|s| s.active)
            && !vs
                .servers
                .iter()
                .enumerate()
                .any(|(i, _)| src.servers.get(i).is_some_and(|s| s.keys.failed("active")))
        {
            let mut d = Diagnostic::warning(
                self.header(r),
                format!(
                    "active virtual server `{}` has no active real server: it will take no traffic",
                    vs.name
                ),
            );
            d = d.with_help(match vs.sorry_server {
                Some(_) => {
                    "only the sorry server will answer; set `active = 1` in a `server` block"
                        .to_string()
                }
                None => "set `active = 1` in a `server` block".to_string(),
            });
            self.diags.push(d);
        }
    }

    /// An active real server of an active block needs a usable address.
    fn real_address(&mut self, vs: &VirtualServer, r: BlockRef, i: usize, rs: &RealServer) {
        let src = self.src(r);
        let failed = src.servers.get(i).is_some_and(|s| s.keys.failed("address"));
        if rs.active && vs.active && !failed {
            match &rs.address {
                None => self.diags.push(Diagnostic::semantic(
                    self.server_at(r, i, "address"),
                    format!("active real server `{}` has no `address`", rs.name),
                )),
                Some(h) if h.is_unspecified() => self.diags.push(Diagnostic::semantic(
                    self.server_at(r, i, "address"),
                    format!(
                        "active real server `{}` has the unspecified address {h}",
                        rs.name
                    ),
                )),
                _ => {}
            }
        }
    }

    /// A real server of the other address family than the virtual address.
    fn real_family(&mut self, r: BlockRef, i: usize, rs: &RealServer, vip: Option<IpAddr>) {
        let Some(addr) = &rs.address else { return };
        if let (Some(v), Some(a)) = (vip, addr.ip())
            && v.is_ipv4() != a.is_ipv4()
            && self.cfg.network != Network::Tunnel
        {
            self.diags.push(
                Diagnostic::semantic(
                    self.server_at(r, i, "address"),
                    format!(
                        "real server `{}` is {} but the virtual address is {}",
                        rs.name,
                        family(a),
                        family(v)
                    ),
                )
                .with_help("IPVS mixes address families only with `network = tunnel`"),
            );
        }
    }

    /// Two active real servers of one block at the same address and port.
    fn real_twin(&mut self, vs: &VirtualServer, r: BlockRef, i: usize, rs: &RealServer) {
        let Some(addr) = &rs.address else { return };
        if !rs.active || addr.is_unspecified() {
            return;
        }
        // Real servers per service are few: a scan beats a hash map here.
        let twin = vs.servers[..i]
            .iter()
            .position(|o| o.active && o.port == rs.port && o.address.as_ref() == Some(addr));
        if let Some(first) = twin {
            let src = self.src(r);
            self.diags.push(
                Diagnostic::warning(
                    src.servers.get(i).map(|s| s.header),
                    format!(
                        "real servers `{}` and `{}` are both {}: only one is used",
                        vs.servers[first].name,
                        rs.name,
                        join_host_port(addr, rs.port)
                    ),
                )
                .with_note(
                    src.servers.get(first).map(|s| s.header),
                    "the first one is here",
                ),
            );
        }
    }
}
