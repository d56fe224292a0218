//! A thin typed blocking client for OpenAI-compatible servers (OpenAI, Groq, whisper.cpp,
//! faster-whisper-server, LocalAI, Ollama, LM Studio, llama.cpp): transcriptions and chat.
//!
//! The base URL is injected; the API key comes from the environment variable the config
//! names, is optional for local servers, and never appears in an error, a log or output.
use super::http::{self, HttpError, RetryPolicy};
use anyhow::Result;
use reqwest::blocking::multipart::{Form, Part};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one transcription request may take (a local whisper on a CPU is slow).
const TRANSCRIBE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How long one chat completion may take (a local model on a CPU is slow too).
const CHAT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// What to do when the account is out of credit.
const BILLING_HINT: &str = "check billing (https://platform.openai.com/settings/organization/billing): the memos wait and go on in the first run after credit is added";
/// The most of a server's error message kept in ours.
const SERVER_MESSAGE_MAX: usize = 400;

/// An API key: printed as `***` by `Debug`, so it cannot slip into a log.
#[derive(Clone)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Why a call failed: a message that says what the server said and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// One line, free of the API key.
    pub message: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// Worth trying again later (rate limits, server trouble, no connection).
    pub transient: bool,
    /// The account is out of credit (`insufficient_quota`, `billing_hard_limit_reached`):
    /// nothing works until someone pays, so the client makes no further call this run.
    pub out_of_quota: bool,
}

/// Tokens one chat completion used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

impl ChatMessage {
    /// The instructions.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "system",
            content: content.into(),
        }
    }
    /// What the user asks.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "user",
            content: content.into(),
        }
    }
    /// What the model answered before (for a follow-up request).
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "assistant",
            content: content.into(),
        }
    }
}

/// What a chat completion answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatReply {
    /// The message's text (empty when the model refused).
    pub content: String,
    /// The model's refusal, when it declined to answer.
    pub refusal: Option<String>,
    /// `stop`, `length` (cut off), …
    pub finish_reason: Option<String>,
    pub usage: TokenUsage,
}

/// One audio file to transcribe.
#[derive(Debug, Clone)]
pub struct TranscriptionRequest<'a> {
    /// The file, streamed from disk.
    pub file: &'a Path,
    /// The name the server sees; its extension tells the server the format.
    pub upload_name: &'a str,
    pub model: &'a str,
    /// ISO-639-1 hint; empty: none.
    pub language: &'a str,
    /// `json` (the default), `text`, `verbose_json`, `srt` or `vtt`.
    pub response_format: &'a str,
}

/// A client for one server.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    base_url: String,
    key: Option<ApiKey>,
    key_env: String,
    policy: RetryPolicy,
    transcribe_http: Client,
    chat_http: Client,
    /// Set by the first out-of-quota answer: shared by the clones of this client, it
    /// stops every later call of the run before it is sent.
    quota_out: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Until a first answer has come back, calls go one at a time: an account out of
    /// quota is refused once, not once per worker.
    first: std::sync::Arc<std::sync::Mutex<bool>>,
}

/// True for OpenAI's own API, which always needs a key.
pub fn is_openai_host(base_url: &str) -> bool {
    host_of(base_url) == "api.openai.com"
}

/// The host (and port) of a URL, for messages: never its path or query.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.rsplit_once('@').map_or(host, |(_, h)| h)
}

impl OpenAiClient {
    /// A client for `base_url`, with the key read from `key_env` (absent or empty: no
    /// `Authorization` header). `section` (`transcription`, `organization`) names the
    /// config table in messages. OpenAI's own API without a key is a usage error.
    pub fn from_env(base_url: &str, key_env: &str, section: &str) -> Result<OpenAiClient> {
        let key = crate::secrets::get(key_env);
        if key.is_none() && is_openai_host(base_url) {
            let var = if key_env.is_empty() {
                "OPENAI_API_KEY".to_string()
            } else {
                key_env.to_string()
            };
            return Err(crate::exit::usage(format!(
                "[{section}] uses OpenAI ({base_url}) but {var} is not set (environment, keychain or key files): \
                 `astra secrets set {var}` with your key (https://platform.openai.com/api-keys), or point [{section}] base_url \
                 at a local OpenAI-compatible server"
            )));
        }
        Ok(OpenAiClient::new(base_url, key, key_env))
    }

