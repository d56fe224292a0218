//! Transcription: an audio file becomes text.
//!
//! Providers: `apple` (the transcript Apple stores inside the .m4a), `sidecar`
//! (a .txt/.srt/.vtt beside the audio), `command` (any local recognizer), `openai` (any
//! OpenAI-compatible server), `whisper` (whisper.cpp built in), and `auto`, which
//! tries them in that order (`command` when set, `openai` when its key is present).
pub mod apple;
pub mod chunks;
pub mod command;
pub mod gemini;
pub mod guards;
pub mod openai;
pub mod sidecar;
pub mod whisper;

use crate::config::{TranscriptionConfig, TranscriptionProvider};
use crate::voice_memo::error::ItemError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a provider knows about the memo besides its audio.
#[derive(Debug, Clone, Copy)]
pub struct TranscribeCtx<'a> {
    /// The memo's file name, for messages.
    pub display: &'a str,
    /// The memo's own cache folder (`cache/voice-memo/<id>/`): partial progress that
    /// must survive a failed attempt (finished chunks) goes here.
    pub cache_dir: &'a Path,
}

/// One transcription provider.
pub trait Transcriber: Send + Sync {
    /// The provider's name as in `transcription.provider`.
    fn name(&self) -> &'static str;
    /// `Ok(None)`: this provider has no transcript for the file (`auto` tries the next).
    fn transcribe(
        &self,
        audio: &Path,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<Option<String>, ItemError>;
    /// The transcript with what else the provider knows (segments, language, model);
    /// by default the text alone.
    fn transcribe_full(
        &self,
        audio: &Path,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<Option<Transcript>, ItemError> {
        Ok(self
            .transcribe(audio, ctx)?
            .map(|text| Transcript::plain(text, self.name())))
    }
}

/// `auto`: Apple's transcript, else a sidecar, else the command when one is set.
pub struct Auto {
    chain: Vec<Box<dyn Transcriber>>,
}

/// What a transcription produced and who produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    pub provider: &'static str,
    /// Timed stretches of the text (empty when the provider gives none).
    pub segments: Vec<Segment>,
    /// The recognizer's model (`base.en`), when the provider has one.
    pub model: Option<String>,
    /// The spoken language (ISO 639-1), when the provider knows it.
    pub language: Option<String>,
    /// The length of the audio the provider heard, when it decoded it.
    pub audio_seconds: Option<f64>,
}

/// One stretch of a transcript, with its time in the recording.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

impl Transcript {
    /// Text alone, from `provider`.
    pub fn plain(text: String, provider: &'static str) -> Transcript {
        Transcript {
            text,
            provider,
            segments: Vec::new(),
            model: None,
            language: None,
            audio_seconds: None,
        }
    }
}

/// `transcript.json` in a memo's cache: what a transcript carries besides its text.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CachedMeta {
    pub provider: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub audio_seconds: Option<f64>,
    #[serde(default)]
    pub segments: Vec<Segment>,
}

/// The providers' names, to restore a cached transcript's `&'static` provider.
const PROVIDERS: &[&str] = &["apple", "sidecar", "command", "openai", "gemini", "whisper"];

impl CachedMeta {
    pub fn of(t: &Transcript) -> CachedMeta {
        CachedMeta {
            provider: t.provider.to_string(),
            model: t.model.clone(),
            language: t.language.clone(),
            audio_seconds: t.audio_seconds,
            segments: t.segments.clone(),
        }
    }

    /// The transcript from its cached text and (when present) its metadata.
    pub fn restore(meta: Option<CachedMeta>, text: String) -> Transcript {
        let Some(m) = meta else {
            return Transcript::plain(text, "cache");
        };
        Transcript {
            text,
            provider: PROVIDERS
                .iter()
                .find(|p| **p == m.provider)
                .copied()
                .unwrap_or("cache"),
            segments: m.segments,
            model: m.model,
            language: m.language,
            audio_seconds: m.audio_seconds,
        }
    }
}

/// What the pipeline needs to build the providers besides `[transcription]`.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Where temporary files go (`cache/`).
    pub work_root: PathBuf,
    /// `$ASTRA_HOME/models`.
    pub models_dir: PathBuf,
    /// Memos transcribed at once (`voice_memo.concurrency`).
    pub workers: usize,
}

/// A context for tests: the display name only, cache in the system temp folder.
pub fn test_ctx(display: &str) -> TranscribeCtx<'_> {
    TranscribeCtx {
        display,
        cache_dir: Path::new("/nonexistent-astra-cache"),
    }
}

