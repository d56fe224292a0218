//! A fake Gemini Developer API on 127.0.0.1, in-process, with the real API's limits:
//! `v1beta/models/{m}:generateContent` (the key in `x-goog-api-key` only — a `key=` in
//! the URL is refused here so a regression shows; the 20 MiB request limit; the
//! `responseSchema` dialect, refusing `additionalProperties` and type arrays as Gemini
//! does), the Files API (the resumable upload protocol and its headers,
//! `PROCESSING` → `ACTIVE`, deletion), `GET v1beta/models/{m}`, errors in Gemini's
//! JSON shape (`RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` delay), safety blocks.
//!
//! It "hears" tones as the fake OpenAI does: each loud stretch of the audio is a tone
//! the test maps to words. No tone at all is a garbage verdict. Faults (500, 503, 429
//! with a retry delay, dropped connections) are injected at a rate.
#![allow(dead_code)]
use crate::fake_openai::{derived, derived_summary};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Gemini's request size limit.
pub const REQUEST_LIMIT: usize = 20 * 1024 * 1024;
/// GETs of a new file that still see it `PROCESSING`.
const PROCESSING_POLLS: u32 = 2;

/// One request as the server handled it.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// `generate`, `upload-start`, `upload`, `file`, `delete`, `model`, or the path.
    pub endpoint: String,
    pub status: u16,
    pub model: String,
    /// The request's URL (path and query).
    pub url: String,
    pub key: Option<String>,
    pub body_bytes: usize,
    /// `inline` or `file` for a request with audio.
    pub audio: String,
    pub answer: String,
}

/// Faults and answers the test sets.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The share of requests that fail (500, 503, 429, dropped connection), 0..1.
    pub rate: f64,
    /// A transcript with this word is blocked (`promptFeedback.blockReason` SAFETY).
    pub block_if_heard: Option<String>,
    /// Every transcription's confidence.
    pub confidence: Option<i64>,
    /// The organization answers these in turn before deriving one.
    pub organization_script: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FileEntry {
    pub name: String,
    pub display_name: String,
    pub mime_type: String,
    pub bytes: Vec<u8>,
    pub polls: u32,
    pub deleted: bool,
}

struct Session {
    len: usize,
    mime: String,
    display_name: String,
}

struct Shared {
    key: String,
    url: String,
    words: Mutex<BTreeMap<u32, String>>,
    faults: Mutex<Faults>,
    calls: Mutex<Vec<Call>>,
    files: Mutex<BTreeMap<String, FileEntry>>,
    sessions: Mutex<BTreeMap<String, Session>>,
    next_id: Mutex<u64>,
}

