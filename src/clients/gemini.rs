//! A thin typed blocking client for Google's Gemini Developer API (`v1beta`):
//! `generateContent`, the Files API's resumable upload, a file's state, its deletion,
//! and a model's description (for `doctor`).
//!
//! The key travels in the `x-goog-api-key` header only, never in a URL (proxies and
//! logs keep URLs), and never appears in an error, a log or output.
//!
//! Errors are read as Gemini sends them (`{"error":{"code","message","status","details"}}`):
//! `RESOURCE_EXHAUSTED` waits the `google.rpc.RetryInfo` `retryDelay` it names,
//! `UNAVAILABLE`/`INTERNAL`/`DEADLINE_EXCEEDED` and dropped connections back off and
//! retry; the rest (`INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `PERMISSION_DENIED`,
//! `UNAUTHENTICATED`, `NOT_FOUND`) are not retried and say what to do.
use super::http::{self, HttpError, RetryPolicy};
use super::openai::truncate;
use crate::config::{GEMINI_KEY_ENV, GOOGLE_KEY_ENV};
use anyhow::Result;
use reqwest::blocking::{Body, Client, RequestBuilder};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long one `generateContent` may take (an hour of audio takes a while).
const GENERATE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How long one upload may take (a large recording on a slow uplink).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Short calls: a file's state, a deletion, a model.
const SHORT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of a server's message kept in ours.
const SERVER_MESSAGE_MAX: usize = 400;
/// The API version every path is under.
const VERSION: &str = "v1beta";

/// An API key: printed as `***` by `Debug`, so it cannot slip into a log.
#[derive(Clone)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// What kind of failure, for the caller to decide what a memo's attempt becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Rate limit, quota, server trouble, no connection: passes by itself.
    Transient,
    /// The key, the project (billing, region) or the model: someone must act, and
    /// every memo waits for it.
    Setup,
    /// This request (this file, this prompt) is refused and will be again.
    Request,
}

/// Why a call failed: what Gemini said and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct GeminiError {
    /// One line, free of the API key.
    pub message: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// Gemini's `error.status` (`RESOURCE_EXHAUSTED`, `INVALID_ARGUMENT`, …).
    pub code: Option<String>,
    pub fault: Fault,
}

impl GeminiError {
    pub fn is_transient(&self) -> bool {
        self.fault == Fault::Transient
    }
    fn local(message: String, fault: Fault) -> GeminiError {
        GeminiError {
            message,
            status: None,
            code: None,
            fault,
        }
    }
}

/// Tokens one call used (thinking tokens are billed as output and counted there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens + o.prompt_tokens,
            completion_tokens: self.completion_tokens + o.completion_tokens,
        }
    }
}

/// What `generateContent` answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    /// The first candidate's text (its thought parts left out).
    pub text: String,
    /// `STOP`, `MAX_TOKENS`, `SAFETY`, `RECITATION`, …
    pub finish_reason: Option<String>,
    /// `promptFeedback.blockReason`: the prompt itself was blocked.
    pub block_reason: Option<String>,
    pub usage: Usage,
}

impl Generated {
    /// Why there is no usable answer, when Gemini's safety filters stopped it.
    pub fn blocked(&self) -> Option<String> {
        if let Some(r) = &self.block_reason {
            return Some(format!(
                "Gemini blocked the request (promptFeedback.blockReason {r}); the recording or text trips its safety filters, so it cannot be processed by Gemini"
            ));
        }
        match self.finish_reason.as_deref() {
            Some(r @ ("SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII")) => {
                Some(format!(
                    "Gemini stopped its answer (finishReason {r}) by its safety settings; it cannot be processed by Gemini"
                ))
            }
            _ => None,
        }
    }
    /// The answer was cut off at the output token limit.
    pub fn cut_off(&self) -> bool {
        self.finish_reason.as_deref() == Some("MAX_TOKENS")
    }
}

/// A file in the Files API.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    /// `files/<id>`.
    pub name: String,
    #[serde(default)]
    pub uri: String,
    #[serde(default)]
    pub mime_type: String,
    /// `PROCESSING`, `ACTIVE` or `FAILED`.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub size_bytes: Option<String>,
    #[serde(default)]
    pub display_name: String,
}

/// A successful answer: its headers and body.
struct Answer {
    headers: reqwest::header::HeaderMap,
    text: String,
}

