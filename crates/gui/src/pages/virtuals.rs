//! VIRTUAL SERVERS and FAILOVER: the lists (`/virtual`, `/failover`) with add, edit, delete
//! and (de)activate; the edit pages (`/virtual/{name}`, `/failover/{name}`, and `/…/new`),
//! a virtual server's with its real servers.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};
use lvscf::VirtualServer;
use lvscf::edit::{Edit, rewrite};

use super::blockform::{Spec, save, show};
use super::forms::{FAILOVER, VIRTUAL};
use super::html::{esc, seg};
use super::layout::{Ctx, FlashQuery, Tab, page, reply};
use super::{Target, apply, ctx, load, message};
use crate::server::guard::Caller;
use crate::server::state::Shared;

fn base_path(failover: bool) -> &'static str {
    if failover { "/failover" } else { "/virtual" }
}

fn tab(failover: bool) -> Tab {
    if failover {
        Tab::Failover
    } else {
        Tab::Virtual
    }
}

/// A small form posting one action (its button has the action as class).
pub fn action_button(c: &Ctx, path: &str, action: &str, label: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}<button type=\"submit\" class=\"{action}\">{}</button></form>",
        esc(path),
        c.csrf_field(),
        esc(label)
    )
}

fn address(v: &VirtualServer) -> String {
    v.address
        .as_ref()
        .map(|a| format!("{} {}", a.address, a.device))
        .unwrap_or_default()
}

fn list_rows(c: &Ctx, failover: bool, blocks: &[VirtualServer]) -> String {
    let mut s = String::new();
    for v in blocks {
        let path = format!("{}/{}", base_path(failover), seg(&v.name));
        let (status, toggle) = if v.active {
            ("active", ("deactivate", "Deactivate"))
        } else {
            ("inactive", ("activate", "Activate"))
        };
        let _ = write!(
            s,
            "<tr data-name=\"{}\"><td class=\"status {status}\">{status}</td>\
             <td><a class=\"edit\" href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td class=\"actions\">",
            esc(&v.name),
            esc(&path),
            esc(&v.name),
            esc(&address(v)),
            esc(&v.vip_nmask.map(|m| m.to_string()).unwrap_or_default()),
            v.port,
            v.protocol,
            if failover {
                String::new()
            } else {
                v.scheduler.to_string()
            },
            if failover {
                String::new()
            } else {
                v.servers.len().to_string()
            },
        );
        s.push_str(&action_button(
            c,
            &format!("{path}/{}", toggle.0),
            toggle.0,
            toggle.1,
        ));
        s.push_str(&action_button(
            c,
            &format!("{path}/delete"),
            "delete",
            "Delete",
        ));
        s.push_str("</td></tr>\n");
    }
    s
}

