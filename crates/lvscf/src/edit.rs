//! Edits of a configuration through the typed model: the pure core of the web service's
//! `PATCH /api/v1/config` (piranha-gui(8)).
//!
//! An [`Edit`] is one change a page of the web tool makes (add a real server, rename a virtual
//! server, set the heartbeat...), deserialised from tagged JSON (`{"op": "add_server", ...}`).
//! [`apply`] applies a list of them to a model, all or nothing; [`rewrite`] does it to a parsed
//! file and writes the result into the file's text: what the edits did not change keeps its
//! bytes, and the comments stay with the blocks they were written in even when other blocks
//! are added, deleted or renamed ([`Origins`]). No I/O.
//!
//! Values are given as in `lvscf dump --json`: a `set` object holds fields of the model,
//! which replace the current ones (fields not named keep their value; a new block starts from
//! the defaults of the keywords). Fields are checked by their types here and the whole
//! result by the parser when the caller reads the new text back.
//!
//! `fields` holds the merging of a `set` object into a model value, `origins` where each
//! block of the result came from, `splice` the putting of changed parts into the old text.

mod fields;
mod origins;
mod splice;

use serde::{Deserialize, Serialize};

pub use fields::Fields;
use fields::merged;
pub use origins::{BlockOrigin, Origins};

use crate::model::{LvsConfig, RealServer, VirtualServer};
use crate::writer::{self, WriteError, WriteOptions};
use crate::{Parsed, Trivia};

/// One change, as the web tool sends it. Blocks and servers are named by their names; new ones
/// are appended to their list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Edit {
    /// Global keywords (everything but `serial_no` and the blocks).
    SetGlobal {
        set: Fields,
    },
    /// The redundancy keywords only ([`REDUNDANCY_KEYS`]).
    SetRedundancy {
        set: Fields,
    },
    AddVirtual {
        name: String,
        #[serde(default)]
        set: Fields,
    },
    /// `set` may hold `name` (a rename) but not `servers` (use the server edits).
    UpdateVirtual {
        name: String,
        set: Fields,
    },
    DeleteVirtual {
        name: String,
    },
    SetVirtualActive {
        name: String,
        active: bool,
    },
    /// A real server of virtual server `virtual`; its port defaults to the virtual's.
    AddServer {
        #[serde(rename = "virtual")]
        vs: String,
        name: String,
        #[serde(default)]
        set: Fields,
    },
    UpdateServer {
        #[serde(rename = "virtual")]
        vs: String,
        name: String,
        set: Fields,
    },
    DeleteServer {
        #[serde(rename = "virtual")]
        vs: String,
        name: String,
    },
    SetServerActive {
        #[serde(rename = "virtual")]
        vs: String,
        name: String,
        active: bool,
    },
    AddFailover {
        name: String,
        #[serde(default)]
        set: Fields,
    },
    UpdateFailover {
        name: String,
        set: Fields,
    },
    DeleteFailover {
        name: String,
    },
    SetFailoverActive {
        name: String,
        active: bool,
    },
}

/// The keywords of piranha's redundancy page, which `set_redundancy` takes.
pub const REDUNDANCY_KEYS: &[&str] = &[
    "backup_active",
    "backup",
    "backup_private",
    "backup_shared",
    "heartbeat",
    "heartbeat_port",
    "keepalive",
    "deadtime",
    "monitor_links",
    "syncdaemon",
    "syncd_iface",
    "syncd_id",
    "hot_standby",
];

impl Edit {
    /// The `op` tag.
    pub fn op(&self) -> &'static str {
        match self {
            Edit::SetGlobal { .. } => "set_global",
            Edit::SetRedundancy { .. } => "set_redundancy",
            Edit::AddVirtual { .. } => "add_virtual",
            Edit::UpdateVirtual { .. } => "update_virtual",
            Edit::DeleteVirtual { .. } => "delete_virtual",
            Edit::SetVirtualActive { .. } => "set_virtual_active",
            Edit::AddServer { .. } => "add_server",
            Edit::UpdateServer { .. } => "update_server",
            Edit::DeleteServer { .. } => "delete_server",
            Edit::SetServerActive { .. } => "set_server_active",
            Edit::AddFailover { .. } => "add_failover",
            Edit::UpdateFailover { .. } => "update_failover",
            Edit::DeleteFailover { .. } => "delete_failover",
            Edit::SetFailoverActive { .. } => "set_failover_active",
        }
    }
}

