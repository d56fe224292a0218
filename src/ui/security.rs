//! The dashboard's guard, as one middleware in front of every route: the `Host` must be
//! this server's own address (DNS rebinding), the token must come with the request (in
//! the URL once, then an HttpOnly SameSite=Strict cookie), and every state-changing
//! request must carry the CSRF token. Every answer gets headers that keep pages private.
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The largest form a POST may carry.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the guard checks against.
#[derive(Debug, Clone)]
pub struct Security {
    /// The secret in the URL; the cookie holds it too.
    pub token: String,
    /// The hidden field every form carries.
    pub csrf: String,
    /// The address the server listens on.
    pub addr: SocketAddr,
}

/// `n` random bytes as lowercase hex (the thread RNG is a CSPRNG, seeded by the OS).
pub fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Security {
    pub fn new(addr: SocketAddr) -> Security {
        Security {
            token: random_hex(24),
            csrf: random_hex(24),
            addr,
        }
    }

    /// The cookie's name: cookies ignore ports, so two dashboards each have their own.
    pub fn cookie_name(&self) -> String {
        format!("astra_ui_{}", self.addr.port())
    }

    /// Whether `host` (a `Host` header) names this server: `localhost` or an IP
    /// literal that is loopback or the bound address (any IP literal when bound to
    /// every address), with this port. A DNS name other than localhost is refused:
    /// that is what a rebinding attack sends.
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        if port != self.addr.port() {
            return false;
        }
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        let Ok(ip) = name.parse::<IpAddr>() else {
            return false;
        };
        ip.is_loopback() || ip == self.addr.ip() || self.addr.ip().is_unspecified()
    }

    /// The cookie that holds the token from the first request on.
    pub fn set_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie_name(),
            self.token
        )
    }

    fn cookie_ok(&self, headers: &HeaderMap) -> bool {
        let name = self.cookie_name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .any(|(k, v)| k == name && same_secret(v, &self.token))
    }
}

/// `host:port` (or `[v6]:port`) into its parts.
fn split_host(host: &str) -> Option<(&str, u16)> {
    if let Some(rest) = host.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:")?;
        return Some((ip, port.parse().ok()?));
    }
    let (name, port) = host.rsplit_once(':')?;
    Some((name, port.parse().ok()?))
}

/// The value of `key` in a query string or urlencoded form.
pub fn form_value(text: &str, key: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(text)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The query without `token` and `csrf`: secrets never stay in an address bar.
fn without_token(query: &str) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| k != "token" && k != "csrf")
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

fn unauthorized() -> Response {
    let body = super::pages::layout::bare(
        "Token needed",
        maud::html! {
            h1 { "This dashboard needs its token" }
            p { "Open the address " code { "astra ui" } " printed when it started (it ends in "
                code { "?token=…" } "). Each start makes a new token, so an old address no longer works." }
        },
    );
    (StatusCode::UNAUTHORIZED, body).into_response()
}

/// Adds the headers every answer carries: no caching, no framing, no referrer to other
/// sites (same-origin keeps the browser's `Origin` on our own forms, which
/// `no-referrer` would turn into `null`), scripts and styles only from this server.
fn harden(resp: &mut Response) {
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::CACHE_CONTROL, "no-store");
}

/// The guard: Host, then token, then (for anything but GET/HEAD) Origin and CSRF.
pub async fn guard(State(sec): State<Arc<Security>>, req: Request, next: Next) -> Response {
    let mut resp = check(&sec, req, next).await;
    harden(&mut resp);
    resp
}

