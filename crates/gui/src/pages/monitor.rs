//! CONTROL/MONITORING (`/monitor`): pulse's role and state on this node and what it knows of
//! the partner, the VIPs held, and every real server with its health, weight, table state,
//! connections and how long it has been in its state; per real server the controls drain,
//! disable, enable and weight. Rendered complete on the server; `/assets/app.js` keeps it live
//! from `GET /api/v1/events`. A daemon that does not answer is shown as stale, never as its
//! last good state.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};

use super::apply::see_other;
use super::html::{esc, seg};
use super::layout::{Ctx, FlashQuery, Tab, page, reply};
use super::{Current, ctx, load};
use crate::api::controls::{Action, MAX_WEIGHT, run, valid_name};
use crate::server::guard::Caller;
use crate::server::state::Shared;
use crate::status::report::{LvsdReport, PulseReport, RealReport};
use crate::status::{Snapshot, StatusError};

/// A duration in seconds as a person reads it: `42s`, `5m 3s`, `2h 5m`, `3d 4h`.
pub fn human(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".into();
    }
    let s = secs as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

fn stale_dd(id: &str, err: &StatusError) -> String {
    format!(
        "<dd id=\"{id}\" class=\"stale\">stale: {}</dd>\n",
        esc(&err.to_string())
    )
}

/// The cluster's part: `#pulse-state`, `#partner-state`, `#vips`, `#lvsd-state`.
pub fn cluster_html(
    pulse: &Result<PulseReport, StatusError>,
    lvsd: &Result<LvsdReport, StatusError>,
) -> String {
    let mut s = String::from("<dl id=\"cluster\">\n<dt>This node (pulse)</dt>\n");
    match pulse {
        Ok(p) => {
            let _ = writeln!(
                s,
                "<dd id=\"pulse-state\">{}</dd>",
                esc(&format!("{}, {}", p.role, p.state))
            );
            let partner = match &p.partner {
                Some(addr) => {
                    let state = p.partner_state.as_deref().unwrap_or("unknown");
                    let heard = p
                        .partner_last_heard_ms
                        .map(|ms| format!(", last heard {} ago", human(ms as f64 / 1000.0)))
                        .unwrap_or_else(|| ", not heard".into());
                    format!("{addr}: {state}{heard}")
                }
                None => "none configured".into(),
            };
            let _ = writeln!(
                s,
                "<dt>Partner</dt>\n<dd id=\"partner-state\">{}</dd>",
                esc(&partner)
            );
            let vips = if p.vips.is_empty() {
                "none".to_owned()
            } else {
                p.vips.join(", ")
            };
            let _ = writeln!(s, "<dt>VIPs held</dt>\n<dd id=\"vips\">{}</dd>", esc(&vips));
        }
        Err(e) => {
            s.push_str(&stale_dd("pulse-state", e));
            s.push_str("<dt>Partner</dt>\n");
            s.push_str(&stale_dd("partner-state", e));
            s.push_str("<dt>VIPs held</dt>\n");
            s.push_str(&stale_dd("vips", e));
        }
    }
    s.push_str("<dt>lvsd</dt>\n");
    match lvsd {
        Ok(l) => {
            let _ = writeln!(
                s,
                "<dd id=\"lvsd-state\">{}</dd>",
                esc(&format!("running, {} data plane", l.dataplane))
            );
        }
        Err(e) => s.push_str(&stale_dd("lvsd-state", e)),
    }
    s.push_str("</dl>\n");
    s
}

/// `table#virtual-state`: each virtual service as lvsd runs it (none when lvsd is stale: the
/// cluster part says so).
pub fn virtuals_html(lvsd: &Result<LvsdReport, StatusError>) -> String {
    let Ok(l) = lvsd else {
        return String::new();
    };
    let mut s = String::from(
        "<div class=\"scroll\"><table id=\"virtual-state\">\n<caption>Virtual servers</caption>\n<thead><tr>\
         <th scope=\"col\">Virtual server</th><th scope=\"col\">Service</th><th scope=\"col\">Scheduler</th>\
         <th scope=\"col\">In the table</th><th scope=\"col\">Real servers up</th><th scope=\"col\">Sorry server</th>\
         <th scope=\"col\">Active conns</th><th scope=\"col\">Connections</th></tr></thead>\n<tbody>\n",
    );
    for v in &l.virtual_servers {
        let t = v.traffic.unwrap_or_default();
        let up = v.real_servers.iter().filter(|r| r.health == "up").count();
        let _ = writeln!(
            s,
            "<tr data-vs=\"{}\"><td>{}</td><td class=\"service\">{}</td><td class=\"scheduler\">{}</td>\
             <td class=\"in-table\">{}</td><td class=\"up\">{up} of {}</td><td class=\"sorry\">{}</td><td class=\"active-conns\">{}</td>\
             <td class=\"conns\">{}</td></tr>",
            esc(&v.name),
            esc(&v.name),
            esc(&v.service),
            esc(&v.scheduler),
            if v.in_table { "yes" } else { "no" },
            v.real_servers.len(),
            if v.sorry_active { "in use" } else { "-" },
            t.active_conns,
            t.conns,
        );
    }
    s.push_str("</tbody></table></div>\n");
    s
}

