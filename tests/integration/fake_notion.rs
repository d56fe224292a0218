//! An in-process fake of the Notion API (version 2025-09-03) on 127.0.0.1: databases,
//! data sources, pages and blocks in memory, with Notion's limits and injectable faults.
//!
//! Limits enforced: 2,000 characters per text piece and 100 pieces per rich text, 100
//! children per request, known property names only, `Notion-Version` required, the
//! bearer token, 3 requests a second on average (token bucket → 429 + `Retry-After`).
//! Faults: a share of requests answered 5xx or with a broken connection, before or
//! after the change is made (a lost answer), and a latency on every request.
#![allow(dead_code)]

use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The token the fake accepts.
pub const TOKEN: &str = "secret_fAkEnOtIoNtOkEn0123456789abcdef";
const VERSION: &str = "2025-09-03";

/// What the fake answers with, besides its data.
#[derive(Debug, Clone)]
struct Behaviour {
    fault_rate: f64,
    /// Injected faults include `429` with `Retry-After` (besides 5xx and drops).
    fault_429: bool,
    latency: Duration,
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
    page_size: usize,
    /// Notion's per-connection budget: so many requests per window (a minute in
    /// Notion; shorter in tests), a 429 with `Retry-After` = the time left beyond it.
    budget: Option<(u64, Duration)>,
    window_start: Instant,
    window_used: u64,
}

/// Counts, for assertions and throughput.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: u64,
    pub rate_limited: u64,
    pub faults: u64,
    pub created_pages: u64,
}

#[derive(Debug, Clone)]
struct DataSource {
    database: String,
    /// name → {"id", "name", "type", <type>: config}
    properties: Map<String, Value>,
}

#[derive(Debug, Clone)]
struct PageRec {
    id: String,
    data_source: Option<String>,
    properties: Map<String, Value>,
    /// `last_edited_time`: rounded down to the minute, as Notion does.
    edited: String,
}

#[derive(Default)]
struct Store {
    /// id → {title, parent, data_sources}
    databases: HashMap<String, Value>,
    data_sources: HashMap<String, DataSource>,
    pages: Vec<PageRec>,
    /// Plain pages (parents) by id → title.
    plain_pages: HashMap<String, String>,
    /// Children of a page or block, in order.
    blocks: HashMap<String, Vec<Value>>,
    /// What the integration can see.
    shared: HashSet<String>,
    stats: Stats,
    /// Every authorised request: (method, path with query).
    log: Vec<(String, String)>,
    /// When each request (any answer) arrived.
    arrivals: Vec<Instant>,
    /// Added to the fake's clock (to let minutes pass in a test).
    clock_offset: chrono::TimeDelta,
}

struct Inner {
    store: Mutex<Store>,
    behaviour: Mutex<Behaviour>,
}

/// A running fake; it stops with the test process.
pub struct FakeNotion {
    pub url: String,
    inner: Arc<Inner>,
}

