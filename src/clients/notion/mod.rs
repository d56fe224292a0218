//! A thin typed blocking client for the Notion API, version 2025-09-03 (a database holds
//! data sources; pages live in a data source), with Notion's limits built in.
//!
//! Reads are retried (429 after `Retry-After`, 5xx and connection faults with backoff);
//! writes that create something are sent once apart from 429s, because a lost answer may
//! hide a write that happened: [`create_or_find`] looks before it tries again.
//! The token is sent in a header only: no error, log line or output carries it.
pub mod text;

use crate::clients::http::{self, HttpError, RateLimiter, RetryPolicy};
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The API version sent in `Notion-Version`.
pub const VERSION: &str = "2025-09-03";
/// Notion's rate limit: requests a second, on average, per integration token.
pub const REQUESTS_PER_SECOND: f64 = 3.0;
/// The most children one array of a request may carry (top level, or a block's own).
pub const MAX_CHILDREN: usize = 100;
/// The most blocks one request may carry, nested ones included.
pub const MAX_BLOCKS: usize = 1000;
/// The most bytes of one request's body (Notion: 500 KB); a margin is kept for the
/// page's properties and the JSON around the children.
pub const MAX_PAYLOAD: usize = 500_000;
const CHILDREN_BYTES: usize = 400_000;
/// The env var tried when the configured one is unset (the original astra's name).
pub const FALLBACK_TOKEN_ENV: &str = "NOTION_API_KEY";
/// The whole of one request, retries excluded.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong, as far as the caller needs to decide what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 401: the token is wrong or revoked.
    Auth,
    /// 403/404: not shared with the integration, or gone.
    Access,
    /// 400 (and other 4xx): Notion refused the request as written.
    Invalid,
    /// 429, 5xx, no connection, an unreadable answer: trying again may work.
    Transient,
}

/// A failed Notion call: what was being done, Notion's own message and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct NotionError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    /// Notion's error code (`validation_error`, `object_not_found`…), if it sent one.
    pub code: String,
    pub message: String,
}

impl NotionError {
    /// Whether another try (now or in a later run) may succeed without anyone acting.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    /// Notion's rate limit (`429 rate_limited`): nothing was done; the memo waits
    /// without spending an attempt.
    pub fn is_rate_limited(&self) -> bool {
        self.status == Some(429)
    }

    /// A write refused because the database's schema is not what astra knew (a
    /// property renamed, removed or of another type): worth checking the schema again.
    pub fn is_schema_refusal(&self) -> bool {
        self.status == Some(400)
            && self.code == "validation_error"
            && self.message.to_ascii_lowercase().contains("propert")
    }

    fn from_http(e: HttpError, what: &str, token_env: &str) -> NotionError {
        let (status, body) = match e {
            HttpError::Status { status, body } => (status, body),
            HttpError::Transport(msg) => {
                return NotionError {
                    kind: ErrorKind::Transient,
                    status: None,
                    code: String::new(),
                    message: format!("{what}: {msg}"),
                };
            }
        };
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let code = parsed["code"].as_str().unwrap_or("").to_string();
        let said = parsed["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| body.chars().take(300).collect());
        let (kind, advice) = match status {
            401 => (
                ErrorKind::Auth,
                format!(
                    "check {token_env}: it must hold your integration's internal secret (Notion → Settings → Connections → Develop or manage integrations)"
                ),
            ),
            403 | 404 => (
                ErrorKind::Access,
                "share the page/database with your integration (••• menu on the page → Connections → add your integration), and check the id in config.toml".to_string(),
            ),
            s if http::is_retryable(s) || s == 409 => {
                (ErrorKind::Transient, "astra will try again".to_string())
            }
            _ => (ErrorKind::Invalid, String::new()),
        };
        let mut message = format!("{what}: Notion answered {status}");
        if !code.is_empty() {
            message.push_str(&format!(" {code}"));
        }
        message.push_str(&format!(": {said}"));
        if !advice.is_empty() {
            message.push_str(&format!("; {advice}"));
        }
        NotionError {
            kind,
            status: Some(status),
            code,
            message,
        }
    }

    fn unreadable(what: &str, e: impl std::fmt::Display) -> NotionError {
        NotionError {
            kind: ErrorKind::Transient,
            status: None,
            code: String::new(),
            message: format!("{what}: unexpected answer from Notion: {e}"),
        }
    }
}

/// A database: its title and the data sources it holds.
#[derive(Debug, Clone, Deserialize)]
pub struct Database {
    pub id: String,
    #[serde(default)]
    pub data_sources: Vec<DataSourceRef>,
}

/// A data source as listed in its database.
#[derive(Debug, Clone, Deserialize)]
pub struct DataSourceRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// A data source with its schema, by property name.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct DataSource {
    pub id: String,
    #[serde(default)]
    pub properties: BTreeMap<String, PropertySchema>,
}

