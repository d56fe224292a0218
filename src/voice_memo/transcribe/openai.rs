//! The `openai` provider: any OpenAI-compatible `/audio/transcriptions` server. Formats
//! the API does not take are converted with ffmpeg; files over the limit are cut.
//!
//! Everything made on the way lives in the memo's cache folder: `converted.m4a`, and
//! `chunks/` with the plan, the pieces and each piece's transcript (`NNN.txt`), so a
//! failure on one piece does not pay again for the pieces before it.
use super::chunks::{self, Limits, Plan};
use super::{TranscribeCtx, Transcriber, sidecar};
use crate::clients::openai::{ApiError, OpenAiClient, TranscriptionRequest};
use crate::config::TranscriptionConfig;
use crate::fsutil;
use crate::voice_memo::audio;
use crate::voice_memo::error::ItemError;
use crate::voice_memo::media;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The extensions OpenAI's API accepts as they are.
pub const ACCEPTED: [&str; 9] = [
    "flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm",
];
/// Louder than this is not silence, when looking for places to cut.
const SILENCE_DB: f64 = -35.0;
/// The shortest pause that counts as a place to cut.
const SILENCE_SECONDS: f64 = 0.5;
/// How many times the plan may be redone because a piece came out too big.
const MAX_REPLANS: u32 = 5;
/// The longest audio `gpt-4o-*-transcribe` models take in one request.
const GPT_4O_MAX_SECONDS: f64 = 1500.0;

/// The longest upload `model` takes, when it has a cap besides the size.
pub fn model_max_seconds(model: &str) -> Option<f64> {
    (model.starts_with("gpt-4o") && model.contains("transcribe")).then_some(GPT_4O_MAX_SECONDS)
}

/// Transcribes through an OpenAI-compatible server.
pub struct OpenAiTranscriber {
    client: OpenAiClient,
    model: String,
    language: String,
    response_format: String,
    max_bytes: u64,
    max_seconds: Option<f64>,
    /// For each ffmpeg step.
    ffmpeg_timeout: Duration,
}

/// A file ready to upload and the extension the server will see.
struct Upload {
    path: PathBuf,
    ext: String,
}

impl OpenAiTranscriber {
    /// The provider for `[transcription]`; OpenAI's own API without a key is an error.
    pub fn from_config(cfg: &TranscriptionConfig) -> anyhow::Result<OpenAiTranscriber> {
        let client = OpenAiClient::from_env(&cfg.base_url, &cfg.api_key_env, "transcription")?;
        Ok(OpenAiTranscriber::new(client, cfg))
    }

    /// The provider with a client built elsewhere (tests, a shared client).
    pub fn new(client: OpenAiClient, cfg: &TranscriptionConfig) -> OpenAiTranscriber {
        OpenAiTranscriber {
            client,
            model: cfg.model.clone(),
            language: cfg.language.clone(),
            response_format: cfg.response_format.clone(),
            max_bytes: cfg.max_upload_mb.max(1).saturating_mul(1024 * 1024),
            max_seconds: model_max_seconds(&cfg.model),
            ffmpeg_timeout: Duration::from_secs(cfg.command_timeout_seconds.max(1)),
        }
    }

    /// The audio as the server will take it: the file itself, or an m4a made from it.
    fn uploadable(&self, audio: &Path, ctx: &TranscribeCtx<'_>) -> Result<Upload, ItemError> {
        let ext = audio
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let sniffed = audio::check(audio, ctx.display)?;
        let foreign = matches!(sniffed, "caf" | "aiff" | "amr" | "aac");
        if ACCEPTED.contains(&ext.as_str()) && !foreign {
            return Ok(Upload {
                path: audio.to_path_buf(),
                ext,
            });
        }
        let out = ctx.cache_dir.join("converted.m4a");
        if !out.is_file() {
            fsutil::create_private_dir(ctx.cache_dir)?;
            media::to_m4a(audio, &out, self.ffmpeg_timeout)?;
            tracing::info!(file = %ctx.display, from = %ext, "converted to m4a for upload");
        }
        Ok(Upload {
            path: out,
            ext: "m4a".into(),
        })
    }

    fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_bytes,
            max_seconds: self.max_seconds.unwrap_or(f64::INFINITY),
        }
    }

    /// Whether `src` must be cut: over the size limit, or longer than the model takes.
    fn needs_cutting(&self, src: &Path) -> Result<bool, ItemError> {
        if file_len(src)? > self.max_bytes {
            return Ok(true);
        }
        Ok(self
            .max_seconds
            .is_some_and(|max| media::duration(src).is_some_and(|d| d > max)))
    }

    /// Uploads one file; the transcript as plain text.
    fn upload(&self, file: &Path, ext: &str, display: &str) -> Result<String, ItemError> {
        let upload_name = format!("audio.{ext}");
        let req = TranscriptionRequest {
            file,
            upload_name: &upload_name,
            model: &self.model,
            language: &self.language,
            response_format: &self.response_format,
        };
        let body = self
            .client
            .transcribe(&req)
            .map_err(|e| item_error(display, &e))?;
        let text = match self.response_format.as_str() {
            "srt" => sidecar::parse_srt(&body),
            "vtt" => sidecar::parse_vtt(&body),
            _ => body,
        };
        Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// Cuts `src` into pieces under the limit and transcribes them in order, each
    /// piece's transcript saved as it comes.
    fn chunked(&self, src: &Upload, ctx: &TranscribeCtx<'_>) -> Result<String, ItemError> {
        let dir = ctx.cache_dir.join("chunks");
        fsutil::create_private_dir(&dir)?;
        let source_bytes = file_len(&src.path)?;
        let mut plan = match load_plan(&dir, self.limits(), source_bytes) {
            Some(p) => p,
            None => self.new_plan(&src.path, &dir, source_bytes, ctx.display)?,
        };
        let piece_ext = piece_ext(&src.ext);
        let mut texts = Vec::with_capacity(plan.ranges.len());
        let mut replans = 0;
        let mut i = 0;
        while i < plan.ranges.len() {
            let txt = dir.join(format!("{:03}.txt", i + 1));
            if let Ok(t) = std::fs::read_to_string(&txt) {
                texts.push(t);
                i += 1;
                continue;
            }
            let [start, end] = plan.ranges[i];
            let piece = dir.join(format!("{:03}.{piece_ext}", i + 1));
            if !piece.is_file() {
                media::cut(&src.path, start, end, &piece, self.ffmpeg_timeout)?;
            }
            let size = file_len(&piece)?;
            if size > self.max_bytes {
                replans += 1;
                self.replan(&mut plan, i, size, &dir, ctx.display, replans)?;
                let _ = std::fs::remove_file(&piece);
                continue;
            }
            let text = self.upload(&piece, piece_ext, ctx.display)?;
            fsutil::atomic_write(&txt, text.as_bytes(), 0o600)?;
            let _ = std::fs::remove_file(&piece);
            tracing::info!(file = %ctx.display, piece = i + 1, of = plan.ranges.len(), "transcribed a piece");
            texts.push(text);
            i += 1;
        }
        Ok(texts
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" "))
    }

    fn new_plan(
        &self,
        src: &Path,
        dir: &Path,
        source_bytes: u64,
        memo: &str,
    ) -> Result<Plan, ItemError> {
        // Pieces of an old plan (another limit, another file) must not be reused.
        clear_pieces(dir);
        let duration = media::duration(src).ok_or_else(|| {
            ItemError::transient(format!(
                "{memo}: cannot tell how long the recording is (ffprobe found no duration), so it cannot be cut into pieces under {} MiB",
                self.max_bytes / (1024 * 1024)
            ))
        })?;
        let silences = media::silences(src, SILENCE_DB, SILENCE_SECONDS, self.ffmpeg_timeout)?;
        let rate = source_bytes as f64 / duration.max(0.001);
        let plan = Plan {
            max_bytes: self.max_bytes,
            max_seconds: self.max_seconds,
            source_bytes,
            duration,
            silences: silences.iter().map(|s| [s.start, s.end]).collect(),
            ranges: chunks::plan(0.0, duration, rate, self.limits(), &silences),
        };
        save_plan(dir, &plan)?;
        tracing::info!(
            file = memo,
            pieces = plan.ranges.len(),
            seconds = duration,
            "cutting into pieces under the upload limit"
        );
        Ok(plan)
    }

    /// Piece `i` came out `size` bytes, over the limit: plans the rest again at the
    /// bitrate that piece really has.
    fn replan(
        &self,
        plan: &mut Plan,
        i: usize,
        size: u64,
        dir: &Path,
        display: &str,
        replans: u32,
    ) -> Result<(), ItemError> {
        let [start, end] = plan.ranges[i];
        if replans > MAX_REPLANS {
            return Err(ItemError::permanent(format!(
                "{display}: could not cut a piece under {} MiB (the piece at {start:.0} s is {size} bytes)",
                self.max_bytes / (1024 * 1024)
            )));
        }
        let rate = size as f64 / (end - start).max(0.001) * 1.05;
        let rest = chunks::plan(start, plan.duration, rate, self.limits(), &plan.silences());
        plan.ranges.truncate(i);
        plan.ranges.extend(rest);
        save_plan(dir, plan)
    }
}