type Answer = Result<Value, (u16, &'static str, String)>;

fn key(id: &str) -> String {
    id.replace('-', "").to_ascii_lowercase()
}

fn new_id() -> String {
    let n: u128 = rand::random();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn bad(msg: impl Into<String>) -> (u16, &'static str, String) {
    (400, "validation_error", msg.into())
}

fn not_found(what: &str, id: &str) -> (u16, &'static str, String) {
    (
        404,
        "object_not_found",
        format!(
            "Could not find {what} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
        ),
    )
}

impl FakeNotion {
    pub fn start() -> FakeNotion {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind the fake Notion");
        let url = format!(
            "http://{}",
            server.server_addr().to_ip().expect("ip address")
        );
        let inner = Arc::new(Inner {
            store: Mutex::new(Store::default()),
            behaviour: Mutex::new(Behaviour {
                fault_rate: 0.0,
                fault_429: false,
                latency: Duration::ZERO,
                rate: 3.0,
                burst: 3.0,
                tokens: 3.0,
                refilled: Instant::now(),
                page_size: 100,
                budget: None,
                window_start: Instant::now(),
                window_used: 0,
            }),
        });
        let i = inner.clone();
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let i = i.clone();
                std::thread::spawn(move || handle(&i, req));
            }
        });
        FakeNotion { url, inner }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.inner.store.lock().unwrap()
    }

    /// The config lines for this fake (the test's `[sync]` tables).
    pub fn config(&self, extra: &str) -> String {
        format!(
            "[sync]\ntarget = \"notion\"\n\n[sync.notion]\nbase_url = \"{}\"\n{extra}",
            self.url
        )
    }

    /// A share of requests (0.0–1.0) that fail: 5xx or a broken connection, half of
    /// them after the change was made.
    pub fn set_faults(&self, rate: f64) {
        self.inner.behaviour.lock().unwrap().fault_rate = rate;
    }

    /// Injected faults also answer `429` with `Retry-After: 1`, as the real rate
    /// limiter does.
    pub fn set_fault_429(&self, on: bool) {
        self.inner.behaviour.lock().unwrap().fault_429 = on;
    }

    pub fn set_latency(&self, latency: Duration) {
        self.inner.behaviour.lock().unwrap().latency = latency;
    }

    /// The rate limit: `per_second` on average, `burst` at once.
    pub fn set_rate(&self, per_second: f64, burst: f64) {
        let mut b = self.inner.behaviour.lock().unwrap();
        b.rate = per_second;
        b.burst = burst;
        b.tokens = burst;
    }

    /// A budget of `requests` per `window`, as Notion's per-connection limit: past it,
    /// 429 `rate_limited` with `Retry-After` the seconds until the window resets.
    pub fn set_budget(&self, requests: u64, window: Duration) {
        let mut b = self.inner.behaviour.lock().unwrap();
        b.budget = Some((requests, window));
        b.window_start = Instant::now();
        b.window_used = 0;
    }

    /// The most results a list answer holds (to exercise pagination).
    pub fn set_page_size(&self, n: usize) {
        self.inner.behaviour.lock().unwrap().page_size = n.max(1);
    }

    pub fn stats(&self) -> Stats {
        self.store().stats.clone()
    }

    /// Every authorised request so far: (method, path).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.store().log.clone()
    }

    /// The requests that change something (everything but GETs and queries).
    pub fn writes(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .filter(|(m, p)| m != "GET" && !(m == "POST" && p.ends_with("/query")))
            .collect()
    }

    /// The authorised requests by endpoint (`POST pages`, `POST data_sources/query`,
    /// `PATCH blocks/children`, `GET data_sources`…: ids left out), counted.
    pub fn by_endpoint(&self) -> std::collections::BTreeMap<String, u64> {
        let mut m = std::collections::BTreeMap::new();
        for (method, url) in self.requests() {
            let path = url.split('?').next().unwrap_or("");
            let parts: Vec<&str> = path
                .trim_matches('/')
                .split('/')
                .skip(1)
                .filter(|p| {
                    !(p.len() >= 32 && p.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
                })
                .collect();
            *m.entry(format!("{method} {}", parts.join("/")))
                .or_insert(0) += 1;
        }
        m
    }

    /// When each request arrived, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        let mut a = self.store().arrivals.clone();
        a.sort();
        a
    }

    pub fn clear_requests(&self) {
        let mut s = self.store();
        s.log.clear();
        s.arrivals.clear();
    }

    /// Moves the fake's clock (its `last_edited_time`s) forward by `minutes`.
    pub fn advance_clock(&self, minutes: i64) {
        self.store().clock_offset += chrono::TimeDelta::minutes(minutes);
    }

    /// Appends blocks to a page as another client (a person) would.
    pub fn append_blocks(&self, page: &str, children: Value) {
        let mut s = self.store();
        s.append(page, &json!({ "children": children }))
            .unwrap_or_else(|e| panic!("{e:?}"));
    }

    /// A plain page, shared with the integration or not.
    pub fn add_page(&self, title: &str, shared: bool) -> String {
        let id = new_id();
        let mut s = self.store();
        s.plain_pages.insert(key(&id), title.to_string());
        if shared {
            s.shared.insert(key(&id));
        }
        id
    }

    /// A database under `parent` with these properties (name, config), shared.
    pub fn add_database(&self, parent: &str, title: &str, properties: &[(&str, Value)]) -> String {
        let props: Map<String, Value> = properties
            .iter()
            .map(|(n, c)| (n.to_string(), c.clone()))
            .collect();
        let mut s = self.store();
        let (db, _) = s
            .create_database(parent, title, &props)
            .unwrap_or_else(|e| panic!("{e:?}"));
        db
    }

    /// The databases under a page: (title, database id).
    pub fn databases_under(&self, page: &str) -> Vec<(String, String)> {
        self.store()
            .blocks
            .get(&key(page))
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "child_database")
            .map(|b| {
                (
                    b["child_database"]["title"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    b["id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Removes a property from a database's schema, as a person deleting it would.
    pub fn remove_property(&self, database: &str, name: &str) {
        let mut s = self.store();
        let ds = s.first_data_source(&key(database)).expect("a data source");
        s.data_sources.get_mut(&ds).unwrap().properties.remove(name);
    }

    /// A database's property names and types.
    pub fn properties(&self, database: &str) -> Vec<(String, String)> {
        let s = self.store();
        let ds = s.first_data_source(&key(database)).expect("a data source");
        let mut v: Vec<_> = s.data_sources[&ds]
            .properties
            .iter()
            .map(|(n, p)| (n.clone(), p["type"].as_str().unwrap_or("").to_string()))
            .collect();
        v.sort();
        v
    }

    /// A database's properties as stored: name → {"id", "name", "type", <type>: config}.
    pub fn schema(&self, database: &str) -> Map<String, Value> {
        let s = self.store();
        let ds = s.first_data_source(&key(database)).expect("a data source");
        s.data_sources[&ds].properties.clone()
    }

    /// Every page of a database, as the API shows them.
    pub fn pages_in(&self, database: &str) -> Vec<Value> {
        let s = self.store();
        let Some(ds) = s.first_data_source(&key(database)) else {
            return Vec::new();
        };
        s.pages
            .iter()
            .filter(|p| p.data_source.as_deref() == Some(ds.as_str()))
            .map(|p| s.page_json(p))
            .collect()
    }

    /// Every page (any database) whose `source` is this file name.
    pub fn pages_with_source(&self, source: &str) -> Vec<Value> {
        let s = self.store();
        s.pages
            .iter()
            .filter(|p| {
                plain(&p.properties.get("source").cloned().unwrap_or_default()["rich_text"])
                    == source
            })
            .map(|p| s.page_json(p))
            .collect()
    }

    /// Sets a checkbox on a page, as a person (or the journal job) would.
    pub fn set_checkbox(&self, page: &str, name: &str, value: bool) {
        let mut s = self.store();
        let p = s
            .pages
            .iter_mut()
            .find(|p| key(&p.id) == key(page))
            .expect("the page");
        p.properties.insert(
            name.into(),
            json!({"id": name, "type": "checkbox", "checkbox": value}),
        );
    }

    /// A page's child blocks.
    pub fn children(&self, page: &str) -> Vec<Value> {
        self.store()
            .blocks
            .get(&key(page))
            .cloned()
            .unwrap_or_default()
    }

    /// The plain text of every block of a page, one string per block.
    pub fn texts(&self, page: &str) -> Vec<String> {
        self.children(page)
            .iter()
            .map(|b| {
                let t = b["type"].as_str().unwrap_or("");
                plain(&b[t]["rich_text"])
            })
            .collect()
    }
}

/// The plain text of a rich text array.
pub fn plain(items: &Value) -> String {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["text"]["content"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_default()
}

/// A page property's plain text (title or rich_text).
pub fn prop_text(page: &Value, name: &str) -> String {
    let p = &page["properties"][name];
    let t = p["type"].as_str().unwrap_or("");
    plain(&p[t])
}

enum Fault {
    None,
    RateLimited,
    StatusBefore(u16),
    DropBefore,
    StatusAfter(u16),
    DropAfter,
}

fn pick_fault(rate: f64, with_429: bool) -> Fault {
    if rate <= 0.0 || rand::random::<f64>() >= rate {
        return Fault::None;
    }
    if with_429 && rand::random_range(0..5) == 0 {
        return Fault::RateLimited;
    }
    let statuses = [500, 502, 503, 504, 529];
    let status = statuses[rand::random_range(0..statuses.len())];
    match rand::random_range(0..4) {
        0 => Fault::StatusBefore(status),
        1 => Fault::DropBefore,
        2 => Fault::StatusAfter(status),
        _ => Fault::DropAfter,
    }
}

fn header<'a>(req: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn respond(req: tiny_http::Request, status: u16, body: &Value, retry_after: Option<&str>) {
    let mut resp = tiny_http::Response::from_string(body.to_string())
        .with_status_code(status)
        .with_header(tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap());
    if let Some(r) = retry_after {
        resp.add_header(tiny_http::Header::from_bytes("Retry-After", r).unwrap());
    }
    let _ = req.respond(resp);
}

fn drop_connection(req: tiny_http::Request) {
    let mut w = req.into_writer();
    let _ = w.write_all(b"HTTP/1.1 ???\r\n\r\n");
    let _ = w.flush();
}

fn error_body(status: u16, code: &str, message: &str) -> Value {
    json!({"object": "error", "status": status, "code": code, "message": message})
}

/// Blocks in a request's children, nested ones included.
fn count_blocks(v: &Value) -> usize {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    let t = b["type"].as_str().unwrap_or("");
                    1 + count_blocks(&b[t]["children"])
                })
                .sum()
        })
        .unwrap_or(0)
}

