//! The `gemini` provider, as the original astra transcribed: the audio to
//! `generateContent` with a prompt asking for JSON under a `responseSchema` — the
//! cleaned transcript, a confidence 0–100, a garbage verdict with its reason, the
//! language. A garbage verdict, or a confidence under `[transcription] min_confidence`,
//! discards the memo to `invalid/` with the model's reason.
//!
//! The audio goes inline (base64) while the whole request stays under Gemini's 20 MB
//! limit; a larger file goes through the Files API (resumable upload, wait while
//! `PROCESSING`, referenced as `file_data`, deleted after use). The uploaded file's name
//! is recorded in the memo's cache folder (`gemini-upload.json`) before it is used, so a
//! run that crashes mid-way leaves it for the next run to reuse or delete.
//!
//! A recording longer than one request should carry is cut at its silences (as for
//! OpenAI, `chunks/`) and the pieces' transcripts joined.
use super::chunks::{self, Limits, Plan};
use super::{TranscribeCtx, Transcriber};
use crate::clients::gemini::{self, Fault, GeminiClient, GeminiError, Usage};
use crate::clients::openai::truncate;
use crate::config::TranscriptionConfig;
use crate::fsutil;
use crate::voice_memo::audio;
use crate::voice_memo::error::ItemError;
use crate::voice_memo::media;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Gemini refuses a `generateContent` request over this many bytes (20 MB).
pub const INLINE_REQUEST_LIMIT: u64 = 20 * 1000 * 1000;
/// Room in the request for the prompt, the schema and JSON around the base64.
const REQUEST_OVERHEAD: u64 = 64 * 1024;
/// Gemini takes up to 9.5 hours of audio per prompt, but its answer is capped in
/// tokens (65 536 for gemini-2.5-flash, thinking included): an hour of speech is a
/// transcript of ~12 000 tokens, safely inside it. Longer recordings are cut.
pub const PIECE_MAX_SECONDS: f64 = 3600.0;
/// Louder than this is not silence, when looking for places to cut.
const SILENCE_DB: f64 = -35.0;
const SILENCE_SECONDS: f64 = 0.5;
/// The record of a file uploaded for this memo and not yet deleted.
pub const UPLOAD_RECORD: &str = "gemini-upload.json";
/// The model's verdict that the memo is garbage (read by the pipeline).
pub const DISCARD_FILE: &str = "discard.json";
/// Tokens spent transcribing this memo (read by the pipeline).
pub const TOKENS_FILE: &str = "transcription-tokens.json";
/// The most of a model's answer quoted in an error.
const ANSWER_IN_ERROR: usize = 400;

/// What the model is told (the original astra's task, in astra's words).
const SYSTEM_PROMPT: &str = "\
You transcribe a voice memo the speaker recorded for themselves. Answer with JSON that \
matches the given schema exactly.

- transcript: everything said, in the speaker's language, cleaned up: filler words (um, \
uh, you know) and false starts removed, punctuation and obvious grammar fixed, nothing \
summarized, nothing added. Keep a leading \"todo\", \"note\" or \"journal\" the speaker says.
- confidence: 0 to 100, how sure you are the transcript is what was said (100: clear \
speech; below 30: mostly guesswork).
- is_garbage: true when there is no meaningful speech: silence, noise, music, a pocket \
recording, or fewer than two real words. garbage_reason: why, in a few words (null when \
not garbage).
- language: the ISO-639-1 code of the speech (\"en\"), or \"\" when there is none.";

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub transcript: String,
    pub confidence: i64,
    pub is_garbage: bool,
    pub garbage_reason: Option<String>,
    pub language: String,
}

/// Why a memo was discarded (the pipeline's `discard.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discard {
    pub reason: String,
    pub confidence: i64,
}

