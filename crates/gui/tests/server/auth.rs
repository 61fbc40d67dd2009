use axum::body::Body;
use gui::server::ROUTES;

use crate::common::*;

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn public(method: &str, path: &str) -> bool {
    matches!(
        (method, path),
        (
            "GET" | "HEAD",
            "/" | "/assets/app.css" | "/assets/app.js" | "/assets/favicon.svg"
        ) | ("GET" | "HEAD" | "POST", "/login")
    )
}

#[tokio::test]
async fn a_browser_opening_a_page_without_a_session_is_sent_to_the_login_form() {
    let a = app();
    for path in ["/monitor", "/virtual/web", "/nothing", "/api/v1/lvs.cf"] {
        for method in ["GET", "HEAD"] {
            let req = request(method, path)
                .header("sec-fetch-mode", "navigate")
                .header("cookie", "piranha_session=00")
                .body(Body::empty())
                .unwrap();
            let (r, body) = send(&a.router, req).await;
            assert_eq!(r.status(), 303, "{method} {path}: {body}");
            assert_eq!(header(&r, "location"), Some("/login"));
            assert!(!body.contains("lvs"), "{method} {path} leaks: {body}");
        }
    }
    // Not a navigation (a POST, or no header): still the Basic challenge.
    let req = request("POST", "/virtual/web/delete")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 401);
    let req = request("GET", "/monitor")
        .header("sec-fetch-mode", "cors")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 401);
}

#[tokio::test]
async fn every_route_and_method_needs_authentication() {
    let a = app();
    // Path parameters get a real server's names.
    let mut paths: Vec<String> = ROUTES
        .iter()
        .map(|(p, _)| {
            p.replace("{virtual}", "web")
                .replace("{server}", "a")
                .replace("{name}", "web")
                .replace("{action}", "drain")
        })
        .collect();
    // Paths that do not exist answer 401 too: 401 comes before 404 and 405.
    paths.extend(
        [
            "/nothing",
            "/api/v1/nothing",
            "/api/v2/lvs.cf",
            "/static/x.css",
        ]
        .map(String::from),
    );
    let mut walked = 0;
    for path in &paths {
        for method in METHODS {
            if public(method, path) {
                continue;
            }
            let req = request(method, path).body(Body::empty()).unwrap();
            let (r, body) = send(&a.router, req).await;
            assert_eq!(r.status(), 401, "{method} {path}: {body}");
            assert_eq!(
                header(&r, "www-authenticate"),
                Some("Basic realm=\"access to the piranha web GUI\", charset=\"UTF-8\""),
                "{method} {path}"
            );
            assert!(!body.contains("lvs"), "{method} {path} leaks: {body}");
            walked += 1;
        }
    }
    // The public ones: GET and HEAD of / and the three assets, and /login by GET, HEAD, POST.
    assert_eq!(walked, paths.len() * METHODS.len() - 11);
    // And with a wrong password, or a session cookie that names nothing, the same.
    for (name, value) in [
        ("authorization", basic("piranha", "wrong")),
        ("cookie", "piranha_session=00".to_owned()),
        ("authorization", "Bearer x".to_owned()),
    ] {
        let req = request("GET", "/api/v1/lvs.cf")
            .header(name, value)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&a.router, req).await.0.status(), 401);
    }
}

#[tokio::test]
async fn authenticated_requests_reach_404_and_405() {
    let a = app();
    let auth = basic("piranha", PASSWORD);
    for (method, path, status) in [
        ("GET", "/nothing", 404),
        ("DELETE", "/api/v1/lvs.cf", 405),
        ("GET", "/api/v1/lvs.cf", 200),
    ] {
        let req = request(method, path)
            .header("authorization", &auth)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&a.router, req).await.0.status(),
            status,
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn the_landing_page_is_public_and_links_to_login() {
    let a = app();
    let (r, body) = send(&a.router, request("GET", "/").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), 200);
    assert!(body.contains("href=\"/login\""), "{body}");
    assert!(body.contains("piranha"));
    let (r, body) = send(
        &a.router,
        request("GET", "/login").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        body.contains("<form method=\"post\" action=\"/login\">"),
        "{body}"
    );
}

#[tokio::test]
async fn a_login_starts_a_strict_session_and_logout_ends_it() {
    let a = app();
    let req = request("POST", "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("user=piranha&password=p"))
        .unwrap();
    let (r, _) = send(&a.router, req).await;
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), Some("/monitor"));
    let cookie = header(&r, "set-cookie").unwrap();
    let id = cookie
        .strip_prefix("piranha_session=")
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    assert_eq!(id.len(), 64, "256 bits in hex: {cookie}");
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Strict; Path=/"),
        "{cookie}"
    );

    let (pair, csrf) = login(&a.router).await;
    assert_eq!(csrf.len(), 64);
    // Logging out needs the CSRF token, as every state change of a session.
    let req = request("POST", "/logout")
        .header("cookie", &pair)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 403);
    let req = request("POST", "/logout")
        .header("cookie", &pair)
        .header("x-csrf-token", &csrf)
        .body(Body::empty())
        .unwrap();
    let (r, _) = send(&a.router, req).await;
    assert_eq!(r.status(), 303);
    assert!(header(&r, "set-cookie").unwrap().contains("Max-Age=0"));
    let req = request("GET", "/api/v1/session")
        .header("cookie", &pair)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 401);
}