fn controls_html(c: &Ctx, v: &str, r: &str, weight: &str) -> String {
    let base = format!("/monitor/servers/{}/{}", seg(v), seg(r));
    let button = |action: &str, label: &str| {
        format!(
            "<form class=\"inline\" method=\"post\" action=\"{}/{action}\">{}<button type=\"submit\" class=\"{action}\">{label}</button></form>",
            esc(&base),
            c.csrf_field()
        )
    };
    let id = format!("w-{}-{}", seg(v), seg(r));
    format!(
        "{}{}{}<form class=\"inline\" method=\"post\" action=\"{}/weight\">{}\
         <label class=\"sr-only\" for=\"{}\">Weight of {}</label>\
         <input id=\"{}\" name=\"weight\" inputmode=\"numeric\" size=\"5\" value=\"{}\">\
         <button type=\"submit\" class=\"set-weight\">Set weight</button></form>",
        button("drain", "Drain"),
        button("disable", "Disable"),
        button("enable", "Enable"),
        esc(&base),
        c.csrf_field(),
        esc(&id),
        esc(&format!("{v}/{r}")),
        esc(&id),
        esc(weight),
    )
}

fn row(c: &Ctx, v: &str, r: Option<&RealReport>, name: &str, address: &str) -> String {
    let (class, health, weight, in_table, active, inactive, since, admin) = match r {
        Some(r) => {
            let t = r.traffic.unwrap_or_default();
            let health = match r.health.as_str() {
                "up" | "down" => r.health.as_str(),
                _ => "unknown",
            };
            (
                String::new(),
                health,
                r.weight.to_string(),
                if r.in_table { "yes" } else { "no" },
                t.active_conns.to_string(),
                t.inactive_conns.to_string(),
                r.since_secs
                    .as_ref()
                    .and_then(|n| n.as_f64())
                    .map_or("-".into(), human),
                r.admin.clone().unwrap_or_default(),
            )
        }
        None => (
            " class=\"stale\"".into(),
            "unknown",
            "-".into(),
            "no",
            "-".into(),
            "-".into(),
            "-".into(),
            String::new(),
        ),
    };
    format!(
        "<tr data-virtual=\"{}\" data-server=\"{}\"{class}><td class=\"virtual\">{}</td><td class=\"server\">{}</td>\
         <td class=\"address\">{}</td><td class=\"health health-{health}\">{health}</td><td class=\"weight\">{}</td>\
         <td class=\"in-table\">{in_table}</td><td class=\"active-conns\">{}</td><td class=\"inactive-conns\">{}</td>\
         <td class=\"since\">{}</td><td class=\"admin\">{}</td><td class=\"actions\">{}</td></tr>\n",
        esc(v),
        esc(name),
        esc(v),
        esc(name),
        esc(address),
        esc(&weight),
        esc(&active),
        esc(&inactive),
        esc(&since),
        esc(&admin),
        controls_html(c, v, name, if weight == "-" { "" } else { &weight }),
    )
}

