//! One form for one scope of lvs.cf (the global keywords, a virtual server, a failover
//! service, a real server): shown with the file's values, and saved by editing the file's text,
//! judging the whole new file with lvscf, and either re-showing the form with lvscf's messages
//! at their fields (422, nothing written) or showing the diff to apply.

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::Response;
use lvscf::edit::{Edit, Fields, rewrite};

use super::forms::{self, Errors, Field, Kind, Values};
use super::html::esc;
use super::layout::{Ctx, Tab, page, reply};
use super::textedit::{ScopeText, edit};
use super::validate::{Problems, check};
use super::{Current, Target, apply, ctx, load, message, scope};
use crate::api::lvs_cf::{ApiDiagnostic, api_diagnostics};
use crate::server::guard::Caller;
use crate::server::state::Shared;

/// What one form page is.
#[derive(Debug, Clone)]
pub struct Spec {
    pub tab: Tab,
    pub title: String,
    pub fields: &'static [Field],
    pub target: Target,
    /// Where the form posts.
    pub action: String,
    /// Where to go after applying, or cancelling.
    pub back: String,
    /// A new block (or server), named by the form's `name`.
    pub creating: bool,
    /// Shown before the form (a link to the real servers below it).
    pub intro: String,
    /// Shown after the form (a virtual server's real servers).
    pub extra: String,
}

impl Spec {
    /// Forms of blocks and servers have the field `name`.
    fn named(&self) -> bool {
        self.target != Target::Global
    }
}

/// The form, with `values`, `errors` at their fields and the `others` in a list.
pub fn render(c: &Ctx, spec: &Spec, values: &Values, p: &Problems, status: StatusCode) -> Response {
    let mut body = String::new();
    if !p.others.is_empty() || !p.fields.is_empty() {
        body.push_str("<p class=\"error\" role=\"alert\">lvscf refused the change: nothing was written.</p>\n");
    }
    body.push_str(&diagnostics_list(&p.others, None, false));
    body.push_str(&spec.intro);
    let _ = writeln!(
        body,
        "<form id=\"edit-form\" class=\"edit\" method=\"post\" action=\"{}\">{}",
        esc(&spec.action),
        c.csrf_field()
    );
    if spec.named() {
        let v = values.get("name").map_or("", String::as_str);
        body.push_str(&forms::field(
            "name",
            "Name",
            Kind::Text,
            v,
            p.fields.get("name"),
        ));
    }
    body.push_str(&forms::render(spec.fields, values, &p.fields));
    let _ = write!(
        body,
        "<p class=\"actions\"><button id=\"save\" type=\"submit\">Save</button> \
         <a href=\"{}\">Cancel</a></p>\n</form>\n{}",
        esc(&spec.back),
        spec.extra
    );
    reply(status, page(c, Some(spec.tab), &spec.title, &body))
}

/// `ul#diagnostics`, one `li[data-line]` per message (empty when there are none); with the
/// `text` they are about, each quotes its line, and with `link` its line number links to the
/// line of the highlighted view (`#L{n}`).
pub fn diagnostics_list(d: &[ApiDiagnostic], text: Option<&str>, link: bool) -> String {
    if d.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.map(|t| t.lines().collect()).unwrap_or_default();
    let mut s = String::from("<ul id=\"diagnostics\">\n");
    for x in d {
        let line = x.line.map(|l| l.to_string()).unwrap_or_default();
        let at = match x.line {
            Some(l) if link => format!("<a href=\"#L{l}\">line {l}</a>: "),
            Some(l) => format!("line {l}: "),
            None => String::new(),
        };
        let quoted = x
            .line
            .and_then(|l| lines.get(l.wrapping_sub(1)))
            .map(|q| format!(" <code>{}</code>", esc(q.trim())))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "<li data-line=\"{line}\" class=\"severity-{}\">{at}{}{quoted}</li>",
            esc(&x.severity),
            esc(&x.message)
        );
    }
    s.push_str("</ul>\n");
    s
}

/// The file's own errors, when it has any (forms still work, but the admin should know).
fn file_errors(cur: &Current) -> Vec<ApiDiagnostic> {
    let errs: Vec<lvscf::Diagnostic> = cur
        .parsed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    api_diagnostics(&cur.text, &errs)
}

/// The edit that adds `target` named `name`.
fn add_edit(target: &Target, name: &str) -> Edit {
    let (name, set) = (name.to_owned(), Fields::new());
    match target {
        Target::Block { failover: true, .. } => Edit::AddFailover { name, set },
        Target::Server { vs, .. } => Edit::AddServer {
            vs: vs.clone(),
            name,
            set,
        },
        _ => Edit::AddVirtual { name, set },
    }
}

fn renamed(target: &Target, name: &str) -> Target {
    match target {
        Target::Global => Target::Global,
        Target::Block { failover, .. } => Target::Block {
            failover: *failover,
            name: name.to_owned(),
        },
        Target::Server { vs, .. } => Target::Server {
            vs: vs.clone(),
            name: name.to_owned(),
        },
    }
}