pub struct FakeGemini {
    /// The base URL (scheme, host, port).
    pub url: String,
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Drop for FakeGemini {
    fn drop(&mut self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl FakeGemini {
    /// A server that wants `key` in `x-goog-api-key`.
    pub fn start(key: &str) -> FakeGemini {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let shared = Arc::new(Shared {
            key: key.into(),
            url: url.clone(),
            words: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(Faults::default()),
            calls: Mutex::new(Vec::new()),
            files: Mutex::new(BTreeMap::new()),
            sessions: Mutex::new(BTreeMap::new()),
            next_id: Mutex::new(1),
        });
        let workers = (0..8)
            .map(|_| {
                let (server, shared) = (server.clone(), shared.clone());
                std::thread::spawn(move || {
                    while let Ok(req) = server.recv() {
                        handle(&shared, req);
                    }
                })
            })
            .collect();
        FakeGemini {
            url,
            server,
            shared,
            workers,
        }
    }

    /// A tone of `hz` is heard as `words`.
    pub fn hears(&self, hz: u32, words: &str) -> &Self {
        self.shared.words.lock().unwrap().insert(hz, words.into());
        self
    }

    pub fn faults(&self, f: Faults) -> &Self {
        *self.shared.faults.lock().unwrap() = f;
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Successful calls to `endpoint`.
    pub fn ok_calls(&self, endpoint: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.endpoint == endpoint && c.status == 200)
            .collect()
    }

    /// Every file ever uploaded (deleted ones too).
    pub fn files(&self) -> Vec<FileEntry> {
        self.shared
            .files
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect()
    }

    /// Files uploaded and not deleted.
    pub fn live_files(&self) -> Vec<FileEntry> {
        self.files().into_iter().filter(|f| !f.deleted).collect()
    }
}

fn header(req: &tiny_http::Request, name: &str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.to_string())
}

/// Gemini's error shape.
fn error_json(code: u16, status: &str, message: &str, details: Value) -> String {
    json!({"error": {"code": code, "message": message, "status": status, "details": details}})
        .to_string()
}

struct Answer {
    status: u16,
    body: String,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: u16, body: String) -> Answer {
        Answer {
            status,
            body,
            headers: vec![("Content-Type", "application/json; charset=UTF-8".into())],
        }
    }
    fn error(code: u16, status: &str, message: &str) -> Answer {
        Answer::json(code, error_json(code, status, message, json!([])))
    }
    fn invalid(message: &str) -> Answer {
        Answer::error(400, "INVALID_ARGUMENT", message)
    }
}

fn respond(req: tiny_http::Request, a: Answer) {
    let mut resp = tiny_http::Response::from_string(a.body).with_status_code(a.status);
    for (k, v) in a.headers {
        resp.add_header(tiny_http::Header::from_bytes(k, v.as_bytes()).unwrap());
    }
    let _ = req.respond(resp);
}

fn handle(shared: &Shared, mut req: tiny_http::Request) {
    let mut body = Vec::new();
    let _ = req.as_reader().read_to_end(&mut body);
    let faults = shared.faults.lock().unwrap().clone();
    let url = req.url().to_string();
    let path = url.split('?').next().unwrap_or("").to_string();
    let method = req.method().as_str().to_string();
    let endpoint = match (method.as_str(), path.as_str()) {
        ("POST", p) if p.starts_with("/v1beta/models/") && p.ends_with(":generateContent") => {
            "generate"
        }
        ("GET", p) if p.starts_with("/v1beta/models/") => "model",
        ("POST", "/upload/v1beta/files") if url.contains("upload_id=") => "upload",
        ("POST", "/upload/v1beta/files") => "upload-start",
        ("GET", "/v1beta/files") => "list",
        ("GET", p) if p.starts_with("/v1beta/files/") => "file",
        ("DELETE", p) if p.starts_with("/v1beta/files/") => "delete",
        _ => "",
    };
    let mut call = Call {
        endpoint: endpoint.into(),
        url: url.clone(),
        key: header(&req, "x-goog-api-key"),
        body_bytes: body.len(),
        ..Call::default()
    };
    if faults.rate > 0.0 && rand::random::<f64>() < faults.rate {
        let pick = rand::random::<u32>() % 4;
        call.status = [500, 503, 429, 0][pick as usize];
        shared.calls.lock().unwrap().push(call);
        return fault(req, pick);
    }
    let answer = match check_key(shared, &req, &url) {
        Some(refused) => refused,
        None => match endpoint {
            "generate" => generate(shared, &path, &body, &faults, &mut call),
            "model" => model(&path, &mut call),
            "upload-start" => upload_start(shared, &req, &body),
            "upload" => upload(shared, &req, &url, body),
            "file" => file(shared, &path),
            "list" => list(shared, &url),
            "delete" => delete(shared, &path),
            _ => Answer::error(
                404,
                "NOT_FOUND",
                &format!("{method} {path} is not an API here"),
            ),
        },
    };
    call.status = answer.status;
    call.answer = if answer.body.len() < 4000 {
        answer.body.clone()
    } else {
        String::new()
    };
    shared.calls.lock().unwrap().push(call);
    respond(req, answer);
}

/// 500 INTERNAL, 503 UNAVAILABLE, 429 RESOURCE_EXHAUSTED with a retry delay, or a
/// connection dropped without an answer.
fn fault(req: tiny_http::Request, pick: u32) {
    let answer = match pick {
        0 => Answer::error(
            500,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
        1 => Answer::error(
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
        ),
        2 => Answer::json(
            429,
            error_json(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.4s"}
                ]),
            ),
        ),
        _ => {
            // Not an HTTP answer: the client sees the connection broken.
            let mut w = req.into_writer();
            let _ = w.write_all(b"NOT-HTTP \x00\x01 connection reset\r\n\r\n");
            let _ = w.flush();
            return;
        }
    };
    respond(req, answer);
}

