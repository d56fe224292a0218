//! A running `astra ui` for a test: started on a free port, its URL and token read
//! from its first line, stopped with SIGTERM; and a raw HTTP/1.1 client, so a test
//! controls every header (Host, Cookie, Origin) and sees redirects as they are.
use crate::harness::Test;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub struct Dashboard {
    pub child: Child,
    pub port: u16,
    pub token: String,
    pub url: String,
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    #[track_caller]
    pub fn ok(&self) -> &Resp {
        assert_eq!(self.status, 200, "{}", self.body);
        self
    }
    #[track_caller]
    pub fn has(&self, text: &str) -> &Resp {
        assert!(self.body.contains(text), "no {text:?} in:\n{}", self.body);
        self
    }
}

/// One request on its own connection.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the dashboard");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method != "GET" && method != "HEAD" {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// `key=value&…`, encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Dashboard {
    /// `astra ui --port 0 --no-open` with the test's home and environment.
    pub fn start(t: &Test) -> Dashboard {
        Self::start_with(t, &[])
    }

    pub fn start_with(t: &Test, extra: &[&str]) -> Dashboard {
        let mut child = t
            .command("astra")
            .args(["ui", "--port", "0", "--no-open"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start astra ui");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "first line: {url:?}");
        let port: u16 = url["http://127.0.0.1:".len()..]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let token = url.rsplit_once("?token=").unwrap().1.to_string();
        Dashboard {
            child,
            port,
            token,
            url,
        }
    }

    pub fn cookie(&self) -> String {
        format!("astra_ui_{}={}", self.port, self.token)
    }

    /// A GET with the cookie.
    pub fn get(&self, path: &str) -> Resp {
        http(self.port, "GET", path, &[("Cookie", &self.cookie())], "")
    }

    /// The CSRF token the pages carry.
    pub fn csrf(&self) -> String {
        let page = self.get("/jobs");
        let at = page
            .body
            .find("data-csrf=\"")
            .expect("data-csrf on the body")
            + 11;
        page.body[at..at + 48].to_string()
    }

    /// A POST of `pairs` with the cookie and the CSRF field.
    pub fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf();
        let mut all = pairs.to_vec();
        all.push(("csrf", &csrf));
        http(
            self.port,
            "POST",
            path,
            &[("Cookie", &self.cookie())],
            &form(&all),
        )
    }

    /// Follows a launch page until the run ends; returns the last page.
    pub fn wait_launch(&self, location: &str) -> Resp {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self.get(location);
            if !r.body.contains("This page refreshes until it ends") {
                return r;
            }
            assert!(Instant::now() < deadline, "the run did not end: {}", r.body);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then the exit status and stderr.
    pub fn stop(mut self) -> (Option<i32>, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let status = self.child.wait().unwrap();
        (status.code(), err)
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