/// A client for one Gemini endpoint.
#[derive(Debug, Clone)]
pub struct GeminiClient {
    /// Scheme and host (and any path prefix), without the version.
    root: String,
    key: ApiKey,
    key_env: String,
    policy: RetryPolicy,
    generate_http: Client,
    upload_http: Client,
    short_http: Client,
    /// How often to ask whether an uploaded file is processed.
    poll_every: Duration,
    /// How long to wait for it.
    processing_timeout: Duration,
}

/// The host (and port) of a URL, for messages: never its path or query.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.rsplit_once('@').map_or(host, |(_, h)| h)
}

/// The key for `key_env`: that variable, and for the default `GEMINI_API_KEY` also
/// `GOOGLE_API_KEY` (Google's SDKs accept either).
pub fn key_from_env(key_env: &str) -> Option<String> {
    crate::secrets::get(key_env).or_else(|| {
        (key_env == GEMINI_KEY_ENV)
            .then(|| crate::secrets::get(GOOGLE_KEY_ENV))
            .flatten()
    })
}

impl GeminiClient {
    /// A client for `base_url` with the key from `key_env` (see [`key_from_env`]);
    /// no key is a usage error naming the variable. `section` names the config table.
    pub fn from_env(base_url: &str, key_env: &str, section: &str) -> Result<GeminiClient> {
        let Some(key) = key_from_env(key_env) else {
            let also = if key_env == GEMINI_KEY_ENV {
                format!(" (nor {GOOGLE_KEY_ENV})")
            } else {
                String::new()
            };
            return Err(crate::exit::usage(format!(
                "[{section}] uses Gemini ({}) but the environment variable {key_env}{also} is not set: \
                 export {key_env}=<your key> (https://aistudio.google.com/apikey), or set [{section}] api_key_env",
                host_of(base_url)
            )));
        };
        Ok(GeminiClient::new(base_url, key, key_env))
    }

    /// A client with an explicit key (tests, or a caller that read it elsewhere).
    pub fn new(base_url: &str, key: String, key_env: &str) -> GeminiClient {
        let mut root = base_url.trim().trim_end_matches('/').to_string();
        for suffix in ["/v1beta", "/v1"] {
            if let Some(r) = root.strip_suffix(suffix) {
                root = r.to_string();
            }
        }
        GeminiClient {
            root,
            key: ApiKey(key),
            key_env: key_env.to_string(),
            policy: RetryPolicy {
                max_tries: 5,
                ..RetryPolicy::default()
            },
            generate_http: http::client(GENERATE_TIMEOUT),
            upload_http: http::client(UPLOAD_TIMEOUT),
            short_http: http::client(SHORT_TIMEOUT),
            poll_every: Duration::from_secs(2),
            processing_timeout: Duration::from_secs(10 * 60),
        }
    }

    /// Replaces the retry policy (tests use short waits).
    pub fn with_policy(mut self, policy: RetryPolicy) -> GeminiClient {
        self.policy = policy;
        self
    }

    /// How often and how long to wait for an uploaded file to be processed.
    pub fn with_polling(mut self, every: Duration, timeout: Duration) -> GeminiClient {
        self.poll_every = every;
        self.processing_timeout = timeout;
        self
    }

    /// The server's host, for messages.
    pub fn host(&self) -> &str {
        host_of(&self.root)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{VERSION}/{path}", self.root)
    }

    fn authorize(&self, rb: RequestBuilder) -> RequestBuilder {
        rb.header("x-goog-api-key", &self.key.0)
    }

    /// `POST v1beta/models/{model}:generateContent` with `body`.
    pub fn generate(&self, model: &str, body: &Value) -> Result<Generated, GeminiError> {
        let url = self.url(&format!("{}:generateContent", model_path(model)));
        let build = || self.authorize(self.generate_http.post(&url).json(body));
        let text = self.send(&build, "generateContent", model)?.text;
        let generated = parse_generated(&text);
        if let Ok(g) = &generated {
            // Every answer's tokens go to the run's cost meter, repairs included.
            crate::costs::meter::tokens(model, g.usage.prompt_tokens, g.usage.completion_tokens);
        }
        generated.map_err(|e| {
            GeminiError::local(
                format!(
                    "{} answered generateContent with something that is not the expected JSON ({e}): {}",
                    self.host(),
                    self.scrub(&truncate(&text, SERVER_MESSAGE_MAX))
                ),
                Fault::Transient,
            )
        })
    }