async fn list(state: Shared, caller: Caller, q: FlashQuery, failover: bool) -> Response {
    let cur = match load(&state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = ctx(&caller, q.message(), &cur);
    let m = &cur.parsed.model;
    let (blocks, id, what) = if failover {
        (
            &m.failover_services,
            "failover-services",
            "failover service",
        )
    } else {
        (&m.virtual_servers, "virtual-servers", "virtual server")
    };
    let mut body = String::new();
    if cur.parsed.has_errors() {
        body.push_str("<p class=\"error\">lvs.cf has errors: the list may be incomplete. Fix them on the <a href=\"/lvs.cf\">lvs.cf</a> page.</p>\n");
    }
    if failover && m.service == lvscf::Service::Lvs {
        body.push_str("<p class=\"note\">The cluster runs LVS (<code>service = lvs</code>): failover services are used when it runs FOS.</p>\n");
    }
    let _ = write!(
        body,
        "<p><a id=\"add-{}\" class=\"button\" href=\"{}/new\">Add a {what}</a></p>\n\
         <div class=\"scroll\"><table id=\"{id}\">\n<thead><tr><th scope=\"col\">Status</th><th scope=\"col\">Name</th>\
         <th scope=\"col\">Address</th><th scope=\"col\">VIP netmask</th><th scope=\"col\">Port</th><th scope=\"col\">Protocol</th>\
         <th scope=\"col\">Scheduler</th><th scope=\"col\">Real servers</th><th scope=\"col\">Actions</th></tr></thead>\n<tbody>\n{}</tbody></table></div>",
        if failover { "failover" } else { "virtual" },
        base_path(failover),
        list_rows(&c, failover, blocks),
    );
    let title = if failover {
        "Failover services"
    } else {
        "Virtual servers"
    };
    reply(StatusCode::OK, page(&c, Some(tab(failover)), title, &body))
}

/// `GET /virtual`.
pub async fn virtual_list(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Query(q): Query<FlashQuery>,
) -> Response {
    list(s, c, q, false).await
}

/// `GET /failover`.
pub async fn failover_list(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Query(q): Query<FlashQuery>,
) -> Response {
    list(s, c, q, true).await
}

/// The real servers of a virtual server, under its form.
fn servers_html(c: &Ctx, v: &VirtualServer) -> String {
    let vpath = format!("/virtual/{}", seg(&v.name));
    let mut s = format!(
        "<h2 id=\"real-servers-of\">Real servers</h2>\n<p><a id=\"add-real\" class=\"button\" href=\"{}/real/new\">Add a real server</a></p>\n\
         <div class=\"scroll\"><table id=\"real-server-list\">\n<thead><tr><th scope=\"col\">Status</th><th scope=\"col\">Name</th>\
         <th scope=\"col\">Address</th><th scope=\"col\">Port</th><th scope=\"col\">Weight</th><th scope=\"col\">Actions</th></tr></thead>\n<tbody>\n",
        esc(&vpath)
    );
    for r in &v.servers {
        let path = format!("{vpath}/real/{}", seg(&r.name));
        let (status, toggle) = if r.active {
            ("active", ("deactivate", "Deactivate"))
        } else {
            ("inactive", ("activate", "Activate"))
        };
        let _ = writeln!(
            s,
            "<tr data-server=\"{}\"><td class=\"status {status}\">{status}</td><td><a class=\"edit\" href=\"{}\">{}</a></td>\
             <td>{}</td><td>{}</td><td>{}</td><td class=\"actions\">{}{}</td></tr>",
            esc(&r.name),
            esc(&path),
            esc(&r.name),
            esc(&r
                .address
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default()),
            r.port,
            r.weight,
            action_button(c, &format!("{path}/{}", toggle.0), toggle.0, toggle.1),
            action_button(c, &format!("{path}/delete"), "delete", "Delete"),
        );
    }
    s.push_str("</tbody></table></div>\n");
    s
}

fn spec(failover: bool, name: Option<&str>) -> Spec {
    let base = base_path(failover);
    let word = if failover {
        "failover service"
    } else {
        "virtual server"
    };
    Spec {
        tab: tab(failover),
        title: match name {
            Some(n) => format!("{} {n}", capitalized(word)),
            None => format!("New {word}"),
        },
        fields: if failover { FAILOVER } else { VIRTUAL },
        target: Target::Block {
            failover,
            name: name.unwrap_or_default().to_owned(),
        },
        action: match name {
            Some(n) => format!("{base}/{}", seg(n)),
            None => format!("{base}/new"),
        },
        back: base.to_owned(),
        creating: name.is_none(),
        intro: String::new(),
        extra: String::new(),
    }
}

async fn edit_page(
    state: Shared,
    caller: Caller,
    q: FlashQuery,
    failover: bool,
    name: Option<String>,
) -> Response {
    let mut sp = spec(failover, name.as_deref());
    if let (false, Some(n)) = (failover, &name)
        && let Ok(cur) = load(&state).await
        && let Some(v) = cur
            .parsed
            .model
            .virtual_servers
            .iter()
            .rfind(|v| v.name == *n)
    {
        let c = ctx(&caller, None, &cur);
        sp.extra = servers_html(&c, v);
        sp.intro = format!(
            "<p><a href=\"#real-servers-of\">Real servers ({})</a> are below the form.</p>\n",
            v.servers.len()
        );
    }
    show(&state, &caller, q.message(), &sp).await
}

/// `GET /virtual/new`.
pub async fn virtual_new(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Query(q): Query<FlashQuery>,
) -> Response {
    edit_page(s, c, q, false, None).await
}

/// `POST /virtual/new`.
pub async fn virtual_create(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    save(&s, &c, &spec(false, None), &f).await
}

/// `GET /virtual/{name}`.
pub async fn virtual_edit(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Response {
    edit_page(s, c, q, false, Some(name)).await
}

/// `POST /virtual/{name}`.
pub async fn virtual_save(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    save(&s, &c, &spec(false, Some(&name)), &f).await
}

/// `GET /failover/new`.
pub async fn failover_new(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Query(q): Query<FlashQuery>,
) -> Response {
    edit_page(s, c, q, true, None).await
}

/// `POST /failover/new`.
pub async fn failover_create(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    save(&s, &c, &spec(true, None), &f).await
}

/// `GET /failover/{name}`.
pub async fn failover_edit(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Response {
    edit_page(s, c, q, true, Some(name)).await
}

/// `POST /failover/{name}`.
pub async fn failover_save(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    save(&s, &c, &spec(true, Some(&name)), &f).await
}

/// The typed edit of a list action, or `None` for an unknown action.
pub fn block_action(failover: bool, name: &str, action: &str) -> Option<Edit> {
    let name = name.to_owned();
    Some(match (failover, action) {
        (false, "delete") => Edit::DeleteVirtual { name },
        (false, "activate" | "deactivate") => Edit::SetVirtualActive {
            name,
            active: action == "activate",
        },
        (true, "delete") => Edit::DeleteFailover { name },
        (true, "activate" | "deactivate") => Edit::SetFailoverActive {
            name,
            active: action == "activate",
        },
        _ => return None,
    })
}

/// Apply one typed edit to the file and show the diff (or why not).
pub async fn propose_edit(
    state: &Shared,
    caller: &Caller,
    tab: Tab,
    edit: Option<Edit>,
    back: &str,
) -> Response {
    let cur = match load(state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = ctx(caller, None, &cur);
    let Some(edit) = edit else {
        return message(
            &c,
            Some(tab),
            StatusCode::NOT_FOUND,
            "Not found",
            "no such action (delete, activate, deactivate)",
        );
    };
    if cur.parsed.has_errors() {
        return message(
            &c,
            Some(tab),
            StatusCode::CONFLICT,
            "lvs.cf has errors",
            "lvs.cf has errors: fix them on the lvs.cf page first",
        );
    }
    match rewrite(&cur.text, &cur.parsed, &[edit]) {
        Ok(r) => apply::proposal(&c, Some(tab), &cur, &r.text, back),
        Err(e) => {
            let msg = match e {
                lvscf::edit::EditError::Edit { kind, .. } => kind.to_string(),
                other => other.to_string(),
            };
            message(&c, Some(tab), StatusCode::NOT_FOUND, "Not changed", &msg)
        }
    }
}

/// `POST /virtual/{name}/{action}`.
pub async fn virtual_action(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path((name, action)): Path<(String, String)>,
) -> Response {
    propose_edit(
        &s,
        &c,
        Tab::Virtual,
        block_action(false, &name, &action),
        "/virtual",
    )
    .await
}

/// `POST /failover/{name}/{action}`.
pub async fn failover_action(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path((name, action)): Path<(String, String)>,
) -> Response {
    propose_edit(
        &s,
        &c,
        Tab::Failover,
        block_action(true, &name, &action),
        "/failover",
    )
    .await
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
