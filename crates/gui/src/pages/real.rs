//! A virtual server's real servers: `/virtual/{name}/real/{server}` (edit),
//! `/virtual/{name}/real/new` (add) and `POST /virtual/{name}/real/{server}/{action}` (delete,
//! activate, deactivate).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use lvscf::edit::Edit;

use super::Target;
use super::blockform::{Spec, save, show};
use super::forms::SERVER;
use super::html::seg;
use super::layout::{FlashQuery, Tab};
use super::virtuals::propose_edit;
use crate::server::guard::Caller;
use crate::server::state::Shared;

fn spec(vs: &str, name: Option<&str>) -> Spec {
    let vpath = format!("/virtual/{}", seg(vs));
    Spec {
        tab: Tab::Virtual,
        title: match name {
            Some(n) => format!("Real server {n} of {vs}"),
            None => format!("New real server of {vs}"),
        },
        fields: SERVER,
        target: Target::Server {
            vs: vs.to_owned(),
            name: name.unwrap_or_default().to_owned(),
        },
        action: match name {
            Some(n) => format!("{vpath}/real/{}", seg(n)),
            None => format!("{vpath}/real/new"),
        },
        back: vpath,
        creating: name.is_none(),
        intro: String::new(),
        extra: String::new(),
    }
}

/// `GET /virtual/{name}/real/new`.
pub async fn new(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(vs): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Response {
    show(&s, &c, q.message(), &spec(&vs, None)).await
}

/// `POST /virtual/{name}/real/new`.
pub async fn create(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path(vs): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    save(&s, &c, &spec(&vs, None), &f).await
}

/// `GET /virtual/{name}/real/{server}`.
pub async fn edit(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path((vs, name)): Path<(String, String)>,
    Query(q): Query<FlashQuery>,
) -> Response {
    show(&s, &c, q.message(), &spec(&vs, Some(&name))).await
}

/// `POST /virtual/{name}/real/{server}`.
pub async fn update(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path((vs, name)): Path<(String, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    save(&s, &c, &spec(&vs, Some(&name)), &f).await
}

/// The typed edit of an action on a real server.
pub fn server_action(vs: &str, name: &str, action: &str) -> Option<Edit> {
    let (vs, name) = (vs.to_owned(), name.to_owned());
    Some(match action {
        "delete" => Edit::DeleteServer { vs, name },
        "activate" | "deactivate" => Edit::SetServerActive {
            vs,
            name,
            active: action == "activate",
        },
        _ => return None,
    })
}

/// `POST /virtual/{name}/real/{server}/{action}`.
pub async fn action(
    State(s): State<Shared>,
    Extension(c): Extension<Caller>,
    Path((vs, name, action)): Path<(String, String, String)>,
) -> Response {
    let back = format!("/virtual/{}", seg(&vs));
    propose_edit(
        &s,
        &c,
        Tab::Virtual,
        server_action(&vs, &name, &action),
        &back,
    )
    .await
}
