//! Pure readings of request headers: Basic credentials, cookies, where a request comes from.

use base64::Engine as _;

/// The realm of HTTP Basic authentication, as piranha's Apache configuration.
pub const REALM: &str = "access to the piranha web GUI";

/// The session cookie's name.
pub const COOKIE: &str = "piranha_session";

/// User and password of an `Authorization: Basic …` header value, if it is one.
pub fn basic_credentials(value: &[u8]) -> Option<(String, Vec<u8>)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// The value of cookie `name` in a `Cookie` header value.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Whether a request's `Origin` and `Sec-Fetch-Site` show it was sent by another site.
///
/// `own_origin` is this server's origin as the client addressed it (`scheme://host[:port]`,
/// from the `Host` header). `Sec-Fetch-Site` is set by the browser itself (no page can forge
/// it): `cross-site` is refused and `same-origin` trusted, even with `Origin: null`, which
/// browsers send for their own pages' form posts under `Referrer-Policy: no-referrer`.
/// Without it, the `Origin` decides: a missing one is not cross-site (scripts and old browsers
/// send none); `Origin: null` (sandboxed or privacy-sensitive contexts) is.
pub fn cross_site(origin: Option<&str>, sec_fetch_site: Option<&str>, own_origin: &str) -> bool {
    match sec_fetch_site.map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case("cross-site") => return true,
        Some(s) if s.eq_ignore_ascii_case("same-origin") => return false,
        _ => {}
    }
    match origin {
        None => false,
        Some(o) => !o.trim().eq_ignore_ascii_case(own_origin),
    }
}

/// The `Set-Cookie` value starting a session.
pub fn session_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/{secure}")
}

/// The `Set-Cookie` value ending a session.
pub fn expired_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_decoded() {
        // "piranha:se:cret"
        let v = b"Basic cGlyYW5oYTpzZTpjcmV0";
        assert_eq!(
            basic_credentials(v),
            Some(("piranha".into(), b"se:cret".to_vec()))
        );
        assert_eq!(
            basic_credentials(b"basic   cGlyYW5oYTpzZTpjcmV0 "),
            Some(("piranha".into(), b"se:cret".to_vec()))
        );
        assert_eq!(basic_credentials(b"Bearer x"), None);
        assert_eq!(basic_credentials(b"Basic !!!"), None);
        // No colon.
        assert_eq!(basic_credentials(b"Basic cGlyYW5oYQ=="), None);
        assert_eq!(basic_credentials(b"Basic"), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let h = "a=1; piranha_session=abc; b=2";
        assert_eq!(cookie(h, COOKIE), Some("abc"));
        assert_eq!(cookie(h, "b"), Some("2"));
        assert_eq!(cookie(h, "c"), None);
        assert_eq!(cookie("piranha_session_x=1", COOKIE), None);
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let own = "http://director:3636";
        assert!(!cross_site(None, None, own));
        assert!(!cross_site(Some("http://director:3636"), None, own));
        assert!(!cross_site(
            Some("HTTP://Director:3636"),
            Some("same-origin"),
            own
        ));
        assert!(!cross_site(None, Some("none"), own));
        assert!(cross_site(Some("http://evil.example"), None, own));
        assert!(cross_site(Some("https://director:3636"), None, own));
        assert!(cross_site(Some("null"), None, own));
        assert!(cross_site(None, Some("cross-site"), own));
        assert!(cross_site(Some(own), Some("cross-site"), own));
        // A browser's own form post under Referrer-Policy: no-referrer.
        assert!(!cross_site(Some("null"), Some("same-origin"), own));
        assert!(cross_site(Some("null"), Some("same-site"), own));
        assert!(cross_site(
            Some("http://evil.example"),
            Some("same-site"),
            own
        ));
    }

    #[test]
    fn session_cookies_are_strict() {
        assert_eq!(
            session_cookie("x", false),
            "piranha_session=x; HttpOnly; SameSite=Strict; Path=/"
        );
        assert!(session_cookie("x", true).ends_with("; Secure"));
        assert!(expired_cookie(false).contains("Max-Age=0"));
    }
}