async fn check(sec: &Security, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !sec.host_allowed(host) {
        return plain(
            StatusCode::FORBIDDEN,
            &format!(
                "refused: this dashboard answers only at the address `astra ui` printed (port {}); the request's Host header names another site",
                sec.addr.port()
            ),
        );
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let url_token = form_value(&query, "token");
    let by_url = url_token
        .as_deref()
        .is_some_and(|t| same_secret(t, &sec.token));
    if !by_url && !sec.cookie_ok(req.headers()) {
        return unauthorized();
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    // A GET form (the schedule preview) carries the CSRF field along: take it out.
    let csrf_in_url = form_value(&query, "csrf").is_some();
    if safe && (by_url || csrf_in_url) {
        // Hold the token in the cookie and take it out of the address bar.
        let rest = without_token(&query);
        let path = req.uri().path();
        let location = if rest.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{rest}")
        };
        let mut resp = StatusCode::SEE_OTHER.into_response();
        if let Ok(loc) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(header::LOCATION, loc);
        }
        if by_url && let Ok(cookie) = HeaderValue::from_str(&sec.set_cookie()) {
            resp.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        return resp;
    }
    if safe {
        return next.run(req).await;
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|h| sec.host_allowed(h));
        if !ok {
            return plain(
                StatusCode::FORBIDDEN,
                "refused: the form was sent from another site",
            );
        }
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "refused: the form is too large",
            );
        }
    };
    let by_header = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| same_secret(t, &sec.csrf));
    let by_field = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| form_value(t, "csrf"))
        .is_some_and(|t| same_secret(&t, &sec.csrf));
    if !by_header && !by_field {
        return plain(
            StatusCode::FORBIDDEN,
            "refused: the form's CSRF token is missing or stale; reload the page and try again",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(addr: &str) -> Security {
        Security::new(addr.parse().unwrap())
    }

    #[test]
    fn only_this_servers_own_host_and_port_are_accepted() {
        let s = sec("127.0.0.1:8765");
        for ok in [
            "127.0.0.1:8765",
            "localhost:8765",
            "LOCALHOST:8765",
            "[::1]:8765",
        ] {
            assert!(s.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:8765",
            "127.0.0.1:80",
            "127.0.0.1",
            "",
            "localhost.evil.example:8765",
            "192.168.1.4:8765",
            "[::1]8765",
        ] {
            assert!(!s.host_allowed(bad), "{bad}");
        }
        let lan = sec("192.168.1.4:8765");
        assert!(lan.host_allowed("192.168.1.4:8765"));
        assert!(!lan.host_allowed("10.0.0.1:8765"));
        assert!(!lan.host_allowed("nas.local:8765"));
        let any = sec("0.0.0.0:8765");
        assert!(any.host_allowed("10.0.0.1:8765"));
        assert!(!any.host_allowed("rebind.example:8765"));
    }

    #[test]
    fn tokens_are_fresh_and_compared_whole() {
        let a = sec("127.0.0.1:1");
        let b = sec("127.0.0.1:1");
        assert_eq!(a.token.len(), 48);
        assert_ne!(a.token, b.token);
        assert_ne!(a.token, a.csrf);
        assert!(same_secret(&a.token, &a.token.clone()));
        assert!(!same_secret(&a.token, &a.token[..47]));
        assert!(!same_secret(&a.token, &b.token));
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let s = sec("127.0.0.1:4000");
        let c = s.set_cookie();
        assert!(c.starts_with(&format!("astra_ui_4000={}", s.token)), "{c}");
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; astra_ui_4000={}", s.token)).unwrap(),
        );
        assert!(s.cookie_ok(&h));
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("astra_ui_4001={}", s.token)).unwrap(),
        );
        assert!(!s.cookie_ok(&h), "another dashboard's cookie");
    }

    #[test]
    fn the_token_is_taken_out_of_the_query() {
        assert_eq!(without_token("token=abc"), "");
        assert_eq!(
            without_token("job=voice-memo&token=abc&n=2"),
            "job=voice-memo&n=2"
        );
        assert_eq!(
            without_token("csrf=c&schedule=%40daily"),
            "schedule=%40daily"
        );
        assert_eq!(form_value("a=1&csrf=x%20y", "csrf").as_deref(), Some("x y"));
    }
}