fn handle(inner: &Inner, mut req: tiny_http::Request) {
    inner.store.lock().unwrap().arrivals.push(Instant::now());
    let (latency, fault, limited) = {
        let mut b = inner.behaviour.lock().unwrap();
        let now = Instant::now();
        let refill = now.duration_since(b.refilled).as_secs_f64() * b.rate;
        b.tokens = (b.tokens + refill).min(b.burst);
        b.refilled = now;
        let mut limited = (b.tokens < 1.0).then_some(1);
        if limited.is_none() {
            b.tokens -= 1.0;
        }
        if let Some((budget, window)) = b.budget {
            if now.duration_since(b.window_start) >= window {
                b.window_start = now;
                b.window_used = 0;
            }
            b.window_used += 1;
            if b.window_used > budget {
                let left = window.saturating_sub(now.duration_since(b.window_start));
                limited = Some(left.as_secs_f64().ceil().max(1.0) as u64);
            }
        }
        (b.latency, pick_fault(b.fault_rate, b.fault_429), limited)
    };
    std::thread::sleep(latency);
    let mut body = String::new();
    let _ = req.as_reader().read_to_string(&mut body);
    inner.store.lock().unwrap().stats.requests += 1;
    match header(&req, "Notion-Version") {
        None => {
            let msg = "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.";
            return respond(req, 400, &error_body(400, "missing_version", msg), None);
        }
        Some(v) if v != VERSION => {
            let msg = format!("Notion-Version {v} is not supported by this fake; use {VERSION}.");
            return respond(req, 400, &error_body(400, "validation_error", &msg), None);
        }
        Some(_) => {}
    }
    if header(&req, "Authorization") != Some(&format!("Bearer {TOKEN}")) {
        return respond(
            req,
            401,
            &error_body(401, "unauthorized", "API token is invalid."),
            None,
        );
    }
    if let Some(wait) = limited {
        inner.store.lock().unwrap().stats.rate_limited += 1;
        let msg = "You have been rate limited. Please try again in a few minutes.";
        let mut body = error_body(429, "rate_limited", msg);
        body["additional_data"] = json!({"rate_limit_reason": "connection_rate_limit"});
        return respond(req, 429, &body, Some(&wait.to_string()));
    }
    if !matches!(fault, Fault::None) {
        inner.store.lock().unwrap().stats.faults += 1;
    }
    match fault {
        Fault::StatusBefore(529) => {
            // Notion's overload answer: `service_overload`, with a `Retry-After`.
            let msg = "Notion is overloaded. Please try again later.";
            return respond(
                req,
                529,
                &error_body(529, "service_overload", msg),
                Some("1"),
            );
        }
        Fault::StatusBefore(s) => {
            return respond(
                req,
                s,
                &error_body(s, "service_unavailable", "Injected fault."),
                None,
            );
        }
        Fault::DropBefore => return drop_connection(req),
        Fault::RateLimited => {
            let msg = "You have been rate limited. Please try again in a few minutes.";
            return respond(req, 429, &error_body(429, "rate_limited", msg), Some("1"));
        }
        _ => {}
    }
    let method = req.method().as_str().to_string();
    let url = req.url().to_string();
    inner
        .store
        .lock()
        .unwrap()
        .log
        .push((method.clone(), url.clone()));
    if body.len() > 500_000 {
        let msg = format!(
            "Request body too large: {} bytes; the limit is 500KB.",
            body.len()
        );
        return respond(req, 413, &error_body(413, "payload_too_large", &msg), None);
    }
    let parsed: Value = if body.trim().is_empty() {
        json!({})
    } else {
        match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("Error parsing JSON body: {e}");
                return respond(req, 400, &error_body(400, "invalid_json", &msg), None);
            }
        }
    };
    let blocks_sent = count_blocks(&parsed["children"]);
    if blocks_sent > 1000 {
        let msg = format!(
            "body failed validation: a request may carry at most 1000 blocks, instead was `{blocks_sent}`."
        );
        return respond(req, 400, &error_body(400, "validation_error", &msg), None);
    }
    let answer = {
        let page_size = inner.behaviour.lock().unwrap().page_size;
        let mut store = inner.store.lock().unwrap();
        store.route(&method, &url, &parsed, page_size)
    };
    match fault {
        Fault::StatusAfter(s) => respond(
            req,
            s,
            &error_body(
                s,
                "internal_server_error",
                "Injected fault after the change.",
            ),
            None,
        ),
        Fault::DropAfter => drop_connection(req),
        _ => match answer {
            Ok(v) => respond(req, 200, &v, None),
            Err((s, code, msg)) => respond(req, s, &error_body(s, code, &msg), None),
        },
    }
}