impl Discard {
    /// The organization of a discarded memo: nothing to sync, the reason as summary.
    pub fn organization(&self) -> crate::voice_memo::organize::Organization {
        crate::voice_memo::organize::Organization {
            title: "Discarded".into(),
            summary: self.reason.clone(),
            discard: true,
            ..Default::default()
        }
    }
}

/// The transcriber's discard verdict for the memo whose cache folder is `cache`.
pub fn discarded(cache: &Path) -> Option<Discard> {
    serde_json::from_slice(&std::fs::read(cache.join(DISCARD_FILE)).ok()?).ok()
}

/// The tokens the transcription of this memo used, once (the record is removed).
pub fn take_tokens(cache: &Path) -> Option<crate::state::Tokens> {
    let path = cache.join(TOKENS_FILE);
    let t = serde_json::from_slice(&std::fs::read(&path).ok()?).ok();
    let _ = std::fs::remove_file(&path);
    t
}

/// An upload recorded before use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UploadRecord {
    name: String,
    uri: String,
    mime_type: String,
    /// The uploaded file's size and name, to tell it is the same audio.
    bytes: u64,
    source: String,
}

/// Transcribes with Gemini.
pub struct GeminiTranscriber {
    client: GeminiClient,
    model: String,
    language: String,
    min_confidence: i64,
    inline_limit: u64,
    max_seconds: f64,
    ffmpeg_timeout: Duration,
}

impl GeminiTranscriber {
    /// The provider for `[transcription]`; no key is a usage error.
    pub fn from_config(cfg: &TranscriptionConfig) -> anyhow::Result<GeminiTranscriber> {
        let client = GeminiClient::from_env(&cfg.base_url, &cfg.api_key_env, "transcription")?;
        Ok(GeminiTranscriber::new(client, cfg))
    }

    /// The provider with a client built elsewhere (tests).
    pub fn new(client: GeminiClient, cfg: &TranscriptionConfig) -> GeminiTranscriber {
        GeminiTranscriber {
            client,
            model: cfg.model.clone(),
            language: cfg.language.clone(),
            min_confidence: i64::from(cfg.min_confidence),
            inline_limit: INLINE_REQUEST_LIMIT,
            max_seconds: PIECE_MAX_SECONDS,
            ffmpeg_timeout: Duration::from_secs(cfg.command_timeout_seconds.max(1)),
        }
    }

    /// Cuts recordings longer than `seconds` (tests use short pieces).
    pub fn with_max_seconds(mut self, seconds: f64) -> GeminiTranscriber {
        self.max_seconds = seconds.max(1.0);
        self
    }

