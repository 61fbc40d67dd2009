//! The server-rendered pages of the web tool (issue 15), piranha's tabs: Control/Monitoring
//! ([`monitor`]), Global settings and Redundancy ([`settings`]), Virtual servers with their
//! real servers and monitoring ([`virtuals`], [`blockform`], [`real`]), Failover services
//! (the same modules), and lvs.cf itself ([`lvscf_page`]).
//!
//! Every change goes the same way: a form's fields (named by their lvs.cf keywords) become
//! edits of the file's text ([`textedit`], or lvscf's typed edits for adding, deleting and
//! activating blocks); the whole new file is judged by lvscf ([`validate`]) and an error comes
//! back next to its field (422, nothing written); a valid file is shown as a diff
//! ([`diff`], [`apply`]) and written, with its serial number bumped and the daemons reloaded,
//! only when the admin applies it, through the API's own write path (same ETag check, so a
//! file changed meanwhile is refused with 409).
//!
//! Pages work without JavaScript; [`assets`] serves the stylesheet and the script that keeps
//! the monitoring page live from `GET /api/v1/events`. Everything shown passes [`html::esc`].

pub mod apply;
pub mod assets;
pub mod blockform;
pub mod diff;
pub mod forms;
pub mod highlight;
pub mod html;
pub mod layout;
pub mod local;
pub mod lvscf_page;
pub mod monitor;
pub mod real;
pub mod settings;
pub mod textedit;
pub mod validate;
pub mod virtuals;

use axum::http::StatusCode;
use axum::response::Response;
use lvscf::keywords::{GLOBAL_KEYWORDS, SERVER_KEYWORDS, VIRTUAL_KEYWORDS};
use lvscf::source::{BlockSource, KeySpans};

use self::html::esc;
use self::layout::{Ctx, Tab, page, reply};
use self::textedit::ScopeText;
use crate::api::lvs_cf::etag;
use crate::server::guard::Caller;
use crate::server::state::Shared;

/// lvs.cf as read for a page.
#[derive(Debug)]
pub struct Current {
    pub text: String,
    pub etag: String,
    pub parsed: lvscf::Parsed,
}

/// Read and parse lvs.cf (a 500 page when it cannot be read).
pub async fn load(state: &Shared) -> Result<Current, Response> {
    let bytes = crate::api::handlers::read_config(state)
        .await
        .map_err(|_| {
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                page(
                    &Ctx::default(),
                    None,
                    "lvs.cf cannot be read",
                    &format!(
                        "<p>{} cannot be read: check that it exists and that this service's user \
                     may read and write it (see the log).</p>",
                        esc(&state.config.display().to_string())
                    ),
                ),
            )
        })?;
    let etag = etag(&bytes);
    let text = lvscf::text_of(bytes);
    let parsed = lvscf::parse(&text);
    Ok(Current { text, etag, parsed })
}

/// The frame's context for `caller`, as of the file `cur`.
pub fn ctx(caller: &Caller, flash: Option<String>, cur: &Current) -> Ctx {
    let primary = cur.parsed.model.primary.as_ref().and_then(|h| h.ip());
    Ctx {
        user: caller.user().to_owned(),
        csrf: match caller {
            Caller::Session { session, .. } => session.csrf.clone(),
            Caller::Basic { .. } => String::new(),
        },
        flash,
        not_primary: !local::is_primary(primary, &local::addresses()),
    }
}

/// A page that only says something, with a status.
pub fn message(
    ctx: &Ctx,
    tab: Option<Tab>,
    status: StatusCode,
    title: &str,
    msg: &str,
) -> Response {
    reply(
        status,
        page(
            ctx,
            tab,
            title,
            &format!("<p class=\"message\">{}</p>", esc(msg)),
        ),
    )
}

/// What a form edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Global,
    Block { failover: bool, name: String },
    Server { vs: String, name: String },
}

impl Target {
    pub fn block_word(failover: bool) -> &'static str {
        if failover { "failover" } else { "virtual" }
    }
}

fn stmts(keys: &KeySpans, table: &'static [&'static str]) -> Vec<(&'static str, lvscf::Span)> {
    table
        .iter()
        .filter_map(|k| keys.stmt(k).map(|s| (*k, s)))
        .collect()
}

fn block_scope(b: &BlockSource, word: &'static str, table: &'static [&'static str]) -> ScopeText {
    ScopeText {
        stmts: stmts(&b.keys, table),
        header: Some((b.header, word)),
        new_first: false,
    }
}

/// Where `target` is in the parsed file, and its model as lvscf's JSON (`None` when the file
/// has no such block).
pub fn scope(parsed: &lvscf::Parsed, target: &Target) -> Option<(ScopeText, serde_json::Value)> {
    let json = |v: &dyn erased::Json| v.json();
    match target {
        Target::Global => Some((
            ScopeText {
                stmts: stmts(&parsed.source.global, GLOBAL_KEYWORDS),
                header: None,
                new_first: false,
            },
            json(&parsed.model),
        )),
        Target::Block { failover, name } => {
            let (list, sources) = if *failover {
                (
                    &parsed.model.failover_services,
                    &parsed.source.failover_services,
                )
            } else {
                (
                    &parsed.model.virtual_servers,
                    &parsed.source.virtual_servers,
                )
            };
            let i = list.iter().rposition(|v| v.name == *name)?;
            let src = sources.get(i)?;
            let word = Target::block_word(*failover);
            Some((block_scope(src, word, VIRTUAL_KEYWORDS), json(&list[i])))
        }
        Target::Server { vs, name } => {
            let i = parsed
                .model
                .virtual_servers
                .iter()
                .rposition(|v| v.name == *vs)?;
            let v = &parsed.model.virtual_servers[i];
            let j = v.servers.iter().rposition(|s| s.name == *name)?;
            let src = parsed.source.virtual_servers.get(i)?.servers.get(j)?;
            Some((
                block_scope(src, "server", SERVER_KEYWORDS),
                json(&v.servers[j]),
            ))
        }
    }
}

/// Model values as JSON without naming their types.
mod erased {
    pub trait Json {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}