    /// `GET v1beta/models/{model}`: the model's description (is it there, may the key use it).
    pub fn model(&self, model: &str) -> Result<Value, GeminiError> {
        let url = self.url(&model_path(model));
        let build = || self.authorize(self.short_http.get(&url));
        let text = self.send(&build, "model lookup", model)?.text;
        serde_json::from_str(&text).map_err(|e| {
            GeminiError::local(
                format!(
                    "{} answered the model lookup with bad JSON: {e}",
                    self.host()
                ),
                Fault::Transient,
            )
        })
    }

    /// Uploads `path` with the resumable protocol (start, then one upload-and-finalize)
    /// and returns the file as Gemini describes it (often still `PROCESSING`).
    pub fn upload_file(
        &self,
        path: &Path,
        mime: &str,
        display_name: &str,
    ) -> Result<FileInfo, GeminiError> {
        let len = std::fs::metadata(path)
            .map_err(|e| {
                GeminiError::local(format!("reading {}: {e}", path.display()), Fault::Transient)
            })?
            .len();
        let mut tries = 0;
        loop {
            tries += 1;
            let err = match self.upload_once(path, len, mime, display_name) {
                Ok(f) => return Ok(f),
                Err(e) => e,
            };
            if !err.is_transient() || tries >= self.policy.max_tries {
                return Err(err);
            }
            let wait = self.policy.backoff(tries + 1);
            tracing::debug!(error = %err.message, try_no = tries, "upload failed; starting a new upload session");
            std::thread::sleep(wait);
        }
    }

    fn upload_once(
        &self,
        path: &Path,
        len: u64,
        mime: &str,
        display_name: &str,
    ) -> Result<FileInfo, GeminiError> {
        let start_url = format!("{}/upload/{VERSION}/files", self.root);
        let meta = json!({"file": {"display_name": display_name}});
        let build = || {
            self.authorize(self.short_http.post(&start_url))
                .header("X-Goog-Upload-Protocol", "resumable")
                .header("X-Goog-Upload-Command", "start")
                .header("X-Goog-Upload-Header-Content-Length", len.to_string())
                .header("X-Goog-Upload-Header-Content-Type", mime)
                .json(&meta)
        };
        let started = self.send(&build, "file upload (start)", "")?;
        let upload_url = started
            .headers
            .get("x-goog-upload-url")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .ok_or_else(|| {
                GeminiError::local(
                    format!(
                        "{} answered the upload start without an X-Goog-Upload-URL header",
                        self.host()
                    ),
                    Fault::Transient,
                )
            })?;
        let file = std::fs::File::open(path).map_err(|e| {
            GeminiError::local(format!("reading {}: {e}", path.display()), Fault::Transient)
        })?;
        let body = std::sync::Mutex::new(Some(Body::sized(file, len)));
        // One try: a session half-sent is not resent from offset 0; the caller starts anew.
        let one = RetryPolicy {
            max_tries: 1,
            ..self.policy
        };
        let build = || {
            let rb = self
                .authorize(self.upload_http.post(&upload_url))
                .header("X-Goog-Upload-Offset", "0")
                .header("X-Goog-Upload-Command", "upload, finalize");
            match body.lock().ok().and_then(|mut b| b.take()) {
                Some(b) => rb.body(b),
                None => rb,
            }
        };
        let resp =
            http::send(&build, &one, None).map_err(|e| self.describe(&e, "file upload", ""))?;
        let text = resp.text().map_err(|e| {
            GeminiError::local(
                format!(
                    "reading the upload's answer from {}: {}",
                    self.host(),
                    e.without_url()
                ),
                Fault::Transient,
            )
        })?;
        #[derive(Deserialize)]
        struct Uploaded {
            file: FileInfo,
        }
        serde_json::from_str::<Uploaded>(&text)
            .map(|u| u.file)
            .map_err(|e| {
                GeminiError::local(
                    format!(
                        "{} answered the upload with something that is not a file ({e}): {}",
                        self.host(),
                        self.scrub(&truncate(&text, SERVER_MESSAGE_MAX))
                    ),
                    Fault::Transient,
                )
            })
    }

    /// `GET v1beta/files/{id}`.
    pub fn file(&self, name: &str) -> Result<FileInfo, GeminiError> {
        let url = self.url(&file_path(name));
        let build = || self.authorize(self.short_http.get(&url));
        let text = self.send(&build, "file lookup", "")?.text;
        serde_json::from_str(&text).map_err(|e| {
            GeminiError::local(
                format!(
                    "{} answered the file lookup with bad JSON: {e}",
                    self.host()
                ),
                Fault::Transient,
            )
        })
    }

