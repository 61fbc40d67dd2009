//! A statement's key, resolved in its scope: unknown keys (with a suggestion or the scope they
//! belong to), keys old piranha versions wrote (ignored with a warning) and a missing `=`.

use super::Lowerer;
use crate::diag::{Category, Diagnostic};
use crate::keywords::{KeyId, Scope, intern, suggest};
use crate::source::KeySpans;
use crate::syntax::Stmt;

/// How a scope is named in messages.
fn what(scope: Scope) -> &'static str {
    match scope {
        Scope::Global => "a global setting",
        Scope::Virtual => "a `virtual`/`failover` block keyword",
        Scope::Server => "a `server` block keyword",
    }
}

/// Where a key of `scope` is written, for a key used in the wrong scope.
fn place(scope: Scope) -> &'static str {
    match scope {
        Scope::Global => "outside any block (it is a global setting)",
        Scope::Virtual => "in a `virtual` or `failover` block",
        Scope::Server => "in a `server` block",
    }
}

impl Lowerer<'_> {
    /// Resolve the key of `st` in `scope`. Reports unknown keys, ignored legacy keys and a
    /// missing `=`; returns the key when the statement should be read.
    pub(super) fn key(&mut self, st: &Stmt, scope: Scope, keys: &mut KeySpans) -> Option<KeyId> {
        let key = self.text(st.key);
        let known = intern(key, scope.keywords()).map(|i| KeyId::new(scope, i));
        if st.damaged() {
            // Its quoting error is reported; keep later checks from guessing about it.
            if let Some(id) = known {
                keys.fail(id);
            }
            return None;
        }
        let Some(id) = known else {
            self.unknown_key(st, scope, keys);
            return None;
        };
        if st.eq().is_none() {
            let at = st.values.first().map_or(st.key.span(), |v| v.span());
            let example = match st.values.first() {
                Some(v) => format!("{key} = {}", self.text(*v)),
                None => format!("{key} = VALUE"),
            };
            self.diags.push(Diagnostic::error(
                Category::EqualExpected,
                at,
                format!("write `{example}`"),
            ));
            keys.fail(id);
            return None;
        }
        Some(id)
    }

    /// A key that is not in the table of `scope`.
    fn unknown_key(&mut self, st: &Stmt, scope: Scope, keys: &mut KeySpans) {
        let key = self.text(st.key);
        if intern(key, scope.legacy()).is_some() {
            self.diags.push(Diagnostic::warning(
                Some(st.key.span()),
                format!("`{key}` is ignored: old piranha versions or its GUI wrote it, but no daemon reads it"),
            ));
            // `fmt` drops the line: keep its comment as a comment line.
            if let Some(c) = st.comment(self.src) {
                self.pending
                    .push(self.src[c.range()].trim_end().to_string());
            }
            return;
        }
        let mut d = Diagnostic::error(
            Category::BadCommand,
            st.key.span(),
            format!("`{key}` is not {}", what(scope)),
        );
        let elsewhere = Scope::ALL
            .into_iter()
            .find(|s| *s != scope && s.keywords().contains(&key));
        if let Some(s) = suggest(key, scope.keywords()) {
            d = d.with_help(format!("did you mean `{s}`?"));
            // Most likely the admin meant that key: no check should assume its default.
            if let Some(i) = intern(s, scope.keywords()) {
                keys.fail(KeyId::new(scope, i));
            }
        } else if let Some(other) = elsewhere {
            d = d.with_help(format!("`{key}` belongs {}", place(other)));
        } else if key == "debug" {
            d = d
                .with_help("the keyword is `debug_level` (lvs.cf(5) of piranha called it `debug`)");
        }
        self.diags.push(d);
    }
}