/// The text to edit and the scope in it: the file, or for a new block the file with the block
/// added by lvscf's typed edit (with the defaults of its keywords). Errors are by field.
fn base(
    cur: &Current,
    spec: &Spec,
    name: &str,
) -> Result<(String, ScopeText, serde_json::Value), Errors> {
    let missing = || -> Errors {
        [(
            "name".to_owned(),
            format!("there is no {}", describe(&spec.target)),
        )]
        .into()
    };
    if !spec.creating {
        let (s, model) = scope(&cur.parsed, &spec.target).ok_or_else(missing)?;
        return Ok((cur.text.clone(), s, model));
    }
    if cur.parsed.has_errors() {
        return Err([(
            "name".to_owned(),
            "lvs.cf has errors: fix them on the lvs.cf page first".to_owned(),
        )]
        .into());
    }
    let r = rewrite(&cur.text, &cur.parsed, &[add_edit(&spec.target, name)]).map_err(|e| {
        let msg = match e {
            lvscf::edit::EditError::Edit { kind, .. } => kind.to_string(),
            other => other.to_string(),
        };
        Errors::from([("name".to_owned(), msg)])
    })?;
    let parsed = lvscf::parse(&r.text);
    let (mut s, model) = scope(&parsed, &renamed(&spec.target, name)).ok_or_else(missing)?;
    s.new_first = true;
    Ok((r.text, s, model))
}

/// Whether another block (or server of the same virtual server) is named `name` already:
/// lvscf's typed edits refuse such a rename, so the text edit does too.
fn name_taken(parsed: &lvscf::Parsed, target: &Target, name: &str) -> bool {
    let m = &parsed.model;
    match target {
        Target::Global => false,
        Target::Block { failover, .. } => {
            let list = if *failover {
                &m.failover_services
            } else {
                &m.virtual_servers
            };
            list.iter().any(|v| v.name == name)
        }
        Target::Server { vs, .. } => m
            .virtual_servers
            .iter()
            .filter(|v| v.name == *vs)
            .any(|v| v.servers.iter().any(|s| s.name == name)),
    }
}

fn describe(t: &Target) -> String {
    match t {
        Target::Global => "global scope".into(),
        Target::Block { failover, name } => {
            format!("{} {name}", Target::block_word(*failover))
        }
        Target::Server { vs, name } => format!("real server {name} of {vs}"),
    }
}

/// `GET`: the form with the file's values.
pub async fn show(state: &Shared, caller: &Caller, flash: Option<String>, spec: &Spec) -> Response {
    let cur = match load(state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = ctx(caller, flash, &cur);
    // A new block shows the values lvscf gives one.
    let probe = "new";
    let (values, status) = match base(&cur, spec, probe) {
        Ok((text, s, model)) => {
            let mut v = forms::current(&text, &s, spec.fields, &model);
            let name = match &spec.target {
                _ if spec.creating => String::new(),
                Target::Block { name, .. } | Target::Server { name, .. } => name.clone(),
                Target::Global => String::new(),
            };
            v.insert("name".into(), name);
            (v, StatusCode::OK)
        }
        Err(_) if !spec.creating => {
            return message(
                &c,
                Some(spec.tab),
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("there is no {}", describe(&spec.target)),
            );
        }
        Err(_) => (Values::new(), StatusCode::OK),
    };
    let p = Problems {
        fields: Errors::new(),
        others: file_errors(&cur),
    };
    render(&c, spec, &values, &p, status)
}

/// Why a form was not turned into a new text.
enum Refused {
    NotFound(String),
    /// The form again, with the values as entered and the problems.
    Invalid(Values, Problems),
}

fn at_fields(fields: Errors) -> Problems {
    Problems {
        fields,
        others: vec![],
    }
}

fn at_name(msg: String) -> Problems {
    at_fields(Errors::from([("name".to_owned(), msg)]))
}

/// The new text of lvs.cf the form asks for, judged by lvscf.
fn propose(cur: &Current, spec: &Spec, form: &[(String, String)]) -> Result<String, Refused> {
    let name = form
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let mut shown = forms::submitted(form, spec.fields, &Values::new());
    shown.insert("name".into(), name.clone());
    if spec.named() && name.is_empty() {
        let p = at_name("a name cannot be empty".into());
        return Err(Refused::Invalid(shown, p));
    }
    let (text, s, model) = base(cur, spec, &name).map_err(|fields| {
        if !spec.creating && cur.parsed.config().is_some() {
            Refused::NotFound(fields.into_values().next().unwrap_or_default())
        } else {
            Refused::Invalid(shown.clone(), at_fields(fields))
        }
    })?;
    let was = forms::current(&text, &s, spec.fields, &model);
    let mut now = forms::submitted(form, spec.fields, &was);
    now.insert("name".into(), name.clone());
    let changes = forms::changes(spec.fields, &was, &now)
        .map_err(|f| Refused::Invalid(now.clone(), at_fields(f)))?;
    let old_name = match &spec.target {
        Target::Block { name, .. } | Target::Server { name, .. } if !spec.creating => {
            Some(name.as_str())
        }
        _ => None,
    };
    let rename = old_name.filter(|o| *o != name).map(|_| name.as_str());
    if rename.is_some() && name_taken(&cur.parsed, &spec.target, &name) {
        let what = describe(&renamed(&spec.target, &name));
        let p = at_name(format!("there is a {what} already"));
        return Err(Refused::Invalid(now, p));
    }
    let edited = edit(&text, &s, rename, &changes);
    match check(&edited) {
        Ok(()) => Ok(edited.text),
        Err(p) => Err(Refused::Invalid(now, p)),
    }
}

/// `POST`: save the form (see the module).
pub async fn save(
    state: &Shared,
    caller: &Caller,
    spec: &Spec,
    form: &[(String, String)],
) -> Response {
    let cur = match load(state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = ctx(caller, None, &cur);
    match propose(&cur, spec, form) {
        Ok(text) => apply::proposal(&c, Some(spec.tab), &cur, &text, &spec.back),
        Err(Refused::NotFound(why)) => {
            message(&c, Some(spec.tab), StatusCode::NOT_FOUND, "Not found", &why)
        }
        Err(Refused::Invalid(values, p)) => {
            render(&c, spec, &values, &p, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