    /// `GET v1beta/files`: every file the key's project holds (all pages).
    pub fn list_files(&self) -> Result<Vec<FileInfo>, GeminiError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            files: Vec<FileInfo>,
            #[serde(default)]
            next_page_token: Option<String>,
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..50 {
            let mut url = self.url("files?pageSize=100");
            if let Some(t) = &token {
                url.push_str(&format!("&pageToken={t}"));
            }
            let build = || self.authorize(self.short_http.get(&url));
            let text = self.send(&build, "file listing", "")?.text;
            let page: Page = serde_json::from_str(&text).map_err(|e| {
                GeminiError::local(
                    format!(
                        "{} answered the file listing with bad JSON: {e}",
                        self.host()
                    ),
                    Fault::Transient,
                )
            })?;
            out.extend(page.files);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }

    /// Waits while the file is `PROCESSING`; the file once `ACTIVE`.
    pub fn wait_active(&self, mut file: FileInfo) -> Result<FileInfo, GeminiError> {
        let started = Instant::now();
        loop {
            match file.state.as_str() {
                "ACTIVE" => return Ok(file),
                "FAILED" => {
                    return Err(GeminiError::local(
                        format!(
                            "Gemini could not process the uploaded audio ({} is FAILED): the file may be damaged or in a format Gemini does not read",
                            file.name
                        ),
                        Fault::Request,
                    ));
                }
                _ => {}
            }
            if started.elapsed() > self.processing_timeout {
                return Err(GeminiError::local(
                    format!(
                        "the uploaded audio {} was still {} after {} s; tried again on a later run",
                        file.name,
                        file.state,
                        self.processing_timeout.as_secs()
                    ),
                    Fault::Transient,
                ));
            }
            std::thread::sleep(self.poll_every);
            crate::voice_memo::error::ItemError::check_stop()
                .map_err(|e| GeminiError::local(e.message().to_string(), Fault::Transient))?;
            file = self.file(&file.name)?;
        }
    }