fn check_key(shared: &Shared, req: &tiny_http::Request, url: &str) -> Option<Answer> {
    if url.contains("key=") {
        return Some(Answer::invalid(
            "this test server refuses an API key in the URL (key=…): send it in the x-goog-api-key header, where proxies and logs do not keep it",
        ));
    }
    match header(req, "x-goog-api-key") {
        None => Some(Answer::error(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        )),
        Some(k) if k == shared.key => None,
        Some(_) => Some(Answer::json(
            400,
            error_json(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]),
            ),
        )),
    }
}

fn model(path: &str, call: &mut Call) -> Answer {
    let m = path.trim_start_matches("/v1beta/models/");
    call.model = m.into();
    if !m.starts_with("gemini-") {
        return Answer::error(
            404,
            "NOT_FOUND",
            &format!(
                "models/{m} is not found for API version v1beta, or is not supported for generateContent."
            ),
        );
    }
    Answer::json(
        200,
        json!({"name": format!("models/{m}"), "displayName": format!("Fake {m}"), "supportedGenerationMethods": ["generateContent", "countTokens"]}).to_string(),
    )
}

fn new_id(shared: &Shared, prefix: &str) -> String {
    let mut n = shared.next_id.lock().unwrap();
    *n += 1;
    format!("{prefix}{:06}", *n)
}

fn upload_start(shared: &Shared, req: &tiny_http::Request, body: &[u8]) -> Answer {
    let h = |n: &str| header(req, n).unwrap_or_default();
    if !h("X-Goog-Upload-Protocol").eq_ignore_ascii_case("resumable") {
        return Answer::invalid("X-Goog-Upload-Protocol must be resumable");
    }
    if h("X-Goog-Upload-Command") != "start" {
        return Answer::invalid("X-Goog-Upload-Command must be start");
    }
    let Ok(len) = h("X-Goog-Upload-Header-Content-Length").parse::<usize>() else {
        return Answer::invalid("X-Goog-Upload-Header-Content-Length is missing");
    };
    let mime = h("X-Goog-Upload-Header-Content-Type");
    if !mime.starts_with("audio/") {
        return Answer::invalid(&format!("Unsupported MIME type: {mime}"));
    }
    let meta: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let display_name = meta["file"]["display_name"]
        .as_str()
        .or_else(|| meta["file"]["displayName"].as_str())
        .unwrap_or("")
        .to_string();
    let id = new_id(shared, "up");
    shared.sessions.lock().unwrap().insert(
        id.clone(),
        Session {
            len,
            mime,
            display_name,
        },
    );
    Answer {
        status: 200,
        body: String::new(),
        headers: vec![
            (
                "X-Goog-Upload-URL",
                format!(
                    "{}/upload/v1beta/files?upload_id={id}&upload_protocol=resumable",
                    shared.url
                ),
            ),
            ("X-Goog-Upload-Status", "active".into()),
            ("X-Goog-Upload-Chunk-Granularity", "8388608".into()),
        ],
    }
}

fn file_json(f: &FileEntry, base: &str) -> Value {
    let state = if f.polls < PROCESSING_POLLS {
        "PROCESSING"
    } else {
        "ACTIVE"
    };
    json!({
        "name": f.name,
        "displayName": f.display_name,
        "mimeType": f.mime_type,
        "sizeBytes": f.bytes.len().to_string(),
        "state": state,
        "uri": format!("{base}/v1beta/{}", f.name),
        "source": "UPLOADED",
    })
}

fn upload(shared: &Shared, req: &tiny_http::Request, url: &str, body: Vec<u8>) -> Answer {
    let id = url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("upload_id="))
        .unwrap_or("")
        .to_string();
    let Some(session) = shared.sessions.lock().unwrap().remove(&id) else {
        return Answer::error(404, "NOT_FOUND", "no such upload session");
    };
    let h = |n: &str| header(req, n).unwrap_or_default();
    if h("X-Goog-Upload-Command") != "upload, finalize" || h("X-Goog-Upload-Offset") != "0" {
        return Answer::invalid(
            "expected X-Goog-Upload-Command: upload, finalize at X-Goog-Upload-Offset: 0",
        );
    }
    if body.len() != session.len {
        return Answer::invalid(&format!(
            "the upload has {} bytes, the start declared {}",
            body.len(),
            session.len
        ));
    }
    let name = format!("files/{}", new_id(shared, "f"));
    let entry = FileEntry {
        name: name.clone(),
        display_name: session.display_name,
        mime_type: session.mime,
        bytes: body,
        polls: 0,
        deleted: false,
    };
    let info = file_json(&entry, &shared.url);
    shared.files.lock().unwrap().insert(name, entry);
    let mut a = Answer::json(200, json!({"file": info}).to_string());
    a.headers.push(("X-Goog-Upload-Status", "final".into()));
    a
}

