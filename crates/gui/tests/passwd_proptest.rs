//! Arbitrary input never panics the password file's parser or verifier: it is an error, or a
//! hash that verifies (or not).

use std::path::Path;

use gui::passwd::{Document, Hash};
use proptest::prelude::*;

/// Strings that start like each format and go on with characters of hashes and separators.
/// (bcrypt's cost is fixed at 04 so that a string that happens to be well formed is quick.)
fn hashlike() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "",
        "$apr1$",
        "{SHA}",
        "$1$",
        "$5$",
        "$6$",
        "$5$rounds=",
        "$6$rounds=1000$",
        "$2y$04$",
        "$2a$",
        "$2b$0",
        "$7$",
        "_",
    ]);
    (prefix, "[./0-9A-Za-z$=:+é ]{0,100}").prop_map(|(p, rest)| format!("{p}{rest}"))
}

/// Well-formed hashes of each format (from `htpasswd`; bcrypt at cost 04), one character
/// replaced, inserted or removed, or cut short.
fn mutated() -> impl Strategy<Value = String> {
    let valid = prop::sample::select(vec![
        "$apr1$zEkq.Iih$/IqrSVEI2ydLY2XAZ5tDU.",
        "{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=",
        "$1$5pZSV9va$azfrPr6af3Fc7dLblQXVa0",
        "$5$23ZvLqflnWfYKDcg$dcyehBrTD1mtqEvYsGwWOVLwXg03XhITG5LdyIjl6oA",
        "$6$rounds=1000$Qdb2QtVD3arzmaBO$3aUrJ3ZpR25WsZqBlsKWGVunMpxV3zoGazaJmhfEAetdr0fvobfo4Xn04NpQDTm3cbCks/f27HXb.lZq7xhrT0",
        "oihCWHjf7RlVw",
        "$2y$04$cswJnHJLEa3Ml5MbOtitmexFpG/DObTGhTMHsGCiNPp0BVn2fEFRm",
    ]);
    let ch = prop::sample::select(vec![
        '$', '.', '/', 'a', 'Z', '0', '9', '=', ':', '+', 'é', '\0',
    ]);
    (valid, 0usize..130, ch, 0u8..4).prop_map(|(v, at, c, op)| {
        let mut chars: Vec<char> = v.chars().collect();
        let at = at.min(chars.len());
        match op {
            0 if at < chars.len() => chars[at] = c,
            1 => chars.insert(at, c),
            2 if at < chars.len() => {
                chars.remove(at);
            }
            _ => chars.truncate(at),
        }
        chars.into_iter().collect()
    })
}

proptest! {
    #[test]
    fn mutated_hashes(s in mutated(), password in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(h) = Hash::parse(&s) {
            let _ = h.verify(&password);
        }
    }

    #[test]
    fn any_bytes_as_a_file(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(doc) = Document::parse(&bytes, Path::new("f")) {
            let _ = doc.render();
            if let Ok(p) = doc.passwords() {
                let _ = p.users().count();
            }
        }
    }

    #[test]
    fn any_text_as_a_file(text in "(([a-z]{0,3}[:#]?[ -~]{0,40})?\n){0,8}", user in "[a-z:]{0,4}") {
        if let Ok(mut doc) = Document::parse(text.as_bytes(), Path::new("f")) {
            doc.set("piranha", "x");
            prop_assert!(doc.render().contains("piranha:x\n"));
            if let Ok(p) = Document::parse(text.as_bytes(), Path::new("f")).unwrap().passwords() {
                // Unknown users run the dummy bcrypt at cost 12: keep to known users here.
                if p.get(&user).is_some() {
                    let _ = p.verify(&user, b"pw");
                }
            }
        }
    }

    #[test]
    fn any_string_as_a_hash(s in ".{0,120}", password in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(h) = Hash::parse(&s) {
            let _ = h.verify(&password);
        }
    }

    #[test]
    fn hashlike_strings(s in hashlike(), password in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(h) = Hash::parse(&s) {
            let _ = h.verify(&password);
            let _ = h.format();
        }
    }
}
