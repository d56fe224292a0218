//! What every remote call shares: timeouts, retries with exponential backoff and
//! jitter for transient faults, `Retry-After` (on 429, 503 and 529) and the
//! `x-ratelimit-reset-*` headers, a request-rate limiter that a server's own budget
//! (`x-ratelimit-remaining*` at 0) pauses, and out-of-quota answers never retried.
//!
//! Errors never carry URLs or headers, so tokens in either cannot leak into logs.
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connect timeout for every client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking client with connect and overall timeouts.
pub fn client(timeout: Duration) -> Client {
    Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .user_agent(concat!("astra/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| Client::new())
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_tries: u32,
    /// The first backoff; doubled each time, with ±50 % jitter.
    pub base_delay: Duration,
    /// The longest single wait (also caps `Retry-After`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_tries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before try number `next_try` (2-based: the first retry is try 2).
    pub fn backoff(&self, next_try: u32) -> Duration {
        let exp = next_try.saturating_sub(2).min(16);
        let base = self.base_delay.saturating_mul(1 << exp).min(self.max_delay);
        let jitter = 0.5 + rand::random::<f64>();
        base.mul_f64(jitter).min(self.max_delay)
    }
}

/// Spaces requests so that no more than `per_second` start in any second on average.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn per_second(per_second: f64) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / per_second.max(0.001)),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Blocks until this caller may send.
    pub fn wait(&self) {
        let slot = {
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }

    /// Pushes every later request back (after a 429).
    pub fn pause_for(&self, d: Duration) {
        if let Ok(mut next) = self.next.lock() {
            *next = (*next).max(Instant::now() + d);
        }
    }
}

/// Why a call failed, after any retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// The server answered with an error status; `body` is its message.
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    /// No answer: connection refused or reset, timeout, TLS.
    #[error("{0}")]
    Transport(String),
}

impl HttpError {
    /// Worth retrying in a later run (5xx, 429, no connection); never an account out
    /// of quota.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Status { status, body } => is_retryable(*status) && !out_of_quota(body),
            HttpError::Transport(_) => true,
        }
    }
    /// A rate limit (429 that is not out of quota): nothing was done, try later.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, HttpError::Status { status: 429, body } if !out_of_quota(body))
    }
    /// The account is out of credit (OpenAI's `insufficient_quota`,
    /// `billing_hard_limit_reached`): no retry helps until someone pays.
    pub fn is_out_of_quota(&self) -> bool {
        matches!(self, HttpError::Status { body, .. } if out_of_quota(body))
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            HttpError::Transport(_) => None,
        }
    }
}

/// 429, 500, 502, 503, 504 and 529 (overloaded) are retried.
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 529)
}

/// An error body that says the account is out of credit (no retry can help).
pub fn out_of_quota(body: &str) -> bool {
    body.contains("insufficient_quota") || body.contains("billing_hard_limit_reached")
}

fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name)?.to_str().ok().map(str::trim)
}

/// `Retry-After` in seconds (`1`, `1.5`).
fn retry_after(resp: &Response) -> Option<Duration> {
    header(resp, "retry-after")?
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// A reset duration as rate-limit headers write it: `1s`, `6m0s`, `120ms`, `1h2m3.5s`,
/// or a bare number of seconds.
pub fn parse_reset(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = v.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += n * unit;
        any = true;
    }
    (any && num.is_empty()).then(|| Duration::from_secs_f64(total))
}

/// How long a server asks us to wait: `Retry-After`, else the longest
/// `x-ratelimit-reset*` (OpenAI's `-requests`/`-tokens`, a generic `x-ratelimit-reset`).
fn server_wait(resp: &Response) -> Option<Duration> {
    retry_after(resp).or_else(|| {
        [
            "x-ratelimit-reset-requests",
            "x-ratelimit-reset-tokens",
            "x-ratelimit-reset",
        ]
        .iter()
        .filter_map(|h| header(resp, h).and_then(parse_reset))
        .max()
    })
}

/// On a success: when the server reports its budget spent (`x-ratelimit-remaining*`
/// at 0), the time until it resets, so the next request does not earn a 429.
fn budget_spent(resp: &Response) -> Option<Duration> {
    [
        (
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ),
        ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
    ]
    .iter()
    .filter(|(rem, _)| header(resp, rem).and_then(|v| v.parse::<f64>().ok()) == Some(0.0))
    .filter_map(|(_, reset)| header(resp, reset).and_then(parse_reset))
    .max()
}

