//! The forms of the pages: lvscf's messages at their fields (422, nothing written), the diff
//! before writing, apply (serial_no bumped, comments kept, daemons reloaded), 409 when the
//! file changed meanwhile, lvs.cf's editor, and hostile values escaped everywhere.

use crate::common::*;
use crate::pages::{Browser, apply, hidden};

fn file(a: &App) -> String {
    std::fs::read_to_string(&a.config).unwrap()
}

/// The message of `p.field-error#error-KEY`.
fn field_error<'a>(body: &'a str, key: &str) -> &'a str {
    let tag = format!("<p class=\"field-error\" id=\"error-{key}\" role=\"alert\">");
    let at = body
        .find(&tag)
        .unwrap_or_else(|| panic!("no error for {key}: {body}"))
        + tag.len();
    &body[at..at + body[at..].find("</p>").unwrap()]
}

#[tokio::test]
async fn a_refused_value_comes_back_at_its_field_and_nothing_is_written() {
    let a = app();
    let b = Browser::login(&a.router).await;
    let (r, body) = b
        .post(
            &a.router,
            "/global",
            &[("primary", "10.0.0.300"), ("tcp_timeout", "90")],
        )
        .await;
    assert_eq!(r.status(), 422, "{body}");
    let msg = field_error(&body, "primary");
    assert!(!msg.is_empty());
    // The error follows its field, and the entered values are kept.
    let input = body.find("name=\"primary\" value=\"10.0.0.300\"").unwrap();
    assert!(input < body.find("id=\"error-primary\"").unwrap());
    assert!(body.contains("name=\"tcp_timeout\" value=\"90\""));
    assert!(body.contains("aria-describedby=\"error-primary\""));
    assert!(!body.contains("id=\"error-tcp_timeout\""));
    assert_eq!(file(&a), CF);
    assert_eq!(*a.reloader.calls.lock().unwrap(), 0);
    // The same message lvscf gives for the file.
    let cf = CF.replace("primary = 10.0.0.1", "primary = 10.0.0.300");
    let parsed = lvscf::parse(&cf);
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.is_error() && msg.contains(&d.message)),
        "{msg}"
    );
}

