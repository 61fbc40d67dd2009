use axum::body::Body;

use crate::common::*;

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let a = app();
    let cases = [
        request("GET", "/").body(Body::empty()).unwrap(),
        request("GET", "/login").body(Body::empty()).unwrap(),
        request("GET", "/api/v1/lvs.cf")
            .body(Body::empty())
            .unwrap(),
        request("GET", "/api/v1/lvs.cf")
            .header("authorization", basic("piranha", PASSWORD))
            .body(Body::empty())
            .unwrap(),
        request("GET", "/nothing")
            .header("authorization", basic("piranha", PASSWORD))
            .body(Body::empty())
            .unwrap(),
        request("GET", "/")
            .header("origin", "http://evil.example")
            .body(Body::empty())
            .unwrap(),
    ];
    for req in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let (r, _) = send(&a.router, req).await;
        assert_eq!(
            header(&r, "content-security-policy"),
            Some("default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
            "{what}"
        );
        assert_eq!(
            header(&r, "x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"), "{what}");
        assert_eq!(header(&r, "cache-control"), Some("no-store"), "{what}");
    }
}
