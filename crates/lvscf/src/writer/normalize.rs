//! Models built elsewhere, spelt as the parser would read them back.

use super::WriteError;
use crate::model::{LoadMonitor, LvsConfig, Netmask};

/// The model the parser gives for the text of `cfg`: values lvs.cf spells as "unset"
/// (`fwmark = 0`, `pmask = 255.255.255.255`, an unspecified `backup`...) become `None`, and
/// piranha's copy rule fills `primary_private`. Models no file can express are errors.
pub fn normalize(cfg: &LvsConfig) -> Result<LvsConfig, WriteError> {
    let mut c = cfg.clone();
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

/// A netmask lvs.cf spells as "none" becomes `None`; one it cannot spell is an error.
fn mask(what: &str, m: &mut Option<Netmask>) -> Result<(), WriteError> {
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
}

fn invalid(what: &str, value: &dyn std::fmt::Display, why: &'static str) -> WriteError {
    WriteError::Unrepresentable {
        what: what.to_string(),
        value: value.to_string(),
        why,
    }
}
