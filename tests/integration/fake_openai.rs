//! A fake OpenAI on 127.0.0.1, in-process: `/v1/audio/transcriptions` with the real
//! multipart fields, 25 MiB limit and formats, `/v1/chat/completions` with strict schemas.
//!
//! It "hears" tones: each loud stretch of the uploaded audio (decoded with ffmpeg) is a
//! tone whose frequency the test maps to words, so a transcript follows the audio's
//! content and order. Faults (5xx, 429 with `Retry-After`, broken answers) and latency
//! can be injected; every call is logged for the tests to inspect.
#![allow(dead_code)]
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// OpenAI's upload limit.
/// The running number of quick transcripts.
static HEARD: AtomicU64 = AtomicU64::new(0);
pub const LIMIT: usize = 25 * 1024 * 1024;
const ACCEPTED: [&str; 9] = [
    "flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm",
];
const SAMPLE_RATE: usize = 16000;

/// One request as the server handled it.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// `transcriptions` or `chat`.
    pub endpoint: String,
    pub status: u16,
    pub model: String,
    pub file_name: String,
    /// The uploaded file's size.
    pub file_bytes: usize,
    pub response_format: String,
    /// The transcript or the chat answer given.
    pub answer: String,
    /// The chat request's messages.
    pub messages: Vec<Value>,
    pub authorization: Option<String>,
}

/// What `/chat/completions` answers.
#[derive(Debug, Clone, Default)]
pub enum Chat {
    /// A valid organization made from the transcript (first word routes it).
    #[default]
    Derived,
    /// These answers in turn, then `Derived`.
    Script(VecDeque<String>),
    /// Always this answer.
    Always(String),
}

/// Faults injected before a request is processed.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The share of requests that fail (5xx, 429 or a broken answer), 0..1.
    pub rate: f64,
    /// Slept before every answer.
    pub latency: Duration,
    /// A transcription whose transcript would contain this word fails with 500.
    pub fail_if_heard: Option<String>,
    /// Injected faults are all the 500 that echoes `Authorization`.
    pub only_500: bool,
    /// Answer every transcription with this text and a running number, without
    /// decoding the audio: throughput runs measure the client, not the fake's ffmpeg.
    pub quick_transcript: Option<String>,
    /// Every request is refused as OpenAI refuses an account out of credit: 429
    /// `insufficient_quota`.
    pub out_of_quota: bool,
}

struct Shared {
    key: Option<String>,
    limit: usize,
    words: Mutex<BTreeMap<u32, String>>,
    chat: Mutex<Chat>,
    faults: Mutex<Faults>,
    calls: Mutex<Vec<Call>>,
}

pub struct FakeOpenAi {
    /// The base URL (ends in `/v1`).
    pub url: String,
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl FakeOpenAi {
    /// A server that wants `key` as a Bearer token (`None`: no key, like a local server).
    pub fn start(key: Option<&str>) -> FakeOpenAi {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}/v1", server.server_addr().to_ip().unwrap());
        let shared = Arc::new(Shared {
            key: key.map(String::from),
            limit: LIMIT,
            words: Mutex::new(BTreeMap::new()),
            chat: Mutex::new(Chat::Derived),
            faults: Mutex::new(Faults::default()),
            calls: Mutex::new(Vec::new()),
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
        FakeOpenAi {
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

    pub fn chat(&self, chat: Chat) -> &Self {
        *self.shared.chat.lock().unwrap() = chat;
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

    pub fn clear_calls(&self) {
        self.shared.calls.lock().unwrap().clear();
    }
}

fn header(req: &tiny_http::Request, name: &str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.to_string())
}

fn error_json(message: &str, kind: &str, code: Option<&str>) -> String {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}}).to_string()
}

/// The answer to one request: status, body, extra headers.
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
            headers: vec![("Content-Type", "application/json".into())],
        }
    }
    fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Answer {
        Answer::json(status, error_json(message, kind, code))
    }
}