    /// A client with an explicit key (tests, or a caller that read it elsewhere).
    pub fn new(base_url: &str, key: Option<String>, key_env: &str) -> OpenAiClient {
        OpenAiClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            key: key.map(ApiKey),
            key_env: key_env.to_string(),
            policy: RetryPolicy::default(),
            transcribe_http: http::client(TRANSCRIBE_TIMEOUT),
            chat_http: http::client(CHAT_TIMEOUT),
            quota_out: Default::default(),
            first: Default::default(),
        }
    }

    /// Replaces the retry policy (tests use short waits).
    pub fn with_policy(mut self, policy: RetryPolicy) -> OpenAiClient {
        self.policy = policy;
        self
    }

    /// The server's host, for messages.
    pub fn host(&self) -> &str {
        host_of(&self.base_url)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }

    fn authorize(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.key {
            Some(k) => rb.bearer_auth(&k.0),
            None => rb,
        }
    }

    /// `POST /audio/transcriptions`, the file streamed from disk. Returns the text:
    /// `.text` of a JSON answer, else the body as it came (`text`, `srt`, `vtt`).
    pub fn transcribe(&self, req: &TranscriptionRequest<'_>) -> Result<String, ApiError> {
        let len = std::fs::metadata(req.file)
            .map_err(|e| ApiError {
                message: format!("reading {}: {e}", req.file.display()),
                status: None,
                transient: true,
                out_of_quota: false,
            })?
            .len();
        let url = self.url("audio/transcriptions");
        let build = || {
            let mut form = Form::new()
                .text("model", req.model.to_string())
                .part("file", file_part(req.file, len, req.upload_name));
            if !req.language.is_empty() {
                form = form.text("language", req.language.to_string());
            }
            if !req.response_format.is_empty() {
                form = form.text("response_format", req.response_format.to_string());
            }
            self.authorize(self.transcribe_http.post(&url).multipart(form))
        };
        let resp = self.send(&build, "transcription", req.model)?;
        let body = self.body_text(resp)?;
        if matches!(req.response_format, "" | "json" | "verbose_json") {
            #[derive(Deserialize)]
            struct Text {
                text: String,
            }
            let parsed: Text = serde_json::from_str(&body).map_err(|e| ApiError {
                message: format!(
                    "{} answered the transcription with something that is not the expected JSON ({e}): {}",
                    self.host(),
                    self.scrub(&truncate(&body, SERVER_MESSAGE_MAX))
                ),
                status: None,
                transient: true,
                out_of_quota: false,
            })?;
            return Ok(parsed.text);
        }
        Ok(body)
    }

    /// `POST /chat/completions` with a strict JSON schema as the response format.
    pub fn chat_json(
        &self,
        model: &str,
        messages: &[ChatMessage],
        schema_name: &str,
        schema: &Value,
    ) -> Result<ChatReply, ApiError> {
        let body = serde_json::json!({
            "model": model,
            "messages": messages,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "strict": true, "schema": schema},
            },
        });
        let url = self.url("chat/completions");
        let build = || self.authorize(self.chat_http.post(&url).json(&body));
        let resp = self.send(&build, "chat completion", model)?;
        let text = self.body_text(resp)?;
        let reply = parse_chat(&text);
        if let Ok(r) = &reply {
            // Every answer's tokens, whatever the caller makes of it (a failed repair
            // is paid for too).
            crate::costs::meter::tokens(model, r.usage.prompt_tokens, r.usage.completion_tokens);
        }
        reply.map_err(|e| ApiError {
            message: format!(
                "{} answered the chat completion with something that is not the expected JSON ({e}): {}",
                self.host(),
                self.scrub(&truncate(&text, SERVER_MESSAGE_MAX))
            ),
            status: None,
            transient: true,
            out_of_quota: false,
        })
    }

    /// Whether an answer of this run said the account is out of credit.
    pub fn out_of_quota(&self) -> bool {
        self.quota_out.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn send(
        &self,
        build: &dyn Fn() -> RequestBuilder,
        what: &str,
        model: &str,
    ) -> Result<Response, ApiError> {
        let mut gate = self.first.lock().ok().filter(|answered| !**answered);
        if gate.is_none() {
            return self.send_now(build, what, model);
        }
        let result = self.send_now(build, what, model);
        if let Some(answered) = gate.as_deref_mut() {
            *answered = result.is_ok()
                || result
                    .as_ref()
                    .is_err_and(|e| e.status.is_some() && !e.out_of_quota);
        }
        result
    }

    fn send_now(
        &self,
        build: &dyn Fn() -> RequestBuilder,
        what: &str,
        model: &str,
    ) -> Result<Response, ApiError> {
        if self.out_of_quota() {
            return Err(ApiError {
                message: format!(
                    "{what} not sent: {} said earlier in this run that the account is out of quota; {}",
                    self.host(),
                    BILLING_HINT
                ),
                status: Some(429),
                transient: false,
                out_of_quota: true,
            });
        }
        http::send(build, &self.policy, None).map_err(|e| {
            if e.is_out_of_quota() {
                self.quota_out
                    .store(true, std::sync::atomic::Ordering::SeqCst);
            }
            self.describe(&e, what, model)
        })
    }

    fn body_text(&self, resp: Response) -> Result<String, ApiError> {
        resp.text().map_err(|e| ApiError {
            message: format!(
                "reading the answer from {}: {}",
                self.host(),
                self.scrub(&e.without_url().to_string())
            ),
            status: None,
            transient: true,
            out_of_quota: false,
        })
    }

    /// Removes the key from any text that will be shown (a server may echo it).
    fn scrub(&self, s: &str) -> String {
        match &self.key {
            Some(k) if k.0.len() >= 4 => s.replace(&k.0, "***"),
            _ => s.to_string(),
        }
    }

    /// The server's message and what to do about it.
    fn describe(&self, e: &HttpError, what: &str, model: &str) -> ApiError {
        let host = self.host();
        let (message, status) = match e {
            // `m` names the host and port, the cause and what to check.
            HttpError::Transport(m) => (format!("{what} request failed: {m}"), None),
            HttpError::Status { status, body } => {
                let said = server_message(body);
                let hint = self.hint(*status, model);
                (
                    format!("{what} refused by {host} (HTTP {status}): {said}; {hint}"),
                    Some(*status),
                )
            }
        };
        ApiError {
            message: self.scrub(&message),
            status,
            transient: e.is_transient(),
            out_of_quota: e.is_out_of_quota(),
        }
    }

    fn hint(&self, status: u16, model: &str) -> String {
        let env = if self.key_env.is_empty() {
            "the api_key_env variable"
        } else {
            &self.key_env
        };
        match status {
            401 if self.key.is_none() => {
                format!("the server wants an API key: set {env} (and api_key_env in config.toml)")
            }
            401 => format!("check the API key in {env}: it was refused"),
            403 => format!(
                "the key in {env} may not use model \"{model}\" or this endpoint: check the project's model access"
            ),
            404 => format!(
                "check base_url (most servers want it to end in /v1) and that the server has model \"{model}\""
            ),
            413 => {
                "the file is over the server's upload limit: lower [transcription] max_upload_mb"
                    .into()
            }
            400 | 415 | 422 => format!(
                "the server refused the request: check model \"{model}\", language and response_format in config.toml"
            ),
            429 if self.out_of_quota() => BILLING_HINT.into(),
            429 => "rate limited; tried again on a later run".into(),
            _ => "the server is having trouble; tried again on a later run".into(),
        }
    }
}