/// `table#real-servers`: from lvsd's report, or (lvsd stale) from lvs.cf with nothing known.
pub fn servers_html(c: &Ctx, lvsd: &Result<LvsdReport, StatusError>, cur: &Current) -> String {
    let mut s = String::from(
        "<div class=\"scroll\"><table id=\"real-servers\">\n<caption>Real servers</caption>\n<thead><tr>\
         <th scope=\"col\">Virtual server</th><th scope=\"col\">Real server</th><th scope=\"col\">Address</th>\
         <th scope=\"col\">Health</th><th scope=\"col\">Weight</th><th scope=\"col\">In table</th>\
         <th scope=\"col\">Active conns</th><th scope=\"col\">Inactive conns</th><th scope=\"col\">Since</th>\
         <th scope=\"col\">Control</th><th scope=\"col\">Actions</th></tr></thead>\n<tbody>\n",
    );
    match lvsd {
        Ok(l) => {
            for v in &l.virtual_servers {
                for r in &v.real_servers {
                    let addr = format!("{}:{}", r.address, r.port);
                    s.push_str(&row(c, &v.name, Some(r), &r.name, &addr));
                }
            }
        }
        Err(_) => {
            for v in cur.parsed.model.selected_blocks() {
                for r in &v.servers {
                    let addr = r
                        .address
                        .as_ref()
                        .map(|a| format!("{a}:{}", r.port))
                        .unwrap_or_default();
                    s.push_str(&row(c, &v.name, None, &r.name, &addr));
                }
            }
        }
    }
    s.push_str("</tbody></table></div>\n");
    s
}

fn render(c: &Ctx, snap: &Snapshot, cur: &Current, status: StatusCode) -> Response {
    let body = format!(
        "<section id=\"live\">\n{}{}{}</section>\n\
         <p class=\"note\">Drain: weight 0, no new connections. Disable: out of the table while its \
         checks go on. Enable: back to health-driven control. lvsd keeps these across reloads and restarts.</p>",
        cluster_html(&snap.pulse.report, &snap.lvsd.report),
        virtuals_html(&snap.lvsd.report),
        servers_html(c, &snap.lvsd.report, cur),
    );
    reply(
        status,
        page(c, Some(Tab::Monitor), "Control/Monitoring", &body),
    )
}

/// `GET /monitor`.
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
    let snap = state.snapshots.get(&state.status).await;
    render(&c, &snap, &cur, StatusCode::OK)
}

/// The action of a control form.
fn form_action(segment: &str, form: &[(String, String)]) -> Result<Action, (StatusCode, String)> {
    match segment {
        "drain" => Ok(Action::Drain),
        "disable" => Ok(Action::Disable),
        "enable" => Ok(Action::Enable),
        "weight" => form
            .iter()
            .find(|(k, _)| k == "weight")
            .and_then(|(_, v)| v.trim().parse::<u32>().ok())
            .filter(|w| *w <= MAX_WEIGHT)
            .map(Action::Weight)
            .ok_or((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("a weight is a number from 0 to {MAX_WEIGHT}"),
            )),
        _ => Err((
            StatusCode::NOT_FOUND,
            "no such action (drain, disable, enable, weight)".into(),
        )),
    }
}

/// `POST /monitor/servers/{virtual}/{server}/{action}`: the control, then back to `/monitor`
/// (303) with the flash; a failure shows the page with why (and the status the API gives).
pub async fn control(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((v, s, segment)): Path<(String, String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let result = if !valid_name(&v) || !valid_name(&s) {
        Err((
            StatusCode::BAD_REQUEST,
            "names are 1 to 255 characters without blanks or '/'".to_owned(),
        ))
    } else {
        match form_action(&segment, &form) {
            Ok(a) => run(&state, &caller, &v, &s, a)
                .await
                .map_err(|e| (e.status(), e.to_string())),
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(()) => see_other(
            "/monitor",
            &[("flash", &segment), ("target", &format!("{v}/{s}"))],
        ),
        Err((status, why)) => {
            let cur = match load(&state).await {
                Ok(c) => c,
                Err(r) => return r,
            };
            let c = ctx(
                &caller,
                Some(format!("{segment} {v}/{s} failed: {why}")),
                &cur,
            );
            let snap = state.snapshots.get(&state.status).await;
            render(&c, &snap, &cur, status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(3.5), "3s");
        assert_eq!(human(303.0), "5m 3s");
        assert_eq!(human(7500.0), "2h 5m");
        assert_eq!(human(3.0 * 86400.0 + 4.0 * 3600.0), "3d 4h");
        assert_eq!(human(-1.0), "-");
        assert_eq!(human(f64::NAN), "-");
    }

    #[test]
    fn weights_come_from_the_form() {
        let f = |w: &str| vec![("weight".to_owned(), w.to_owned())];
        assert_eq!(form_action("weight", &f(" 7 ")).unwrap(), Action::Weight(7));
        assert!(form_action("weight", &f("65536")).is_err());
        assert!(form_action("weight", &f("x")).is_err());
        assert_eq!(form_action("drain", &[]).unwrap(), Action::Drain);
        assert_eq!(
            form_action("boom", &[]).unwrap_err().0,
            StatusCode::NOT_FOUND
        );
    }
}