/// `GET v1beta/files`, two files a page (so a client must follow `nextPageToken`).
fn list(shared: &Shared, url: &str) -> Answer {
    let start: usize = url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("pageToken="))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let files = shared.files.lock().unwrap();
    let live: Vec<Value> = files
        .values()
        .filter(|f| !f.deleted)
        .map(|f| file_json(f, &shared.url))
        .collect();
    let page: Vec<Value> = live.iter().skip(start).take(2).cloned().collect();
    let mut body = json!({"files": page});
    if start + 2 < live.len() {
        body["nextPageToken"] = json!((start + 2).to_string());
    }
    Answer::json(200, body.to_string())
}

fn file_name_of(path: &str) -> String {
    format!("files/{}", path.trim_start_matches("/v1beta/files/"))
}

fn file(shared: &Shared, path: &str) -> Answer {
    let name = file_name_of(path);
    let mut files = shared.files.lock().unwrap();
    match files.get_mut(&name) {
        Some(f) if !f.deleted => {
            f.polls += 1;
            Answer::json(200, file_json(f, &shared.url).to_string())
        }
        _ => Answer::error(
            403,
            "PERMISSION_DENIED",
            &format!(
                "You do not have permission to access the File {} or it may not exist.",
                name.trim_start_matches("files/")
            ),
        ),
    }
}

fn delete(shared: &Shared, path: &str) -> Answer {
    let name = file_name_of(path);
    let mut files = shared.files.lock().unwrap();
    match files.get_mut(&name) {
        Some(f) if !f.deleted => {
            f.deleted = true;
            Answer::json(200, "{}".into())
        }
        _ => Answer::error(404, "NOT_FOUND", &format!("File {name} not found")),
    }
}

/// Gemini's schema dialect: no `additionalProperties`, one type name, known types.
fn dialect_error(v: &Value, at: &str) -> Option<String> {
    let obj = v.as_object()?;
    if obj.contains_key("additionalProperties") {
        return Some(format!(
            "Invalid JSON payload received. Unknown name \"additionalProperties\" at '{at}': Cannot find field."
        ));
    }
    match obj.get("type") {
        Some(Value::String(t)) => {
            let known = ["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"];
            if !known.contains(&t.to_ascii_uppercase().as_str()) {
                return Some(format!(
                    "Invalid value at '{at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), \"{t}\""
                ));
            }
        }
        Some(other) => {
            return Some(format!(
                "Invalid value at '{at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), {other}"
            ));
        }
        None => {}
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (i, (_, p)) in props.iter().enumerate() {
            if let Some(e) = dialect_error(p, &format!("{at}.properties[{i}].value")) {
                return Some(e);
            }
        }
        if let Some(order) = obj.get("propertyOrdering").and_then(Value::as_array) {
            for k in order {
                if !props.contains_key(k.as_str().unwrap_or("")) {
                    return Some(format!("{at}.propertyOrdering names {k}, not a property"));
                }
            }
        }
    }
    obj.get("items")
        .and_then(|i| dialect_error(i, &format!("{at}.items")))
}