fn transport(e: reqwest::Error) -> HttpError {
    HttpError::Transport(connection_error(e))
}

/// Why a request got no answer, in one wording for every service: the host and port,
/// the cause (refused, timed out, DNS, TLS, reset) and what to check. Never the URL's
/// path or query (they may hold a token).
pub fn connection_error(e: reqwest::Error) -> String {
    let addr = e.url().map(|u| {
        let host = u.host_str().unwrap_or("?");
        match u.port_or_known_default() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    });
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut chain = e.to_string();
    let mut io_kind = None;
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        chain.push_str(&format!(": {s}"));
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        src = s.source();
    }
    let mut cause = classify(timeout, io_kind, &chain);
    // A body error ("receiver is gone") hides why the connection failed: ask the
    // network directly.
    if cause == Cause::Other
        && let Some(a) = &addr
    {
        cause = probe(a).unwrap_or(Cause::Other);
    }
    describe(addr.as_deref().unwrap_or("the server"), cause, &chain)
}

/// What went wrong with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Refused,
    TimedOut,
    Dns,
    Tls,
    Reset,
    Other,
}

fn classify(timeout: bool, io: Option<std::io::ErrorKind>, chain: &str) -> Cause {
    use std::io::ErrorKind as K;
    let text = chain.to_ascii_lowercase();
    if timeout || io == Some(K::TimedOut) {
        return Cause::TimedOut;
    }
    match io {
        Some(K::ConnectionRefused) => return Cause::Refused,
        Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe) => return Cause::Reset,
        _ => {}
    }
    if text.contains("dns error") || text.contains("failed to lookup address") {
        Cause::Dns
    } else if ["certificate", "tls", "ssl", "handshake"]
        .iter()
        .any(|w| text.contains(w))
    {
        Cause::Tls
    } else if text.contains("connection refused") {
        Cause::Refused
    } else if text.contains("timed out") {
        Cause::TimedOut
    } else {
        Cause::Other
    }
}

/// A plain TCP connect to `addr` (host:port), to learn why a request failed.
fn probe(addr: &str) -> Option<Cause> {
    use std::net::ToSocketAddrs;
    let Ok(mut addrs) = addr.to_socket_addrs() else {
        return Some(Cause::Dns);
    };
    let sa = addrs.next()?;
    match std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(3)) {
        Ok(_) => None,
        Err(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => Some(Cause::Refused),
            std::io::ErrorKind::TimedOut => Some(Cause::TimedOut),
            _ => None,
        },
    }
}

/// The one sentence: `cannot reach HOST:PORT: CAUSE; check WHAT`.
pub fn describe(addr: &str, cause: Cause, detail: &str) -> String {
    let (what, check) = match cause {
        Cause::Refused => (
            "connection refused (nothing is listening there)".to_string(),
            "that the server is running and base_url's host and port are right",
        ),
        Cause::TimedOut => (
            "timed out".to_string(),
            "your network connection, a firewall or proxy, and that the host in base_url is right",
        ),
        Cause::Dns => (
            "the host name does not resolve (DNS)".to_string(),
            "the host name in base_url and your network or DNS",
        ),
        Cause::Tls => (
            format!("the TLS handshake failed ({detail})"),
            "the server's certificate, and that https:// is used only where the server speaks TLS",
        ),
        Cause::Reset => (
            "the connection was closed before an answer".to_string(),
            "that base_url points at the right server (http vs https, port), and try again",
        ),
        Cause::Other => (format!("no answer ({detail})"), "base_url and your network"),
    };
    format!("cannot reach {addr}: {what}; check {check}")
}