/// One property of a schema: its type and, for selects, the option names.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct PropertySchema {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Options>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_select: Option<Options>,
}

/// The options of a select or multi-select property.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct Options {
    #[serde(default)]
    pub options: Vec<NamedOption>,
}

/// One select option (its name is what pages use).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct NamedOption {
    pub name: String,
}

impl PropertySchema {
    /// The option names of a select or multi-select.
    pub fn option_names(&self) -> Vec<String> {
        self.select
            .iter()
            .chain(self.multi_select.iter())
            .flat_map(|o| o.options.iter().map(|n| n.name.clone()))
            .collect()
    }
}

/// A page: its id and property values (as Notion sends them).
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub id: String,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    /// When the page or its content last changed (Notion rounds it down to the minute).
    #[serde(default)]
    pub last_edited_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl Page {
    /// The plain text of the title property, whatever its name.
    pub fn title(&self) -> String {
        self.properties
            .values()
            .find(|p| p["type"] == "title")
            .map(|p| text::plain(&p["title"]))
            .unwrap_or_default()
    }

    /// A checkbox property's value (false when absent).
    pub fn checkbox(&self, name: &str) -> bool {
        self.properties
            .get(name)
            .and_then(|p| p["checkbox"].as_bool())
            .unwrap_or(false)
    }
}

/// A block with the parts astra reads: its type and plain text.
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub id: String,
    pub kind: String,
    /// The rich text of a paragraph or heading; the title of a child database.
    pub text: String,
    /// Whether it has child blocks (read with [`NotionClient::children`]).
    pub has_children: bool,
    /// Its type's object as Notion sent it (`rich_text`, `color`, `icon`…).
    pub body: Value,
}

impl Block {
    /// The block a request's block will be (no id yet): its type and plain text.
    pub fn from_request(v: &Value) -> Block {
        let kind = v["type"].as_str().unwrap_or("").to_string();
        let body = v[kind.as_str()].clone();
        Block {
            id: String::new(),
            text: text::plain(&body["rich_text"]),
            has_children: body.get("children").is_some(),
            body,
            kind,
        }
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Block, D::Error> {
        let v = Value::deserialize(d)?;
        let kind = v["type"].as_str().unwrap_or("").to_string();
        let body = &v[kind.as_str()];
        let text = match body["title"].as_str() {
            Some(t) => t.to_string(),
            None => text::plain(&body["rich_text"]),
        };
        Ok(Block {
            id: v["id"].as_str().unwrap_or("").to_string(),
            has_children: v["has_children"].as_bool().unwrap_or(false),
            body: body.clone(),
            kind,
            text,
        })
    }
}

#[derive(Deserialize)]
struct List<T> {
    results: Vec<T>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// The Notion client: one per token, so its rate limiter covers every request.
pub struct NotionClient {
    http: Client,
    base: String,
    token: String,
    token_env: String,
    limiter: RateLimiter,
    policy: RetryPolicy,
}

impl std::fmt::Debug for NotionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotionClient")
            .field("base", &self.base)
            .field("token_env", &self.token_env)
            .finish_non_exhaustive()
    }
}

/// The token from `token_env`, else from `NOTION_API_KEY`; `None` when neither is set.
pub fn token_from_env(token_env: &str) -> Option<String> {
    [token_env, FALLBACK_TOKEN_ENV]
        .iter()
        .filter(|n| !n.is_empty())
        .find_map(|n| crate::secrets::get(n))
}

