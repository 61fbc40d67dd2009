//! mh: Maglev hashing as Linux's `ip_vs_mh` does it, so that a director on the userspace
//! data plane and one on the kernel's IPVS send a client to the same real server.
//!
//! The kernel's facts this follows (Linux 4.18 to 6.x, `net/netfilter/ipvs/ip_vs_mh.c`):
//! - The lookup table has [`TABLE_SIZE`] = 4093 slots: the fifth of its primes (251, 509,
//!   1021, 2039, 4093, …), chosen by `CONFIG_IP_VS_MH_TAB_INDEX` = 12, the default and
//!   Debian's setting.
//! - Every hash is the kernel's `hsiphash` of one 32-bit word, which on 64-bit machines is
//!   SipHash-1-3 with a 128-bit key, truncated to 32 bits. The keys are constants, the same
//!   on every machine and boot (no per-boot secret), so the choice can be reproduced
//!   exactly: [`KEY_OFFSET`] for a server's starting slot and for a flow's slot,
//!   [`KEY_SKIP`] for a server's step.
//! - The hashed word is `offset + port + address` (wrapping), the address folded to 32
//!   bits ([`fold32`]) and the port in host order.
//! - A server's preference list starts at `hash(addr, port) % 4093` and steps by
//!   `hash2(addr, port) % 4092 + 1`. The table is filled in rounds over the servers in the
//!   kernel's list order (newest first); in each round a server claims `turns` free slots
//!   in a row, where `turns = (last_weight / gcd) >> shift` (at least 1 for a positive
//!   weight), gcd over the positive last weights, and `shift` keeps the largest
//!   `weight / gcd` within 6 bits. A server whose last weight is 0 claims nothing.
//! - The weights used are `last_weight` (the latest weight other than 0), so quiescing a
//!   server does not move the other servers' flows; it only makes its own slots
//!   unavailable.
//! - A flow hashes the client address (with mh-port, plus the client port) at offset 0.
//!   Without mh-fallback, an unavailable owner (weight 0) refuses the connection; with it,
//!   the flow is hashed again at offsets `(i + first) % 4093` for i = 0, 1, … until an
//!   available owner turns up.

use std::net::{IpAddr, SocketAddr};

use super::{DestLoad, FlowKey, Scheduler, available, fold32, gcd};

/// Slots in the lookup table (Linux's default `IP_VS_MH_TAB_SIZE`).
pub const TABLE_SIZE: usize = 4093;
/// `IP_VS_MH_TAB_BITS`: half of `CONFIG_IP_VS_MH_TAB_INDEX`.
const TABLE_BITS: u32 = 6;
/// The kernel's `hash1` key: a server's first slot, and a flow's slot.
pub const KEY_OFFSET: [u64; 2] = [2_654_435_761, 2_654_435_761];
/// The kernel's `hash2` key: a server's step through the table.
pub const KEY_SKIP: [u64; 2] = [2_654_446_892, 2_654_446_892];