/// Checks a rich text array against Notion's limits; returns it with `plain_text`.
fn rich_text(path: &str, v: &Value) -> Result<Vec<Value>, (u16, &'static str, String)> {
    let items = v
        .as_array()
        .ok_or_else(|| bad(format!("body failed validation: {path} should be an array")))?;
    if items.len() > 100 {
        return Err(bad(format!(
            "body failed validation: {path}.length should be ≤ `100`, instead was `{}`.",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let content = it["text"]["content"].as_str().ok_or_else(|| {
                bad(format!("body failed validation: {path}[{i}].text.content should be defined"))
            })?;
            let n = content.chars().count();
            if n > 2000 {
                return Err(bad(format!(
                    "body failed validation: {path}[{i}].text.content.length should be ≤ `2000`, instead was `{n}`."
                )));
            }
            Ok(json!({"type": "text", "text": {"content": content, "link": null}, "plain_text": content, "href": null}))
        })
        .collect()
}

fn declared_type(config: &Value) -> Option<String> {
    config
        .as_object()?
        .keys()
        .find(|k| *k != "name" && *k != "description")
        .cloned()
}

impl Store {
    fn visible(&self, id: &str) -> bool {
        self.shared.contains(&key(id))
    }

    fn first_data_source(&self, db: &str) -> Option<String> {
        self.databases.get(db)?["data_sources"]
            .as_array()?
            .first()?
            .as_str()
            .map(key)
    }

    fn route(&mut self, method: &str, url: &str, body: &Value, page_size: usize) -> Answer {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, parts.as_slice()) {
            ("GET", ["v1", "databases", id]) => self.get_database(id),
            ("POST", ["v1", "databases"]) => {
                let parent = body["parent"]["page_id"].as_str().unwrap_or("").to_string();
                let title = plain(&Value::Array(rich_text("body.title", &body["title"])?));
                let props = body["initial_data_source"]["properties"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                let (db, _) = self.create_database(&parent, &title, &props)?;
                self.get_database(&db)
            }
            ("GET", ["v1", "data_sources", id]) => self.get_data_source(id),
            ("PATCH", ["v1", "data_sources", id]) => self.update_data_source(id, body),
            ("POST", ["v1", "data_sources", id, "query"]) => self.query(id, body, page_size),
            ("POST", ["v1", "pages"]) => self.create_page(body),
            ("PATCH", ["v1", "pages", id]) => self.update_page(id, body),
            ("GET", ["v1", "blocks", id, "children"]) => self.list_children(id, query, page_size),
            ("PATCH", ["v1", "blocks", id, "children"]) => self.append(id, body),
            ("DELETE", ["v1", "blocks", id]) => self.delete_block(id),
            _ => Err((
                400,
                "invalid_request_url",
                format!("Invalid request URL: {method} {path}"),
            )),
        }
    }

    fn get_database(&self, id: &str) -> Answer {
        let db = self
            .databases
            .get(&key(id))
            .filter(|_| self.visible(id))
            .ok_or_else(|| not_found("database", id))?;
        let sources: Vec<Value> = db["data_sources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| json!({"id": d, "name": db["title"]}))
            .collect();
        Ok(json!({
            "object": "database",
            "id": db["id"],
            "title": [{"type": "text", "text": {"content": db["title"]}, "plain_text": db["title"]}],
            "parent": {"type": "page_id", "page_id": db["parent"]},
            "data_sources": sources,
        }))
    }

    fn create_database(
        &mut self,
        parent: &str,
        title: &str,
        props: &Map<String, Value>,
    ) -> Result<(String, String), (u16, &'static str, String)> {
        if !self.plain_pages.contains_key(&key(parent)) || !self.visible(parent) {
            return Err(not_found("page", parent));
        }
        let mut properties = Map::new();
        for (name, config) in props {
            properties.insert(name.clone(), schema_entry(name, config)?);
        }
        let titles = properties.values().filter(|p| p["type"] == "title").count();
        if titles != 1 {
            return Err(bad(format!(
                "A data source must have exactly one title property; this one has {titles}."
            )));
        }
        let db = new_id();
        let ds = new_id();
        self.databases.insert(
            key(&db),
            json!({"id": db, "title": title, "parent": parent, "data_sources": [ds]}),
        );
        self.data_sources.insert(
            key(&ds),
            DataSource {
                database: key(&db),
                properties,
            },
        );
        self.shared.insert(key(&db));
        self.blocks.entry(key(parent)).or_default().push(json!({
            "object": "block", "id": db, "type": "child_database",
            "has_children": false, "child_database": {"title": title},
        }));
        Ok((db, ds))
    }

    fn data_source(&self, id: &str) -> Result<&DataSource, (u16, &'static str, String)> {
        self.data_sources
            .get(&key(id))
            .filter(|d| self.shared.contains(&d.database))
            .ok_or_else(|| not_found("data source", id))
    }

    fn get_data_source(&self, id: &str) -> Answer {
        let ds = self.data_source(id)?;
        let db = &self.databases[&ds.database];
        Ok(json!({
            "object": "data_source",
            "id": id,
            "parent": {"type": "database_id", "database_id": db["id"]},
            "database_parent": {"type": "page_id", "page_id": db["parent"]},
            "properties": ds.properties,
        }))
    }

    fn update_data_source(&mut self, id: &str, body: &Value) -> Answer {
        self.data_source(id)?;
        let updates = body["properties"].as_object().cloned().unwrap_or_default();
        let ds = self.data_sources.get_mut(&key(id)).expect("checked above");
        for (name, config) in updates {
            if config.is_null() {
                ds.properties.remove(&name);
                continue;
            }
            let entry = schema_entry(&name, &config)?;
            if entry["type"] == "title"
                && ds
                    .properties
                    .iter()
                    .any(|(n, p)| p["type"] == "title" && *n != name)
            {
                return Err(bad("Cannot create a second title property."));
            }
            ds.properties.insert(name, entry);
        }
        self.get_data_source(id)
    }

    fn page_json(&self, p: &PageRec) -> Value {
        let ds = p.data_source.clone().unwrap_or_default();
        let db = self
            .data_sources
            .get(&ds)
            .map(|d| self.databases[&d.database]["id"].clone())
            .unwrap_or(Value::Null);
        json!({
            "object": "page",
            "id": p.id,
            "parent": {"type": "data_source_id", "data_source_id": ds, "database_id": db},
            "properties": p.properties,
            "last_edited_time": p.edited,
            "in_trash": false,
        })
    }

    fn query(&self, id: &str, body: &Value, page_size: usize) -> Answer {
        let ds = self.data_source(id)?;
        let filter = &body["filter"];
        let mut hits = Vec::new();
        for p in self
            .pages
            .iter()
            .filter(|p| p.data_source.as_deref() == Some(key(id).as_str()))
        {
            if filter.is_null() || matches(ds, p, filter)? {
                hits.push(self.page_json(p));
            }
        }
        paginate(
            hits,
            body["start_cursor"].as_str(),
            body["page_size"].as_u64(),
            page_size,
        )
    }

    /// Validates property values against the schema (adding new select options, as
    /// Notion does) and returns them as stored.
    fn values(
        &mut self,
        ds_key: &str,
        props: &Map<String, Value>,
    ) -> Result<Map<String, Value>, (u16, &'static str, String)> {
        let ds = self
            .data_sources
            .get_mut(ds_key)
            .expect("checked by the caller");
        let mut out = Map::new();
        for (name, value) in props {
            let schema = ds
                .properties
                .get_mut(name)
                .ok_or_else(|| bad(format!("{name} is not a property that exists.")))?;
            let t = schema["type"].as_str().unwrap_or("").to_string();
            let v = &value[&t];
            if value.get(&t).is_none() {
                return Err(bad(format!(
                    "body failed validation: body.properties.{name}.{t} should be defined."
                )));
            }
            let stored = match t.as_str() {
                "title" | "rich_text" => {
                    Value::Array(rich_text(&format!("body.properties.{name}.{t}"), v)?)
                }
                "checkbox" => v
                    .as_bool()
                    .map(Value::Bool)
                    .ok_or_else(|| bad(format!("{name}: checkbox should be a boolean")))?,
                "date" => {
                    if !v.is_null() && v["start"].as_str().is_none() {
                        return Err(bad(format!("{name}: date.start should be a string")));
                    }
                    v.clone()
                }
                "select" => {
                    if !v.is_null() {
                        add_option(schema, &t, v)?;
                    }
                    v.clone()
                }
                "multi_select" => {
                    for o in v.as_array().into_iter().flatten() {
                        add_option(schema, &t, o)?;
                    }
                    v.clone()
                }
                other => return Err(bad(format!("the fake cannot write {other} properties"))),
            };
            out.insert(
                name.clone(),
                json!({"id": name, "type": t, t.clone(): stored}),
            );
        }
        Ok(out)
    }

    fn create_page(&mut self, body: &Value) -> Answer {
        let ds_id = body["parent"]["data_source_id"]
            .as_str()
            .ok_or_else(|| bad("body.parent.data_source_id should be defined"))?
            .to_string();
        self.data_source(&ds_id)?;
        let children = blocks(body.get("children").unwrap_or(&json!([])), 0)?;
        let props = body["properties"].as_object().cloned().unwrap_or_default();
        let properties = self.values(&key(&ds_id), &props)?;
        let id = new_id();
        let rec = PageRec {
            id: id.clone(),
            data_source: Some(key(&ds_id)),
            properties,
            edited: self.now_minute(),
        };
        let json = self.page_json(&rec);
        self.pages.push(rec);
        self.shared.insert(key(&id));
        self.insert_blocks(&id, children, None);
        self.stats.created_pages += 1;
        Ok(json)
    }

    fn update_page(&mut self, id: &str, body: &Value) -> Answer {
        let idx = self
            .pages
            .iter()
            .position(|p| key(&p.id) == key(id))
            .ok_or_else(|| not_found("page", id))?;
        let ds = self.pages[idx].data_source.clone().unwrap_or_default();
        let props = body["properties"].as_object().cloned().unwrap_or_default();
        let values = self.values(&ds, &props)?;
        self.pages[idx].properties.extend(values);
        self.pages[idx].edited = self.now_minute();
        Ok(self.page_json(&self.pages[idx].clone()))
    }

    fn list_children(&self, id: &str, query: &str, page_size: usize) -> Answer {
        if !self.visible(id) {
            return Err(not_found("block", id));
        }
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let all = self.blocks.get(&key(id)).cloned().unwrap_or_default();
        let size = param("page_size").and_then(|s| s.parse().ok());
        paginate(all, param("start_cursor").as_deref(), size, page_size)
    }

    /// 2025-09-03's append: `children`, and `after` (a child of the parent to insert
    /// after); any other key is refused, as Notion refuses unknown keys.
    fn append(&mut self, id: &str, body: &Value) -> Answer {
        if !self.visible(id) {
            return Err(not_found("block", id));
        }
        if let Some(k) = body
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "children" && *k != "after"))
        {
            return Err(bad(format!(
                "body failed validation: body.{k} should be not present, instead was present."
            )));
        }
        let at = match body["after"].as_str() {
            None => None,
            Some(after) => {
                let list = self.blocks.get(&key(id)).cloned().unwrap_or_default();
                let i = list
                    .iter()
                    .position(|b| key(b["id"].as_str().unwrap_or("")) == key(after))
                    .ok_or_else(|| {
                        bad(format!(
                            "Block {after} is not a child of {id}: `after` must name a child block of the parent."
                        ))
                    })?;
                Some(i + 1)
            }
        };
        let new = blocks(&body["children"], 0)?;
        let made = self.insert_blocks(id, new, at);
        self.touch(id);
        Ok(json!({"object": "list", "results": made, "has_more": false, "next_cursor": null}))
    }

    /// Puts checked blocks under `parent` (at the end, or at index `at`), their nested
    /// children under them; returns them as the API shows them.
    fn insert_blocks(&mut self, parent: &str, new: Vec<Value>, at: Option<usize>) -> Vec<Value> {
        let mut shown = Vec::with_capacity(new.len());
        for mut b in new {
            let kids = b
                .as_object_mut()
                .and_then(|o| o.remove("_children"))
                .and_then(|k| k.as_array().cloned())
                .unwrap_or_default();
            let id = b["id"].as_str().unwrap_or("").to_string();
            b["has_children"] = json!(!kids.is_empty());
            self.shared.insert(key(&id));
            if !kids.is_empty() {
                self.insert_blocks(&id, kids, None);
            }
            shown.push(b);
        }
        let list = self.blocks.entry(key(parent)).or_default();
        let at = at.unwrap_or(list.len()).min(list.len());
        list.splice(at..at, shown.iter().cloned());
        shown
    }

    /// Moves a block (and what it holds) to the trash: it leaves its parent's children.
    fn delete_block(&mut self, id: &str) -> Answer {
        let k = key(id);
        for (parent, list) in self.blocks.iter_mut() {
            if let Some(i) = list
                .iter()
                .position(|b| key(b["id"].as_str().unwrap_or("")) == k)
            {
                let mut b = list.remove(i);
                b["archived"] = json!(true);
                b["in_trash"] = json!(true);
                let parent = parent.clone();
                self.blocks.remove(&k);
                self.shared.remove(&k);
                self.touch(&parent);
                return Ok(b);
            }
        }
        Err(not_found("block", id))
    }

    /// The fake's now, rounded down to the minute (Notion's `last_edited_time`).
    fn now_minute(&self) -> String {
        let now = chrono::Utc::now() + self.clock_offset;
        now.format("%Y-%m-%dT%H:%M:00.000Z").to_string()
    }

    /// A change to the content of `id`: the page's `last_edited_time` moves.
    fn touch(&mut self, id: &str) {
        let now = self.now_minute();
        if let Some(p) = self.pages.iter_mut().find(|p| key(&p.id) == key(id)) {
            p.edited = now;
        }
    }
}

fn paginate(items: Vec<Value>, cursor: Option<&str>, asked: Option<u64>, max: usize) -> Answer {
    let start: usize = match cursor {
        Some(c) => c.parse().map_err(|_| bad("start_cursor is not valid"))?,
        None => 0,
    };
    let size = (asked.unwrap_or(100) as usize).clamp(1, 100).min(max);
    let end = (start + size).min(items.len());
    let has_more = end < items.len();
    Ok(json!({
        "object": "list",
        "results": items.get(start..end).unwrap_or(&[]),
        "has_more": has_more,
        "next_cursor": if has_more { json!(end.to_string()) } else { Value::Null },
    }))
}

/// Checks children: at most 100, known types, rich text within limits, nested children
/// two levels deep at most (kept under `_children`); gives each an id.
fn blocks(v: &Value, depth: usize) -> Result<Vec<Value>, (u16, &'static str, String)> {
    let list = v
        .as_array()
        .ok_or_else(|| bad("body failed validation: body.children should be an array"))?;
    if list.len() > 100 {
        return Err(bad(format!(
            "body failed validation: body.children.length should be ≤ `100`, instead was `{}`.",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, b)| {
            let t = b["type"].as_str().unwrap_or("").to_string();
            let mut out =
                json!({"object": "block", "id": new_id(), "type": t, "has_children": false});
            match t.as_str() {
                "divider" => out["divider"] = json!({}),
                "paragraph" | "heading_1" | "heading_2" | "heading_3" | "bulleted_list_item"
                | "quote" | "callout" | "toggle" => {
                    let items = rich_text(
                        &format!("body.children[{i}].{t}.rich_text"),
                        &b[&t]["rich_text"],
                    )?;
                    out[&t] = json!({"rich_text": items});
                    for extra in ["icon", "color"] {
                        if let Some(v) = b[&t].get(extra) {
                            out[&t][extra] = v.clone();
                        }
                    }
                    if let Some(kids) = b[&t].get("children") {
                        if depth >= 1 {
                            return Err(bad(format!(
                                "body.children[{i}].{t}.children: at most two levels of nesting in one request"
                            )));
                        }
                        out["_children"] = Value::Array(blocks(kids, depth + 1)?);
                    }
                }
                other => {
                    return Err(bad(format!(
                        "body.children[{i}]: unsupported block type {other:?}"
                    )));
                }
            }
            Ok(out)
        })
        .collect()
}

/// A schema entry from a property configuration.
fn schema_entry(name: &str, config: &Value) -> Result<Value, (u16, &'static str, String)> {
    let t = declared_type(config)
        .ok_or_else(|| bad(format!("body.properties.{name} should declare a type")))?;
    let known = [
        "title",
        "rich_text",
        "select",
        "multi_select",
        "checkbox",
        "date",
        "number",
    ];
    if !known.contains(&t.as_str()) {
        return Err(bad(format!("the fake does not know property type {t}")));
    }
    let mut body = config[&t].clone();
    if (t == "select" || t == "multi_select") && body.get("options").is_none() {
        body = json!({"options": []});
    }
    Ok(json!({"id": name, "name": name, "type": t, t.clone(): body}))
}

fn add_option(schema: &mut Value, t: &str, v: &Value) -> Result<(), (u16, &'static str, String)> {
    let name = v["name"]
        .as_str()
        .ok_or_else(|| bad("select option: name should be defined"))?;
    if name.contains(',') {
        return Err(bad(format!(
            "Select option names cannot contain commas: {name:?}"
        )));
    }
    if name.chars().count() > 100 {
        return Err(bad("Select option names must be at most 100 characters."));
    }
    let options = schema[t]["options"].as_array_mut().expect("options");
    if !options.iter().any(|o| o["name"] == name) {
        options.push(json!({"name": name, "color": "default"}));
    }
    Ok(())
}

fn matches(
    ds: &DataSource,
    page: &PageRec,
    filter: &Value,
) -> Result<bool, (u16, &'static str, String)> {
    if let Some(all) = filter["and"].as_array() {
        for f in all {
            if !matches(ds, page, f)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(any) = filter["or"].as_array() {
        if any.len() > 100 {
            return Err(bad(format!(
                "body failed validation: body.filter.or.length should be ≤ `100`, instead was `{}`.",
                any.len()
            )));
        }
        for f in any {
            if matches(ds, page, f)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let name = filter["property"]
        .as_str()
        .ok_or_else(|| bad("body.filter.property should be defined"))?;
    let schema = ds
        .properties
        .get(name)
        .ok_or_else(|| bad(format!("Could not find property with name or id: {name}")))?;
    let t = schema["type"].as_str().unwrap_or("");
    let cond = &filter[t];
    let value = page
        .properties
        .get(name)
        .map(|v| v[t].clone())
        .unwrap_or(Value::Null);
    if t == "date" && cond.get("is_not_empty") == Some(&json!(true)) {
        return Ok(value["start"].as_str().is_some_and(|s| !s.is_empty()));
    }
    // Text conditions besides equals, as Notion reads them: case does not matter.
    for op in ["ends_with", "starts_with", "contains"] {
        let Some(w) = cond.get(op) else { continue };
        if !matches!(t, "title" | "rich_text") {
            return Err(bad(format!("body.filter.{t}.{op} is not a {t} condition")));
        }
        let have = plain(&value).to_lowercase();
        let w = w
            .as_str()
            .ok_or_else(|| bad(format!("body.filter.{t}.{op} should be a string")))?
            .to_lowercase();
        return Ok(match op {
            "ends_with" => have.ends_with(&w),
            "starts_with" => have.starts_with(&w),
            _ => have.contains(&w),
        });
    }
    let wanted = cond.get("equals").ok_or_else(|| {
        bad(format!(
            "body.filter.{t}.equals should be defined (only equals, ends_with, starts_with, contains and date is_not_empty are faked)"
        ))
    })?;
    Ok(match t {
        "title" | "rich_text" => plain(&value) == wanted.as_str().unwrap_or(""),
        "date" => {
            let have = value["start"].as_str().unwrap_or("");
            let want = wanted.as_str().unwrap_or("");
            !have.is_empty() && have.get(..10) == want.get(..10)
        }
        "checkbox" => value.as_bool().unwrap_or(false) == wanted.as_bool().unwrap_or(false),
        "select" => value["name"] == *wanted,
        other => return Err(bad(format!("the fake cannot filter on {other}"))),
    })
}
