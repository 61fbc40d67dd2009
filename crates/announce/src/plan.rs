//! Which VIPs are announced (pure).
//!
//! A VIP is announced while at least one active virtual server on it can serve: it has a
//! real server in the table with a weight above 0, or its sorry server in the table. Several
//! virtual servers share a VIP (ports 80 and 443); one that still serves keeps the route, so
//! a service that is down everywhere does not take the others of its VIP down with it.

use std::collections::BTreeSet;
use std::net::IpAddr;

/// A set of VIPs, ordered (so the rendered file is stable).
pub type Vips = BTreeSet<IpAddr>;

/// One active virtual server as far as announcing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub vip: IpAddr,
    /// It has a real server (or the sorry server) in the table that takes new clients.
    pub serving: bool,
}

/// The VIPs to announce.
pub fn announced(candidates: impl IntoIterator<Item = Candidate>) -> Vips {
    candidates
        .into_iter()
        .filter(|c| c.serving)
        .map(|c| c.vip)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(vip: &str, serving: bool) -> Candidate {
        Candidate {
            vip: vip.parse().unwrap(),
            serving,
        }
    }

    #[test]
    fn a_vip_is_announced_while_one_of_its_services_serves() {
        let got = announced([
            c("10.0.0.1", true),
            c("10.0.0.1", false),
            c("10.0.0.2", false),
            c("10.0.0.3", false),
            c("2001:db8::1", true),
            c("10.0.0.3", true),
        ]);
        let want: Vips = ["10.0.0.1", "10.0.0.3", "2001:db8::1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(got, want);
        assert!(announced([c("10.0.0.2", false)]).is_empty());
        assert!(announced([]).is_empty());
    }
}
