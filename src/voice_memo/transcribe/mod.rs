//! Transcription: an audio file becomes text.
//!
//! Providers: `apple` (the transcript Apple stores inside the .m4a), `sidecar`
//! (a .txt/.srt/.vtt beside the audio), `command` (any local recognizer), `openai` (any
//! OpenAI-compatible server), and `auto`, which tries them in that order.
pub mod apple;
pub mod chunks;
pub mod command;
pub mod gemini;
pub mod openai;
pub mod sidecar;

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
}

/// `auto`: Apple's transcript, else a sidecar, else the command when one is set.
pub struct Auto {
    chain: Vec<Box<dyn Transcriber>>,
}

/// What a transcription produced and who produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub text: String,
    pub provider: &'static str,
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
            match t.transcribe(audio, ctx) {
                Ok(Some(text)) => {
                    return Ok(Transcript {
                        text,
                        provider: t.name(),
                    });
                }
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
        Err(ItemError::transient(format!(
            "{}: no transcript available (tried: {}). Put a .txt/.srt/.vtt transcript beside it, \
             or configure a recognizer in config.toml: [transcription] provider = \"command\", \
             command = [\"whisper-cli\", \"-m\", \"ggml-base.en.bin\", \"-f\", \"{{input_wav}}\", \"-otxt\", \"-of\", \"{{output_base}}\"], \
             or set OPENAI_API_KEY (or provider = \"openai\" with a local server's base_url)",
            ctx.display,
            tried.join(", ")
        )))
    }
}

/// Builds the configured provider chain. `work_root` holds temporary files.
/// `openai` without the key OpenAI's own API needs is a usage error.
pub fn from_config(cfg: &TranscriptionConfig, work_root: PathBuf) -> anyhow::Result<Auto> {
    let command = || -> Box<dyn Transcriber> {
        Box::new(command::CommandTranscriber::new(
            cfg.command.clone(),
            Duration::from_secs(cfg.command_timeout_seconds.max(1)),
            work_root.clone(),
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
            c
        }
    };
    Ok(Auto { chain })
}

/// `auto` uses the OpenAI-compatible server only when its key is in the environment.
fn key_in_env(var: &str) -> bool {
    crate::secrets::get(var).is_some()
}