    /// The audio as Gemini takes it, with its MIME type from its content.
    fn sendable(
        &self,
        audio: &Path,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<(PathBuf, &'static str, &'static str), ItemError> {
        let kind = audio::check(audio, ctx.display)?;
        if let Some((mime, ext)) = mime_of(kind) {
            return Ok((audio.to_path_buf(), mime, ext));
        }
        let out = ctx.cache_dir.join("converted.m4a");
        if !out.is_file() {
            fsutil::create_private_dir(ctx.cache_dir)?;
            media::to_m4a(audio, &out, self.ffmpeg_timeout)?;
            tracing::info!(file = %ctx.display, from = kind, "converted to m4a for Gemini");
        }
        Ok((out, "audio/mp4", "m4a"))
    }

    /// One request's audio part: inline, or an uploaded file (and its record).
    fn audio_part(
        &self,
        file: &Path,
        mime: &str,
        ctx: &TranscribeCtx<'_>,
        record: &Path,
    ) -> Result<(Value, Option<String>), ItemError> {
        let len = file_len(file)?;
        if base64_len(len) + REQUEST_OVERHEAD < self.inline_limit {
            let bytes = std::fs::read(file)
                .map_err(|e| ItemError::transient(format!("reading {}: {e}", file.display())))?;
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            return Ok((
                json!({"inline_data": {"mime_type": mime, "data": data}}),
                None,
            ));
        }
        let source = file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if let Some(r) = self.reusable(record, len, &source, ctx.display) {
            tracing::info!(file = %ctx.display, gemini_file = %r.name, "reusing the audio uploaded by an interrupted run");
            return Ok((
                json!({"file_data": {"mime_type": r.mime_type, "file_uri": r.uri}}),
                Some(r.name),
            ));
        }
        let display_name = format!("astra-{}", ctx.display);
        self.delete_strays(&display_name, ctx.display);
        let uploaded = self
            .client
            .upload_file(file, mime, &display_name)
            .map_err(|e| item_error(ctx.display, &e))?;
        let rec = UploadRecord {
            name: uploaded.name.clone(),
            uri: uploaded.uri.clone(),
            mime_type: if uploaded.mime_type.is_empty() {
                mime.to_string()
            } else {
                uploaded.mime_type.clone()
            },
            bytes: len,
            source,
        };
        crate::voice_memo::pipeline::crash_point("gemini-uploaded-unrecorded");
        fsutil::create_private_dir(ctx.cache_dir)?;
        let bytes = serde_json::to_vec(&rec).map_err(|e| ItemError::transient(e.to_string()))?;
        fsutil::atomic_replace(record, &bytes, 0o600)?;
        tracing::info!(file = %ctx.display, gemini_file = %rec.name, bytes = len, "uploaded to Gemini's Files API");
        crate::voice_memo::pipeline::crash_point("gemini-uploaded");
        let active = self.client.wait_active(uploaded).map_err(|e| {
            self.forget(record, ctx.display);
            item_error(ctx.display, &e)
        })?;
        let uri = if active.uri.is_empty() {
            rec.uri.clone()
        } else {
            active.uri
        };
        Ok((
            json!({"file_data": {"mime_type": rec.mime_type, "file_uri": uri}}),
            Some(rec.name),
        ))
    }

    /// The file an interrupted run uploaded for this audio, when it is still usable;
    /// otherwise it is deleted and its record removed.
    fn reusable(
        &self,
        record: &Path,
        len: u64,
        source: &str,
        display: &str,
    ) -> Option<UploadRecord> {
        let rec: UploadRecord = serde_json::from_slice(&std::fs::read(record).ok()?).ok()?;
        if rec.bytes == len && rec.source == source {
            match self.client.file(&rec.name) {
                Ok(f) if f.state == "ACTIVE" => return Some(rec),
                Ok(f) if f.state == "PROCESSING" => {
                    if let Ok(f) = self.client.wait_active(f) {
                        let _ = f;
                        return Some(rec);
                    }
                }
                _ => {}
            }
        }
        self.forget(record, display);
        None
    }

    /// Deletes files an earlier attempt uploaded for this memo but never recorded (a
    /// crash between the upload's answer and its record), found by their display name.
    fn delete_strays(&self, display_name: &str, memo: &str) {
        let files = match self.client.list_files() {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(file = %memo, error = %e.message, "could not list Gemini's files");
                return;
            }
        };
        for f in files.iter().filter(|f| f.display_name == display_name) {
            match self.client.delete_file(&f.name) {
                Ok(()) => {
                    tracing::info!(file = %memo, gemini_file = %f.name, "deleted audio an interrupted run had uploaded")
                }
                Err(e) => {
                    tracing::debug!(file = %memo, gemini_file = %f.name, error = %e.message, "could not delete a stray upload")
                }
            }
        }
    }

    /// Deletes the recorded upload and its record (a file already gone is fine).
    fn forget(&self, record: &Path, memo: &str) {
        let Ok(bytes) = std::fs::read(record) else {
            return;
        };
        if let Ok(rec) = serde_json::from_slice::<UploadRecord>(&bytes) {
            if let Err(e) = self.client.delete_file(&rec.name) {
                // It expires by itself within 48 hours; the record stays for the next run.
                tracing::warn!(file = %memo, gemini_file = %rec.name, error = %e.message, "could not delete the uploaded audio; the next run tries again");
                return;
            }
            tracing::debug!(file = %memo, gemini_file = %rec.name, "deleted the uploaded audio");
        }
        let _ = std::fs::remove_file(record);
    }