/// What an edit names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Virtual(String),
    Failover(String),
    Server { vs: String, name: String },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Virtual(n) => write!(f, "virtual server {n:?}"),
            Target::Failover(n) => write!(f, "failover service {n:?}"),
            Target::Server { vs, name } => {
                write!(f, "real server {name:?} of virtual server {vs:?}")
            }
        }
    }
}

/// Why one edit cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditErrorKind {
    #[error("there is no {0}")]
    Missing(Target),
    #[error("there is a {0} already")]
    Duplicate(Target),
    #[error("a name cannot be empty")]
    EmptyName,
    #[error("{key:?} cannot be set here: {why}")]
    Forbidden { key: String, why: &'static str },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

/// Why a list of edits was not applied (nothing is, then).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// Edit number `index` (from 0) of the list.
    #[error("edit {index} ({op}): {kind}")]
    Edit {
        index: usize,
        op: &'static str,
        kind: EditErrorKind,
    },
    /// The result holds a value lvs.cf cannot spell.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// A model after edits, and where its blocks came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub config: LvsConfig,
    pub origins: Origins,
}

/// `cfg` with every edit applied in order, or the first failure.
pub fn apply(cfg: &LvsConfig, edits: &[Edit]) -> Result<LvsConfig, EditError> {
    apply_tracked(cfg, edits).map(|a| a.config)
}

/// As [`apply`], keeping track of where each block and server came from.
pub fn apply_tracked(cfg: &LvsConfig, edits: &[Edit]) -> Result<Applied, EditError> {
    let mut a = Applied {
        config: cfg.clone(),
        origins: Origins::identity(cfg),
    };
    for (index, e) in edits.iter().enumerate() {
        a.one(e).map_err(|kind| EditError::Edit {
            index,
            op: e.op(),
            kind,
        })?;
    }
    Ok(a)
}

/// The text after edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub config: LvsConfig,
    pub text: String,
}

/// Apply `edits` to the file `text` (parsed as `parsed`, without errors) and write the result,
/// keeping the comments: those of a deleted block or server go with it, the others stay with
/// the item they were attached to. The parts the edits did not change keep their text byte for
/// byte: each changed block, and each changed global statement, is replaced by its canonical
/// text; new blocks follow the last block of their list (see `splice`). When that cannot be
/// done, the whole file is written in canonical layout. When the edits change nothing the file
/// would read back, the text is returned as it was.
pub fn rewrite(text: &str, parsed: &Parsed, edits: &[Edit]) -> Result<Rewritten, EditError> {
    let applied = apply_tracked(&parsed.model, edits)?;
    // As the file would read back (`backup = 0.0.0.0` is no backup...).
    let normalized = writer::normalize(&applied.config)?;
    if normalized == parsed.model {
        return Ok(Rewritten {
            config: applied.config,
            text: text.to_owned(),
        });
    }
    let trivia: Trivia = applied.origins.trivia(&parsed.trivia);
    let source = applied.origins.source(&parsed.source);
    let canon = writer::write_with(
        &applied.config,
        WriteOptions {
            trivia: Some(&trivia),
            source: Some(&source),
            explicit: false,
        },
    )?;
    let text = match splice::splice(text, parsed, &applied.origins, &normalized, &canon) {
        Some(spliced) if reads_as(&spliced, &normalized) => spliced,
        _ => canon,
    };
    Ok(Rewritten {
        config: applied.config,
        text,
    })
}

/// Whether `text` reads back as `model` without syntax errors.
fn reads_as(text: &str, model: &LvsConfig) -> bool {
    let p = crate::parse(text);
    p.model == *model
        && !p
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.category != crate::Category::Semantic)
}

const WHY_SERIAL: &str = "the server increments it on every write";
const WHY_BLOCKS: &str = "use the block edits";
const WHY_SERVERS: &str = "use the server edits";
const WHY_NAME: &str = "give it as \"name\"";
const WHY_REDUNDANCY: &str = "not a redundancy keyword (use set_global)";