    /// `DELETE v1beta/files/{id}`; a file already gone counts as deleted.
    pub fn delete_file(&self, name: &str) -> Result<(), GeminiError> {
        let url = self.url(&file_path(name));
        let build = || self.authorize(self.short_http.delete(&url));
        match self.send(&build, "file deletion", "") {
            Ok(_) => Ok(()),
            Err(e) if e.status == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends with Gemini's retry rules (see the module doc).
    fn send(
        &self,
        build: &dyn Fn() -> RequestBuilder,
        what: &str,
        model: &str,
    ) -> Result<Answer, GeminiError> {
        let one = RetryPolicy {
            max_tries: 1,
            ..self.policy
        };
        let mut tries = 0;
        loop {
            tries += 1;
            let e = match http::send(build, &one, None) {
                // The body is part of the try: a connection dropped mid-answer is retried.
                Ok(resp) => {
                    let headers = resp.headers().clone();
                    match resp.text() {
                        Ok(text) => return Ok(Answer { headers, text }),
                        Err(e) => {
                            HttpError::Transport(format!("reading the answer: {}", e.without_url()))
                        }
                    }
                }
                Err(e) => e,
            };
            let err = self.describe(&e, what, model);
            if !err.is_transient() || tries >= self.policy.max_tries {
                return Err(err);
            }
            let wait = match &e {
                HttpError::Status { body, .. } => retry_delay(body),
                HttpError::Transport(_) => None,
            };
            let wait = match wait {
                // A quota that resets later than we would wait: a later run tries again.
                Some(w) if w > self.policy.max_delay => return Err(err),
                Some(w) => w,
                None => self.policy.backoff(tries + 1),
            };
            tracing::debug!(
                status = err.status,
                code = err.code.as_deref().unwrap_or(""),
                try_no = tries,
                wait_ms = wait.as_millis() as u64,
                "Gemini: transient fault; retrying"
            );
            std::thread::sleep(wait);
        }
    }

    /// Removes the key from any text that will be shown (a server may echo it).
    fn scrub(&self, s: &str) -> String {
        if self.key.0.len() >= 4 {
            s.replace(&self.key.0, "***")
        } else {
            s.to_string()
        }
    }

    /// Gemini's message and what to do about it.
    fn describe(&self, e: &HttpError, what: &str, model: &str) -> GeminiError {
        let host = self.host();
        match e {
            HttpError::Transport(m) => GeminiError {
                message: self.scrub(&format!(
                    "{what} request to {host} failed: {m}; tried again shortly (is the network up and base_url right?)"
                )),
                status: None,
                code: None,
                fault: Fault::Transient,
            },
            HttpError::Status { status, body } => {
                let parsed = parse_error(body);
                let code = parsed.status.clone();
                let (fault, hint) = self.classify(*status, &parsed, model);
                let said = parsed.message.unwrap_or_else(|| {
                    let t = body.split_whitespace().collect::<Vec<_>>().join(" ");
                    if t.is_empty() { "(no message)".into() } else { truncate(&t, SERVER_MESSAGE_MAX) }
                });
                let label = code.as_deref().map(|c| format!(" {c}")).unwrap_or_default();
                GeminiError {
                    message: self.scrub(&format!(
                        "{what} refused by {host} (HTTP {status}{label}): {said}; {hint}"
                    )),
                    status: Some(*status),
                    code,
                    fault,
                }
            }
        }
    }

    fn classify(&self, status: u16, e: &ParsedError, model: &str) -> (Fault, String) {
        let env = &self.key_env;
        let code = e.status.as_deref().unwrap_or("");
        if e.reasons.iter().any(|r| r == "API_KEY_INVALID") {
            return (
                Fault::Setup,
                format!(
                    "the key in {env} was refused: check it at https://aistudio.google.com/apikey"
                ),
            );
        }
        match (code, status) {
            ("RESOURCE_EXHAUSTED", _) | (_, 429) => (
                Fault::Transient,
                "rate limited or out of quota (check the plan at https://aistudio.google.com); tried again later".into(),
            ),
            ("UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED", _) | (_, 500..=599) => (
                Fault::Transient,
                "Gemini is having trouble; tried again later".into(),
            ),
            ("UNAUTHENTICATED", _) | (_, 401) => (
                Fault::Setup,
                format!("the key in {env} was refused: check it at https://aistudio.google.com/apikey"),
            ),
            ("PERMISSION_DENIED", _) | (_, 403) => (
                Fault::Setup,
                format!(
                    "the key in {env} may not use model \"{model}\" or the Generative Language API: check the key's project and API restrictions"
                ),
            ),
            ("FAILED_PRECONDITION", _) => (
                Fault::Setup,
                "the project cannot use the API as it stands (billing not enabled, or the free tier not offered in this region): see https://ai.google.dev/gemini-api/docs/available-regions and the project's billing".into(),
            ),
            ("NOT_FOUND", _) | (_, 404) => (
                Fault::Setup,
                format!(
                    "check the model name \"{model}\" (e.g. gemini-2.5-flash) and base_url (https://generativelanguage.googleapis.com)"
                ),
            ),
            _ => (
                Fault::Request,
                format!("Gemini refused this request: check model \"{model}\" and the recording"),
            ),
        }
    }
}

/// `models/<model>` (a name given with its `models/` prefix is taken as it is).
fn model_path(model: &str) -> String {
    let m = model.trim();
    if m.starts_with("models/") {
        m.to_string()
    } else {
        format!("models/{m}")
    }
}

/// `files/<id>` for a name with or without its prefix.
fn file_path(name: &str) -> String {
    if name.starts_with("files/") {
        name.to_string()
    } else {
        format!("files/{name}")
    }
}

/// The parts of Gemini's error JSON that matter.
#[derive(Debug, Default, PartialEq)]
struct ParsedError {
    message: Option<String>,
    status: Option<String>,
    /// `google.rpc.ErrorInfo` reasons (`API_KEY_INVALID`, …).
    reasons: Vec<String>,
    retry_delay: Option<Duration>,
}

fn parse_error(body: &str) -> ParsedError {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return ParsedError::default();
    };
    // Some front ends wrap the error in a one-element array.
    let v = v.as_array().and_then(|a| a.first()).unwrap_or(&v);
    let e = &v["error"];
    let mut out = ParsedError {
        message: e["message"].as_str().map(|m| {
            let m = m.split_whitespace().collect::<Vec<_>>().join(" ");
            truncate(&m, SERVER_MESSAGE_MAX)
        }),
        status: e["status"].as_str().map(String::from),
        ..ParsedError::default()
    };
    for d in e["details"].as_array().into_iter().flatten() {
        let ty = d["@type"].as_str().unwrap_or("");
        if ty.ends_with("google.rpc.RetryInfo") {
            out.retry_delay = d["retryDelay"].as_str().and_then(parse_duration);
        } else if ty.ends_with("google.rpc.ErrorInfo")
            && let Some(r) = d["reason"].as_str()
        {
            out.reasons.push(r.to_string());
        }
    }
    out
}

/// The `RetryInfo.retryDelay` of an error body.
pub fn retry_delay(body: &str) -> Option<Duration> {
    parse_error(body).retry_delay
}

/// A protobuf JSON duration: `"30s"`, `"1.5s"`.
fn parse_duration(s: &str) -> Option<Duration> {
    s.trim()
        .strip_suffix('s')?
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(Duration::from_secs_f64)
}

fn parse_generated(body: &str) -> Result<Generated, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        #[serde(default)]
        candidates: Vec<Candidate>,
        #[serde(default)]
        prompt_feedback: Option<Feedback>,
        #[serde(default)]
        usage_metadata: Option<UsageMetadata>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Candidate {
        #[serde(default)]
        content: Option<Content>,
        #[serde(default)]
        finish_reason: Option<String>,
    }
    #[derive(Deserialize)]
    struct Content {
        #[serde(default)]
        parts: Vec<Part>,
    }
    #[derive(Deserialize)]
    struct Part {
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        thought: Option<bool>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Feedback {
        #[serde(default)]
        block_reason: Option<String>,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct UsageMetadata {
        prompt_token_count: u64,
        candidates_token_count: u64,
        thoughts_token_count: u64,
    }
    let a: Answer = serde_json::from_str(body)?;
    let u = a.usage_metadata.unwrap_or_default();
    let first = a.candidates.into_iter().next();
    let block_reason = a.prompt_feedback.and_then(|f| f.block_reason);
    if first.is_none() && block_reason.is_none() {
        return Err(serde::de::Error::custom("no candidates in the answer"));
    }
    let (text, finish_reason) = match first {
        Some(c) => (
            c.content
                .map(|c| {
                    c.parts
                        .into_iter()
                        .filter(|p| p.thought != Some(true))
                        .filter_map(|p| p.text)
                        .collect::<String>()
                })
                .unwrap_or_default(),
            c.finish_reason,
        ),
        None => (String::new(), None),
    };
    Ok(Generated {
        text,
        finish_reason,
        block_reason,
        usage: Usage {
            prompt_tokens: u.prompt_token_count,
            completion_tokens: u.candidates_token_count + u.thoughts_token_count,
        },
    })
}

/// The contract's JSON schema (OpenAI strict dialect) in Gemini's `responseSchema`
/// dialect, an OpenAPI subset: no `additionalProperties`, `nullable` instead of a
/// `["T", "null"]` type array, upper-case type names, and `propertyOrdering` so the
/// model writes the fields in the contract's order.
pub fn to_gemini_schema(schema: &Value) -> Value {
    let Some(obj) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = serde_json::Map::new();
    let mut nullable = false;
    match obj.get("type") {
        Some(Value::String(t)) => {
            out.insert("type".into(), Value::String(t.to_ascii_uppercase()));
        }
        Some(Value::Array(types)) => {
            let named: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            nullable = named.contains(&"null");
            if let Some(t) = named.iter().find(|t| **t != "null") {
                out.insert("type".into(), Value::String(t.to_ascii_uppercase()));
            }
        }
        _ => {}
    }
    if nullable {
        out.insert("nullable".into(), Value::Bool(true));
    }
    for key in [
        "description",
        "enum",
        "format",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
    ] {
        if let Some(v) = obj.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(items) = obj.get("items") {
        out.insert("items".into(), to_gemini_schema(items));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        let translated: serde_json::Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), to_gemini_schema(v)))
            .collect();
        out.insert("properties".into(), Value::Object(translated));
        let required: Vec<String> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        if !required.is_empty() {
            out.insert("required".into(), json!(required));
        }
        // The contract's order: `required` lists every property in order (strict mode).
        let mut order: Vec<String> = required
            .iter()
            .filter(|k| props.contains_key(*k))
            .cloned()
            .collect();
        for k in props.keys() {
            if !order.contains(k) {
                order.push(k.clone());
            }
        }
        out.insert("propertyOrdering".into(), json!(order));
    }
    Value::Object(out)
}