fn handle(shared: &Shared, mut req: tiny_http::Request) {
    let mut body = Vec::new();
    let _ = req.as_reader().read_to_end(&mut body);
    let faults = shared.faults.lock().unwrap().clone();
    std::thread::sleep(faults.latency);
    let endpoint = match req.url() {
        "/v1/audio/transcriptions" => "transcriptions",
        "/v1/chat/completions" => "chat",
        _ => "",
    };
    let mut call = Call {
        endpoint: endpoint.into(),
        authorization: header(&req, "Authorization"),
        ..Call::default()
    };
    if faults.rate > 0.0 && rand::random::<f64>() < faults.rate {
        let pick = if faults.only_500 {
            0
        } else {
            rand::random::<u32>() % 4
        };
        call.status = [500, 503, 429, 0][pick as usize];
        let echo = call.authorization.clone().unwrap_or_default();
        shared.calls.lock().unwrap().push(call);
        return fault(req, pick, &echo);
    }
    let answer = match check_key(shared, &req) {
        Some(refused) => refused,
        None if faults.out_of_quota => Answer::error(
            429,
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            "insufficient_quota",
            Some("insufficient_quota"),
        ),
        None => match endpoint {
            "transcriptions" => {
                let ct = header(&req, "Content-Type").unwrap_or_default();
                transcribe(shared, &ct, &body, &faults, &mut call)
            }
            "chat" => chat(shared, &body, &mut call),
            _ => Answer::error(404, "Not found", "invalid_request_error", None),
        },
    };
    call.status = answer.status;
    shared.calls.lock().unwrap().push(call);
    let mut resp = tiny_http::Response::from_string(answer.body).with_status_code(answer.status);
    for (k, v) in answer.headers {
        resp.add_header(tiny_http::Header::from_bytes(k, v.as_bytes()).unwrap());
    }
    let _ = req.respond(resp);
}

/// 500 (echoing the request's `Authorization`, as a careless proxy might), 503, 429
/// with `Retry-After: 1`, or bytes that are not HTTP.
fn fault(req: tiny_http::Request, pick: u32, authorization: &str) {
    let answer = match pick {
        0 => Answer::error(
            500,
            &format!("Internal error handling request (Authorization: {authorization})"),
            "server_error",
            None,
        ),
        1 => Answer::error(
            503,
            "The engine is currently overloaded, please try again later",
            "server_error",
            None,
        ),
        2 => {
            let mut a = Answer::error(
                429,
                "Rate limit reached for requests",
                "requests",
                Some("rate_limit_exceeded"),
            );
            a.headers.push(("Retry-After", "1".into()));
            a
        }
        _ => {
            let mut w = req.into_writer();
            let _ = w.write_all(b"NOT-HTTP garbage\r\n\r\n");
            let _ = w.flush();
            return;
        }
    };
    let mut resp = tiny_http::Response::from_string(answer.body).with_status_code(answer.status);
    for (k, v) in answer.headers {
        resp.add_header(tiny_http::Header::from_bytes(k, v.as_bytes()).unwrap());
    }
    let _ = req.respond(resp);
}

fn check_key(shared: &Shared, req: &tiny_http::Request) -> Option<Answer> {
    let want = shared.key.as_ref()?;
    let got = header(req, "Authorization");
    let Some(got) = got.as_deref().and_then(|h| h.strip_prefix("Bearer ")) else {
        return Some(Answer::error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            None,
        ));
    };
    if got == want {
        return None;
    }
    let masked = if got.len() > 9 {
        format!(
            "{}{}{}",
            &got[..5],
            "*".repeat(got.len() - 9),
            &got[got.len() - 4..]
        )
    } else {
        "***".into()
    };
    Some(Answer::error(
        401,
        &format!(
            "Incorrect API key provided: {masked}. You can find your API key at https://platform.openai.com/account/api-keys."
        ),
        "invalid_request_error",
        Some("invalid_api_key"),
    ))
}

/// One multipart field: its name, file name and bytes.
struct Field {
    name: String,
    file_name: Option<String>,
    data: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= hay.len() {
        match hay[i..].iter().position(|b| *b == first) {
            Some(p) => i += p,
            None => return None,
        }
        if hay[i..].starts_with(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Field>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let mut fields = Vec::new();
    let mut pos = find(body, delim.as_bytes(), 0)? + delim.len();
    loop {
        if body[pos..].starts_with(b"--") {
            return Some(fields);
        }
        pos += 2; // \r\n
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).to_string();
        let data_start = head_end + 4;
        let next = find(body, format!("\r\n{delim}").as_bytes(), data_start)?;
        let attr = |k: &str| {
            head.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(&format!("{k}=\""))
                    .map(|v| v.trim_end_matches('"').to_string())
            })
        };
        fields.push(Field {
            name: attr("name").unwrap_or_default(),
            file_name: head.lines().next().and_then(|l| {
                l.split(';').find_map(|p| {
                    p.trim()
                        .strip_prefix("filename=\"")
                        .map(|v| v.trim_end_matches('"').to_string())
                })
            }),
            data: body[data_start..next].to_vec(),
        });
        pos = next + 2 + delim.len();
    }
}

