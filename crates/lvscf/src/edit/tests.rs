use serde_json::json;

use super::*;
use crate::model::{Host, Seconds};

const CF: &str = "# our cluster\nserial_no = 7 # bumped\nprimary = 10.0.0.1\nservice = lvs\n\
backup = 10.0.0.2\n\n# the web farm\nvirtual web {\n    active = 1 # on\n    \
address = 10.0.0.100 eth0:1\n    # first\n    server a {\n        address = 10.1.0.1\n        \
active = 1\n    }\n    # second\n    server b {\n        address = 10.1.0.2 # spare\n        \
active = 0\n    }\n}\n\n# mail\nvirtual mail {\n    active = 1\n    address = 10.0.0.101 eth0:2\n\
    port = 25\n    server m {\n        address = 10.1.0.9\n        active = 1\n    }\n}\n\n\
# a failover service\nfailover ftp {\n    active = 0\n    address = 10.0.0.102 eth0:3\n    \
port = 21\n}\n";

fn parsed() -> Parsed {
    let p = crate::parse(CF);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    p
}

fn edits(v: serde_json::Value) -> Vec<Edit> {
    serde_json::from_value(v).unwrap()
}

fn applied(v: serde_json::Value) -> LvsConfig {
    apply(&parsed().model, &edits(v)).unwrap()
}

fn failure(v: serde_json::Value) -> String {
    apply(&parsed().model, &edits(v)).unwrap_err().to_string()
}

/// Rewrite, and check that the text reads back as the edited model.
fn rewritten(v: serde_json::Value) -> String {
    let p = parsed();
    let r = rewrite(CF, &p, &edits(v)).unwrap();
    let back = crate::parse(&r.text);
    assert!(!back.has_errors(), "{:?}\n{}", back.diagnostics, r.text);
    assert_eq!(
        back.model,
        writer::normalize(&r.config).unwrap(),
        "{}",
        r.text
    );
    r.text
}