    /// Transcribes one file (the whole recording or one piece): its verdict and cost.
    fn ask(
        &self,
        file: &Path,
        mime: &str,
        ctx: &TranscribeCtx<'_>,
        record: &Path,
    ) -> Result<(Verdict, Usage), ItemError> {
        let (part, uploaded) = self.audio_part(file, mime, ctx, record)?;
        let result = self.ask_with(part, ctx.display);
        if uploaded.is_some() {
            self.forget(record, ctx.display);
        }
        result
    }

    fn ask_with(&self, audio: Value, memo: &str) -> Result<(Verdict, Usage), ItemError> {
        let mut instruction = "Transcribe this voice memo.".to_string();
        if !self.language.trim().is_empty() {
            instruction.push_str(&format!(
                " The speaker's language is probably \"{}\".",
                self.language.trim()
            ));
        }
        let mut contents = vec![json!({"role": "user", "parts": [audio, {"text": instruction}]})];
        let schema = gemini::to_gemini_schema(&schema());
        let mut usage = Usage::default();
        for attempt in 0..2 {
            let body = gemini::json_request(SYSTEM_PROMPT, Value::Array(contents.clone()), &schema);
            let g = self
                .client
                .generate(&self.model, &body)
                .map_err(|e| item_error(memo, &e))?;
            usage = usage + g.usage;
            if let Some(why) = g.blocked() {
                return Err(ItemError::permanent(format!("{memo}: {why}")));
            }
            let why = match validate(&g.text) {
                Ok(v) => return Ok((v, usage)),
                Err(why) if g.cut_off() => {
                    format!("{why} (the answer was cut off at the token limit)")
                }
                Err(why) => why,
            };
            if attempt == 1 {
                return Err(ItemError::permanent(format!(
                    "{memo}: Gemini's transcription answer does not match the schema, even after one repair request ({why}; {} prompt + {} output tokens spent); its answer: {}",
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    truncate(&g.text, ANSWER_IN_ERROR)
                )));
            }
            tracing::info!(file = %memo, error = %why, "Gemini's transcription answer does not match the schema; asking once more");
            contents.push(json!({"role": "model", "parts": [{"text": g.text}]}));
            contents.push(json!({"role": "user", "parts": [{"text": format!(
                "That answer is invalid: {why}. Answer again with the complete corrected JSON only."
            )}]}));
        }
        unreachable!("two attempts at most")
    }