/// The multipart part for `path`: streamed, the file opened when the body is sent.
fn file_part(path: &Path, len: u64, name: &str) -> Part {
    let make = || Part::reader_with_length(LazyFile::new(path), len).file_name(name.to_string());
    make().mime_str(mime_for(name)).unwrap_or_else(|_| make())
}

/// The MIME type OpenAI's clients send for an upload name.
pub fn mime_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "flac" => "audio/flac",
        "mp3" | "mpga" | "mpeg" => "audio/mpeg",
        "mp4" => "audio/mp4",
        "m4a" => "audio/m4a",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "webm" => "audio/webm",
        _ => "application/octet-stream",
    }
}

/// A file opened on the first read, so a retried request re-reads it from the start
/// and an open error surfaces as a transport error rather than a panic.
struct LazyFile {
    path: PathBuf,
    file: Option<File>,
}

impl LazyFile {
    fn new(path: &Path) -> LazyFile {
        LazyFile {
            path: path.to_path_buf(),
            file: None,
        }
    }
}

impl Read for LazyFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.file.is_none() {
            self.file = Some(File::open(&self.path)?);
        }
        match self.file.as_mut() {
            Some(f) => f.read(buf),
            None => Ok(0),
        }
    }
}

/// The message inside an error body: OpenAI's `{"error":{"message"}}`, Ollama's and
/// llama.cpp's `{"error": "…"}`, FastAPI's `{"detail": …}`, else the body itself.
pub fn server_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let e = v.get("error").or_else(|| v.get("detail"))?;
        match e {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("message").and_then(Value::as_str).map(String::from),
            other => Some(other.to_string()),
        }
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        "(no message)".into()
    } else {
        truncate(&text, SERVER_MESSAGE_MAX)
    }
}