#[test]
fn edits_are_tagged_json() {
    let e = edits(json!([
        {"op": "add_server", "virtual": "web", "name": "c", "set": {"weight": 3}},
        {"op": "set_virtual_active", "name": "web", "active": false},
    ]));
    assert_eq!(e[0].op(), "add_server");
    assert!(matches!(&e[0], Edit::AddServer { vs, .. } if vs == "web"));
    let back = serde_json::to_value(&e).unwrap();
    assert_eq!(back[0]["virtual"], "web");
    for bad in [
        json!({"op": "explode"}),
        json!({"op": "delete_virtual"}),
        json!({"op": "delete_virtual", "name": "web", "extra": 1}),
    ] {
        assert!(
            serde_json::from_value::<Edit>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn set_global_replaces_named_fields_only() {
    let c = applied(json!([{"op": "set_global", "set": {
        "keepalive": 0.5, "network": "direct", "heartbeat": true, "backup": null}}]));
    assert_eq!(c.keepalive, Seconds::from_millis(500));
    assert_eq!(c.network, crate::Network::Direct);
    assert!(c.heartbeat);
    assert_eq!(c.backup, None);
    assert_eq!(c.primary, Some(Host::Ip("10.0.0.1".parse().unwrap())));
    assert_eq!(c.virtual_servers.len(), 2);
    assert_eq!(c.serial_no, 7);
}

#[test]
fn set_global_refuses_the_serial_the_blocks_and_unknown_keys() {
    let e = failure(json!([{"op": "set_global", "set": {"serial_no": 9}}]));
    assert_eq!(
        e,
        "edit 0 (set_global): \"serial_no\" cannot be set here: the server increments it on every write"
    );
    let e = failure(json!([{"op": "set_global", "set": {"virtual_servers": []}}]));
    assert!(e.contains("use the block edits"), "{e}");
    let e = failure(json!([{"op": "set_global", "set": {"keepalve": 1}}]));
    assert!(e.contains("unknown field `keepalve`"), "{e}");
    let e = failure(json!([{"op": "set_global", "set": {"heartbeat_port": 70000}}]));
    assert!(
        e.starts_with("edit 0 (set_global): global settings: heartbeat_port: "),
        "{e}"
    );
}

#[test]
fn set_redundancy_takes_the_redundancy_keys_only() {
    let c = applied(json!([{"op": "set_redundancy", "set": {
        "backup_active": true, "deadtime": 10, "backup": "10.0.0.3"}}]));
    assert!(c.backup_active);
    assert_eq!(c.deadtime, Seconds::from_secs(10));
    assert_eq!(c.backup, Some(Host::Ip("10.0.0.3".parse().unwrap())));
    let e = failure(json!([{"op": "set_redundancy", "set": {"network": "nat"}}]));
    assert!(e.contains("not a redundancy keyword"), "{e}");
}

#[test]
fn add_virtual_starts_from_the_defaults() {
    let c = applied(json!([{"op": "add_virtual", "name": "dns", "set": {
        "address": {"address": "10.0.0.103", "device": "eth0:4"},
        "port": 53, "protocol": "udp", "scheduler": "rr"}}]));
    let v = &c.virtual_servers[2];
    assert_eq!(v.name, "dns");
    assert_eq!(v.port, 53);
    assert_eq!(v.protocol, crate::Protocol::Udp);
    assert_eq!(v.timeout, VirtualServer::new("").timeout);
    assert!(!v.active);
    assert!(v.servers.is_empty());
    let e = failure(json!([{"op": "add_virtual", "name": "web"}]));
    assert_eq!(
        e,
        "edit 0 (add_virtual): there is a virtual server \"web\" already"
    );
    let e = failure(json!([{"op": "add_virtual", "name": "x", "set": {"servers": []}}]));
    assert!(e.contains("use the server edits"), "{e}");
    let e = failure(json!([{"op": "add_virtual", "name": ""}]));
    assert!(e.contains("a name cannot be empty"), "{e}");
}

#[test]
fn update_virtual_renames_and_carries_inherited_ports() {
    let c = applied(json!([
        {"op": "add_server", "virtual": "web", "name": "odd", "set": {"port": 8080}},
        {"op": "update_virtual", "name": "web", "set": {"name": "www", "port": 81}},
    ]));
    let v = &c.virtual_servers[0];
    assert_eq!(v.name, "www");
    assert_eq!(v.port, 81);
    let ports: Vec<u16> = v.servers.iter().map(|s| s.port).collect();
    assert_eq!(ports, [81, 81, 8080]);
    let e = failure(json!([{"op": "update_virtual", "name": "web", "set": {"name": "mail"}}]));
    assert!(
        e.contains("there is a virtual server \"mail\" already"),
        "{e}"
    );
    let e = failure(json!([{"op": "update_virtual", "name": "nope", "set": {}}]));
    assert_eq!(
        e,
        "edit 0 (update_virtual): there is no virtual server \"nope\""
    );
    let e = failure(json!([{"op": "update_virtual", "name": "web", "set": {"port": "http"}}]));
    assert!(
        e.contains("virtual server \"web\": port: invalid type"),
        "{e}"
    );
}

#[test]
fn delete_and_activate_virtual() {
    let c = applied(json!([
        {"op": "delete_virtual", "name": "web"},
        {"op": "set_virtual_active", "name": "mail", "active": false},
    ]));
    assert_eq!(c.virtual_servers.len(), 1);
    assert!(!c.virtual_servers[0].active);
    let e = failure(json!([{"op": "delete_virtual", "name": "ftp"}]));
    assert!(e.contains("no virtual server \"ftp\""), "{e}");
}

#[test]
fn server_edits() {
    let c = applied(json!([
        {"op": "add_server", "virtual": "mail", "name": "n",
         "set": {"address": "10.1.0.10", "active": true, "weight": 5}},
        {"op": "update_server", "virtual": "web", "name": "a", "set": {"weight": 2, "name": "a1"}},
        {"op": "delete_server", "virtual": "web", "name": "b"},
        {"op": "set_server_active", "virtual": "mail", "name": "m", "active": false},
    ]));
    let mail = &c.virtual_servers[1];
    assert_eq!(mail.servers[1].name, "n");
    assert_eq!(mail.servers[1].port, 25, "the virtual's port");
    assert_eq!(mail.servers[1].weight, 5);
    assert!(!mail.servers[0].active);
    let web = &c.virtual_servers[0];
    assert_eq!(web.servers.len(), 1);
    assert_eq!(
        (web.servers[0].name.as_str(), web.servers[0].weight),
        ("a1", 2)
    );
}

#[test]
fn server_edit_errors() {
    let e = failure(json!([{"op": "add_server", "virtual": "web", "name": "a"}]));
    assert_eq!(
        e,
        "edit 0 (add_server): there is a real server \"a\" of virtual server \"web\" already"
    );
    let e = failure(json!([{"op": "add_server", "virtual": "ftp", "name": "x"}]));
    assert!(e.contains("there is no virtual server \"ftp\""), "{e}");
    let e = failure(json!([{"op": "update_server", "virtual": "web", "name": "z", "set": {}}]));
    assert!(
        e.contains("no real server \"z\" of virtual server \"web\""),
        "{e}"
    );
    let e = failure(json!([
        {"op": "update_server", "virtual": "web", "name": "a", "set": {"name": "b"}}
    ]));
    assert!(
        e.contains("real server \"b\" of virtual server \"web\" already"),
        "{e}"
    );
    let e = failure(json!([
        {"op": "add_server", "virtual": "web", "name": "c", "set": {"weight": -1}}
    ]));
    assert!(e.contains("weight: invalid value: integer `-1`"), "{e}");
    let e = failure(json!([
        {"op": "add_server", "virtual": "web", "name": "c", "set": {"address": "not an ip!"}}
    ]));
    assert!(
        e.contains("address: invalid host name or ip address"),
        "{e}"
    );
}

#[test]
fn failover_edits() {
    let c = applied(json!([
        {"op": "add_failover", "name": "nfs", "set": {"port": 2049, "active": true}},
        {"op": "update_failover", "name": "ftp", "set": {"timeout": 3}},
        {"op": "set_failover_active", "name": "ftp", "active": true},
    ]));
    assert_eq!(c.failover_services.len(), 2);
    assert_eq!(c.failover_services[0].timeout, 3);
    assert!(c.failover_services[0].active);
    assert_eq!(c.failover_services[1].port, 2049);
    let c = applied(json!([{"op": "delete_failover", "name": "ftp"}]));
    assert!(c.failover_services.is_empty());
    let e = failure(json!([{"op": "add_failover", "name": "ftp"}]));
    assert!(
        e.contains("there is a failover service \"ftp\" already"),
        "{e}"
    );
    // Names are per list: a failover service may share a virtual server's name.
    let c = applied(json!([{"op": "delete_failover", "name": "ftp"},
        {"op": "add_failover", "name": "web"}]));
    assert_eq!(c.failover_services[0].name, "web");
}

#[test]
fn a_failing_list_applies_nothing_and_names_its_edit() {
    let e = apply(
        &parsed().model,
        &edits(json!([
            {"op": "delete_virtual", "name": "web"},
            {"op": "delete_virtual", "name": "web"},
        ])),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            EditError::Edit {
                index: 1,
                op: "delete_virtual",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn no_edits_keep_the_text_byte_for_byte() {
    let p = parsed();
    assert_eq!(rewrite(CF, &p, &[]).unwrap().text, CF);
    let noop = edits(json!([
        {"op": "set_virtual_active", "name": "web", "active": true},
        // Spelled differently, read back the same: the primary's copy, an unset pmask.
        {"op": "set_global", "set": {"primary_private": "10.0.0.1"}},
        {"op": "update_virtual", "name": "mail", "set": {"pmask": "255.255.255.255"}},
    ]));
    assert_eq!(rewrite(CF, &p, &noop).unwrap().text, CF);
    let change = edits(json!([{"op": "set_virtual_active", "name": "web", "active": false}]));
    assert_ne!(rewrite(CF, &p, &change).unwrap().text, CF);
}

#[test]
fn comments_of_untouched_blocks_survive_an_edit_elsewhere() {
    let text = rewritten(json!([
        {"op": "add_server", "virtual": "web", "name": "c", "set": {"address": "10.1.0.3"}},
    ]));
    for c in [
        "# our cluster",
        "# bumped",
        "# the web farm",
        "# on",
        "# first",
        "# second",
        "# spare",
        "# mail",
        "# a failover service",
    ] {
        assert_eq!(text.matches(c).count(), 1, "{c}:\n{text}");
    }
    assert!(text.contains("server c {"), "{text}");
}

#[test]
fn comments_follow_their_blocks_across_deletes_and_renames() {
    let text = rewritten(json!([
        {"op": "delete_server", "virtual": "web", "name": "a"},
        {"op": "delete_virtual", "name": "web"},
        {"op": "update_virtual", "name": "mail", "set": {"name": "smtp"}},
        {"op": "add_virtual", "name": "new", "set": {"port": 8080}},
    ]));
    // The deleted block's comments went with it.
    for gone in ["# the web farm", "# on", "# first", "# second", "# spare"] {
        assert!(!text.contains(gone), "{gone}:\n{text}");
    }
    // The renamed block kept its comment, now at index 0.
    let mail = text.find("# mail").unwrap();
    let smtp = text.find("virtual smtp {").unwrap();
    assert!(mail < smtp, "{text}");
    assert!(!text[mail..smtp].contains("virtual"), "{text}");
    let new = text.find("virtual new {").unwrap();
    assert!(!text[smtp..].contains("# mail") && smtp < new, "{text}");
}

#[test]
fn a_deleted_server_takes_its_comments_and_the_others_keep_theirs() {
    let text = rewritten(json!([{"op": "delete_server", "virtual": "web", "name": "a"}]));
    assert!(!text.contains("# first"), "{text}");
    let second = text.find("# second").unwrap();
    let b = text.find("server b {").unwrap();
    assert!(second < b && !text[second..b].contains("server"), "{text}");
    assert!(text.contains("address = 10.1.0.2 # spare"), "{text}");
}

#[test]
fn a_value_lvs_cf_cannot_spell_is_a_write_error() {
    let p = parsed();
    let e = rewrite(
        CF,
        &p,
        &edits(json!([{"op": "set_global", "set": {"rsh_command": "a'b\"c d"}}])),
    )
    .unwrap_err();
    assert!(matches!(e, EditError::Write(_)), "{e}");
}

/// The text of `CF` from the line starting with `from` to the line starting with `to`
/// (exclusive; end of text when `None`).
fn part(from: &str, to: Option<&str>) -> &'static str {
    let start = CF.find(from).unwrap();
    let end = to.map_or(CF.len(), |t| CF.find(t).unwrap());
    &CF[start..end]
}

#[test]
fn untouched_blocks_keep_their_text_byte_for_byte() {
    let text = rewritten(json!([
        {"op": "add_server", "virtual": "web", "name": "c", "set": {"address": "10.1.0.3"}},
    ]));
    // Everything but the web block is as it was, and so the web block's comments.
    let head = part("# our cluster", Some("virtual web {"));
    let tail = part("\n# mail", None);
    assert!(text.starts_with(head), "{text}");
    assert!(text.ends_with(tail), "{text}");
    let web = &text[head.len()..text.len() - tail.len()];
    assert!(
        web.starts_with("virtual web {\n    active = 1 # on\n"),
        "{web}"
    );
    assert!(web.contains("    # second\n    server b {\n"), "{web}");
    assert!(
        web.contains("    server c {\n        address = 10.1.0.3\n"),
        "{web}"
    );
}

#[test]
fn a_deleted_block_is_cut_out_with_its_comments() {
    let text = rewritten(json!([{"op": "delete_virtual", "name": "web"}]));
    let expected = format!(
        "{}{}",
        part("# our cluster", Some("# the web farm")),
        part("# mail", None)
    );
    assert_eq!(text, expected);
    let text = rewritten(json!([{"op": "delete_failover", "name": "ftp"}]));
    assert_eq!(text, part("# our cluster", Some("\n# a failover service")));
}

#[test]
fn new_blocks_follow_the_last_of_their_list() {
    let text = rewritten(json!([
        {"op": "add_virtual", "name": "dns", "set": {"port": 53, "protocol": "udp"}},
        {"op": "add_failover", "name": "nfs", "set": {"port": 2049}},
    ]));
    let mail_end = CF.find("\n\n# a failover service").unwrap() + 1;
    assert!(text.starts_with(&CF[..mail_end]), "{text}");
    let dns = &text[mail_end..];
    assert!(dns.starts_with("\nvirtual dns {\n"), "{text}");
    assert!(
        text.contains(part("\n# a failover service", None)),
        "{text}"
    );
    assert!(text.ends_with("}\n\nfailover nfs {\n    active = 0\n    port = 2049\n    protocol = tcp\n    timeout = 10\n    reentry = 180\n}\n"), "{text}");
}

#[test]
fn changed_global_keys_change_their_line_only() {
    let text = rewritten(json!([{"op": "set_global", "set": {
        "backup": "10.0.0.3", "keepalive": 1.5}}]));
    let expected = CF.replace(
        "backup = 10.0.0.2\n",
        "backup = 10.0.0.3\nkeepalive = 1.5\n",
    );
    assert_eq!(text, expected);
    // A key set back to what lvs.cf does not write (no shared address) loses its line.
    let p = crate::parse(&expected);
    let r = rewrite(
        &expected,
        &p,
        &edits(json!([{"op": "set_global", "set": {"keepalive": 2}}])),
    )
    .unwrap();
    assert_eq!(r.text, expected.replace("keepalive = 1.5", "keepalive = 2"));
}

#[test]
fn a_private_address_that_copied_the_public_one_follows_it() {
    let c = applied(json!([{"op": "set_global", "set": {"primary": "10.0.0.5"}}]));
    assert_eq!(
        c.primary_private,
        Some(Host::Ip("10.0.0.5".parse().unwrap()))
    );
    let c = applied(json!([
        {"op": "set_global", "set": {"primary_private": "192.168.0.1"}},
        {"op": "set_global", "set": {"primary": "10.0.0.5"}},
    ]));
    assert_eq!(
        c.primary_private,
        Some(Host::Ip("192.168.0.1".parse().unwrap()))
    );
}

#[test]
fn without_a_place_for_a_new_global_line_the_file_is_written_canonically() {
    // No global statement to put `keepalive` after: the whole file in canonical layout.
    let cf = "# only blocks\nvirtual web {\n  active = 1\n  address = 10.0.0.100 eth0:1\n}\n";
    let p = crate::parse(cf);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    let e = edits(json!([{"op": "set_global", "set": {"keepalive": 3}}]));
    let r = rewrite(cf, &p, &e).unwrap();
    assert_eq!(
        r.text,
        writer::write_with(
            &r.config,
            WriteOptions {
                trivia: Some(&p.trivia),
                source: Some(&p.source),
                explicit: false,
            }
        )
        .unwrap()
    );
    assert!(r.text.contains("# only blocks\n"), "{}", r.text);
    assert!(r.text.contains("keepalive = 3\n"), "{}", r.text);
    assert_eq!(crate::parse(&r.text).model.keepalive, Seconds::from_secs(3));
}

#[test]
fn files_without_a_last_newline_or_with_crlf_are_spliced_too() {
    let e = edits(json!([
        {"op": "add_virtual", "name": "new", "set": {"port": 81}},
        {"op": "update_virtual", "name": "web", "set": {"port": 82}},
    ]));
    for cf in [CF.trim_end().to_owned(), CF.replace('\n', "\r\n")] {
        let p = crate::parse(&cf);
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        let r = rewrite(&cf, &p, &e).unwrap();
        let back = crate::parse(&r.text);
        assert!(!back.has_errors(), "{:?}\n{}", back.diagnostics, r.text);
        assert_eq!(back.model, writer::normalize(&r.config).unwrap());
        // The mail block kept its text (the splice, not the canonical fallback).
        let start = cf.find("# mail").unwrap();
        let mail = &cf[start..start + cf[start..].find("\n}").unwrap() + 2];
        assert!(r.text.contains(mail), "{:?}", r.text);
        // Lines end as the file's do.
        let crlf = cf.contains("\r\n");
        assert_eq!(
            r.text.matches("\r\n").count() == r.text.matches('\n').count(),
            crlf
        );
    }
}
