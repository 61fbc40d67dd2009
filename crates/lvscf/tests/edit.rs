//! Properties of edits through the model: for any list of edits, the rewritten text reads back
//! as the edited model, and the blocks no edit named keep their text and comments.

use lvscf::edit::{Edit, EditError, rewrite};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::json;

const VIRTUALS: &[&str] = &["v0", "v1", "v2", "v3"];
const SERVERS: &[&str] = &["s0", "s1", "s2"];
/// Names for new items (mostly not taken yet).
const NEW_VIRTUALS: &[&str] = &["v3", "v4", "v5", "v0"];
const NEW_SERVERS: &[&str] = &["s2", "s3", "s4", "s0"];
const FAILOVERS: &[&str] = &["f0", "f1"];

/// Virtual servers v0..v2 with servers s0, s1 (v3 is missing), failover f0; every item has a
/// leading comment naming it, and every address a trailing one.
fn base() -> String {
    let mut t = String::from("# head\nserial_no = 3\nprimary = 10.0.0.1\nservice = lvs\n");
    for (i, v) in VIRTUALS[..3].iter().enumerate() {
        t.push_str(&format!(
            "\n# c-{v}\nvirtual {v} {{\n    active = 1\n    address = 10.0.0.{} eth0:{i} # a-{v}\n",
            100 + i
        ));
        for (j, s) in SERVERS[..2].iter().enumerate() {
            t.push_str(&format!(
                "    # c-{v}-{s}\n    server {s} {{\n        address = 10.1.{i}.{j} # a-{v}-{s}\n        active = 1\n    }}\n"
            ));
        }
        t.push_str("}\n");
    }
    t.push_str("\n# c-f0\nfailover f0 {\n    active = 0\n    address = 10.0.1.1 eth1:0\n    port = 21\n}\n");
    t
}

fn fields() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        1 => Just(json!({})),
        3 => (1u32..100).prop_map(|w| json!({ "weight": w })),
        3 => (1u16..2000).prop_map(|p| json!({ "port": p })),
        3 => Just(json!({ "active": true, "address": "10.2.0.1" })),
        1 => Just(json!({ "weight": -1 })),
    ]
}

fn block_fields() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(json!({})),
        (1u16..2000).prop_map(|p| json!({ "port": p })),
        (1u32..60).prop_map(|t| json!({ "timeout": t })),
        select(NEW_VIRTUALS).prop_map(|n| json!({ "name": n })),
        Just(json!({ "scheduler": "rr" })),
    ]
}

fn edit() -> impl Strategy<Value = serde_json::Value> {
    let v = || select(VIRTUALS);
    let s = || select(SERVERS);
    let f = || select(FAILOVERS);
    prop_oneof![
        (select(NEW_VIRTUALS), block_fields()).prop_map(
            |(n, set)| json!({"op": "add_virtual", "name": n,
            "set": set.as_object().unwrap().iter().filter(|(k, _)| *k != "name")
                .map(|(k, v)| (k.clone(), v.clone())).collect::<serde_json::Map<_, _>>()})
        ),
        (v(), block_fields())
            .prop_map(|(n, set)| json!({"op": "update_virtual", "name": n, "set": set})),
        v().prop_map(|n| json!({"op": "delete_virtual", "name": n})),
        (v(), any::<bool>())
            .prop_map(|(n, a)| json!({"op": "set_virtual_active", "name": n, "active": a})),
        (v(), select(NEW_SERVERS), fields()).prop_map(
            |(v, n, set)| json!({"op": "add_server", "virtual": v, "name": n, "set": set})
        ),
        (v(), s(), fields()).prop_map(
            |(v, n, set)| json!({"op": "update_server", "virtual": v, "name": n, "set": set})
        ),
        (v(), s()).prop_map(|(v, n)| json!({"op": "delete_server", "virtual": v, "name": n})),
        (v(), s(), any::<bool>()).prop_map(
            |(v, n, a)| json!({"op": "set_server_active", "virtual": v, "name": n, "active": a})
        ),
        f().prop_map(|n| json!({"op": "add_failover", "name": n})),
        f().prop_map(|n| json!({"op": "delete_failover", "name": n})),
        (1u32..10).prop_map(|k| json!({"op": "set_global", "set": {"keepalive": k}})),
    ]
}

/// Names of virtual blocks that an edit names or creates (their comments may move or go).
fn touched(edits: &[Edit]) -> Vec<String> {
    let mut t = Vec::new();
    for e in edits {
        let v = serde_json::to_value(e).unwrap();
        for key in ["name", "virtual"] {
            if let Some(n) = v[key].as_str() {
                t.push(n.to_owned());
            }
        }
        if let Some(n) = v["set"]["name"].as_str() {
            t.push(n.to_owned());
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn rewritten_text_reads_back_as_the_edited_model(list in prop::collection::vec(edit(), 0..6)) {
        let text = base();
        let parsed = lvscf::parse(&text);
        prop_assert!(!parsed.has_errors());
        let edits: Vec<Edit> = serde_json::from_value(serde_json::Value::Array(list)).unwrap();
        let r = match rewrite(&text, &parsed, &edits) {
            Ok(r) => r,
            Err(EditError::Edit { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let back = lvscf::parse(&r.text);
        let syntax: Vec<_> = back.diagnostics.iter()
            .filter(|d| d.is_error() && d.category != lvscf::Category::Semantic)
            .collect();
        prop_assert!(syntax.is_empty(), "{:?}\n{}", syntax, r.text);
        prop_assert_eq!(&back.model, &lvscf::writer::normalize(&r.config).unwrap(), "{}", r.text);
        // Rewriting again without edits changes nothing.
        prop_assert_eq!(&rewrite(&r.text, &back, &[]).unwrap().text, &r.text);
        let touched = touched(&edits);
        prop_assert!(r.text.starts_with("# head\n"), "{}", r.text);
        for v in &VIRTUALS[..3] {
            if touched.iter().any(|t| t == v) {
                continue;
            }
            // Untouched: its text, byte for byte.
            let start = text.find(&format!("# c-{v}\n")).unwrap();
            let len = text[start..].find("\n}\n").unwrap() + 3;
            let verbatim = &text[start..start + len];
            prop_assert!(r.text.contains(verbatim), "{}\n{}", verbatim, r.text);
            // Its comments, once each, and in front of what they were in front of.
            let c = format!("# c-{v}\nvirtual {v} {{\n");
            prop_assert_eq!(r.text.matches(&c).count(), 1, "{}\n{}", c, r.text);
            for s in &SERVERS[..2] {
                let c = format!("    # c-{v}-{s}\n    server {s} {{\n        address = ");
                prop_assert_eq!(r.text.matches(&c).count(), 1, "{}\n{}", c, r.text);
                prop_assert_eq!(r.text.matches(&format!(" # a-{v}-{s}\n")).count(), 1);
            }
        }
    }
}
