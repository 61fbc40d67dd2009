//! `/lvs.cf`: the file with syntax highlighting, and an editor for the whole text: "check"
//! judges it with lvscf and lists the diagnostics by line; "save" leads to the diff to apply
//! (422 with the diagnostics when lvscf finds errors; nothing written).

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;

use super::blockform::diagnostics_list;
use super::highlight::highlight_lines;
use super::html::esc;
use super::layout::{Ctx, FlashQuery, Tab, page, reply};
use super::{Current, apply, ctx, load};
use crate::api::lvs_cf::{ApiDiagnostic, api_diagnostics};
use crate::server::guard::Caller;
use crate::server::state::Shared;

fn render(
    c: &Ctx,
    cur: &Current,
    text: &str,
    diags: &[ApiDiagnostic],
    note: &str,
    status: StatusCode,
) -> Response {
    let mut body = String::new();
    if !note.is_empty() {
        let _ = writeln!(body, "<p class=\"note\" role=\"status\">{}</p>", esc(note));
    }
    // Diagnostics of the file itself link to its lines in the view below.
    body.push_str(&diagnostics_list(diags, Some(text), text == cur.text));
    let _ = write!(
        body,
        "<form id=\"lvscf-form\" method=\"post\" action=\"/lvs.cf\">{}\n\
         <label for=\"lvscf-text\">Edit lvs.cf</label>\n\
         <textarea id=\"lvscf-text\" name=\"text\" rows=\"24\" spellcheck=\"false\" autocomplete=\"off\">\n{}</textarea>\n\
         <p class=\"actions\"><button id=\"check\" type=\"submit\" name=\"action\" value=\"check\">Check</button> \
         <button id=\"save\" type=\"submit\" name=\"action\" value=\"save\">Save</button></p>\n</form>\n\
         <h2>The file as it is</h2>\n<pre id=\"lvscf-view\" class=\"lvscf\">{}</pre>\n",
        c.csrf_field(),
        esc(text),
        highlight_lines(&cur.text, &error_lines(cur)),
    );
    reply(status, page(c, Some(Tab::LvsCf), "lvs.cf", &body))
}

/// The lines of the file that have errors.
fn error_lines(cur: &Current) -> Vec<usize> {
    api_diagnostics(&cur.text, &cur.parsed.diagnostics)
        .into_iter()
        .filter(|d| d.severity == "error")
        .filter_map(|d| d.line)
        .collect()
}

/// `GET /lvs.cf`.
pub async fn get(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<FlashQuery>,
) -> Response {
    let cur = match load(&state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = ctx(&caller, q.message(), &cur);
    let diags = api_diagnostics(&cur.text, &cur.parsed.diagnostics);
    render(&c, &cur, &cur.text, &diags, "", StatusCode::OK)
}

/// The fields of the editor.
#[derive(Debug, Deserialize)]
pub struct EditorForm {
    pub text: String,
    #[serde(default)]
    pub action: String,
}

/// The text as the browser sent it, with the form's CRLF line breaks made LF again (unless the
/// file itself uses CRLF).
pub fn as_sent(text: &str, current: &str) -> String {
    if current.contains("\r\n") {
        text.to_owned()
    } else {
        text.replace("\r\n", "\n")
    }
}

/// `POST /lvs.cf`: `action=check` or `action=save`.
pub async fn post(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<EditorForm>,
) -> Response {
    let cur = match load(&state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = ctx(&caller, None, &cur);
    let text = as_sent(&form.text, &cur.text);
    let parsed = lvscf::parse(&text);
    let diags = api_diagnostics(&text, &parsed.diagnostics);
    if parsed.has_errors() {
        let note = "lvscf found errors: nothing was written.";
        return render(
            &c,
            &cur,
            &text,
            &diags,
            note,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if form.action == "save" {
        return apply::proposal(&c, Some(Tab::LvsCf), &cur, &text, "/lvs.cf");
    }
    let note = if diags.is_empty() {
        "lvscf finds no problem."
    } else {
        "lvscf finds no error (warnings below)."
    };
    render(&c, &cur, &text, &diags, note, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_line_breaks_become_the_files() {
        assert_eq!(as_sent("a\r\nb\r\n", "x\n"), "a\nb\n");
        assert_eq!(as_sent("a\r\nb\r\n", "x\r\n"), "a\r\nb\r\n");
    }
}
