//! Request bodies and headers the web service reads before or after authentication.

use gui::api::config::Patch;
use gui::api::controls::action;
use gui::auth::headers::{basic_credentials, cookie, cross_site};
use gui::passwd::{Document, Hash};
use gui::server::pages::LoginForm;

/// The lvs.cf a PATCH is applied to.
const SAMPLE: &str = include_str!("../../../etc/lvs.cf");

/// The first byte chooses what reads the rest: a PATCH body applied to the sample lvs.cf, the
/// weight of a control, the login form, the password file, an `Authorization` header, a
/// `Cookie` header, an `Origin` header. A PATCH that writes a file that reads back without
/// errors reads back as the model it reports.
pub fn gui_bodies(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(body);
    match which % 7 {
        0 => patch(body),
        1 => {
            let _ = action("weight", body);
        }
        2 => {
            let _ = serde_urlencoded::from_bytes::<LoginForm>(body);
        }
        3 => {
            let _ = Document::parse(body, std::path::Path::new("fuzz.passwd"));
            let _ = Hash::parse(&text);
        }
        4 => {
            let _ = basic_credentials(body);
        }
        5 => {
            let _ = cookie(&text, "piranha_session");
        }
        _ => {
            let _ = cross_site(Some(&text), None, "http://127.0.0.1:3636");
        }
    }
}

fn patch(body: &[u8]) {
    let Ok(patch) = serde_json::from_slice::<Patch>(body) else {
        return;
    };
    let parsed = lvscf::parse(SAMPLE);
    let Ok(done) = lvscf::edit::rewrite(SAMPLE, &parsed, &patch.edits) else {
        return;
    };
    let back = lvscf::parse(&done.text);
    if !back.has_errors() {
        let expected = lvscf::writer::normalize(&done.config).expect("normalizes again");
        assert_eq!(back.model, expected, "rewritten file:\n{}", done.text);
    }
}