impl Transcriber for OpenAiTranscriber {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn transcribe(
        &self,
        audio: &Path,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<Option<String>, ItemError> {
        let src = self.uploadable(audio, ctx)?;
        let text = if self.needs_cutting(&src.path)? {
            self.chunked(&src, ctx)?
        } else {
            self.upload(&src.path, &src.ext, ctx.display)?
        };
        Ok(Some(text))
    }
}

/// The extension of a piece cut without re-encoding from a file with `ext`.
fn piece_ext(ext: &str) -> &str {
    match ext {
        "mp4" => "m4a",
        "mpeg" | "mpga" => "mp3",
        other => other,
    }
}

/// A server's refusal of the request itself (this file, this model) will not change
/// on a retry; a bad key, a missing model or server trouble can be fixed meanwhile.
fn item_error(display: &str, e: &ApiError) -> ItemError {
    let msg = format!("{display}: {}", e.message);
    match e.status {
        _ if e.out_of_quota => ItemError::deferred(msg),
        Some(400 | 413 | 415 | 422) => ItemError::permanent(msg),
        _ => ItemError::transient(msg),
    }
}

fn file_len(p: &Path) -> Result<u64, ItemError> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| ItemError::transient(format!("reading {}: {e}", p.display())))
}

fn load_plan(dir: &Path, limits: Limits, source_bytes: u64) -> Option<Plan> {
    let bytes = std::fs::read(dir.join("plan.json")).ok()?;
    let plan: Plan = serde_json::from_slice(&bytes).ok()?;
    let same_limits = plan.max_bytes == limits.max_bytes
        && plan.max_seconds.unwrap_or(f64::INFINITY) == limits.max_seconds;
    (same_limits && plan.source_bytes == source_bytes && !plan.ranges.is_empty()).then_some(plan)
}

fn save_plan(dir: &Path, plan: &Plan) -> Result<(), ItemError> {
    let bytes = serde_json::to_vec(plan).map_err(|e| ItemError::transient(e.to_string()))?;
    fsutil::atomic_write(&dir.join("plan.json"), &bytes, 0o600)?;
    Ok(())
}