#[tokio::test]
async fn a_valid_save_shows_the_diff_and_apply_writes_it() {
    let a = app();
    let b = Browser::login(&a.router).await;
    let (r, page) = b
        .post(
            &a.router,
            "/global",
            &[("primary", "10.0.0.2"), ("tcp_timeout", "90")],
        )
        .await;
    assert_eq!(r.status(), 200, "{page}");
    let diff = &page[page.find("<pre id=\"diff\"").unwrap()..];
    let diff = &diff[..diff.find("</pre>").unwrap()];
    for line in [
        "-serial_no = 7",
        "+serial_no = 8",
        "-primary = 10.0.0.1",
        "+primary = 10.0.0.2",
        "+tcp_timeout = 90",
    ] {
        assert!(diff.contains(line), "{line}: {diff}");
    }
    assert!(page.contains("<form id=\"apply\" method=\"post\" action=\"/apply\">"));
    assert!(
        page.contains("<button id=\"apply\" type=\"submit\">") && page.contains("id=\"cancel\"")
    );
    assert_eq!(file(&a), CF, "nothing written before apply");
    let (r, _) = apply(&b, &a.router, &page).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        header(&r, "location"),
        Some("/global?flash=applied&serial=8")
    );
    let now = file(&a);
    assert_eq!(
        now,
        CF.replace("serial_no = 7", "serial_no = 8")
            .replace("primary = 10.0.0.1", "primary = 10.0.0.2")
            .replace("service = lvs\n", "service = lvs\ntcp_timeout = 90\n")
    );
    assert!(now.contains("# the GUI bumps this") && now.starts_with("# our cluster\n"));
    assert_eq!(*a.reloader.calls.lock().unwrap(), 1);
    let (_, body) = b.get(&a.router, "/global?flash=applied&serial=8").await;
    assert!(
        body.contains("<div id=\"flash\" role=\"status\">applied"),
        "{body}"
    );
    // Applying the same page again: the file changed underneath, 409, nothing written.
    let (r, body) = apply(&b, &a.router, &page).await;
    assert_eq!(r.status(), 409);
    assert!(body.contains("id=\"conflict\""));
    assert_eq!(file(&a), now);
    assert_eq!(*a.reloader.calls.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_change_on_disk_after_the_diff_is_a_conflict() {
    let a = app();
    let b = Browser::login(&a.router).await;
    let (_, page) = b
        .post(
            &a.router,
            "/redundancy",
            &[("keepalive", "2"), ("deadtime", "6")],
        )
        .await;
    assert!(page.contains("+keepalive = 2"), "{page}");
    let theirs = CF.replace("# our cluster", "# edited by hand");
    std::fs::write(&a.config, &theirs).unwrap();
    let (r, body) = apply(&b, &a.router, &page).await;
    assert_eq!(r.status(), 409);
    assert!(body.contains("<div id=\"conflict\""));
    assert_eq!(file(&a), theirs);
    assert_eq!(*a.reloader.calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn a_virtual_server_is_added_through_the_form() {
    let a = app();
    let b = Browser::login(&a.router).await;
    // Add one: its values, and the scheduler list with every scheduler lvscf knows.
    let (_, form) = b.get(&a.router, "/virtual/new").await;
    for s in lvscf::Scheduler::ALL {
        assert!(
            form.contains(&format!("<option value=\"{}\"", s.1)),
            "{}",
            s.1
        );
    }
    assert!(form.contains("<button id=\"save\" type=\"submit\">"));
    let fields = [
        ("name", "www"),
        ("active", "1"),
        ("address", "10.0.0.200 eth0:2"),
        ("port", "8080"),
        ("scheduler", "rr"),
        ("send", "GET / HTTP/1.0\\r\\n\\r\\n"),
        ("expect", "HTTP"),
    ];
    let (r, page) = b.post(&a.router, "/virtual/new", &fields).await;
    assert_eq!(r.status(), 200, "{page}");
    let (r, _) = apply(&b, &a.router, &page).await;
    assert_eq!(
        header(&r, "location"),
        Some("/virtual?flash=applied&serial=8")
    );
    let cf = lvscf::parse(&file(&a));
    let cfg = cf.config().expect("valid");
    let w = cfg
        .virtual_servers
        .iter()
        .find(|v| v.name == "www")
        .unwrap();
    assert_eq!(
        (w.port, w.scheduler, w.active),
        (8080, lvscf::Scheduler::Rr, true)
    );
    assert_eq!(w.send.as_deref(), Some("GET / HTTP/1.0\\r\\n\\r\\n"));
    assert!(file(&a).contains("# our cluster"));
}

/// An lvs.cf with the virtual server `www` too.
async fn with_www(a: &App, b: &Browser) {
    let fields = [
        ("name", "www"),
        ("active", "1"),
        ("address", "10.0.0.200 eth0:2"),
        ("port", "8080"),
    ];
    let (r, page) = b.post(&a.router, "/virtual/new", &fields).await;
    assert_eq!(r.status(), 200, "{page}");
    apply(b, &a.router, &page).await;
}

#[tokio::test]
async fn a_virtual_server_is_checked_renamed_deactivated_and_deleted() {
    let a = app();
    let b = Browser::login(&a.router).await;
    with_www(&a, &b).await;
    // A duplicate name is an error at the name.
    let (r, body) = b
        .post(
            &a.router,
            "/virtual/new",
            &[("name", "www"), ("address", "10.0.0.201 eth0:3")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(field_error(&body, "name").contains("already"), "{body}");
    // A bad port on the existing one.
    let (r, body) = b
        .post(
            &a.router,
            "/virtual/www",
            &[("name", "www"), ("port", "eighty")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(!field_error(&body, "port").is_empty());
    assert!(body.contains("name=\"port\" value=\"eighty\""));
    // Renaming onto another virtual server's name is refused at the name.
    let (r, body) = b
        .post(
            &a.router,
            "/virtual/www",
            &[("name", "web"), ("port", "8080")],
        )
        .await;
    assert_eq!(r.status(), 422, "{body}");
    assert!(!field_error(&body, "name").is_empty());
    // Rename.
    let (r, page) = b
        .post(
            &a.router,
            "/virtual/www",
            &[("name", "www2"), ("port", "8080")],
        )
        .await;
    assert_eq!(r.status(), 200, "{page}");
    assert!(page.contains("+virtual www2 {"), "{page}");
    apply(&b, &a.router, &page).await;
    // Deactivate, then delete, from the list.
    let (_, list) = b.get(&a.router, "/virtual").await;
    assert!(list.contains("id=\"add-virtual\" class=\"button\" href=\"/virtual/new\""));
    assert!(list.contains("action=\"/virtual/www2/deactivate\""));
    let (_, page) = b.post(&a.router, "/virtual/www2/deactivate", &[]).await;
    assert!(
        page.contains("+    active = 0") || page.contains("+\tactive = 0"),
        "{page}"
    );
    apply(&b, &a.router, &page).await;
    let (_, page) = b.post(&a.router, "/virtual/www2/delete", &[]).await;
    assert!(page.contains("-virtual www2 {"), "{page}");
    apply(&b, &a.router, &page).await;
    let cf = lvscf::parse(&file(&a));
    assert_eq!(cf.config().unwrap().virtual_servers.len(), 1);
    assert_eq!(*a.reloader.calls.lock().unwrap(), 4);
}

#[tokio::test]
async fn real_servers_and_failover_services_have_their_forms() {
    let a = app();
    let b = Browser::login(&a.router).await;
    let (_, page) = b.get(&a.router, "/virtual/web").await;
    assert!(page.contains("id=\"add-real\"") && page.contains("href=\"/virtual/web/real/a\""));
    let (r, body) = b
        .post(
            &a.router,
            "/virtual/web/real/a",
            &[("name", "a"), ("address", "10.1.0.1"), ("weight", "heavy")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(!field_error(&body, "weight").is_empty());
    assert_eq!(file(&a), CF);
    let (r, page) = b
        .post(
            &a.router,
            "/virtual/web/real/new",
            &[
                ("name", "b"),
                ("address", "10.1.0.2"),
                ("weight", "5"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{page}");
    let (r, _) = apply(&b, &a.router, &page).await;
    assert_eq!(
        header(&r, "location"),
        Some("/virtual/web?flash=applied&serial=8")
    );
    let cf = lvscf::parse(&file(&a));
    let web = &cf.config().unwrap().virtual_servers[0];
    assert_eq!(
        (web.servers[1].name.as_str(), web.servers[1].weight),
        ("b", 5)
    );
    // A failover service.
    let (r, page) = b
        .post(
            &a.router,
            "/failover/new",
            &[
                ("name", "ftp"),
                ("address", "10.0.0.50 eth0:5"),
                ("port", "21"),
                ("start_cmd", "/etc/init.d/ftp start"),
                ("stop_cmd", "/etc/init.d/ftp stop"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{page}");
    apply(&b, &a.router, &page).await;
    let cf = lvscf::parse(&file(&a));
    let f = &cf.config().unwrap().failover_services[0];
    assert_eq!(f.start_cmd.as_deref(), Some("/etc/init.d/ftp start"));
    let (_, list) = b.get(&a.router, "/failover").await;
    assert!(list.contains("<tr data-name=\"ftp\">"), "{list}");
}

#[tokio::test]
async fn the_lvs_cf_page_highlights_checks_and_saves() {
    let a = app();
    let b = Browser::login(&a.router).await;
    let (_, page) = b.get(&a.router, "/lvs.cf").await;
    let view = &page[page.find("<pre id=\"lvscf-view\"").unwrap()..];
    assert!(view.contains("<span class=\"kw\">serial_no</span>"));
    assert!(view.contains("<span class=\"comment\"># our cluster</span>"));
    assert!(view.contains("<span class=\"brace\">{</span>"));
    assert!(view.contains("<span class=\"line\" id=\"L7\">"));
    assert!(page.contains("<textarea id=\"lvscf-text\" name=\"text\""));
    // Check: errors by line, 422, nothing written; the text kept in the editor.
    let broken = CF.replace("active = 1\n    address", "active = maybe\n    address");
    let crlf = broken.replace('\n', "\r\n");
    let (r, body) = b
        .post(
            &a.router,
            "/lvs.cf",
            &[("text", &crlf), ("action", "check")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        body.contains(
            "<ul id=\"diagnostics\">\n<li data-line=\"7\" class=\"severity-error\">line 7: "
        ),
        "{body}"
    );
    assert!(body.contains("<code>active = maybe</code></li>"), "{body}");
    let (r, _) = b
        .post(&a.router, "/lvs.cf", &[("text", &crlf), ("action", "save")])
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(file(&a), CF);
    // A valid text: check says so; save shows the diff; apply writes it (LF kept).
    let good = CF
        .replace("# our cluster", "# our cluster, edited")
        .replace('\n', "\r\n");
    let (r, body) = b
        .post(
            &a.router,
            "/lvs.cf",
            &[("text", &good), ("action", "check")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(body.contains("lvscf finds no problem."));
    let (r, page) = b
        .post(&a.router, "/lvs.cf", &[("text", &good), ("action", "save")])
        .await;
    assert_eq!(r.status(), 200);
    assert!(page.contains("+# our cluster, edited"));
    apply(&b, &a.router, &page).await;
    assert_eq!(
        file(&a),
        CF.replace("# our cluster", "# our cluster, edited")
            .replace("serial_no = 7", "serial_no = 8")
    );
}

#[tokio::test]
async fn hostile_values_in_lvs_cf_are_escaped_on_every_page() {
    let a = app();
    let hostile = CF
        .replace("# our cluster", "# </pre><script>alert(1)</script>")
        .replace(
            "    active = 1\n    address = 10.0.0.100",
            "    active = 1\n    send = \"<script>alert('s')</script>\"\n    expect = '\"><img src=x onerror=alert(2)>'\n    address = 10.0.0.100",
        );
    assert!(
        lvscf::parse(&hostile).config().is_some(),
        "the file is valid"
    );
    std::fs::write(&a.config, &hostile).unwrap();
    let b = Browser::login(&a.router).await;
    for path in ["/lvs.cf", "/virtual/web", "/virtual", "/monitor", "/global"] {
        let (r, body) = b.get(&a.router, path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            !body.contains("<script>") && !body.contains("<img"),
            "{path}: {body}"
        );
    }
    let (_, body) = b.get(&a.router, "/virtual/web").await;
    assert!(
        body.contains("value=\"&lt;script&gt;alert(&#39;s&#39;)&lt;/script&gt;\""),
        "{body}"
    );
    assert!(
        body.contains("value=\"&quot;&gt;&lt;img src=x onerror=alert(2)&gt;\""),
        "{body}"
    );
    // The diff page escapes too (and carries the text as base64).
    let (_, page) = b
        .post(
            &a.router,
            "/virtual/web",
            &[("name", "web"), ("port", "81")],
        )
        .await;
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        hidden(&page, "text")
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))
    );
}

/// A form's path, the fields posted, the field that must carry the error.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[tokio::test]
async fn every_form_refuses_a_broken_value_at_its_field() {
    let a = app();
    let b = Browser::login(&a.router).await;
    // Add a failover service to edit.
    let svc = [
        ("name", "ftp"),
        ("address", "10.0.0.50 eth0:5"),
        ("port", "21"),
    ];
    let (_, page) = b.post(&a.router, "/failover/new", &svc).await;
    apply(&b, &a.router, &page).await;
    let before = file(&a);
    let cases: &[Case<'_>] = &[
        ("/global", &[("nat_nmask", "255.0.255.0")], "nat_nmask"),
        ("/redundancy", &[("keepalive", "soon")], "keepalive"),
        (
            "/virtual/web",
            &[("name", "web"), ("persistent", "-5")],
            "persistent",
        ),
        (
            "/virtual/new",
            &[
                ("name", "n"),
                ("address", "10.0.0.9 eth0:9"),
                ("fwmark", "x"),
            ],
            "fwmark",
        ),
        (
            "/virtual/web/real/a",
            &[("name", "a"), ("address", "not an address")],
            "address",
        ),
        (
            "/virtual/web/real/new",
            &[("name", "c"), ("address", "10.1.0.3"), ("port", "99999")],
            "port",
        ),
        (
            "/failover/ftp",
            &[("name", "ftp"), ("timeout", "never")],
            "timeout",
        ),
        (
            "/failover/new",
            &[
                ("name", "f2"),
                ("address", "10.0.0.51 eth0:6"),
                ("port", "x y"),
            ],
            "port",
        ),
    ];
    for (path, fields, key) in cases {
        let (r, body) = b.post(&a.router, path, fields).await;
        assert_eq!(r.status(), 422, "{path}: {body}");
        assert!(!field_error(&body, key).is_empty(), "{path}");
        for (k, v) in *fields {
            assert!(
                body.contains(&format!("name=\"{k}\" value=\"{v}\"")),
                "{path}: {k} kept"
            );
        }
        assert_eq!(file(&a), before, "{path}: nothing written");
    }
    // A value with a line break cannot smuggle a statement in.
    let (r, body) = b
        .post(
            &a.router,
            "/global",
            &[("primary", "10.0.0.1\nbackup = 6.6.6.6")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(field_error(&body, "primary").contains("one line"));
    assert_eq!(file(&a), before);
}