impl Auto {
    /// Runs the chain; a memo no provider can read waits with a message saying how to
    /// configure one.
    pub fn transcribe(
        &self,
        audio: &Path,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<Transcript, ItemError> {
        let mut first_error = None;
        for t in &self.chain {
            match t.transcribe_full(audio, ctx) {
                Ok(Some(transcript)) => return Ok(transcript),
                Ok(None) => {}
                // A later provider may still have a transcript (a sidecar beside a
                // file whose Apple transcript is damaged).
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let tried: Vec<_> = self.chain.iter().map(|t| t.name()).collect();
        Err(ItemError::waiting(format!(
            "{}: no transcript available (tried: {}). Put a .txt/.srt/.vtt transcript beside it, \
             or configure a recognizer in config.toml: [transcription] provider = \"command\", \
             command = [\"whisper-cli\", \"-m\", \"ggml-base.en.bin\", \"-f\", \"{{input_wav}}\", \"-otxt\", \"-of\", \"{{output_base}}\"], \
             or set OPENAI_API_KEY (or provider = \"openai\" with a local server's base_url)",
            ctx.display,
            tried.join(", ")
        )))
    }
}

/// Builds the configured provider chain.
/// `openai` without the key OpenAI's own API needs is a usage error.
pub fn from_config(cfg: &TranscriptionConfig, setup: Setup) -> anyhow::Result<Auto> {
    let work_root = setup.work_root.clone();
    let command = || -> Box<dyn Transcriber> {
        Box::new(command::CommandTranscriber::new(
            cfg.command.clone(),
            Duration::from_secs(cfg.command_timeout_seconds.max(1)),
            work_root.clone(),
        ))
    };
    let whisper = || -> Box<dyn Transcriber> {
        Box::new(whisper::WhisperTranscriber::new(
            whisper::WhisperSetup::from_config(cfg, setup.models_dir.clone(), setup.workers),
        ))
    };
    let chain: Vec<Box<dyn Transcriber>> = match cfg.provider {
        TranscriptionProvider::Apple => vec![Box::new(apple::AppleTranscriber)],
        TranscriptionProvider::Sidecar => vec![Box::new(sidecar::SidecarTranscriber)],
        TranscriptionProvider::Command => vec![command()],
        TranscriptionProvider::Openai => {
            vec![Box::new(openai::OpenAiTranscriber::from_config(cfg)?)]
        }
        TranscriptionProvider::Gemini => {
            vec![Box::new(gemini::GeminiTranscriber::from_config(cfg)?)]
        }
        TranscriptionProvider::Whisper => vec![whisper()],
        TranscriptionProvider::Auto => {
            let mut c: Vec<Box<dyn Transcriber>> = vec![
                Box::new(apple::AppleTranscriber),
                Box::new(sidecar::SidecarTranscriber),
            ];
            if !cfg.command.is_empty() {
                c.push(command());
            }
            if key_in_env(&cfg.api_key_env) {
                c.push(Box::new(openai::OpenAiTranscriber::from_config(cfg)?));
            }
            c.push(whisper());
            c
        }
    };
    Ok(Auto { chain })
}

impl Auto {
    /// The providers `auto` tries, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.chain.iter().map(|t| t.name()).collect()
    }
}

/// `auto` uses the OpenAI-compatible server only when its key is in the environment.
fn key_in_env(var: &str) -> bool {
    crate::secrets::get(var).is_some()
}

/// Test audio for the cutting tests: 16 kHz mono WAV, 1.5 s of tone, 1 s of silence,
/// 1.5 s of tone.
#[cfg(test)]
pub(crate) fn tone_silence_tone() -> Vec<u8> {
    let samples: Vec<i16> = (0..64_000)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            if (1.5..2.5).contains(&t) {
                0
            } else {
                ((t * 440.0 * std::f64::consts::TAU).sin() * 10_000.0) as i16
            }
        })
        .collect();
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&(36 + 128_000u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0");
    v.extend_from_slice(&16_000u32.to_le_bytes());
    v.extend_from_slice(&32_000u32.to_le_bytes());
    v.extend_from_slice(b"\x02\0\x10\0data");
    v.extend_from_slice(&128_000u32.to_le_bytes());
    v.extend(samples.iter().flat_map(|s| s.to_le_bytes()));
    v
}
