//! Two blocks of one list that collide: the same name, or the same IPVS service.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{Checker, join_host_port};
use crate::diag::Diagnostic;
use crate::model::{Host, VirtualServer};
use crate::source::BlockRef;

/// A small multiplicative hasher: the keys here are our own addresses and names, not
/// attacker-chosen, and SipHash was a tenth of validation time on large files.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// What makes two blocks the same service.
#[derive(PartialEq, Eq, Hash)]
enum Key<'k> {
    Mark(u32),
    Addr(&'k Host, &'static str, u16),
}

impl Checker<'_> {
    /// Two active blocks of one list that would create the same IPVS service (or, for
    /// failover, monitor the same address and port).
    pub(super) fn duplicates(&mut self, list: &[VirtualServer], failover: bool) {
        let mut seen: FastMap<Key<'_>, usize> = FastMap::default();
        let mut names: FastMap<&str, usize> = FastMap::default();
        for (index, vs) in list.iter().enumerate() {
            let r = BlockRef { failover, index };
            if !vs.name.is_empty()
                && let Some(first) = names.insert(&vs.name, index)
            {
                self.same_name(vs, r, first);
            }
            let Some(key) = self.service_key(vs, r) else {
                continue;
            };
            match seen.get(&key) {
                Some(&first) => self.same_service(&key, &list[first], vs, r, first),
                None => {
                    seen.insert(key, index);
                }
            }
        }
    }

    fn same_name(&mut self, vs: &VirtualServer, r: BlockRef, first: usize) {
        self.diags.push(
            Diagnostic::warning(
                self.header(r),
                format!(
                    "another block is also named `{}`; log lines will not tell them apart",
                    vs.name
                ),
            )
            .with_note(
                self.header(BlockRef {
                    failover: r.failover,
                    index: first,
                }),
                "first block with this name",
            ),
        );
    }

    /// The service an active block would create, if it is one to compare.
    fn service_key<'k>(&self, vs: &'k VirtualServer, r: BlockRef) -> Option<Key<'k>> {
        // A key that failed to parse (or was misspelt) leaves its default in the model:
        // comparing that would report a duplicate the admin did not write.
        let keys = &self.src(r).keys;
        if !vs.active
            || ["address", "port", "protocol", "fwmark"]
                .iter()
                .any(|k| keys.failed(k))
        {
            return None;
        }
        match (vs.fwmark, &vs.address) {
            (Some(m), _) if !r.failover => Some(Key::Mark(m)),
            (_, Some(a)) if !a.address.is_unspecified() => {
                Some(Key::Addr(&a.address, vs.protocol.as_str(), vs.port))
            }
            _ => None,
        }
    }

    fn same_service(
        &mut self,
        key: &Key<'_>,
        first_vs: &VirtualServer,
        vs: &VirtualServer,
        r: BlockRef,
        first: usize,
    ) {
        let what = match key {
            Key::Mark(m) => format!("firewall mark {m}"),
            Key::Addr(h, p, port) => format!("{p} {}", join_host_port(h, *port)),
        };
        let at = if vs.fwmark.is_some() && !r.failover {
            "fwmark"
        } else {
            "address"
        };
        self.diags.push(
            Diagnostic::semantic(
                self.at(r, at),
                format!(
                    "`{}` and `{}` are both active for {what}",
                    first_vs.name, vs.name
                ),
            )
            .with_note(
                self.header(BlockRef {
                    failover: r.failover,
                    index: first,
                }),
                "the first one is here",
            )
            .with_help("deactivate one of them, or change its address, port or fwmark"),
        );
    }
}
