//! A proposed lvs.cf judged by lvscf, its errors placed: on the form field whose statement
//! they are about, else in the page's list of diagnostics with their line.

use super::forms::Errors;
use super::textedit::Edited;
use crate::api::lvs_cf::{ApiDiagnostic, api_diagnostics};

/// Why a proposed text cannot be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    /// By field.
    pub fields: Errors,
    /// Errors on no field of the form (with their lines when known).
    pub others: Vec<ApiDiagnostic>,
}

/// `Ok` when lvscf finds no error in `edited.text` (warnings pass).
pub fn check(edited: &Edited) -> Result<(), Problems> {
    let parsed = lvscf::parse(&edited.text);
    if !parsed.has_errors() {
        return Ok(());
    }
    let mut p = Problems::default();
    let errors: Vec<&lvscf::Diagnostic> =
        parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
    for d in errors {
        let field = d.span.and_then(|s| edited.field_at(s.start as usize));
        match field {
            Some(f) => {
                p.fields
                    .entry(f.to_owned())
                    .and_modify(|m| {
                        m.push_str("; ");
                        m.push_str(&d.message);
                    })
                    .or_insert_with(|| d.message.clone());
            }
            None => p
                .others
                .extend(api_diagnostics(&edited.text, std::slice::from_ref(d))),
        }
    }
    Err(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::textedit::{Change, ScopeText, edit};

    #[test]
    fn an_error_lands_on_its_field() {
        let cf =
            "virtual web {\n    active = 1\n    address = 10.0.0.100 eth0:1\n    port = 80\n}\n";
        let at = |n: &str| {
            let s = cf.find(n).unwrap();
            lvscf::Span {
                start: s as u32,
                end: (s + n.len()) as u32,
            }
        };
        let scope = ScopeText {
            stmts: vec![("active", at("active = 1")), ("port", at("port = 80"))],
            header: Some((at("virtual web {"), "virtual")),
            new_first: false,
        };
        let e = edit(cf, &scope, None, &[("port", Change::Set("eighty".into()))]);
        let p = check(&e).unwrap_err();
        assert!(p.fields.contains_key("port"), "{p:?}");
        assert!(p.others.is_empty(), "{p:?}");
        let e = edit(cf, &scope, None, &[("port", Change::Set("81".into()))]);
        assert_eq!(check(&e), Ok(()));
    }
}