/// The request body for a JSON answer under `schema` (already in Gemini's dialect).
pub fn json_request(system: &str, contents: Value, schema: &Value) -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": system}]},
        "contents": contents,
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": schema,
        },
    })
}

/// Why [`ask_json`] got no valid answer.
#[derive(Debug, Clone)]
pub enum AskError {
    /// The call failed.
    Api(GeminiError),
    /// The safety filters stopped it (see [`Generated::blocked`]).
    Blocked(String),
    /// Still invalid after one repair request: why, the model's text, what it cost.
    Invalid {
        why: String,
        text: String,
        usage: Usage,
    },
}

/// Asks `model` for JSON under `schema` (the contract's, translated to Gemini's
/// dialect here), checks the answer with `check`, and asks once more with the reason
/// when it is invalid. Returns the checked answer and the tokens both calls used.
pub fn ask_json<T>(
    client: &GeminiClient,
    model: &str,
    system: &str,
    user: &str,
    schema: &Value,
    check: &dyn Fn(&str) -> Result<T, String>,
) -> Result<(T, Usage), AskError> {
    let schema = to_gemini_schema(schema);
    let mut contents = vec![json!({"role": "user", "parts": [{"text": user}]})];
    let mut usage = Usage::default();
    for attempt in 0..2 {
        let body = json_request(system, Value::Array(contents.clone()), &schema);
        let g = client.generate(model, &body).map_err(AskError::Api)?;
        usage = usage + g.usage;
        if let Some(why) = g.blocked() {
            return Err(AskError::Blocked(why));
        }
        let why = match check(&g.text) {
            Ok(v) => return Ok((v, usage)),
            Err(why) if g.text.trim().is_empty() => format!("the answer is empty ({why})"),
            Err(why) if g.cut_off() => format!("{why} (the answer was cut off at the token limit)"),
            Err(why) => why,
        };
        if attempt == 1 {
            return Err(AskError::Invalid {
                why,
                text: g.text,
                usage,
            });
        }
        tracing::info!(error = %why, "Gemini's answer does not match the schema; asking once more");
        contents.push(json!({"role": "model", "parts": [{"text": g.text}]}));
        contents.push(json!({"role": "user", "parts": [{"text": format!(
            "That answer is invalid: {why}. Answer again with the complete corrected JSON only."
        )}]}));
    }
    unreachable!("two attempts at most")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Clone, Default)]
    struct Seen {
        url: String,
        key: Option<String>,
        body: Vec<u8>,
    }

    /// Answers the requests with `script` (status, body) in turn, then the last one.
    fn server(script: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", srv.server_addr().to_ip().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for (i, mut req) in srv.incoming_requests().enumerate() {
                let key = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("x-goog-api-key"))
                    .map(|h| h.value.to_string());
                let mut one = Seen {
                    url: req.url().to_string(),
                    key,
                    body: Vec::new(),
                };
                let _ = req.as_reader().read_to_end(&mut one.body);
                s.lock().unwrap().push(one);
                let (status, body) = script[i.min(script.len() - 1)];
                let _ =
                    req.respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
        });
        (url, seen)
    }

    fn fast(c: GeminiClient) -> GeminiClient {
        c.with_policy(RetryPolicy {
            max_tries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        })
    }

    const OK: &str = r#"{"candidates":[{"content":{"parts":[{"text":"{\"a\":"},{"text":"1}"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":4,"thoughtsTokenCount":2,"totalTokenCount":16}}"#;

    #[test]
    fn generate_sends_the_key_in_the_header_only_and_reads_usage() {
        let (url, seen) = server(vec![(200, OK)]);
        let c = GeminiClient::new(
            &format!("{url}/v1beta/"),
            "AIza-secret".into(),
            "GEMINI_API_KEY",
        );
        let g = c
            .generate("gemini-2.5-flash", &json!({"contents": []}))
            .unwrap();
        assert_eq!(g.text, "{\"a\":1}");
        assert_eq!(
            g.usage,
            Usage {
                prompt_tokens: 10,
                completion_tokens: 6
            }
        );
        let s = seen.lock().unwrap()[0].clone();
        assert_eq!(s.url, "/v1beta/models/gemini-2.5-flash:generateContent");
        assert_eq!(s.key.as_deref(), Some("AIza-secret"));
        assert!(!s.url.contains("key="));
    }

    #[test]
    fn resource_exhausted_waits_the_retry_delay() {
        let (url, seen) = server(vec![
            (
                429,
                r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.3s"}]}}"#,
            ),
            (200, OK),
        ]);
        let c = fast(GeminiClient::new(&url, "k-1234".into(), "K"));
        let started = Instant::now();
        c.generate("m", &json!({})).unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(290),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_quota_reset_beyond_the_longest_wait_is_left_to_a_later_run() {
        let (url, seen) = server(vec![(
            429,
            r#"{"error":{"code":429,"message":"Daily quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3600s"}]}}"#,
        )]);
        let c = fast(GeminiClient::new(&url, "k-1234".into(), "K"));
        let e = c.generate("m", &json!({})).unwrap_err();
        assert!(e.is_transient());
        assert_eq!(e.code.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn errors_are_classified_and_say_what_to_do_without_the_key() {
        let (url, seen) = server(vec![(
            400,
            r#"{"error":{"code":400,"message":"API key not valid: AIza-secret-9","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
        )]);
        let c = fast(GeminiClient::new(
            &url,
            "AIza-secret-9".into(),
            "GEMINI_API_KEY",
        ));
        let e = c.generate("m", &json!({})).unwrap_err();
        assert_eq!(e.fault, Fault::Setup);
        assert!(!e.message.contains("AIza-secret-9"), "{e}");
        assert!(
            e.message.contains("the key in GEMINI_API_KEY was refused"),
            "{e}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1, "not retried");

        let (url, _) = server(vec![(
            400,
            r#"{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}"#,
        )]);
        let e = fast(GeminiClient::new(&url, "k-1234".into(), "K"))
            .generate("m", &json!({}))
            .unwrap_err();
        assert_eq!(e.fault, Fault::Setup);
        assert!(e.message.contains("User location is not supported"), "{e}");
        assert!(e.message.contains("billing"), "{e}");

        let (url, _) = server(vec![(
            400,
            r#"{"error":{"code":400,"message":"Request payload size exceeds the limit: 20971520 bytes.","status":"INVALID_ARGUMENT"}}"#,
        )]);
        let e = fast(GeminiClient::new(&url, "k-1234".into(), "K"))
            .generate("m", &json!({}))
            .unwrap_err();
        assert_eq!(e.fault, Fault::Request);

        let (url, seen) = server(vec![(
            503,
            r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
        )]);
        let e = fast(GeminiClient::new(&url, "k-1234".into(), "K"))
            .generate("m", &json!({}))
            .unwrap_err();
        assert!(e.is_transient());
        assert!(e.message.contains("overloaded"), "{e}");
        assert_eq!(seen.lock().unwrap().len(), 3, "retried");
    }

    #[test]
    fn safety_blocks_are_reported() {
        let g = parse_generated(
            r#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":5}}"#,
        )
        .unwrap();
        assert!(g.blocked().unwrap().contains("blockReason SAFETY"));
        let g = parse_generated(r#"{"candidates":[{"finishReason":"RECITATION"}]}"#).unwrap();
        assert!(g.blocked().unwrap().contains("RECITATION"));
        let g = parse_generated(OK).unwrap();
        assert_eq!(g.blocked(), None);
        assert!(parse_generated(r#"{"candidates":[]}"#).is_err());
    }

    #[test]
    fn schemas_are_translated_to_geminis_dialect() {
        let s = json!({
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "due": {"type": ["string", "null"], "description": "YYYY-MM-DD"},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            },
            "required": ["title", "tags", "due"],
            "additionalProperties": false,
        });
        let g = to_gemini_schema(&s);
        assert_eq!(g["type"], "OBJECT");
        assert!(g.get("additionalProperties").is_none());
        assert_eq!(
            g["properties"]["due"],
            json!({"type": "STRING", "nullable": true, "description": "YYYY-MM-DD"})
        );
        assert_eq!(g["properties"]["tags"]["items"]["enum"], json!(["a", "b"]));
        assert_eq!(g["propertyOrdering"], json!(["title", "tags", "due"]));
    }

    #[test]
    fn durations_and_paths() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(
            model_path("models/gemini-2.5-flash"),
            "models/gemini-2.5-flash"
        );
        assert_eq!(file_path("abc"), "files/abc");
    }

    #[test]
    fn a_missing_key_names_both_variables() {
        let e = GeminiClient::from_env(
            "https://generativelanguage.googleapis.com",
            "ASTRA_TEST_UNSET_GEMINI_VAR",
            "transcription",
        )
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("ASTRA_TEST_UNSET_GEMINI_VAR is not set"),
            "{msg}"
        );
        assert_eq!(crate::exit::code_for(&e), crate::exit::USAGE);
    }
}