    /// Cuts the recording into pieces and transcribes them in order, each piece's
    /// verdict saved as it comes.
    fn chunked(
        &self,
        src: &Path,
        mime: &str,
        ext: &str,
        duration: f64,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<Vec<(Verdict, Usage)>, ItemError> {
        let dir = ctx.cache_dir.join("chunks");
        fsutil::create_private_dir(&dir)?;
        let source_bytes = file_len(src)?;
        let limits = Limits {
            max_bytes: u64::MAX / 4,
            max_seconds: self.max_seconds,
        };
        let plan = match load_plan(&dir, limits, source_bytes) {
            Some(p) => p,
            None => {
                if let Ok(rd) = std::fs::read_dir(&dir) {
                    for e in rd.flatten() {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
                let silences =
                    media::silences(src, SILENCE_DB, SILENCE_SECONDS, self.ffmpeg_timeout)?;
                let plan = Plan {
                    max_bytes: limits.max_bytes,
                    max_seconds: Some(self.max_seconds),
                    source_bytes,
                    duration,
                    silences: silences.iter().map(|s| [s.start, s.end]).collect(),
                    ranges: chunks::plan(0.0, duration, 1.0, limits, &silences),
                };
                let bytes =
                    serde_json::to_vec(&plan).map_err(|e| ItemError::transient(e.to_string()))?;
                fsutil::atomic_write(&dir.join("plan.json"), &bytes, 0o600)?;
                tracing::info!(
                    file = ctx.display,
                    pieces = plan.ranges.len(),
                    seconds = duration,
                    "cutting into pieces for Gemini"
                );
                plan
            }
        };
        let mut out = Vec::with_capacity(plan.ranges.len());
        for (i, [start, end]) in plan.ranges.iter().copied().enumerate() {
            let done = dir.join(format!("{:03}.json", i + 1));
            if let Some(v) = std::fs::read(&done)
                .ok()
                .and_then(|b| serde_json::from_slice::<Verdict>(&b).ok())
            {
                out.push((v, Usage::default()));
                continue;
            }
            ItemError::check_stop()?;
            let piece = dir.join(format!("{:03}.{ext}", i + 1));
            if !piece.is_file() {
                media::cut(src, start, end, &piece, self.ffmpeg_timeout)?;
            }
            let (v, u) = self.ask(&piece, mime, ctx, &ctx.cache_dir.join(UPLOAD_RECORD))?;
            let bytes = serde_json::to_vec(&v).map_err(|e| ItemError::transient(e.to_string()))?;
            fsutil::atomic_write(&done, &bytes, 0o600)?;
            let _ = std::fs::remove_file(&piece);
            tracing::info!(file = %ctx.display, piece = i + 1, of = plan.ranges.len(), "transcribed a piece");
            out.push((v, u));
        }
        Ok(out)
    }
}

impl Transcriber for GeminiTranscriber {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn transcribe(
        &self,
        audio: &Path,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<Option<String>, ItemError> {
        let (src, mime, ext) = self.sendable(audio, ctx)?;
        let record = ctx.cache_dir.join(UPLOAD_RECORD);
        let duration = media::duration(&src);
        let verdicts = match duration {
            Some(d) if d > self.max_seconds => self.chunked(&src, mime, ext, d, ctx)?,
            _ => vec![self.ask(&src, mime, ctx, &record)?],
        };
        let usage = verdicts.iter().fold(Usage::default(), |a, (_, u)| a + *u);
        if usage != Usage::default() {
            let t = crate::state::Tokens {
                prompt: usage.prompt_tokens,
                completion: usage.completion_tokens,
            };
            if let Ok(bytes) = serde_json::to_vec(&t) {
                fsutil::create_private_dir(ctx.cache_dir)?;
                fsutil::atomic_replace(&ctx.cache_dir.join(TOKENS_FILE), &bytes, 0o600)?;
            }
        }
        let text = verdicts
            .iter()
            .map(|(v, _)| {
                v.transcript
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(d) = self.discard(&verdicts) {
            tracing::info!(file = %ctx.display, reason = %d.reason, confidence = d.confidence, "Gemini: garbage; the memo is discarded");
            let bytes = serde_json::to_vec(&d).map_err(|e| ItemError::transient(e.to_string()))?;
            fsutil::create_private_dir(ctx.cache_dir)?;
            fsutil::atomic_replace(&ctx.cache_dir.join(DISCARD_FILE), &bytes, 0o600)?;
        }
        Ok(Some(text))
    }
}

impl GeminiTranscriber {
    /// The discard verdict: every piece garbage or under `min_confidence`.
    fn discard(&self, verdicts: &[(Verdict, Usage)]) -> Option<Discard> {
        let bad = |v: &Verdict| v.is_garbage || v.confidence < self.min_confidence;
        if verdicts.is_empty() || !verdicts.iter().all(|(v, _)| bad(v)) {
            return None;
        }
        let (v, _) = &verdicts[0];
        let reason = match (&v.garbage_reason, v.is_garbage) {
            (Some(r), true) if !r.trim().is_empty() => format!("Gemini: {}", r.trim()),
            (_, true) => "Gemini judged it garbage (no reason given)".to_string(),
            _ => format!(
                "Gemini's confidence {} is under [transcription] min_confidence {}",
                v.confidence, self.min_confidence
            ),
        };
        Some(Discard {
            reason,
            confidence: v.confidence,
        })
    }
}

/// The MIME type Gemini reads for a sniffed container, and a piece's extension.
/// `None`: convert first (CAF, AMR).
pub fn mime_of(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "wav" => ("audio/wav", "wav"),
        "mp3" => ("audio/mp3", "mp3"),
        "aiff" => ("audio/aiff", "aiff"),
        "aac" => ("audio/aac", "aac"),
        "ogg" => ("audio/ogg", "ogg"),
        "flac" => ("audio/flac", "flac"),
        "mp4" => ("audio/mp4", "m4a"),
        "webm" => ("audio/webm", "webm"),
        _ => return None,
    })
}

/// The contract's transcription answer schema (strict JSON Schema).
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "transcript": {"type": "string"},
            "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
            "is_garbage": {"type": "boolean"},
            "garbage_reason": {"type": ["string", "null"]},
            "language": {"type": "string"},
        },
        "required": ["transcript", "confidence", "is_garbage", "garbage_reason", "language"],
        "additionalProperties": false,
    })
}