impl NotionClient {
    /// A client for `base_url` (e.g. `https://api.notion.com`); `token_env` names the
    /// variable the token came from, for messages.
    pub fn new(base_url: &str, token: String, token_env: &str) -> NotionClient {
        NotionClient {
            http: http::client(TIMEOUT),
            base: base_url.trim_end_matches('/').to_string(),
            token,
            token_env: token_env.to_string(),
            limiter: RateLimiter::per_second(REQUESTS_PER_SECOND),
            policy: RetryPolicy::default(),
        }
    }

    /// The retry policy (also used by [`create_or_find`] between its tries).
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    fn request(&self, method: &Method, path: &str, body: Option<&Value>) -> RequestBuilder {
        let mut b = self
            .http
            .request(method.clone(), format!("{}/v1/{path}", self.base))
            .bearer_auth(&self.token)
            .header("Notion-Version", VERSION);
        if let Some(body) = body {
            b = b.json(body);
        }
        b
    }

    /// A request retried per the policy: for reads and idempotent updates.
    fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<T, NotionError> {
        let sent = http::send(
            &|| self.request(&method, path, body),
            &self.policy,
            Some(&self.limiter),
        );
        crash_after_request();
        let resp = sent.map_err(|e| NotionError::from_http(e, what, &self.token_env))?;
        resp.json()
            .map_err(|e| NotionError::unreadable(what, e.without_url()))
    }

    /// A request sent once, apart from 429s (which Notion did not act on): for writes
    /// that must not happen twice.
    fn call_once<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<T, NotionError> {
        let once = RetryPolicy {
            max_tries: 1,
            ..self.policy
        };
        let mut tries = 0;
        loop {
            tries += 1;
            let sent = http::send(
                &|| self.request(&method, path, Some(body)),
                &once,
                Some(&self.limiter),
            );
            crash_after_request();
            match sent {
                Ok(resp) => {
                    return resp
                        .json()
                        .map_err(|e| NotionError::unreadable(what, e.without_url()));
                }
                Err(HttpError::Status { status: 429, .. }) if tries < self.policy.max_tries => {
                    // `send` has pushed the limiter back by Retry-After; without one, back off.
                    std::thread::sleep(self.policy.backoff(tries + 1).min(Duration::from_secs(5)));
                }
                Err(e) => return Err(NotionError::from_http(e, what, &self.token_env)),
            }
        }
    }

    /// Retrieves a database (its data sources, not their schemas).
    pub fn retrieve_database(&self, id: &str) -> Result<Database, NotionError> {
        self.call(
            Method::GET,
            &format!("databases/{id}"),
            None,
            &format!("reading database {id}"),
        )
    }

    /// The data source behind an id copied from a database URL: the database's first
    /// data source. An id that is already a data source's is accepted as it is.
    pub fn resolve_data_source(&self, id: &str) -> Result<DataSource, NotionError> {
        match self.retrieve_database(id) {
            Ok(db) => {
                let ds = db.data_sources.first().ok_or_else(|| NotionError {
                    kind: ErrorKind::Invalid,
                    status: None,
                    code: String::new(),
                    message: format!(
                        "database {id} has no data source: is it a linked database? Use the id of the original database"
                    ),
                })?;
                self.retrieve_data_source(&ds.id)
            }
            Err(e) if e.status == Some(404) => self.retrieve_data_source(id).map_err(|_| e),
            Err(e) => Err(e),
        }
    }

    /// Retrieves a data source with its schema.
    pub fn retrieve_data_source(&self, id: &str) -> Result<DataSource, NotionError> {
        self.call(
            Method::GET,
            &format!("data_sources/{id}"),
            None,
            &format!("reading data source {id}"),
        )
    }

    /// Adds or changes properties of a data source's schema (`{name: config}`).
    pub fn update_data_source(
        &self,
        id: &str,
        properties: &Value,
    ) -> Result<DataSource, NotionError> {
        self.call(
            Method::PATCH,
            &format!("data_sources/{id}"),
            Some(&json!({ "properties": properties })),
            &format!("updating the properties of data source {id}"),
        )
    }