/// Removes the pieces, their transcripts and the plan.
fn clear_pieces(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server answering every request with `body`.
    fn server(body: &'static str) -> String {
        let srv = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", srv.server_addr().to_ip().unwrap());
        std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let _ = std::io::copy(req.as_reader(), &mut std::io::sink());
                let _ = req.respond(tiny_http::Response::from_string(body));
            }
        });
        url
    }

    fn transcriber(url: &str, format: &str) -> OpenAiTranscriber {
        let cfg = TranscriptionConfig {
            response_format: format.into(),
            ..TranscriptionConfig::default()
        };
        OpenAiTranscriber::new(OpenAiClient::new(url, None, ""), &cfg)
    }

    #[test]
    fn srt_answers_become_plain_text() {
        let url = server(
            "1\n00:00:00,000 --> 00:00:02,000\nRemind me\n\n2\n00:00:02,000 --> 00:00:04,000\nto call mom.\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let audio = dir.path().join("a.wav");
        std::fs::write(&audio, b"RIFF\0\0\0\0WAVEfmt ").unwrap();
        let ctx = TranscribeCtx {
            display: "a.wav",
            cache_dir: dir.path(),
        };
        let text = transcriber(&url, "srt").transcribe(&audio, &ctx).unwrap();
        assert_eq!(text.as_deref(), Some("Remind me to call mom."));
    }

    #[test]
    fn a_recording_longer_than_the_model_takes_is_cut_at_its_silence() {
        let url = server(r#"{"text":"piece"}"#);
        let dir = tempfile::tempdir().unwrap();
        let audio = dir.path().join("long.wav");
        std::fs::write(&audio, super::super::tone_silence_tone()).unwrap();
        let cache = dir.path().join("cache");
        let ctx = TranscribeCtx {
            display: "long.wav",
            cache_dir: &cache,
        };
        let mut t = transcriber(&url, "json");
        t.max_seconds = Some(3.0);
        assert_eq!(
            t.transcribe(&audio, &ctx).unwrap().as_deref(),
            Some("piece piece")
        );
        let plan: Plan =
            serde_json::from_slice(&std::fs::read(cache.join("chunks/plan.json")).unwrap())
                .unwrap();
        assert_eq!(plan.ranges.len(), 2, "{plan:?}");
        let cut = plan.ranges[0][1];
        assert!((1.5..=2.5).contains(&cut), "cut in the silence: {cut}");
        assert_eq!(
            std::fs::read_to_string(cache.join("chunks/002.txt")).unwrap(),
            "piece"
        );
        assert!(
            !cache.join("chunks/001.wav").exists(),
            "uploaded pieces are removed"
        );
    }

    #[test]
    fn pieces_keep_a_container_ffmpeg_can_copy_into() {
        assert_eq!(piece_ext("mp4"), "m4a");
        assert_eq!(piece_ext("mpga"), "mp3");
        assert_eq!(piece_ext("wav"), "wav");
    }

    #[test]
    fn only_a_refused_request_is_permanent() {
        let e = |status| ApiError {
            message: "x".into(),
            status,
            transient: false,
            out_of_quota: false,
        };
        assert!(item_error("a", &e(Some(413))).is_permanent());
        assert!(!item_error("a", &e(Some(401))).is_permanent());
        assert!(!item_error("a", &e(None)).is_permanent());
    }

    #[test]
    fn a_plan_for_another_limit_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan {
            max_bytes: 10,
            max_seconds: None,
            source_bytes: 30,
            duration: 3.0,
            silences: vec![],
            ranges: vec![[0.0, 1.0], [1.0, 3.0]],
        };
        save_plan(dir.path(), &plan).unwrap();
        let limits = |max_bytes, max_seconds| Limits {
            max_bytes,
            max_seconds,
        };
        assert_eq!(
            load_plan(dir.path(), limits(10, f64::INFINITY), 30),
            Some(plan)
        );
        assert_eq!(load_plan(dir.path(), limits(20, f64::INFINITY), 30), None);
        assert_eq!(load_plan(dir.path(), limits(10, 1500.0), 30), None);
        assert_eq!(load_plan(dir.path(), limits(10, f64::INFINITY), 31), None);
    }

    #[test]
    fn gpt_4o_transcription_models_cap_the_duration() {
        assert_eq!(model_max_seconds("gpt-4o-mini-transcribe"), Some(1500.0));
        assert_eq!(model_max_seconds("whisper-1"), None);
        assert_eq!(model_max_seconds("whisper-large-v3-turbo"), None);
    }
}