/// Parses and checks the model's answer.
pub fn validate(text: &str) -> Result<Verdict, String> {
    let t = text.trim();
    let t = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.strip_suffix("```"))
        .map_or(t, str::trim);
    let v: Verdict =
        serde_json::from_str(t).map_err(|e| format!("not the transcription JSON: {e}"))?;
    if !(0..=100).contains(&v.confidence) {
        return Err(format!("`confidence` {} is not within 0–100", v.confidence));
    }
    if !v.is_garbage && v.transcript.trim().is_empty() {
        return Err("`transcript` is empty but `is_garbage` is false".into());
    }
    Ok(v)
}

/// A refused request for this audio will be refused again; key, project and server
/// trouble can be fixed meanwhile, so the memo waits.
fn item_error(display: &str, e: &GeminiError) -> ItemError {
    // A wait cut short by the run stopping is not an attempt.
    if let Err(stop) = ItemError::check_stop() {
        return stop;
    }
    let msg = format!("{display}: {}", e.message);
    match e.fault {
        Fault::Request => ItemError::permanent(msg),
        Fault::Transient | Fault::Setup => ItemError::transient(msg),
    }
}

fn base64_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

fn file_len(p: &Path) -> Result<u64, ItemError> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| ItemError::transient(format!("reading {}: {e}", p.display())))
}