impl Applied {
    fn one(&mut self, e: &Edit) -> Result<(), EditErrorKind> {
        match e {
            Edit::SetGlobal { set } => self.set_global(set, false),
            Edit::SetRedundancy { set } => self.set_global(set, true),
            Edit::AddVirtual { name, set } => self.add_block(false, name, set),
            Edit::UpdateVirtual { name, set } => self.update_block(false, name, set),
            Edit::DeleteVirtual { name } => self.delete_block(false, name),
            Edit::SetVirtualActive { name, active } => {
                let i = self.find_block(false, name)?;
                self.config.virtual_servers[i].active = *active;
                Ok(())
            }
            Edit::AddFailover { name, set } => self.add_block(true, name, set),
            Edit::UpdateFailover { name, set } => self.update_block(true, name, set),
            Edit::DeleteFailover { name } => self.delete_block(true, name),
            Edit::SetFailoverActive { name, active } => {
                let i = self.find_block(true, name)?;
                self.config.failover_services[i].active = *active;
                Ok(())
            }
            Edit::AddServer { vs, name, set } => self.add_server(vs, name, set),
            Edit::UpdateServer { vs, name, set } => self.update_server(vs, name, set),
            Edit::DeleteServer { vs, name } => {
                let (v, s) = self.find_server(vs, name)?;
                self.config.virtual_servers[v].servers.remove(s);
                self.origins.virtual_servers[v].servers.remove(s);
                Ok(())
            }
            Edit::SetServerActive { vs, name, active } => {
                let (v, s) = self.find_server(vs, name)?;
                self.config.virtual_servers[v].servers[s].active = *active;
                Ok(())
            }
        }
    }

    fn set_global(&mut self, set: &Fields, redundancy: bool) -> Result<(), EditErrorKind> {
        for key in set.keys() {
            let why = match key.as_str() {
                "serial_no" => Some(WHY_SERIAL),
                "virtual_servers" | "failover_services" => Some(WHY_BLOCKS),
                k if redundancy && !REDUNDANCY_KEYS.contains(&k) => Some(WHY_REDUNDANCY),
                _ => None,
            };
            if let Some(why) = why {
                return Err(forbidden(key, why));
            }
        }
        // The blocks stay out of the JSON round trip (a file may have thousands).
        let virtuals = std::mem::take(&mut self.config.virtual_servers);
        let failovers = std::mem::take(&mut self.config.failover_services);
        let result = merged(&self.config, set, "global settings");
        let mut cfg = match result {
            Ok(c) => c,
            Err(e) => {
                self.config.virtual_servers = virtuals;
                self.config.failover_services = failovers;
                return Err(e);
            }
        };
        cfg.virtual_servers = virtuals;
        cfg.failover_services = failovers;
        // A private address that was the public one's copy (not set) follows it.
        let old = &self.config;
        let follows =
            |public: &str, private: &str| set.contains_key(public) && !set.contains_key(private);
        if follows("primary", "primary_private") && old.primary_private == old.primary {
            cfg.primary_private = cfg.primary.clone();
        }
        if follows("backup", "backup_private") && old.backup_private == old.backup {
            cfg.backup_private = cfg.backup.clone();
        }
        self.config = cfg;
        Ok(())
    }

    fn list(&mut self, failover: bool) -> (&mut Vec<VirtualServer>, &mut Vec<BlockOrigin>) {
        if failover {
            (
                &mut self.config.failover_services,
                &mut self.origins.failover_services,
            )
        } else {
            (
                &mut self.config.virtual_servers,
                &mut self.origins.virtual_servers,
            )
        }
    }

    fn blocks(&self, failover: bool) -> &[VirtualServer] {
        if failover {
            &self.config.failover_services
        } else {
            &self.config.virtual_servers
        }
    }

    fn find_block(&self, failover: bool, name: &str) -> Result<usize, EditErrorKind> {
        self.blocks(failover)
            .iter()
            .position(|b| b.name == name)
            .ok_or_else(|| EditErrorKind::Missing(block_target(failover, name)))
    }