fn transcribe(
    shared: &Shared,
    content_type: &str,
    body: &[u8],
    faults: &Faults,
    call: &mut Call,
) -> Answer {
    if !content_type.starts_with("multipart/form-data") {
        return Answer::error(
            400,
            "Could not parse multipart form",
            "invalid_request_error",
            None,
        );
    }
    let Some(fields) = multipart(content_type, body) else {
        return Answer::error(
            400,
            "Could not parse multipart form",
            "invalid_request_error",
            None,
        );
    };
    let text = |n: &str| {
        fields
            .iter()
            .find(|f| f.name == n)
            .map(|f| String::from_utf8_lossy(&f.data).to_string())
    };
    let Some(model) = text("model") else {
        return Answer::error(
            400,
            "you must provide a model parameter",
            "invalid_request_error",
            None,
        );
    };
    call.model = model.clone();
    let format = text("response_format").unwrap_or_else(|| "json".into());
    call.response_format = format.clone();
    let Some(file) = fields.iter().find(|f| f.name == "file") else {
        return Answer::error(
            400,
            "1 validation error for Request\nbody -> file\n  field required (type=value_error.missing)",
            "invalid_request_error",
            None,
        );
    };
    let name = file.file_name.clone().unwrap_or_default();
    call.file_name = name.clone();
    call.file_bytes = file.data.len();
    if file.data.len() > shared.limit {
        return Answer::error(
            413,
            &format!(
                "Maximum content size limit ({}) exceeded ({} bytes read)",
                shared.limit,
                file.data.len()
            ),
            "server_error",
            None,
        );
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !ACCEPTED.contains(&ext.as_str()) {
        return Answer::error(
            400,
            &format!("Invalid file format. Supported formats: {:?}", ACCEPTED),
            "invalid_request_error",
            None,
        );
    }
    if model.starts_with("gpt-4o") && format != "json" {
        return Answer::error(
            400,
            &format!(
                "response_format '{format}' is not compatible with model '{model}'. Use 'json' instead."
            ),
            "invalid_request_error",
            Some("unsupported_value"),
        );
    }
    let heard = match &faults.quick_transcript {
        Some(t) => Some(format!("{t} {}", HEARD.fetch_add(1, Ordering::Relaxed))),
        None => hear(&shared.words.lock().unwrap().clone(), &file.data, &ext),
    };
    let Some(heard) = heard else {
        return Answer::error(
            400,
            "Audio file might be corrupted or unsupported",
            "invalid_request_error",
            Some("invalid_value"),
        );
    };
    if let Some(w) = &faults.fail_if_heard
        && heard.split_whitespace().any(|x| x == w)
    {
        return Answer::error(
            500,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        );
    }
    call.answer = heard.clone();
    match format.as_str() {
        "text" => Answer {
            status: 200,
            body: format!("{heard}\n"),
            headers: vec![("Content-Type", "text/plain".into())],
        },
        "json" | "verbose_json" => Answer::json(200, json!({"text": heard}).to_string()),
        _ => Answer::json(
            400,
            error_json("unsupported response_format", "invalid_request_error", None),
        ),
    }
}

/// Decodes `data` (a file with extension `ext`) with ffmpeg and names each loud
/// stretch by its tone (`words`: the text each tone stands for). The fake Gemini
/// hears the same way.
pub fn hear(words: &BTreeMap<u32, String>, data: &[u8], ext: &str) -> Option<String> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join(format!("upload.{ext}"));
    std::fs::write(&path, data).ok()?;
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(&path)
        .args(["-f", "s16le", "-ac", "1", "-ar", "16000", "-"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let samples: Vec<i16> = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let heard: Vec<String> = tones(&samples)
        .into_iter()
        .map(|hz| {
            words
                .iter()
                .min_by_key(|(k, _)| (**k as i64 - hz as i64).abs())
                .filter(|(k, _)| (**k as i64 - hz as i64).abs() <= 8)
                .map(|(_, w)| w.clone())
                .unwrap_or_else(|| format!("tone{hz}"))
        })
        .collect();
    Some(heard.join(" "))
}

/// The frequency of each loud stretch (20 ms windows above -30 dB, at least 100 ms).
fn tones(samples: &[i16]) -> Vec<u32> {
    const WIN: usize = SAMPLE_RATE / 50;
    let loud: Vec<bool> = samples
        .chunks(WIN)
        .map(|w| {
            let e: f64 = w.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / w.len() as f64;
            e.sqrt() > 1000.0
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < loud.len() {
        if !loud[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < loud.len() && loud[i] {
            i += 1;
        }
        if i - start < 5 {
            continue;
        }
        // Skip the edge windows, where a cut or a fade may fall.
        let a = (start + 1) * WIN;
        let b = ((i - 1) * WIN).min(samples.len());
        if b <= a + WIN {
            continue;
        }
        let seg = &samples[a..b];
        let crossings = seg.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let hz = crossings as f64 / 2.0 / (seg.len() as f64 / SAMPLE_RATE as f64);
        out.push(hz.round() as u32);
    }
    out
}

/// Objects in a strict schema need every property required and no others allowed.
fn strict_error(v: &Value, at: &str) -> Option<String> {
    if v.get("type") == Some(&json!("object")) {
        let props = v.get("properties").and_then(Value::as_object)?;
        if v.get("additionalProperties") != Some(&json!(false)) {
            return Some(format!(
                "In context={at}, 'additionalProperties' is required to be supplied and to be false."
            ));
        }
        let required: Vec<&str> = v
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for k in props.keys() {
            if !required.contains(&k.as_str()) {
                return Some(format!(
                    "In context={at}, 'required' is required to be supplied and to be an array including every key in properties. Missing '{k}'."
                ));
            }
        }
        for (k, p) in props {
            if let Some(e) = strict_error(p, &format!("{at}, '{k}'")) {
                return Some(e);
            }
        }
    }
    v.get("items")
        .and_then(|i| strict_error(i, &format!("{at}, items")))
}

fn chat(shared: &Shared, body: &[u8], call: &mut Call) -> Answer {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return Answer::error(
            400,
            "We could not parse the JSON body of your request.",
            "invalid_request_error",
            None,
        );
    };
    call.model = req["model"].as_str().unwrap_or_default().to_string();
    if call.model.is_empty() {
        return Answer::error(
            400,
            "you must provide a model parameter",
            "invalid_request_error",
            None,
        );
    }
    let messages = req["messages"].as_array().cloned().unwrap_or_default();
    call.messages = messages.clone();
    if messages.is_empty() {
        return Answer::error(
            400,
            "[] is too short - 'messages'",
            "invalid_request_error",
            None,
        );
    }
    let rf = &req["response_format"];
    let schema = &rf["json_schema"]["schema"];
    if rf["type"] != "json_schema"
        || rf["json_schema"]["strict"] != true
        || rf["json_schema"]["name"].as_str().is_none()
    {
        return Answer::error(
            400,
            "expected response_format json_schema with a name, strict",
            "invalid_request_error",
            None,
        );
    }
    if let Some(e) = strict_error(schema, "()") {
        let name = rf["json_schema"]["name"].as_str().unwrap_or_default();
        return Answer::error(
            400,
            &format!("Invalid schema for response_format '{name}': {e}"),
            "invalid_request_error",
            Some("invalid_json_schema"),
        );
    }
    let script_answer = {
        let mut chat = shared.chat.lock().unwrap();
        match &mut *chat {
            Chat::Derived => None,
            Chat::Script(q) => q.pop_front(),
            Chat::Always(a) => Some(a.clone()),
        }
    };
    let content = script_answer.unwrap_or_else(|| {
        if rf["json_schema"]["name"] == "day_summary" {
            derived_summary(&messages)
        } else {
            derived(&messages, schema)
        }
    });
    call.answer = content.clone();
    let prompt_chars: usize = messages
        .iter()
        .map(|m| m["content"].as_str().unwrap_or("").len())
        .sum();
    Answer::json(
        200,
        json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": call.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_chars / 4 + 1, "completion_tokens": content.len() / 4 + 1, "total_tokens": (prompt_chars + content.len()) / 4 + 2},
        })
        .to_string(),
    )
}

/// A valid day summary of the first user message: its first entry's first sentence
/// (after "Fake summary: "), mood `good`, how many entries as a theme.
pub fn derived_summary(messages: &[Value]) -> String {
    let user = messages
        .iter()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    let entries: Vec<&str> = user.split("\n### ").skip(1).collect();
    let first = entries
        .first()
        .and_then(|e| e.split_once('\n'))
        .map_or("", |(_, text)| text)
        .split_inclusive('.')
        .next()
        .unwrap_or("")
        .trim();
    json!({
        "summary": format!("Fake summary: {first}"),
        "mood": "good",
        "themes": [format!("{} entries", entries.len())],
        "insights": ["A fake insight."],
    })
    .to_string()
}

/// A valid organization of the first user message's transcript.
pub fn derived(messages: &[Value], schema: &Value) -> String {
    let user = messages
        .iter()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    let transcript = user
        .split_once("Transcript (verbatim):\n")
        .map_or(user, |(_, t)| t)
        .trim();
    let category = schema["properties"]["notes"]["items"]["properties"]["category"]["enum"]
        .as_array()
        .and_then(|a| a.last())
        .and_then(Value::as_str)
        .unwrap_or("general")
        .to_string();
    let words: Vec<&str> = transcript.split_whitespace().collect();
    let title: String = words.iter().take(6).copied().collect::<Vec<_>>().join(" ");
    let first = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
    let rest = words.iter().skip(1).copied().collect::<Vec<_>>().join(" ");
    let (todos, notes, journal) = match first.trim_matches(|c: char| !c.is_alphanumeric()) {
        "todo" => (
            json!([{"title": rest, "description": "", "priority": "soon", "due": null}]),
            json!([]),
            json!([]),
        ),
        "journal" => (
            json!([]),
            json!([]),
            json!([{"content": rest, "mood": null}]),
        ),
        _ => (
            json!([]),
            json!([{"title": title, "content": transcript, "category": category, "tags": []}]),
            json!([]),
        ),
    };
    json!({
        "title": if title.is_empty() { "Memo".to_string() } else { title },
        "summary": "A memo.",
        "discard": words.len() < 2,
        "todos": if words.len() < 2 { json!([]) } else { todos },
        "notes": if words.len() < 2 { json!([]) } else { notes },
        "journal": if words.len() < 2 { json!([]) } else { journal },
    })
    .to_string()
}

/// A 16 kHz mono WAV of `(Some(hz) | None, seconds)` segments: tones and near-silence.
pub fn tone_wav(segments: &[(Option<u32>, f64)]) -> Vec<u8> {
    let total: usize = segments
        .iter()
        .map(|(_, s)| (s * SAMPLE_RATE as f64) as usize)
        .sum();
    let mut v = Vec::with_capacity(44 + total * 2);
    let data = (total * 2) as u32;
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&(SAMPLE_RATE as u32).to_le_bytes());
    v.extend_from_slice(&(SAMPLE_RATE as u32 * 2).to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data.to_le_bytes());
    let mut noise: u32 = 12345;
    for (hz, secs) in segments {
        let n = (secs * SAMPLE_RATE as f64) as usize;
        match hz {
            Some(hz) => {
                let step = *hz as f64 / SAMPLE_RATE as f64;
                let mut phase = 0.0f64;
                for _ in 0..n {
                    let s = (phase * std::f64::consts::TAU).sin() * 12000.0;
                    v.extend_from_slice(&(s as i16).to_le_bytes());
                    phase = (phase + step).fract();
                }
            }
            None => {
                for _ in 0..n {
                    noise = noise.wrapping_mul(1664525).wrapping_add(1013904223);
                    let s = ((noise >> 16) % 41) as i16 - 20;
                    v.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
    }
    v
}

/// Converts `wav` to another format at `out` with ffmpeg (`-c:a` `codec`).
pub fn convert(wav: &Path, out: &Path, codec: &str) {
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
        .arg(wav)
        .args(["-c:a", codec])
        .arg(out)
        .status()
        .unwrap();
    assert!(ok.success(), "ffmpeg could not make {}", out.display());
}
