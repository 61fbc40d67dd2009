//! The diff page a valid change leads to, and `POST /apply`, which writes the change through
//! the API's write path (`If-Match` on the ETag the change was based on, lvscf's validation,
//! `serial_no` bumped, atomic replacement, reload).

use std::fmt::Write as _;

use axum::Extension;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::diff::unified;
use super::html::{esc, query};
use super::layout::{Ctx, Tab, page, reply};
use super::{Current, ctx, load, message};
use crate::api::handlers::write_through;
use crate::api::lvs_cf::accept;
use crate::server::guard::Caller;
use crate::server::state::Shared;

/// Where to go after applying: a path of this site, else `/monitor`.
pub fn local_path(back: &str) -> &str {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains(['\\', '\r', '\n'])
        && !back.chars().any(char::is_control);
    if ok { back } else { "/monitor" }
}

/// A 303 to `path` with these query pairs (values percent-encoded).
pub fn see_other(path: &str, pairs: &[(&str, &str)]) -> Response {
    let mut to = local_path(path).to_owned();
    for (i, (k, v)) in pairs.iter().enumerate() {
        let sep = if i == 0 && !to.contains('?') {
            '?'
        } else {
            '&'
        };
        let _ = write!(to, "{sep}{k}={}", query(v));
    }
    let mut r = (StatusCode::SEE_OTHER, "see other\n").into_response();
    if let Ok(v) = HeaderValue::from_str(&to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The diff as HTML: each line in a span by its kind.
pub fn diff_html(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() * 2);
    for l in diff.lines() {
        let class = if l.starts_with("+++") || l.starts_with("---") {
            "file"
        } else if l.starts_with("@@") {
            "hunk"
        } else if l.starts_with('+') {
            "add"
        } else if l.starts_with('-') {
            "del"
        } else {
            "ctx"
        };
        let _ = writeln!(out, "<span class=\"{class}\">{}</span>", esc(l));
    }
    out
}

/// The page showing what writing `new` (not yet bumped) over `cur` changes, with the form
/// that applies it. Nothing to change: back to `back` at once.
pub fn proposal(ctx: &Ctx, tab: Option<Tab>, cur: &Current, new: &str, back: &str) -> Response {
    if new == cur.text {
        return see_other(back, &[("flash", "nothing")]);
    }
    let shown = match accept(new) {
        Ok(a) => a.text,
        Err(_) => new.to_owned(),
    };
    let diff = unified(&cur.text, &shown, "lvs.cf (now)", "lvs.cf (after apply)");
    let b64 = base64::engine::general_purpose::STANDARD.encode(new.as_bytes());
    let body = format!(
        "<p>Applying makes this change to lvs.cf (and <code>serial_no</code> goes up by one). \
         Nothing is written until you apply it; then the daemons are told to reload.</p>\n\
         <pre id=\"diff\" class=\"diff\">{}</pre>\n\
         <form id=\"apply\" method=\"post\" action=\"/apply\">{}\n\
         <input type=\"hidden\" name=\"text\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"etag\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"back\" value=\"{}\">\n\
         <p class=\"actions\"><button id=\"apply\" type=\"submit\">Apply</button> \
         <a id=\"cancel\" href=\"{}\">Cancel</a></p>\n</form>",
        diff_html(&diff),
        ctx.csrf_field(),
        b64,
        esc(&cur.etag),
        esc(local_path(back)),
        esc(local_path(back)),
    );
    reply(StatusCode::OK, page(ctx, tab, "Review and apply", &body))
}

/// The fields of the apply form.
#[derive(Debug, Deserialize)]
pub struct ApplyForm {
    pub text: String,
    pub etag: String,
    #[serde(default)]
    pub back: String,
}

/// `POST /apply`.
pub async fn post(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<ApplyForm>,
) -> Response {
    let cur = match load(&state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = ctx(&caller, None, &cur);
    let Some(text) = base64::engine::general_purpose::STANDARD
        .decode(form.text.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    else {
        return message(
            &c,
            None,
            StatusCode::BAD_REQUEST,
            "Not applied",
            "the proposed text is not valid",
        );
    };
    let mut headers = HeaderMap::new();
    match HeaderValue::from_str(&form.etag) {
        Ok(v) => headers.insert(header::IF_MATCH, v),
        Err(_) => return conflict(&c, &form.back),
    };
    let done = write_through(&state, &caller, &headers, false, |_| Ok((text, ()))).await;
    match done {
        Ok((committed, ())) => {
            let flash = if committed.reload == "ok" {
                "applied"
            } else {
                "applied-no-reload"
            };
            let serial = committed.accepted.serial_no.to_string();
            see_other(&form.back, &[("flash", flash), ("serial", &serial)])
        }
        Err(r) if r.status() == StatusCode::PRECONDITION_FAILED => conflict(&c, &form.back),
        Err(r) if r.status() == StatusCode::UNPROCESSABLE_ENTITY => message(
            &c,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not applied",
            "lvscf refused the file: nothing was written",
        ),
        Err(r) => message(
            &c,
            None,
            r.status(),
            "Not applied",
            "lvs.cf could not be written: nothing was changed (see the log)",
        ),
    }
}

/// 409: the file changed since the change was prepared.
fn conflict(c: &Ctx, back: &str) -> Response {
    let body = format!(
        "<div id=\"conflict\" class=\"warning\" role=\"alert\"><p>lvs.cf changed since this \
         change was prepared (someone or something else wrote it): nothing was written.</p>\
         <p><a href=\"{}\">Go back</a> and make the change again on the file as it is now.</p></div>",
        esc(local_path(back))
    );
    reply(StatusCode::CONFLICT, page(c, None, "Conflict", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/virtual/web"), "/virtual/web");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "",
            "/a\r\nSet-Cookie: x",
            "/\\evil",
        ] {
            assert_eq!(local_path(bad), "/monitor", "{bad:?}");
        }
    }

    #[test]
    fn diff_lines_are_classed_and_escaped() {
        let h = diff_html("--- a\n+++ b\n@@ -1 +1 @@\n-<x>\n+y\n z\n");
        assert!(h.contains("<span class=\"del\">-&lt;x&gt;</span>"), "{h}");
        assert!(h.contains("<span class=\"add\">+y</span>"));
        assert!(h.contains("<span class=\"hunk\">"));
        assert!(h.contains("<span class=\"ctx\"> z</span>"));
    }
}