    /// Creates a database under a page, with one data source of this schema. Sent once.
    pub fn create_database(
        &self,
        parent_page_id: &str,
        title: &str,
        properties: &Value,
    ) -> Result<Database, NotionError> {
        let body = json!({
            "parent": {"type": "page_id", "page_id": parent_page_id},
            "title": text::rich_text(title),
            "initial_data_source": {"properties": properties},
        });
        self.call_once(
            Method::POST,
            "databases",
            &body,
            &format!("creating the {title} database under page {parent_page_id}"),
        )
    }

    /// Every page of a data source that matches `filter`, following `next_cursor`.
    pub fn query(&self, data_source_id: &str, filter: &Value) -> Result<Vec<Page>, NotionError> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut body = json!({ "filter": filter, "page_size": 100 });
            if let Some(c) = &cursor {
                body["start_cursor"] = json!(c);
            }
            let list: List<Page> = self.call(
                Method::POST,
                &format!("data_sources/{data_source_id}/query"),
                Some(&body),
                &format!("querying data source {data_source_id}"),
            )?;
            pages.extend(list.results);
            match list.next_cursor.filter(|_| list.has_more) {
                Some(c) => cursor = Some(c),
                None => return Ok(pages),
            }
        }
    }

    /// The pages of a data source whose property `property` (of type `kind`) matches
    /// one of `values` by the filter condition `op` (`equals`, `ends_with`…): one
    /// query (paged) per 100 values, an `or` of the conditions.
    pub fn query_any(
        &self,
        data_source_id: &str,
        property: &str,
        kind: &str,
        op: &str,
        values: &[String],
    ) -> Result<Vec<Page>, NotionError> {
        let mut pages = Vec::new();
        for chunk in values.chunks(MAX_CHILDREN) {
            let conditions: Vec<Value> = chunk
                .iter()
                .map(|v| json!({"property": property, kind: {op: v}}))
                .collect();
            let filter = match conditions.as_slice() {
                [one] => one.clone(),
                _ => json!({ "or": conditions }),
            };
            pages.extend(self.query(data_source_id, &filter)?);
        }
        Ok(pages)
    }

    /// Creates a page in a data source with as many of `children` as one request can
    /// carry ([`batch_len`]: the rest is the caller's to append). Sent once.
    pub fn create_page(
        &self,
        data_source_id: &str,
        properties: &Value,
        children: &[Value],
    ) -> Result<Page, NotionError> {
        let mut body = json!({
            "parent": {"type": "data_source_id", "data_source_id": data_source_id},
            "properties": properties,
        });
        if !children.is_empty() {
            body["children"] = json!(&children[..batch_len(children)]);
        }
        self.call_once(
            Method::POST,
            "pages",
            &body,
            &format!("creating a page in data source {data_source_id}"),
        )
    }

    /// Sets property values of a page (idempotent).
    pub fn update_page(&self, page_id: &str, properties: &Value) -> Result<Page, NotionError> {
        self.call(
            Method::PATCH,
            &format!("pages/{page_id}"),
            Some(&json!({ "properties": properties })),
            &format!("updating page {page_id}"),
        )
    }

    /// Every child block of a page or block, following `next_cursor`.
    pub fn children(&self, block_id: &str) -> Result<Vec<Block>, NotionError> {
        let mut blocks = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(c) => format!("?page_size=100&start_cursor={c}"),
                None => "?page_size=100".to_string(),
            };
            let list: List<Block> = self.call(
                Method::GET,
                &format!("blocks/{block_id}/children{query}"),
                None,
                &format!("reading the content of {block_id}"),
            )?;
            blocks.extend(list.results);
            match list.next_cursor.filter(|_| list.has_more) {
                Some(c) => cursor = Some(c),
                None => return Ok(blocks),
            }
        }
    }

    /// Appends blocks at the end of a page, in requests within Notion's limits
    /// ([`batches`]). Each request is sent once: on an error, the caller reads the page
    /// to see what landed. Returns the blocks made, in order.
    pub fn append(&self, block_id: &str, blocks: &[Value]) -> Result<Vec<Block>, NotionError> {
        let mut made = Vec::new();
        for batch in batches(blocks) {
            let list: List<Block> = self.call_once(
                Method::PATCH,
                &format!("blocks/{block_id}/children"),
                &json!({ "children": batch }),
                &format!("appending to {block_id}"),
            )?;
            made.extend(list.results);
        }
        Ok(made)
    }
}

