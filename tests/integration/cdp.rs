//! A small DevTools-protocol client for headless Chromium: launch it with a fresh
//! profile, open a page, navigate, evaluate, click like a mouse, type, take screenshots.
//! One websocket to the browser; the page is a flattened session on it.
use base64::Engine;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: String,
    events: VecDeque<Value>,
    _profile: tempfile::TempDir,
}

/// Chromium from `ASTRA_TEST_CHROMIUM`, `/usr/bin/chromium`, or PATH.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ASTRA_TEST_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("chromium"))
            .find(|p| p.exists())
    })
}

impl Browser {
    /// Starts headless Chromium, or None when it is not installed (outside CI only:
    /// under `CI=true` a missing browser fails the test).
    pub fn launch() -> Option<Browser> {
        let Some(bin) = chromium() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "chromium is not installed: .ci/run installs it with apt-get"
            );
            eprintln!(
                "skipping the browser test: chromium is not installed (apt-get install chromium)"
            );
            return None;
        };
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_string());
                }
            }
        });
        let ws_url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium printed no DevTools address");
        let (ws, _) = tungstenite::connect(ws_url.as_str()).expect("connect to DevTools");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        let mut b = Browser {
            child,
            ws,
            next_id: 0,
            session: String::new(),
            events: VecDeque::new(),
            _profile: profile,
        };
        let target = b.send("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.send(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        b.send("Page.enable", json!({}));
        b.send("Runtime.enable", json!({}));
        Some(b)
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("reading from DevTools") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => {}
            }
        }
    }

    /// A command (to the page once attached); its result, or a panic with its error.
    pub fn send(&mut self, method: &str, params: Value) -> Value {
        self.try_send(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// A command; its result or its error.
    pub fn try_send(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .expect("sending to DevTools");
        loop {
            let m = self.read();
            if m["id"] == id {
                if let Some(e) = m.get("error") {
                    return Err(e.clone());
                }
                return Ok(m["result"].clone());
            }
            if m.get("method").is_some() {
                self.events.push_back(m);
            }
        }
    }

    /// Marks the current document, so that a new one can be told from it.
    fn mark(&mut self) {
        self.eval("window.__astraOld = true");
    }

    /// Waits until a new document (unmarked) has loaded completely.
    fn wait_new_document(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.try_send(
                "Runtime.evaluate",
                json!({"expression": "window.__astraOld !== true && document.readyState === 'complete'", "returnByValue": true}),
            );
            if r.is_ok_and(|v| v["result"]["value"] == json!(true)) {
                self.events.clear();
                return;
            }
            assert!(Instant::now() < deadline, "no new page loaded");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Navigates and waits for the page to load.
    pub fn goto(&mut self, url: &str) {
        self.mark();
        let r = self.send("Page.navigate", json!({"url": url}));
        assert!(r.get("errorText").is_none(), "navigating to {url}: {r}");
        self.wait_new_document();
    }

    /// The value of a JavaScript expression in the page.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.send(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("evaluating {expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// What a person sees: the page's rendered text.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Clicks the element's centre with the mouse, then waits for the page it loads.
    pub fn click(&mut self, selector: &str) {
        let rect = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return null; e.scrollIntoView({{block: 'center'}}); const r = e.getClientRects()[0]; return [r.x + r.width / 2, r.y + r.height / 2, r.width, r.height]; }})()",
            sel = serde_json::to_string(selector).unwrap()
        ));
        let r = rect
            .as_array()
            .unwrap_or_else(|| panic!("no element {selector} on {}", self.url()))
            .clone();
        assert!(
            r[2].as_f64().unwrap() > 0.0 && r[3].as_f64().unwrap() > 0.0,
            "{selector} is not visible"
        );
        let (x, y) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap());
        self.mark();
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.send(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
        self.wait_new_document();
    }

    /// Focuses the field, selects its text and types `text` over it.
    pub fn type_into(&mut self, selector: &str, text: &str) {
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); e.focus(); e.select(); }})()",
            serde_json::to_string(selector).unwrap()
        ));
        self.send("Input.insertText", json!({"text": text}));
    }

    /// Waits until `expr` is true in the page.
    pub fn wait_until(&mut self, expr: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval(expr) != json!(true) {
            assert!(Instant::now() < deadline, "never true: {expr}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page's text holds `needle`, across reloads (a page that
    /// refreshes itself); returns the text.
    pub fn wait_text(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self.try_send(
                "Runtime.evaluate",
                json!({"expression": "document.body ? document.body.innerText : ''", "returnByValue": true}),
            );
            if let Ok(v) = r
                && let Some(t) = v["result"]["value"].as_str()
                && t.contains(needle)
            {
                return t.to_string();
            }
            assert!(Instant::now() < deadline, "the page never said {needle:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The viewport: width, height, phone or not.
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.send(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// A PNG of the whole page.
    pub fn screenshot(&mut self, path: &Path) {
        let r = self.send(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