/// Sends the request `build` makes (called again for each try), retrying transient
/// faults per `policy` and honouring `Retry-After`. Returns the successful response.
pub fn send(
    build: &dyn Fn() -> RequestBuilder,
    policy: &RetryPolicy,
    limiter: Option<&RateLimiter>,
) -> Result<Response, HttpError> {
    let mut tries = 0;
    loop {
        tries += 1;
        if let Some(l) = limiter {
            l.wait();
        }
        let err = match build().send() {
            Ok(resp) if resp.status().is_success() => {
                if let (Some(w), Some(l)) = (budget_spent(&resp), limiter) {
                    tracing::debug!(
                        wait_ms = w.as_millis() as u64,
                        "the server's request budget is spent; pausing"
                    );
                    l.pause_for(w.min(policy.max_delay));
                }
                return Ok(resp);
            }
            Ok(resp) => {
                let status = resp.status();
                let wait = matches!(
                    status,
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                )
                .then(|| server_wait(&resp))
                .flatten()
                .or_else(|| {
                    (status.as_u16() == 529)
                        .then(|| retry_after(&resp))
                        .flatten()
                });
                let body = resp.text().unwrap_or_default();
                let err = HttpError::Status {
                    status: status.as_u16(),
                    body: body.chars().take(2000).collect(),
                };
                if out_of_quota(&body) {
                    return Err(err);
                }
                if let (Some(w), Some(l)) = (wait, limiter) {
                    l.pause_for(w.min(policy.max_delay));
                }
                if !is_retryable(status.as_u16()) || tries >= policy.max_tries {
                    return Err(err);
                }
                if let Some(w) = wait {
                    tracing::debug!(
                        status = status.as_u16(),
                        wait_ms = w.as_millis() as u64,
                        "rate limited; waiting"
                    );
                    std::thread::sleep(w.min(policy.max_delay));
                    continue;
                }
                err
            }
            Err(e) => {
                let err = transport(e);
                if tries >= policy.max_tries {
                    return Err(err);
                }
                err
            }
        };
        let wait = policy.backoff(tries + 1);
        // The status only: a server's body may echo what the request carried.
        let fault = match &err {
            HttpError::Status { status, .. } => format!("HTTP {status}"),
            HttpError::Transport(m) => m.clone(),
        };
        tracing::debug!(error = %fault, try_no = tries, wait_ms = wait.as_millis() as u64, "transient fault; retrying");
        std::thread::sleep(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A server answering each request with the next (status, headers) of `script`.
    fn server(script: Vec<(u16, Option<&'static str>)>) -> (String, Arc<AtomicUsize>) {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", srv.server_addr().to_ip().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for (req, (status, retry)) in srv
                .incoming_requests()
                .zip(script.into_iter().chain(std::iter::repeat((200, None))))
            {
                h.fetch_add(1, Ordering::SeqCst);
                let mut resp = tiny_http::Response::from_string(format!("status {status}"))
                    .with_status_code(status);
                if let Some(r) = retry {
                    resp.add_header(tiny_http::Header::from_bytes("Retry-After", r).unwrap());
                }
                let _ = req.respond(resp);
            }
        });
        (url, hits)
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_tries: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        }
    }

    #[test]
    fn transient_faults_are_retried() {
        let (url, hits) = server(vec![(503, None), (529, None), (200, None)]);
        let c = client(Duration::from_secs(5));
        let r = send(&|| c.get(&url), &fast(), None).unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(hits.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn client_errors_are_not_retried() {
        let (url, hits) = server(vec![(401, None)]);
        let c = client(Duration::from_secs(5));
        let e = send(&|| c.get(&url), &fast(), None).unwrap_err();
        assert_eq!(e.status(), Some(401));
        assert!(!e.is_transient());
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn retry_after_is_honoured() {
        let (url, hits) = server(vec![(429, Some("1"))]);
        let c = client(Duration::from_secs(5));
        let started = Instant::now();
        send(&|| c.get(&url), &fast(), None).unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn reset_durations_are_read_as_servers_write_them() {
        assert_eq!(parse_reset("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_reset("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_reset("120ms"), Some(Duration::from_millis(120)));
        assert_eq!(parse_reset("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_reset("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_reset("soon"), None);
        assert_eq!(parse_reset("5x"), None);
    }

    /// A server answering `status` with these headers once, then 200.
    fn server_with(
        status: u16,
        headers: &'static [(&'static str, &'static str)],
    ) -> (String, Arc<AtomicUsize>) {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", srv.server_addr().to_ip().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for req in srv.incoming_requests() {
                let n = h.fetch_add(1, Ordering::SeqCst);
                let mut resp = tiny_http::Response::from_string("x").with_status_code(if n == 0 {
                    status
                } else {
                    200
                });
                if n == 0 {
                    for (k, v) in headers {
                        resp.add_header(tiny_http::Header::from_bytes(*k, *v).unwrap());
                    }
                }
                let _ = req.respond(resp);
            }
        });
        (url, hits)
    }

    #[test]
    fn overload_and_reset_headers_are_waited_for() {
        let c = client(Duration::from_secs(5));
        for (status, headers) in [
            (529u16, &[("Retry-After", "1")][..]),
            (503, &[("Retry-After", "1")][..]),
            (
                429,
                &[
                    ("x-ratelimit-reset-requests", "1s"),
                    ("x-ratelimit-reset-tokens", "200ms"),
                ][..],
            ),
        ] {
            let (url, hits) = server_with(status, headers);
            let started = Instant::now();
            send(&|| c.get(&url), &fast(), None).unwrap();
            assert!(
                started.elapsed() >= Duration::from_millis(950),
                "{status}: {:?}",
                started.elapsed()
            );
            assert_eq!(hits.load(Ordering::SeqCst), 2);
        }
    }

    #[test]
    fn a_spent_budget_pauses_the_next_request() {
        let (url, _) = server_with(
            200,
            &[
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "1s"),
            ],
        );
        let c = client(Duration::from_secs(5));
        let l = RateLimiter::per_second(100.0);
        send(&|| c.get(&url), &fast(), Some(&l)).unwrap();
        let started = Instant::now();
        send(&|| c.get(&url), &fast(), Some(&l)).unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn out_of_quota_is_never_retried() {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", srv.server_addr().to_ip().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for req in srv.incoming_requests() {
                h.fetch_add(1, Ordering::SeqCst);
                let body = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
                let _ = req.respond(tiny_http::Response::from_string(body).with_status_code(429));
            }
        });
        let c = client(Duration::from_secs(5));
        let e = send(&|| c.get(&url), &fast(), None).unwrap_err();
        assert!(e.is_out_of_quota() && !e.is_transient() && !e.is_rate_limited());
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn gives_up_after_max_tries() {
        let (url, hits) = server(vec![(500, None); 10]);
        let c = client(Duration::from_secs(5));
        let e = send(&|| c.get(&url), &fast(), None).unwrap_err();
        assert!(e.is_transient());
        assert_eq!(hits.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn connection_refused_is_transient_and_has_no_url() {
        let c = client(Duration::from_secs(5));
        let e = send(
            &|| c.get("http://127.0.0.1:9/secret-token-in-path"),
            &fast(),
            None,
        )
        .unwrap_err();
        assert!(e.is_transient());
        assert!(!e.to_string().contains("secret-token"), "{e}");
        assert_eq!(
            e.to_string(),
            "cannot reach 127.0.0.1:9: connection refused (nothing is listening there); check that the server is running and base_url's host and port are right"
        );
    }

    #[test]
    fn a_body_upload_to_nothing_says_refused_too() {
        // A multipart upload's error is about the body ("receiver is gone"), not the
        // connection: the cause is found all the same.
        let c = client(Duration::from_secs(5));
        let e = send(
            &|| {
                let part = reqwest::blocking::multipart::Part::bytes(vec![0u8; 100_000])
                    .file_name("a.wav");
                c.post("http://127.0.0.1:9/v1/audio/transcriptions")
                    .multipart(reqwest::blocking::multipart::Form::new().part("file", part))
            },
            &fast(),
            None,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot reach 127.0.0.1:9: connection refused"),
            "{e}"
        );
    }

    #[test]
    fn causes_are_told_apart() {
        use std::io::ErrorKind as K;
        assert_eq!(classify(true, None, ""), Cause::TimedOut);
        assert_eq!(
            classify(false, Some(K::ConnectionRefused), ""),
            Cause::Refused
        );
        assert_eq!(
            classify(
                false,
                None,
                "error sending request: client error (Connect): dns error: failed to lookup address information"
            ),
            Cause::Dns
        );
        assert_eq!(
            classify(false, None, "invalid peer certificate: UnknownIssuer"),
            Cause::Tls
        );
        assert!(describe("example.invalid:443", Cause::Dns, "").contains("(DNS)"));
    }

    #[test]
    fn the_limiter_spaces_requests() {
        let l = RateLimiter::per_second(20.0);
        let started = Instant::now();
        for _ in 0..11 {
            l.wait();
        }
        assert!(
            started.elapsed() >= Duration::from_millis(480),
            "{:?}",
            started.elapsed()
        );
    }
}