impl NotionClient {
    /// Inserts blocks after the child `after` of `block_id` (2025-09-03's `after`; at
    /// the end when `None`), in requests of at most 100, each sent once. Returns the
    /// blocks made, in order.
    pub fn append_after(
        &self,
        block_id: &str,
        blocks: &[Value],
        after: Option<&str>,
    ) -> Result<Vec<Block>, NotionError> {
        let mut made: Vec<Block> = Vec::new();
        for batch in batches(blocks) {
            let mut body = json!({ "children": batch });
            if let Some(a) = made.last().map(|b| b.id.as_str()).or(after) {
                body["after"] = json!(a);
            }
            let list: List<Block> = self.call_once(
                Method::PATCH,
                &format!("blocks/{block_id}/children"),
                &body,
                &format!("inserting blocks into {block_id}"),
            )?;
            made.extend(list.results);
        }
        Ok(made)
    }

    /// Deletes (moves to the trash) a block and its children; a block already gone
    /// counts as deleted.
    pub fn delete_block(&self, id: &str) -> Result<(), NotionError> {
        let result: Result<Value, NotionError> = self.call(
            Method::DELETE,
            &format!("blocks/{id}"),
            None,
            &format!("deleting block {id}"),
        );
        match result {
            Err(e) if e.status == Some(404) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

/// The number of blocks in `b`, its nested children included.
fn block_count(b: &Value) -> usize {
    let kind = b["type"].as_str().unwrap_or("");
    1 + b[kind]["children"]
        .as_array()
        .map_or(0, |c| c.iter().map(block_count).sum())
}

/// How many of `blocks` (from the first) one request can carry within Notion's limits:
/// 100 children, 1,000 blocks in all and the payload's size; at least one.
pub fn batch_len(blocks: &[Value]) -> usize {
    let (mut count, mut bytes) = (0, 0);
    for (i, b) in blocks.iter().enumerate().take(MAX_CHILDREN) {
        count += block_count(b);
        bytes += serde_json::to_string(b).map_or(0, |s| s.len()) + 1;
        if i > 0 && (count > MAX_BLOCKS || bytes > CHILDREN_BYTES) {
            return i;
        }
    }
    blocks.len().min(MAX_CHILDREN)
}

/// `blocks` cut into request-sized batches ([`batch_len`]).
pub fn batches(mut blocks: &[Value]) -> Vec<&[Value]> {
    let mut out = Vec::new();
    while !blocks.is_empty() {
        let n = batch_len(blocks);
        out.push(&blocks[..n]);
        blocks = &blocks[n..];
    }
    out
}

/// Test hook: `ASTRA_TEST_CRASH_AFTER_REQUEST=N` aborts the process when the answer to
/// its Nth Notion request arrives, before astra acts on it: a crash between any two
/// requests, for the fault suite.
fn crash_after_request() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static AT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    static SEEN: AtomicU64 = AtomicU64::new(0);
    let at = AT.get_or_init(|| {
        std::env::var("ASTRA_TEST_CRASH_AFTER_REQUEST")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(at) = at
        && SEEN.fetch_add(1, Ordering::SeqCst) + 1 == *at
    {
        std::process::abort();
    }
}

/// A create that must not happen twice: `create` is tried up to the policy's tries;
/// after a failure that may hide a success (a lost answer), `find` looks for what it
/// would have made before trying again.
pub fn create_or_find<T>(
    policy: &RetryPolicy,
    mut find: impl FnMut() -> Result<Option<T>, NotionError>,
    mut create: impl FnMut() -> Result<T, NotionError>,
) -> Result<T, NotionError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match create() {
            Ok(v) => return Ok(v),
            Err(e) if !e.is_retryable() || tries >= policy.max_tries => return Err(e),
            Err(e) => {
                tracing::debug!(error = %e, try_no = tries, "create failed; looking before trying again");
                std::thread::sleep(policy.backoff(tries + 1));
                if let Some(v) = find()? {
                    return Ok(v);
                }
            }
        }
    }
}

/// A Notion id from what a user pastes: a bare id (with or without dashes) or a page
/// or database URL (the 32 hex digits at the end of its path). `None` if there is none.
pub fn normalize_id(s: &str) -> Option<String> {
    let path = s.trim().split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    let hex: String = last.chars().filter(|c| *c != '-').collect();
    let tail: String = hex
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if tail.len() < 32 {
        return None;
    }
    let id = tail[tail.len() - 32..].to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &id[..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_in_urls_and_dashed() {
        let want = "1f217cc1-225f-4580-8e22-cd7eb8db3c5e";
        assert_eq!(
            normalize_id("1f217cc1225f45808e22cd7eb8db3c5e").as_deref(),
            Some(want)
        );
        assert_eq!(normalize_id(want).as_deref(), Some(want));
        assert_eq!(
            normalize_id(
                "https://www.notion.so/me/Astra-Inbox-1f217cc1225f45808e22cd7eb8db3c5e?v=abc123"
            )
            .as_deref(),
            Some(want)
        );
        assert_eq!(normalize_id("not an id"), None);
        assert_eq!(normalize_id(""), None);
    }

    #[test]
    fn errors_carry_notions_message_and_what_to_do() {
        let e = NotionError::from_http(
            HttpError::Status {
                status: 401,
                body: r#"{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid."}"#.into(),
            },
            "reading database x",
            "NOTION_TOKEN",
        );
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(e.message.contains("API token is invalid."), "{e}");
        assert!(e.message.contains("check NOTION_TOKEN"), "{e}");
        let e = NotionError::from_http(
            HttpError::Status {
                status: 404,
                body: r#"{"code":"object_not_found","message":"Could not find database."}"#.into(),
            },
            "reading database x",
            "NOTION_TOKEN",
        );
        assert_eq!(e.kind, ErrorKind::Access);
        assert!(e.message.contains("Connections"), "{e}");
        let e = NotionError::from_http(
            HttpError::Status {
                status: 503,
                body: "busy".into(),
            },
            "x",
            "T",
        );
        assert!(e.is_retryable());
        let e = NotionError::from_http(
            HttpError::Status {
                status: 400,
                body: r#"{"code":"validation_error","message":"bad"}"#.into(),
            },
            "x",
            "T",
        );
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.message, "x: Notion answered 400 validation_error: bad");
    }

    #[test]
    fn batches_keep_to_100_children_1000_blocks_and_the_payload() {
        let para = |n: usize| text::paragraphs(&"w ".repeat(n)).remove(0);
        let small: Vec<Value> = (0..250).map(|_| para(5)).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        // Toggles of 100 paragraphs: 101 blocks each, so 9 fit under 1,000.
        let toggle = text::toggle("T", (0..100).map(|_| para(1)).collect());
        let toggles = vec![toggle; 12];
        assert_eq!(batch_len(&toggles), 9);
        // Big paragraphs: the payload decides.
        let big: Vec<Value> = (0..10).map(|_| para(50_000)).collect();
        let n = batch_len(&big);
        assert!((1..10).contains(&n), "{n}");
        let bytes: usize = big[..n].iter().map(|b| b.to_string().len()).sum();
        assert!(bytes <= MAX_PAYLOAD, "{bytes}");
        // One block too big for the budget still goes, alone.
        assert_eq!(batch_len(&[para(300_000)]), 1);
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn create_or_find_looks_before_trying_again() {
        let policy = RetryPolicy {
            max_tries: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        let lost = || NotionError {
            kind: ErrorKind::Transient,
            status: Some(502),
            code: String::new(),
            message: "lost".into(),
        };
        let mut creates = 0;
        let got = create_or_find(
            &policy,
            || Ok(Some("found")),
            || {
                creates += 1;
                Err(lost())
            },
        )
        .unwrap();
        assert_eq!((got, creates), ("found", 1));
        let mut creates = 0;
        let e = create_or_find(
            &policy,
            || Ok(None::<&str>),
            || {
                creates += 1;
                Err(lost())
            },
        )
        .unwrap_err();
        assert_eq!((e.message.as_str(), creates), ("lost", 4));
    }
}