/// One SipHash round over the four state words.
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-c-d of `msg` under `key` (c compression rounds per word, d finalisation
/// rounds), the 64-bit result.
pub fn siphash(key: [u64; 2], msg: &[u8], c: usize, d: usize) -> u64 {
    // "somepseudorandomlygeneratedbytes", as four little-endian words.
    let mut v = [
        key[0] ^ 0x736f_6d65_7073_6575,
        key[1] ^ 0x646f_7261_6e64_6f6d,
        key[0] ^ 0x6c79_6765_6e65_7261,
        key[1] ^ 0x7465_6462_7974_6573,
    ];
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        for _ in 0..c {
            sip_round(v);
        }
        v[0] ^= m;
    };
    let words = msg.chunks_exact(8);
    let tail = words.remainder();
    for w in words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        compress(&mut v, u64::from_le_bytes(b));
    }
    let mut last = (msg.len() as u64) << 56;
    for (i, &byte) in tail.iter().enumerate() {
        last |= u64::from(byte) << (8 * i);
    }
    compress(&mut v, last);
    v[2] ^= 0xff;
    for _ in 0..d {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// The kernel's `hsiphash` of one 32-bit word on a 64-bit machine: SipHash-1-3 of its
/// four little-endian bytes, truncated.
pub fn hsiphash_u32(key: [u64; 2], word: u32) -> u32 {
    siphash(key, &word.to_le_bytes(), 1, 3) as u32
}

/// `ip_vs_mh_hashkey`: the hash of `offset + port + address`.
pub fn hashkey(addr: IpAddr, port: u16, key: [u64; 2], offset: u32) -> u32 {
    let word = offset
        .wrapping_add(u32::from(port))
        .wrapping_add(fold32(addr));
    hsiphash_u32(key, word)
}

/// Position of the highest set bit, 1-based; 0 for 0 (the kernel's `fls`).
fn fls(x: u32) -> u32 {
    32 - x.leading_zeros()
}

/// The lookup table for `dests`: each slot's destination index, or all None when no
/// destination has a positive last weight.
pub fn build_table(dests: &[DestLoad]) -> Vec<Option<usize>> {
    let mut table = vec![None; TABLE_SIZE];
    let g = dests
        .iter()
        .map(|d| d.last_weight)
        .filter(|&w| w > 0)
        .fold(0, |g, w| if g == 0 { w } else { gcd(g, w) });
    if g < 1 {
        return table;
    }
    let max = dests.iter().map(|d| d.last_weight).max().unwrap_or(0);
    let shift = fls((max / g) as u32).saturating_sub(TABLE_BITS);
    // The kernel's list order: newest (last added) first.
    struct Setup {
        index: usize,
        perm: usize,
        skip: usize,
        turns: i32,
    }
    let mut setup: Vec<Setup> = (0..dests.len())
        .rev()
        .map(|index| {
            let d = &dests[index];
            let (ip, port) = (d.addr.ip(), d.addr.port());
            let lw = d.last_weight.max(0);
            let t = (lw / g) >> shift;
            Setup {
                index,
                perm: hashkey(ip, port, KEY_OFFSET, 0) as usize % TABLE_SIZE,
                skip: hashkey(ip, port, KEY_SKIP, 0) as usize % (TABLE_SIZE - 1) + 1,
                turns: if t > 0 { t } else { i32::from(lw != 0) },
            }
        })
        .collect();
    let mut taken = vec![false; TABLE_SIZE];
    let mut filled = 0;
    // Some server has turns >= 1 (g >= 1), so every round fills at least one slot.
    loop {
        for s in setup.iter_mut().filter(|s| s.turns > 0) {
            for _ in 0..s.turns {
                while taken[s.perm] {
                    s.perm = (s.perm + s.skip) % TABLE_SIZE;
                }
                taken[s.perm] = true;
                table[s.perm] = Some(s.index);
                filled += 1;
                if filled == TABLE_SIZE {
                    return table;
                }
            }
        }
    }
}

/// mh: Maglev hashing (see the module's documentation); `fallback` and `port` are the
/// mh-fallback and mh-port flags.
#[derive(Debug, Clone, Default)]
pub struct Maglev {
    fallback: bool,
    port: bool,
    /// Destination index per slot; empty until built.
    table: Vec<Option<usize>>,
    /// The addresses and last weights the table was built for; None forces a rebuild.
    built_for: Option<Vec<(SocketAddr, i32)>>,
}

impl Maglev {
    pub fn new(fallback: bool, port: bool) -> Maglev {
        Maglev {
            fallback,
            port,
            ..Maglev::default()
        }
    }

    /// The slot `key` hashes to first.
    pub fn first_slot(&self, key: &FlowKey) -> usize {
        let port = if self.port { key.client_port } else { 0 };
        hashkey(key.client, port, KEY_OFFSET, 0) as usize % TABLE_SIZE
    }

    /// The destination owning `key`'s first slot, whether or not it may take a connection
    /// now (for diagnostics and tests); the table is rebuilt first if `dests` changed.
    pub fn owner(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        self.refresh(dests);
        self.table.get(self.first_slot(key)).copied().flatten()
    }

    fn refresh(&mut self, dests: &[DestLoad]) {
        let current = self.built_for.as_ref().is_some_and(|b| {
            b.iter()
                .copied()
                .eq(dests.iter().map(|d| (d.addr, d.last_weight)))
        });
        if !current {
            self.table = build_table(dests);
            self.built_for = Some(dests.iter().map(|d| (d.addr, d.last_weight)).collect());
        }
    }
}

impl Scheduler for Maglev {
    fn name(&self) -> &'static str {
        "mh"
    }

    fn pick(&mut self, dests: &[DestLoad], key: &FlowKey) -> Option<usize> {
        let first = self.first_slot(key);
        let owner = self.owner(dests, key)?;
        if available(&dests[owner]) {
            return Some(owner);
        }
        if !self.fallback {
            return None;
        }
        let port = if self.port { key.client_port } else { 0 };
        for i in 0..TABLE_SIZE {
            let offset = ((i + first) % TABLE_SIZE) as u32;
            let slot = hashkey(key.client, port, KEY_OFFSET, offset) as usize % TABLE_SIZE;
            let d = self.table.get(slot).copied().flatten()?;
            if available(&dests[d]) {
                return Some(d);
            }
        }
        None
    }

    fn reset(&mut self) {
        self.built_for = None;
    }
}

#[cfg(test)]
#[path = "maglev_tests.rs"]
mod tests;
