//! GLOBAL SETTINGS (`/global`) and REDUNDANCY (`/redundancy`): the global keywords of lvs.cf.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Form};

use super::Target;
use super::blockform::{Spec, save, show};
use super::forms::{GLOBAL, REDUNDANCY};
use super::layout::{FlashQuery, Tab};
use crate::server::guard::Caller;
use crate::server::state::Shared;

fn global() -> Spec {
    Spec {
        tab: Tab::Global,
        title: "Global settings".into(),
        fields: GLOBAL,
        target: Target::Global,
        action: "/global".into(),
        back: "/global".into(),
        creating: false,
        intro: String::new(),
        extra: String::new(),
    }
}

fn redundancy() -> Spec {
    Spec {
        tab: Tab::Redundancy,
        title: "Redundancy".into(),
        fields: REDUNDANCY,
        action: "/redundancy".into(),
        back: "/redundancy".into(),
        ..global()
    }
}

/// `GET /global`.
pub async fn get_global(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<FlashQuery>,
) -> Response {
    show(&state, &caller, q.message(), &global()).await
}

/// `POST /global`.
pub async fn post_global(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    save(&state, &caller, &global(), &form).await
}

/// `GET /redundancy`.
pub async fn get_redundancy(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<FlashQuery>,
) -> Response {
    show(&state, &caller, q.message(), &redundancy()).await
}

/// `POST /redundancy`.
pub async fn post_redundancy(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    save(&state, &caller, &redundancy(), &form).await
}