#[tokio::test]
async fn cookies_are_secure_under_tls() {
    let a = app_with(true);
    let req = request("POST", "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("user=piranha&password=p"))
        .unwrap();
    let (r, _) = send(&a.router, req).await;
    assert!(header(&r, "set-cookie").unwrap().ends_with("; Secure"));
}

#[tokio::test]
async fn a_wrong_form_password_is_401_with_the_form_again() {
    let a = app();
    let req = request("POST", "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("user=piranha&password=q"))
        .unwrap();
    let (r, body) = send(&a.router, req).await;
    assert_eq!(r.status(), 401);
    assert!(header(&r, "set-cookie").is_none());
    assert!(body.contains("Wrong user or password."), "{body}");
}

#[tokio::test]
async fn failed_logins_are_limited_per_address() {
    let a = app();
    let wrong = basic("piranha", "wrong");
    for i in 0..5 {
        let req = request("GET", "/api/v1/lvs.cf")
            .header("authorization", &wrong)
            .body(Body::empty())
            .unwrap();
        let (r, _) = send(&a.router, from(req, "192.0.2.7")).await;
        assert_eq!(r.status(), 401, "failure {i}");
    }
    // The sixth try, even with the right password, and through the form too: 429.
    let req = request("GET", "/api/v1/lvs.cf")
        .header("authorization", basic("piranha", PASSWORD))
        .body(Body::empty())
        .unwrap();
    let (r, _) = send(&a.router, from(req, "192.0.2.7")).await;
    assert_eq!(r.status(), 429);
    let after: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
    let req = request("POST", "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("user=piranha&password=p"))
        .unwrap();
    assert_eq!(
        send(&a.router, from(req, "192.0.2.7")).await.0.status(),
        429
    );
    // Another address is not blocked.
    let req = request("GET", "/api/v1/lvs.cf")
        .header("authorization", basic("piranha", PASSWORD))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&a.router, from(req, "192.0.2.8")).await.0.status(),
        200
    );
}

#[tokio::test]
async fn session_writes_need_the_csrf_token_and_basic_writes_do_not() {
    let a = app();
    let (pair, csrf) = login(&a.router).await;
    let (r, _) = send(
        &a.router,
        request("GET", "/api/v1/lvs.cf")
            .header("cookie", &pair)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200, "reading needs no token");
    let tag = header(&r, "etag").unwrap().to_owned();
    let put = |token: Option<&str>| {
        let mut b = request("PUT", "/api/v1/lvs.cf")
            .header("cookie", &pair)
            .header("if-match", &tag);
        if let Some(t) = token {
            b = b.header("x-csrf-token", t);
        }
        b.body(Body::from(CF)).unwrap()
    };
    assert_eq!(send(&a.router, put(None)).await.0.status(), 403);
    let mut wrong = csrf.clone();
    wrong.replace_range(0..1, if csrf.starts_with('0') { "1" } else { "0" });
    assert_eq!(send(&a.router, put(Some(&wrong))).await.0.status(), 403);
    assert_eq!(std::fs::read_to_string(&a.config).unwrap(), CF);
    let (r, body) = send(&a.router, put(Some(&csrf))).await;
    assert_eq!(r.status(), 200, "{body}");

    // A form field does as well as the header (here on logout).
    let req = request("POST", "/logout")
        .header("cookie", &pair)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf_token={csrf}")))
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 303);

    // Basic needs no token.
    let (r, _) = send(
        &a.router,
        request("GET", "/api/v1/lvs.cf")
            .header("authorization", basic("piranha", PASSWORD))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let tag = header(&r, "etag").unwrap().to_owned();
    let req = request("PUT", "/api/v1/lvs.cf")
        .header("authorization", basic("piranha", PASSWORD))
        .header("if-match", &tag)
        .body(Body::from(CF))
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 200);
}

#[tokio::test]
async fn cross_site_requests_are_refused_for_every_method() {
    let a = app();
    for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        for (name, value) in [
            ("origin", "http://evil.example"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
        ] {
            for path in ["/", "/login", "/api/v1/lvs.cf"] {
                let req = request(method, path)
                    .header("authorization", basic("piranha", PASSWORD))
                    .header(name, value)
                    .body(Body::empty())
                    .unwrap();
                let (r, _) = send(&a.router, req).await;
                assert_eq!(r.status(), 403, "{method} {path} {name}: {value}");
            }
        }
    }
    // The own origin passes.
    let req = request("GET", "/api/v1/lvs.cf")
        .header("authorization", basic("piranha", PASSWORD))
        .header("origin", "http://gui:3636")
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 200);
}