fn generate(shared: &Shared, path: &str, body: &[u8], faults: &Faults, call: &mut Call) -> Answer {
    call.model = path
        .trim_start_matches("/v1beta/models/")
        .trim_end_matches(":generateContent")
        .to_string();
    if body.len() > REQUEST_LIMIT {
        return Answer::invalid(&format!(
            "Request payload size exceeds the limit: {REQUEST_LIMIT} bytes."
        ));
    }
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return Answer::invalid("Invalid JSON payload received.");
    };
    let contents = req["contents"].as_array().cloned().unwrap_or_default();
    if contents.is_empty() {
        return Answer::invalid("* GenerateContentRequest.contents: contents is not specified");
    }
    let gc = &req["generationConfig"];
    let schema = &gc["responseSchema"];
    if gc["responseMimeType"] != "application/json" || !schema.is_object() {
        return Answer::invalid(
            "expected generationConfig.responseMimeType application/json and a responseSchema",
        );
    }
    if let Some(e) = dialect_error(schema, "generation_config.response_schema") {
        return Answer::invalid(&e);
    }
    // The audio, if any.
    let mut audio: Option<(Vec<u8>, String)> = None;
    for part in contents
        .iter()
        .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
    {
        if let Some(d) = part.get("inline_data").or_else(|| part.get("inlineData")) {
            let mime = d["mime_type"]
                .as_str()
                .or(d["mimeType"].as_str())
                .unwrap_or("")
                .to_string();
            let Ok(bytes) =
                base64::engine::general_purpose::STANDARD.decode(d["data"].as_str().unwrap_or(""))
            else {
                return Answer::invalid(
                    "Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), Base64 decoding failed",
                );
            };
            call.audio = "inline".into();
            audio = Some((bytes, mime));
        } else if let Some(d) = part.get("file_data").or_else(|| part.get("fileData")) {
            let uri = d["file_uri"]
                .as_str()
                .or(d["fileUri"].as_str())
                .unwrap_or("");
            let name = uri.split("/v1beta/").nth(1).unwrap_or("").to_string();
            let files = shared.files.lock().unwrap();
            let Some(f) = files.get(&name).filter(|f| !f.deleted) else {
                return Answer::error(
                    403,
                    "PERMISSION_DENIED",
                    &format!(
                        "You do not have permission to access the File {name} or it may not exist."
                    ),
                );
            };
            if f.polls < PROCESSING_POLLS {
                return Answer::error(
                    400,
                    "FAILED_PRECONDITION",
                    &format!("The File {name} is not in an ACTIVE state and usage is not allowed."),
                );
            }
            call.audio = "file".into();
            audio = Some((f.bytes.clone(), f.mime_type.clone()));
        }
    }
    let user_text: String = contents
        .iter()
        .find(|c| c["role"] == "user")
        .and_then(|c| c["parts"].as_array())
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let text = if let Some((bytes, mime)) = audio {
        let Some(heard) = hear(shared, &bytes, &mime) else {
            return Answer::invalid(
                "Unable to process input audio: the audio is corrupted or in an unsupported format",
            );
        };
        if let Some(w) = &faults.block_if_heard
            && heard.split_whitespace().any(|x| x == w)
        {
            return Answer::json(200, json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 40, "totalTokenCount": 40}}).to_string());
        }
        let garbage = heard.trim().is_empty();
        json!({
            "transcript": heard,
            "confidence": faults.confidence.unwrap_or(if garbage { 5 } else { 93 }),
            "is_garbage": garbage,
            "garbage_reason": if garbage { json!("no speech, only background noise") } else { Value::Null },
            "language": if garbage { "" } else { "en" },
        })
        .to_string()
    } else {
        let messages = vec![json!({"role": "user", "content": user_text})];
        if schema["properties"].get("mood").is_some()
            && schema["properties"].get("insights").is_some()
        {
            derived_summary(&messages)
        } else {
            let scripted = {
                let mut f = shared.faults.lock().unwrap();
                (!f.organization_script.is_empty()).then(|| f.organization_script.remove(0))
            };
            scripted.unwrap_or_else(|| derived(&messages, schema))
        }
    };
    let prompt_tokens = body.len() / 4 + 1;
    Answer::json(
        200,
        json!({
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": text.len() / 4 + 1, "thoughtsTokenCount": 7, "totalTokenCount": prompt_tokens + text.len() / 4 + 8},
            "modelVersion": call.model,
        })
        .to_string(),
    )
}

/// Decodes the audio with ffmpeg and names each loud stretch by its tone, as the fake
/// OpenAI does, from the file type Gemini was told.
fn hear(shared: &Shared, data: &[u8], mime: &str) -> Option<String> {
    let ext = match mime {
        "audio/wav" => "wav",
        "audio/mp3" | "audio/mpeg" => "mp3",
        "audio/mp4" | "audio/m4a" => "m4a",
        "audio/ogg" => "ogg",
        "audio/flac" => "flac",
        "audio/aac" => "aac",
        "audio/aiff" => "aiff",
        "audio/webm" => "webm",
        _ => return None,
    };
    let words = shared.words.lock().unwrap().clone();
    crate::fake_openai::hear(&words, data, ext)
}