fn load_plan(dir: &Path, limits: Limits, source_bytes: u64) -> Option<Plan> {
    let plan: Plan = serde_json::from_slice(&std::fs::read(dir.join("plan.json")).ok()?).ok()?;
    (plan.max_seconds == Some(limits.max_seconds)
        && plan.source_bytes == source_bytes
        && !plan.ranges.is_empty())
    .then_some(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_validated() {
        let v = validate(r#"{"transcript":"Call mom.","confidence":92,"is_garbage":false,"garbage_reason":null,"language":"en"}"#).unwrap();
        assert_eq!(v.confidence, 92);
        let e = validate(r#"{"transcript":"x","confidence":140,"is_garbage":false,"garbage_reason":null,"language":"en"}"#).unwrap_err();
        assert!(e.contains("not within 0–100"), "{e}");
        let e = validate(r#"{"transcript":" ","confidence":40,"is_garbage":false,"garbage_reason":null,"language":"en"}"#).unwrap_err();
        assert!(e.contains("`transcript` is empty"), "{e}");
        let e = validate(r#"{"transcript":"x"}"#).unwrap_err();
        assert!(e.contains("missing field"), "{e}");
    }

    #[test]
    fn the_schema_translates_to_geminis_dialect() {
        let g = gemini::to_gemini_schema(&schema());
        assert_eq!(
            g["properties"]["garbage_reason"],
            json!({"type": "STRING", "nullable": true})
        );
        assert_eq!(g["propertyOrdering"][0], "transcript");
        assert!(g.get("additionalProperties").is_none());
    }

    #[test]
    fn garbage_or_low_confidence_discards_with_the_reason() {
        let cfg = TranscriptionConfig::default();
        let t = GeminiTranscriber::new(
            GeminiClient::new("http://127.0.0.1:9", "k".into(), "K"),
            &cfg,
        );
        let v = |c, g, r: Option<&str>| {
            (
                Verdict {
                    transcript: "x".into(),
                    confidence: c,
                    is_garbage: g,
                    garbage_reason: r.map(String::from),
                    language: "en".into(),
                },
                Usage::default(),
            )
        };
        assert_eq!(t.discard(&[v(90, false, None)]), None);
        assert!(
            t.discard(&[v(90, true, Some("wind noise"))])
                .unwrap()
                .reason
                .contains("wind noise")
        );
        assert!(
            t.discard(&[v(12, false, None)])
                .unwrap()
                .reason
                .contains("min_confidence 30")
        );
        assert_eq!(
            t.discard(&[v(12, false, None), v(80, false, None)]),
            None,
            "one good piece keeps it"
        );
    }

    #[test]
    fn a_recording_longer_than_a_request_takes_is_cut_and_joined() {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", srv.server_addr().to_ip().unwrap());
        let inline = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = inline.clone();
        std::thread::spawn(move || {
            for (i, mut req) in srv.incoming_requests().enumerate() {
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                seen.lock()
                    .unwrap()
                    .push(v["contents"][0]["parts"][0]["inline_data"]["mime_type"].clone());
                let verdict = json!({"transcript": format!("piece{}", i + 1), "confidence": 90, "is_garbage": false, "garbage_reason": null, "language": "en"});
                let answer = json!({"candidates": [{"content": {"parts": [{"text": verdict.to_string()}]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5}});
                let _ = req.respond(tiny_http::Response::from_string(answer.to_string()));
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let audio = dir.path().join("long.wav");
        std::fs::write(&audio, super::super::tone_silence_tone()).unwrap();
        let cache = dir.path().join("cache");
        let ctx = TranscribeCtx {
            display: "long.wav",
            cache_dir: &cache,
        };
        let t = GeminiTranscriber::new(
            GeminiClient::new(&url, "k-1234".into(), "K"),
            &TranscriptionConfig::default(),
        )
        .with_max_seconds(3.0);
        assert_eq!(
            t.transcribe(&audio, &ctx).unwrap().as_deref(),
            Some("piece1 piece2")
        );
        let plan: Plan =
            serde_json::from_slice(&std::fs::read(cache.join("chunks/plan.json")).unwrap())
                .unwrap();
        assert_eq!(plan.ranges.len(), 2, "{plan:?}");
        assert!(
            (1.5..=2.5).contains(&plan.ranges[0][1]),
            "cut in the silence: {plan:?}"
        );
        assert_eq!(
            *inline.lock().unwrap(),
            vec![json!("audio/wav"), json!("audio/wav")]
        );
        assert_eq!(
            take_tokens(&cache),
            Some(crate::state::Tokens {
                prompt: 20,
                completion: 10
            })
        );
        assert_eq!(discarded(&cache), None);
        // A second run reuses the pieces' verdicts.
        assert_eq!(
            t.transcribe(&audio, &ctx).unwrap().as_deref(),
            Some("piece1 piece2")
        );
        assert_eq!(inline.lock().unwrap().len(), 2, "nothing asked again");
    }

    #[test]
    fn mime_types_come_from_the_content() {
        assert_eq!(mime_of("mp4"), Some(("audio/mp4", "m4a")));
        assert_eq!(mime_of("wav"), Some(("audio/wav", "wav")));
        assert_eq!(mime_of("caf"), None);
        assert_eq!(base64_len(3), 4);
        assert_eq!(base64_len(4), 8);
    }
}