/// At most `max` characters of `s`, with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn parse_chat(body: &str) -> Result<ChatReply, serde_json::Error> {
    #[derive(Deserialize)]
    struct Completion {
        choices: Vec<Choice>,
        #[serde(default)]
        usage: Option<TokenUsage>,
    }
    #[derive(Deserialize)]
    struct Choice {
        message: Message,
        #[serde(default)]
        finish_reason: Option<String>,
    }
    #[derive(Deserialize)]
    struct Message {
        #[serde(default)]
        content: Option<String>,
        #[serde(default)]
        refusal: Option<String>,
    }
    let c: Completion = serde_json::from_str(body)?;
    let Some(first) = c.choices.into_iter().next() else {
        return Err(serde::de::Error::custom("no choices in the answer"));
    };
    Ok(ChatReply {
        content: first.message.content.unwrap_or_default(),
        refusal: first.message.refusal,
        finish_reason: first.finish_reason,
        usage: c.usage.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// One request as a test server saw it.
    #[derive(Debug, Clone, Default)]
    struct Seen {
        auth: Option<String>,
        content_type: String,
        body: Vec<u8>,
    }

    /// Answers every request with `(status, body)`, recording what came in.
    fn server(status: u16, body: &'static str) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", srv.server_addr().to_ip().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let header = |name: &str| {
                    req.headers()
                        .iter()
                        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
                        .map(|h| h.value.to_string())
                };
                let mut one = Seen {
                    auth: header("Authorization"),
                    content_type: header("Content-Type").unwrap_or_default(),
                    body: Vec::new(),
                };
                let _ = req.as_reader().read_to_end(&mut one.body);
                s.lock().unwrap().push(one);
                let _ =
                    req.respond(tiny_http::Response::from_string(body).with_status_code(status));
            }
        });
        (url, seen)
    }

    fn fast(c: OpenAiClient) -> OpenAiClient {
        c.with_policy(RetryPolicy {
            max_tries: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        })
    }

    fn audio(dir: &Path) -> PathBuf {
        let p = dir.join("a.wav");
        std::fs::write(&p, b"RIFF....WAVEdata").unwrap();
        p
    }

    fn request<'a>(file: &'a Path, format: &'a str) -> TranscriptionRequest<'a> {
        TranscriptionRequest {
            file,
            upload_name: "audio.wav",
            model: "whisper-1",
            language: "en",
            response_format: format,
        }
    }

    #[test]
    fn transcription_is_multipart_with_the_key_as_bearer() {
        let (url, seen) = server(200, r#"{"text":"hello there"}"#);
        let dir = tempfile::tempdir().unwrap();
        let file = audio(dir.path());
        let c = OpenAiClient::new(&url, Some("sk-secret".into()), "OPENAI_API_KEY");
        assert_eq!(
            c.transcribe(&request(&file, "json")).unwrap(),
            "hello there"
        );
        let s = seen.lock().unwrap()[0].clone();
        assert_eq!(s.auth.as_deref(), Some("Bearer sk-secret"));
        assert!(s.content_type.starts_with("multipart/form-data; boundary="));
        let body = String::from_utf8_lossy(&s.body);
        assert!(body.contains("name=\"model\"\r\n\r\nwhisper-1"), "{body}");
        assert!(body.contains("name=\"language\"\r\n\r\nen"), "{body}");
        assert!(
            body.contains("name=\"file\"; filename=\"audio.wav\"\r\nContent-Type: audio/wav"),
            "{body}"
        );
        assert!(body.contains("RIFF....WAVEdata"), "{body}");
    }

    #[test]
    fn no_key_means_no_authorization_header() {
        let (url, seen) = server(200, "plain words\n");
        let dir = tempfile::tempdir().unwrap();
        let file = audio(dir.path());
        let c = OpenAiClient::new(&url, None, "");
        assert_eq!(
            c.transcribe(&request(&file, "text")).unwrap(),
            "plain words\n"
        );
        assert_eq!(seen.lock().unwrap()[0].auth, None);
    }

    #[test]
    fn a_refused_key_is_reported_without_the_key() {
        let (url, _) = server(
            401,
            r#"{"error":{"message":"Incorrect API key provided: sk-secret-key-123.","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        );
        let dir = tempfile::tempdir().unwrap();
        let file = audio(dir.path());
        let c = OpenAiClient::new(&url, Some("sk-secret-key-123".into()), "MY_KEY");
        let e = c.transcribe(&request(&file, "json")).unwrap_err();
        assert!(!e.transient);
        assert_eq!(e.status, Some(401));
        assert!(!e.message.contains("sk-secret-key-123"), "{e}");
        assert!(e.message.contains("Incorrect API key provided"), "{e}");
        assert!(e.message.contains("check the API key in MY_KEY"), "{e}");
    }

    #[test]
    fn server_trouble_is_transient_with_the_servers_message() {
        let (url, seen) = server(503, r#"{"error":"model is loading"}"#);
        let c = fast(OpenAiClient::new(&url, None, ""));
        let e = c
            .chat_json(
                "llama3",
                &[ChatMessage::user("hi")],
                "x",
                &serde_json::json!({}),
            )
            .unwrap_err();
        assert!(e.transient);
        assert!(e.message.contains("model is loading"), "{e}");
        assert_eq!(seen.lock().unwrap().len(), 2, "retried within the call");
    }

    #[test]
    fn chat_sends_a_strict_schema_and_reads_usage() {
        let (url, seen) = server(
            200,
            r#"{"choices":[{"message":{"role":"assistant","content":"{\"a\":1}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
        );
        let c = OpenAiClient::new(&url, Some("k-123".into()), "K");
        let schema = serde_json::json!({"type": "object"});
        let r = c
            .chat_json("gpt-4o-mini", &[ChatMessage::user("hi")], "thing", &schema)
            .unwrap();
        assert_eq!(r.content, "{\"a\":1}");
        assert_eq!(
            r.usage,
            TokenUsage {
                prompt_tokens: 12,
                completion_tokens: 3
            }
        );
        let sent: Value = serde_json::from_slice(&seen.lock().unwrap()[0].body).unwrap();
        assert_eq!(sent["response_format"]["type"], "json_schema");
        assert_eq!(sent["response_format"]["json_schema"]["strict"], true);
        assert_eq!(sent["response_format"]["json_schema"]["name"], "thing");
        assert_eq!(sent["messages"][0]["role"], "user");
    }

    #[test]
    fn openai_without_a_key_names_the_variable() {
        let e = OpenAiClient::from_env(
            "https://api.openai.com/v1",
            "ASTRA_TEST_UNSET_KEY_VAR",
            "organization",
        )
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("ASTRA_TEST_UNSET_KEY_VAR is not set"), "{msg}");
        assert_eq!(crate::exit::code_for(&e), crate::exit::USAGE);
        assert!(
            OpenAiClient::from_env("http://127.0.0.1:8080/v1", "ASTRA_TEST_UNSET_KEY_VAR", "x")
                .is_ok(),
            "a local server needs no key"
        );
    }

    #[test]
    fn server_messages_are_found_in_the_usual_shapes() {
        assert_eq!(server_message(r#"{"error":{"message":"bad"}}"#), "bad");
        assert_eq!(
            server_message(r#"{"error":"model not found"}"#),
            "model not found"
        );
        assert_eq!(server_message(r#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(server_message("<html> oops </html>"), "<html> oops </html>");
        assert_eq!(
            host_of("https://user:pw@api.openai.com/v1?x=1"),
            "api.openai.com"
        );
    }
}
