//! sh and dh: IPVS's source and destination hashing over a 256-bucket table.

use std::net::IpAddr;

use super::{DestLoad, FlowKey, Scheduler, available};

/// Number of buckets in the sh and dh tables (IPVS's default `IP_VS_{SH,DH}_TAB_BITS`).
pub const HASH_BUCKETS: usize = 1 << HASH_BITS;
const HASH_BITS: u32 = 8;

/// An address folded to 32 bits as IPVS's hashing schedulers do: IPv4 as a number,
/// IPv6 as the XOR of its four 32-bit words.
pub fn fold32(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let o = a.octets();
            o.chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .fold(0, |x, w| x ^ w)
        }
    }
}

/// The bucket an address hashes to in the sh/dh tables: the address folded to 32 bits
/// ([`fold32`]), times the kernel's `GOLDEN_RATIO_32`, top 8 bits (Linux's
/// `hash_32(addr, 8)`).
pub fn hash_bucket(addr: IpAddr) -> usize {
    sh_bucket(addr, 0, 0)
}

/// IPVS's `ip_vs_sh_hashkey`: `port` (0 without sh-port) is added to the folded address
/// before hashing, `offset` (the fallback's probe) after.
pub fn sh_bucket(addr: IpAddr, port: u16, offset: usize) -> usize {
    let v = fold32(addr).wrapping_add(u32::from(port));
    (offset + (v.wrapping_mul(0x61C8_8647) >> (32 - HASH_BITS)) as usize) % HASH_BUCKETS
}

/// A 256-bucket table mapping a hash to a destination index, shared by sh and dh.
#[derive(Debug, Clone, Default)]
pub(super) struct BucketTable {
    /// Destination index per bucket; empty when not built (or no destinations).
    pub(super) buckets: Vec<usize>,
    /// The weights the table was built for; None forces a rebuild.
    built_for: Option<Vec<i32>>,
}

impl BucketTable {
    /// Fill the buckets walking the destinations in the kernel's order (the last added
    /// first), wrapping around the list.
    /// `weighted` (sh): each destination takes `weight` consecutive buckets, at least one
    /// (IPVS gives a weight-0 destination one bucket too); otherwise (dh) one each.
    pub(super) fn build(&mut self, dests: &[DestLoad], weighted: bool) {
        self.buckets.clear();
        if !dests.is_empty() {
            // The kernel's list order: the last added first.
            let order: Vec<usize> = (0..dests.len()).rev().collect();
            let (mut k, mut filled) = (0usize, 0i64);
            for _ in 0..HASH_BUCKETS {
                let p = order[k];
                self.buckets.push(p);
                filled += 1;
                if !weighted || filled >= i64::from(dests[p].weight) {
                    k = (k + 1) % order.len();
                    filled = 0;
                }
            }
        }
        self.built_for = Some(dests.iter().map(|d| d.weight).collect());
    }

    /// The destination owning `addr`'s bucket, rebuilding the table first when it was
    /// reset or built for other destinations (`weighted`: other weights too).
    fn owner(&mut self, dests: &[DestLoad], addr: IpAddr, weighted: bool) -> Option<usize> {
        self.owner_of(dests, hash_bucket(addr), weighted)
    }

    /// The destination owning `bucket`, rebuilding the table first as `owner` does.
    fn owner_of(&mut self, dests: &[DestLoad], bucket: usize, weighted: bool) -> Option<usize> {
        let current = self.built_for.as_ref().is_some_and(|w| {
            w.len() == dests.len()
                && (!weighted || w.iter().copied().eq(dests.iter().map(|d| d.weight)))
        });
        if !current {
            self.build(dests, weighted);
        }
        self.buckets
            .get(bucket)
            .copied()
            .filter(|&i| i < dests.len())
    }

    /// As `owner`, but None when the owner may not take a new connection (IPVS without
    /// the sh-fallback flag: no search for another destination).
    fn pick(&mut self, dests: &[DestLoad], addr: IpAddr, weighted: bool) -> Option<usize> {
        self.owner(dests, addr, weighted)
            .filter(|&i| available(&dests[i]))
    }

    fn reset(&mut self) {
        self.built_for = None;
    }
}

/// sh: source hashing: the client address (with sh-port, its port too) picks one of 256
/// buckets, which are shared among the destinations in proportion to their weights, so a
/// client sticks to one destination for as long as the set of destinations does not
/// change. If that destination is quiesced the connection is refused (None), unless the
/// sh-fallback flag is set: then IPVS's probe sequence (the bucket hashed again at offsets
/// 0, 1, 2, … from the first one) finds the first available owner. The table is rebuilt
/// on [`reset`](Scheduler::reset) and whenever the destinations' number or weights differ
/// from the ones it was built for (IPVS rebuilds it on every add, delete and edit).
#[derive(Debug, Clone, Default)]
pub struct SourceHashing {
    table: BucketTable,
    /// sh-fallback.
    fallback: bool,
    /// sh-port.
    port: bool,
}

impl SourceHashing {
    /// sh with the sh-fallback and sh-port flags as given.
    pub fn with_flags(fallback: bool, port: bool) -> SourceHashing {
        SourceHashing {
            fallback,
            port,
            ..SourceHashing::default()
        }
    }

    fn first_bucket(&self, key: &FlowKey) -> usize {
        sh_bucket(key.client, if self.port { key.client_port } else { 0 }, 0)
    }

    /// The destination `key`'s bucket belongs to, whether or not it may take a
    /// connection now (for diagnostics and tests).
    pub fn bucket_owner(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        let b = self.first_bucket(key);
        self.table.owner_of(dests, b, true)
    }
}

impl Scheduler for SourceHashing {
    fn name(&self) -> &'static str {
        "sh"
    }

    fn pick(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        let first = self.first_bucket(key);
        let owner = self.table.owner_of(dests, first, true)?;
        if available(&dests[owner]) {
            return Some(owner);
        }
        if !self.fallback {
            return None;
        }
        let port = if self.port { key.client_port } else { 0 };
        (0..HASH_BUCKETS)
            .map(|off| sh_bucket(key.client, port, (off + first) % HASH_BUCKETS))
            .filter_map(|b| self.table.buckets.get(b).copied())
            .find(|&i| dests.get(i).is_some_and(available))
    }

    fn reset(&mut self) {
        self.table.reset();
    }
}

/// dh: destination hashing: as sh but keyed by the virtual address the client connected
/// to (for cache farms behind a fwmark service, so one origin always hits one cache).
/// As in IPVS's `ip_vs_dh.c`, the 256 buckets are dealt out one per destination in turn,
/// ignoring weights; a weight only decides whether the owner may take the connection
/// (weight 0: None). The table is rebuilt on [`reset`](Scheduler::reset) and whenever
/// the number of destinations differs from the one it was built for.
#[derive(Debug, Clone, Default)]
pub struct DestinationHashing {
    table: BucketTable,
}

impl DestinationHashing {
    /// The destination `key`'s bucket belongs to, whether or not it may take a
    /// connection now (for diagnostics and tests).
    pub fn bucket_owner(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        self.table.owner(dests, key.vip, false)
    }
}

impl Scheduler for DestinationHashing {
    fn name(&self) -> &'static str {
        "dh"
    }

    fn pick(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        self.table.pick(dests, key.vip, false)
    }

    fn reset(&mut self) {
        self.table.reset();
    }
}
