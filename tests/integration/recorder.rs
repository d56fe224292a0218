//! Local stand-ins for the services alerts talk to: an HTTP endpoint that records
//! every request (Slack/Discord/webhooks/healthchecks.io) and a tiny SMTP server.
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request the recorder received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub body: String,
}

/// An HTTP server on 127.0.0.1 that answers `status` and keeps every request.
pub struct Recorder {
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Recorder {
    pub fn start(status: u16) -> Recorder {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", srv.server_addr().to_ip().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let h = hits.clone();
        std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                h.lock().unwrap().push(Hit {
                    path: req.url().to_string(),
                    body,
                });
                let _ =
                    req.respond(tiny_http::Response::from_string("ok").with_status_code(status));
            }
        });
        Recorder { url, hits }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Requests whose path is `path`.
    pub fn at(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }
}

/// A plain SMTP server (no TLS) that accepts every message and keeps its DATA.
pub struct Smtp {
    pub port: u16,
    messages: Arc<Mutex<Vec<String>>>,
}

impl Smtp {
    pub fn start() -> Smtp {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let m = messages.clone();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let m = m.clone();
                std::thread::spawn(move || {
                    let mut w = conn.try_clone().unwrap();
                    let mut r = BufReader::new(conn);
                    let _ = w.write_all(b"220 localhost ESMTP test\r\n");
                    let mut line = String::new();
                    while r.read_line(&mut line).unwrap_or(0) > 0 {
                        let cmd = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            b"250-localhost\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("DATA") {
                            let _ = w.write_all(b"354 go ahead\r\n");
                            let mut data = String::new();
                            let mut l2 = String::new();
                            while r.read_line(&mut l2).unwrap_or(0) > 0 {
                                if l2 == ".\r\n" {
                                    break;
                                }
                                data.push_str(&l2);
                                l2.clear();
                            }
                            m.lock().unwrap().push(data);
                            b"250 queued\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n");
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply);
                        line.clear();
                    }
                });
            }
        });
        Smtp { port, messages }
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }
}