    fn add_block(&mut self, failover: bool, name: &str, set: &Fields) -> Result<(), EditErrorKind> {
        check_name(name)?;
        if let Some(key) = ["name", "servers"]
            .into_iter()
            .find(|k| set.contains_key(*k))
        {
            let why = if key == "name" { WHY_NAME } else { WHY_SERVERS };
            return Err(forbidden(key, why));
        }
        if self.find_block(failover, name).is_ok() {
            return Err(EditErrorKind::Duplicate(block_target(failover, name)));
        }
        let block = merged(&VirtualServer::new(name), set, block_target(failover, name))?;
        let (list, origins) = self.list(failover);
        list.push(block);
        origins.push(BlockOrigin::default());
        Ok(())
    }

    /// A changed `port` carries along the servers that had the old one (they inherited it).
    fn update_block(
        &mut self,
        failover: bool,
        name: &str,
        set: &Fields,
    ) -> Result<(), EditErrorKind> {
        if set.contains_key("servers") {
            return Err(forbidden("servers", WHY_SERVERS));
        }
        let i = self.find_block(failover, name)?;
        let target = block_target(failover, name);
        let (list, _) = self.list(failover);
        let servers = std::mem::take(&mut list[i].servers);
        let mut block = match merged(&list[i], set, &target) {
            Ok(b) => b,
            Err(e) => {
                list[i].servers = servers;
                return Err(e);
            }
        };
        let old_port = list[i].port;
        block.servers = servers;
        if block.port != old_port {
            for s in block.servers.iter_mut().filter(|s| s.port == old_port) {
                s.port = block.port;
            }
        }
        if block.name != name {
            check_name(&block.name)?;
            if list.iter().any(|b| b.name == block.name) {
                return Err(EditErrorKind::Duplicate(block_target(
                    failover,
                    &block.name,
                )));
            }
        }
        list[i] = block;
        Ok(())
    }

    fn delete_block(&mut self, failover: bool, name: &str) -> Result<(), EditErrorKind> {
        let i = self.find_block(failover, name)?;
        let (list, origins) = self.list(failover);
        list.remove(i);
        origins.remove(i);
        Ok(())
    }

    fn find_server(&self, vs: &str, name: &str) -> Result<(usize, usize), EditErrorKind> {
        let v = self.find_block(false, vs)?;
        let s = self.config.virtual_servers[v]
            .servers
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| EditErrorKind::Missing(server_target(vs, name)))?;
        Ok((v, s))
    }

    fn add_server(&mut self, vs: &str, name: &str, set: &Fields) -> Result<(), EditErrorKind> {
        check_name(name)?;
        if set.contains_key("name") {
            return Err(forbidden("name", WHY_NAME));
        }
        let v = self.find_block(false, vs)?;
        let block = &mut self.config.virtual_servers[v];
        if block.servers.iter().any(|s| s.name == name) {
            return Err(EditErrorKind::Duplicate(server_target(vs, name)));
        }
        let fresh = RealServer::new(name, block.port);
        let server = merged(&fresh, set, server_target(vs, name))?;
        block.servers.push(server);
        self.origins.virtual_servers[v].servers.push(None);
        Ok(())
    }

    fn update_server(&mut self, vs: &str, name: &str, set: &Fields) -> Result<(), EditErrorKind> {
        let (v, s) = self.find_server(vs, name)?;
        let servers = &mut self.config.virtual_servers[v].servers;
        let server = merged(&servers[s], set, server_target(vs, name))?;
        if server.name != name {
            check_name(&server.name)?;
            if servers.iter().any(|o| o.name == server.name) {
                return Err(EditErrorKind::Duplicate(server_target(vs, &server.name)));
            }
        }
        servers[s] = server;
        Ok(())
    }
}

fn forbidden(key: &str, why: &'static str) -> EditErrorKind {
    EditErrorKind::Forbidden {
        key: key.to_owned(),
        why,
    }
}

fn check_name(name: &str) -> Result<(), EditErrorKind> {
    if name.is_empty() {
        return Err(EditErrorKind::EmptyName);
    }
    Ok(())
}

fn block_target(failover: bool, name: &str) -> Target {
    if failover {
        Target::Failover(name.to_owned())
    } else {
        Target::Virtual(name.to_owned())
    }
}

fn server_target(vs: &str, name: &str) -> Target {
    Target::Server {
        vs: vs.to_owned(),
        name: name.to_owned(),
    }
}

#[cfg(test)]
mod tests;
