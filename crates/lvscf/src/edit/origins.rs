//! Where the blocks of an edited model came from, so the comments and kept keys of the file
//! ([`Trivia`], [`SourceMap`]), which name blocks and servers by position, follow them.

use std::collections::HashMap;

use crate::model::LvsConfig;
use crate::source::{BlockRef, BlockSource, SourceMap};
use crate::trivia::{Anchor, Trivia};

/// Where one block of the result came from: its index in the original list (`None` for a new
/// block), and the original index of each of its servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockOrigin {
    pub from: Option<usize>,
    pub servers: Vec<Option<usize>>,
}

/// The origin of every block of the result, by list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    pub virtual_servers: Vec<BlockOrigin>,
    pub failover_services: Vec<BlockOrigin>,
}

fn identity(list: &[crate::model::VirtualServer]) -> Vec<BlockOrigin> {
    list.iter()
        .enumerate()
        .map(|(i, b)| BlockOrigin {
            from: Some(i),
            servers: (0..b.servers.len()).map(Some).collect(),
        })
        .collect()
}

/// From old positions to new ones.
struct Moves {
    blocks: HashMap<BlockRef, BlockRef>,
    servers: HashMap<(BlockRef, usize), (BlockRef, usize)>,
}

impl Origins {
    /// Every block where it was.
    pub fn identity(cfg: &LvsConfig) -> Origins {
        Origins {
            virtual_servers: identity(&cfg.virtual_servers),
            failover_services: identity(&cfg.failover_services),
        }
    }

    fn moves(&self) -> Moves {
        let mut m = Moves {
            blocks: HashMap::new(),
            servers: HashMap::new(),
        };
        for (failover, list) in [
            (false, &self.virtual_servers),
            (true, &self.failover_services),
        ] {
            for (index, o) in list.iter().enumerate() {
                let Some(from) = o.from else { continue };
                let old = BlockRef {
                    failover,
                    index: from,
                };
                let new = BlockRef { failover, index };
                m.blocks.insert(old, new);
                for (j, s) in o.servers.iter().enumerate() {
                    if let Some(s) = s {
                        m.servers.insert((old, *s), (new, j));
                    }
                }
            }
        }
        m
    }

    /// The comments of the original file, attached to the items' new positions; those of
    /// deleted items are dropped.
    pub fn trivia(&self, t: &Trivia) -> Trivia {
        let m = self.moves();
        let map = |a: &Anchor| -> Option<Anchor> {
            Some(match *a {
                Anchor::FileStart | Anchor::FileEnd | Anchor::Global(_) => *a,
                Anchor::Block(r) => Anchor::Block(*m.blocks.get(&r)?),
                Anchor::BlockKey(r, k) => Anchor::BlockKey(*m.blocks.get(&r)?, k),
                Anchor::BlockEnd(r) => Anchor::BlockEnd(*m.blocks.get(&r)?),
                Anchor::Server(r, i) => {
                    let (r, i) = *m.servers.get(&(r, i))?;
                    Anchor::Server(r, i)
                }
                Anchor::ServerKey(r, i, k) => {
                    let (r, i) = *m.servers.get(&(r, i))?;
                    Anchor::ServerKey(r, i, k)
                }
                Anchor::ServerEnd(r, i) => {
                    let (r, i) = *m.servers.get(&(r, i))?;
                    Anchor::ServerEnd(r, i)
                }
            })
        };
        fn remap<V: Clone>(
            from: &HashMap<Anchor, V>,
            map: &impl Fn(&Anchor) -> Option<Anchor>,
        ) -> HashMap<Anchor, V> {
            from.iter()
                .filter_map(|(a, v)| Some((map(a)?, v.clone())))
                .collect()
        }
        Trivia {
            leading: remap(&t.leading, &map),
            trailing: remap(&t.trailing, &map),
            spelled: remap(&t.spelled, &map),
        }
    }

    /// The keys the original file had, by the items' new positions (none for new items).
    pub fn source(&self, s: &SourceMap) -> SourceMap {
        let list = |origins: &[BlockOrigin], old: &[BlockSource]| -> Vec<BlockSource> {
            origins
                .iter()
                .map(|o| {
                    let Some(b) = o.from.and_then(|i| old.get(i)) else {
                        return BlockSource::default();
                    };
                    BlockSource {
                        header: b.header,
                        keys: b.keys.clone(),
                        servers: o
                            .servers
                            .iter()
                            .map(|j| {
                                j.and_then(|j| b.servers.get(j))
                                    .cloned()
                                    .unwrap_or_default()
                            })
                            .collect(),
                    }
                })
                .collect()
        };
        SourceMap {
            global: s.global.clone(),
            virtual_servers: list(&self.virtual_servers, &s.virtual_servers),
            failover_services: list(&self.failover_services, &s.failover_services),
        }
    }
}
