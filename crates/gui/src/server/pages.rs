//! The server-rendered pages: the public landing page and the login form.

use std::time::Instant;

use axum::Form;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::guard::{Caller, check_password};
use super::respond::json_error;
use super::state::{Shared, client_ip};
use crate::auth::headers::{expired_cookie, session_cookie};
use crate::auth::sessions::random_token;

/// Where a browser goes after logging in.
pub const AFTER_LOGIN: &str = "/monitor";

fn page(title: &str, body: &str) -> String {
    format!(
        "{}<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        crate::pages::layout::head(title)
    )
}

/// `GET /`: what this is, and the way in.
pub async fn landing() -> Html<String> {
    Html(page(
        "piranha web GUI",
        "<h1>piranha web GUI</h1>\n\
         <p>This is the web service of piranha, the LVS cluster suite: it edits this \
         director's <code>lvs.cf</code> and tells the daemons to reload it.</p>\n\
         <p><a href=\"/login\">Log in</a></p>",
    ))
}

fn login_form(note: &str) -> String {
    page(
        "piranha web GUI: log in",
        &format!(
            "<h1>Log in</h1>\n{note}<form method=\"post\" action=\"/login\">\n\
             <p class=\"field\"><label>User <input name=\"user\" value=\"piranha\" autocomplete=\"username\"></label></p>\n\
             <p><label>Password <input name=\"password\" type=\"password\" \
             autocomplete=\"current-password\"></label></p>\n\
             <p><button type=\"submit\">Log in</button></p>\n</form>"
        ),
    )
}

/// `GET /login`.
pub async fn login_page() -> Html<String> {
    Html(login_form(""))
}

/// The fields of the login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub user: String,
    pub password: String,
}

/// `POST /login`: check the password (under the failed-login limit), start a session, set
/// its cookie and send the browser on to [`AFTER_LOGIN`].
pub async fn login(State(state): State<Shared>, req: Request) -> Response {
    let ip = client_ip(&req);
    let Ok(Form(form)) =
        <Form<LoginForm> as axum::extract::FromRequest<()>>::from_request(req, &()).await
    else {
        return (
            StatusCode::BAD_REQUEST,
            "expected the fields user and password\n",
        )
            .into_response();
    };
    let LoginForm { user, password } = form;
    let user = match check_password(&state, ip, user, password.into_bytes()).await {
        Ok(u) => u,
        Err(r) if r.status() == StatusCode::UNAUTHORIZED => {
            return (
                StatusCode::UNAUTHORIZED,
                Html(login_form("<p>Wrong user or password.</p>\n")),
            )
                .into_response();
        }
        Err(r) => return r,
    };
    let (Ok(id), Ok(csrf)) = (random_token(), random_token()) else {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a session",
        );
    };
    state
        .sessions()
        .insert(id.clone(), csrf, &user, Instant::now());
    let mut r = (StatusCode::SEE_OTHER, "logged in\n").into_response();
    let h = r.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static(AFTER_LOGIN));
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&id, state.tls)) {
        h.insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /logout`: end the session (if any) and clear its cookie.
pub async fn logout(
    State(state): State<Shared>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Response {
    if let Caller::Session { id, .. } = &caller {
        state.sessions().remove(id);
    }
    let mut r = (StatusCode::SEE_OTHER, "logged out\n").into_response();
    let h = r.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Ok(v) = HeaderValue::from_str(&expired_cookie(state.tls)) {
        h.insert(header::SET_COOKIE, v);
    }
    r
}
