//! The frame of every logged-in page: the tabs, the logout form, the flash message of the last
//! action and the warning shown on a host that is not the primary.

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::html::esc;

/// The tabs, in order: (tab, id, path, label).
pub const TABS: &[(Tab, &str, &str, &str)] = &[
    (
        Tab::Monitor,
        "tab-monitor",
        "/monitor",
        "Control/Monitoring",
    ),
    (Tab::Global, "tab-global", "/global", "Global settings"),
    (
        Tab::Redundancy,
        "tab-redundancy",
        "/redundancy",
        "Redundancy",
    ),
    (Tab::Virtual, "tab-virtual", "/virtual", "Virtual servers"),
    (Tab::Failover, "tab-failover", "/failover", "Failover"),
    (Tab::LvsCf, "tab-lvscf", "/lvs.cf", "lvs.cf"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Monitor,
    Global,
    Redundancy,
    Virtual,
    Failover,
    LvsCf,
}

/// What the frame shows besides the page.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub user: String,
    /// The session's CSRF token (empty for Basic callers, who need none).
    pub csrf: String,
    pub flash: Option<String>,
    /// This host's addresses do not include lvs.cf's `primary`.
    pub not_primary: bool,
}

impl Ctx {
    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
            esc(&self.csrf)
        )
    }
}

/// The head every page has (also the login page's).
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/assets/app.css\">\n\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\n\
         <script src=\"/assets/app.js\" defer></script>\n</head>\n",
        esc(title)
    )
}

/// A whole logged-in page.
pub fn page(ctx: &Ctx, tab: Option<Tab>, title: &str, body: &str) -> String {
    let mut out = head(&format!("{title} · piranha"));
    out.push_str("<body>\n<a class=\"skip\" href=\"#main\">Skip to the page</a>\n<header>\n<p class=\"brand\">piranha</p>\n<nav id=\"tabs\" aria-label=\"Pages\">\n<ul>\n");
    for (t, id, path, label) in TABS {
        let current = if Some(*t) == tab {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<li><a id=\"{id}\" href=\"{path}\"{current}>{label}</a></li>"
        );
    }
    let _ = write!(
        out,
        "</ul>\n</nav>\n<form id=\"logout\" method=\"post\" action=\"/logout\">{}\
         <span class=\"user\">{}</span> <button id=\"logout-button\" type=\"submit\">Log out</button></form>\n\
         </header>\n<main id=\"main\">\n",
        ctx.csrf_field(),
        esc(&ctx.user)
    );
    if ctx.not_primary {
        out.push_str(
            "<div id=\"not-primary-warning\" class=\"warning\" role=\"alert\"><strong>Warning:</strong> \
             this host is not the cluster's primary (none of its addresses is lvs.cf's \
             <code>primary</code>): edit lvs.cf on the primary, or copy it there.</div>\n",
        );
    }
    if let Some(f) = &ctx.flash {
        let _ = writeln!(out, "<div id=\"flash\" role=\"status\">{}</div>", esc(f));
    }
    let _ = write!(
        out,
        "<h1>{}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        esc(title)
    );
    out
}

/// A page with a status.
pub fn reply(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

/// The flash of the last action, as the redirect after it names it (known codes only, so a
/// link cannot make the page say anything: names are shown as names).
#[derive(Debug, Default, Deserialize)]
pub struct FlashQuery {
    pub flash: Option<String>,
    pub target: Option<String>,
    pub serial: Option<i64>,
}

impl FlashQuery {
    pub fn message(&self) -> Option<String> {
        let target = self.target.as_deref().unwrap_or("");
        let serial = self
            .serial
            .map(|n| format!(" (serial_no {n})"))
            .unwrap_or_default();
        Some(match self.flash.as_deref()? {
            "applied" => format!("applied: lvs.cf written{serial} and the daemons told to reload"),
            "applied-no-reload" => format!(
                "applied: lvs.cf written{serial}, but the daemons' reload failed (see the log)"
            ),
            "drain" => format!("drained {target}"),
            "disable" => format!("disabled {target}"),
            "enable" => format!("enabled {target}"),
            "weight" => format!("weight set on {target}"),
            "nothing" => "nothing changed".to_owned(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_marks_the_current_tab_and_escapes() {
        let ctx = Ctx {
            user: "<u>".into(),
            csrf: "t\"x".into(),
            flash: Some("<b>".into()),
            not_primary: true,
        };
        let p = page(&ctx, Some(Tab::Virtual), "V <1>", "<p>body</p>");
        assert!(p.contains("<a id=\"tab-virtual\" href=\"/virtual\" aria-current=\"page\">"));
        assert!(p.contains("<a id=\"tab-global\" href=\"/global\">"));
        assert!(p.contains("value=\"t&quot;x\""));
        assert!(
            p.contains("&lt;u&gt;")
                && p.contains("<div id=\"flash\" role=\"status\">&lt;b&gt;</div>")
        );
        assert!(p.contains("id=\"not-primary-warning\""));
        assert!(p.contains("<h1>V &lt;1&gt;</h1>"));
        let p = page(&Ctx::default(), None, "x", "");
        assert!(!p.contains("not-primary-warning") && !p.contains("id=\"flash\""));
    }

    #[test]
    fn only_known_flashes_are_shown() {
        let q = |f: &str| FlashQuery {
            flash: Some(f.into()),
            target: Some("web/a".into()),
            serial: Some(8),
        };
        assert_eq!(q("drain").message().unwrap(), "drained web/a");
        assert!(q("applied").message().unwrap().contains("serial_no 8"));
        assert_eq!(q("<script>").message(), None);
    }
}
