//! The `whisper` provider: whisper.cpp inside the process (the `whisper` Cargo
//! feature), the offline default at the end of `auto`.
//!
//! One model load per run, shared by the workers, one whisper state per worker; audio
//! decoded in-process ([`crate::voice_memo::decode`]); the run's stop signal aborts a
//! transcription mid-way (the memo resumes next run); the [`guards`](super::guards)
//! clean the output; a missing catalogue model is downloaded once when
//! `download_models` allows it.
#[cfg(feature = "whisper")]
use super::Segment;
use super::{TranscribeCtx, Transcriber, Transcript};
use crate::config::TranscriptionConfig;
use crate::models::{self, Choice};
use crate::voice_memo::error::ItemError;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the provider needs besides `[transcription]`.
#[derive(Debug, Clone)]
pub struct WhisperSetup {
    pub model: Choice,
    /// `$ASTRA_HOME/models`.
    pub models_dir: PathBuf,
    /// Threads per transcription.
    pub threads: usize,
    pub download: bool,
    /// The configured language hint (multilingual models only; empty: detect).
    pub language: String,
}

/// Threads per transcription: the configured number, or the cores split between the
/// workers (at least one each).
pub fn threads_per_worker(configured: usize, workers: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    (cores / workers.max(1)).max(1)
}

impl WhisperSetup {
    pub fn from_config(cfg: &TranscriptionConfig, models_dir: PathBuf, workers: usize) -> Self {
        let model = models::resolve(&cfg.whisper_model, &models_dir)
            // Config validation refuses a name that resolves to nothing.
            .unwrap_or_else(|| Choice::File(PathBuf::from(&cfg.whisper_model)));
        WhisperSetup {
            model,
            models_dir,
            threads: threads_per_worker(cfg.whisper_threads, workers),
            download: cfg.download_models,
            language: cfg.language.trim().to_string(),
        }
    }

    /// The language whisper is told: `en` for an English-only model, the hint, or
    /// `auto` (detect).
    pub fn language(&self) -> String {
        if self.model.english_only() {
            "en".into()
        } else if self.language.is_empty() {
            "auto".into()
        } else {
            self.language.clone()
        }
    }
}

#[cfg_attr(not(feature = "whisper"), allow(dead_code))]
pub struct WhisperTranscriber {
    setup: WhisperSetup,
    /// Whether this run already tried to download the model (and how it went).
    downloaded: Mutex<Option<Result<(), String>>>,
    #[cfg(feature = "whisper")]
    engine: engine::Engine,
}

impl WhisperTranscriber {
    pub fn new(setup: WhisperSetup) -> Self {
        WhisperTranscriber {
            setup,
            downloaded: Mutex::new(None),
            #[cfg(feature = "whisper")]
            engine: engine::Engine::default(),
        }
    }

    /// The model file, downloading a missing catalogue model once per run when allowed.
    #[cfg_attr(not(feature = "whisper"), allow(dead_code))]
    fn model_file(&self) -> Result<PathBuf, ItemError> {
        let path = self.setup.model.path().to_path_buf();
        if path.is_file() {
            return Ok(path);
        }
        let model = match &self.setup.model {
            Choice::File(p) => {
                return Err(ItemError::waiting(format!(
                    "the whisper model file {} does not exist: set [transcription] whisper_model to a ggml model file, or to a catalogue name ({}) and run `astra models pull NAME`",
                    p.display(),
                    models::catalogue::names()
                )));
            }
            Choice::Catalogue(m, _) => *m,
        };
        if !self.setup.download {
            return Err(ItemError::waiting(format!(
                "the speech model {} is not installed ({} is missing) and [transcription] download_models = false: run `astra models pull {}`",
                model.name,
                path.display(),
                model.name
            )));
        }
        // One worker downloads; the others wait here and share the outcome.
        let mut done = self
            .downloaded
            .lock()
            .map_err(|_| ItemError::transient("model download lock poisoned"))?;
        if done.is_none() {
            tracing::info!(model = model.name, to = %path.display(), "the speech model is missing: downloading it (download_models = true)");
            let progress = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                models::download::Progress::Bar
            } else {
                models::download::Progress::Quiet
            };
            let r = models::download::pull(
                model,
                &self.setup.models_dir,
                &models::base_url(),
                progress,
            )
            .map(|_| ())
            .map_err(|e| format!("{e:#}"));
            *done = Some(r);
        }
        match done.as_ref() {
            Some(Ok(())) => Ok(path),
            Some(Err(e)) => {
                ItemError::check_stop()?;
                Err(ItemError::waiting(format!(
                    "the speech model {} is missing and could not be downloaded (run `astra models pull {}` to try again): {e}",
                    model.name, model.name
                )))
            }
            None => unreachable!("set above"),
        }
    }
}

/// Whether this build has the built-in recognizer.
pub const BUILT_IN: bool = cfg!(feature = "whisper");

#[cfg(not(feature = "whisper"))]
fn display(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

impl Transcriber for WhisperTranscriber {
    fn name(&self) -> &'static str {
        "whisper"
    }

    fn transcribe(
        &self,
        audio: &Path,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<Option<String>, ItemError> {
        Ok(self.transcribe_full(audio, ctx)?.map(|t| t.text))
    }

    #[cfg(not(feature = "whisper"))]
    fn transcribe_full(
        &self,
        audio: &Path,
        _ctx: &TranscribeCtx<'_>,
    ) -> Result<Option<Transcript>, ItemError> {
        Err(ItemError::waiting(format!(
            "{}: this build of astra has no built-in recognizer (it was built without the `whisper` feature): \
             rebuild with default features (needs cmake and a C/C++ compiler), or configure another provider \
             ([transcription] provider = \"command\" or \"openai\")",
            display(audio)
        )))
    }

    #[cfg(feature = "whisper")]
    fn transcribe_full(
        &self,
        audio: &Path,
        ctx: &TranscribeCtx<'_>,
    ) -> Result<Option<Transcript>, ItemError> {
        // A file with nothing decodable (a .qta with only APAC) fails before the model
        // is fetched or loaded.
        crate::voice_memo::decode::check_decodable(audio)?;
        let model_path = self.model_file()?;
        ItemError::check_stop()?;
        let decoded = crate::voice_memo::decode::load_16k_mono(audio)?;
        let seconds = decoded.seconds();
        let model_name = self.setup.model.name();
        let mut t = Transcript {
            text: String::new(),
            provider: "whisper",
            segments: Vec::new(),
            model: Some(model_name.clone()),
            language: None,
            audio_seconds: Some((seconds * 1000.0).round() / 1000.0),
        };
        if super::guards::is_silence(&decoded.samples, crate::voice_memo::decode::SAMPLE_RATE) {
            tracing::info!(
                file = ctx.display,
                seconds,
                "whisper: the recording is silent; nothing to transcribe"
            );
            return Ok(Some(t));
        }
        let language = self.setup.language();
        let out = self.engine.run(
            &model_path,
            &decoded.samples,
            self.setup.threads,
            &language,
            ctx.display,
        )?;
        let (kept, dropped) = super::guards::apply(out.segments);
        if !dropped.is_empty() {
            tracing::info!(
                file = ctx.display,
                silent = dropped.silent,
                no_speech = dropped.no_speech,
                repeated_words = dropped.repeated_words,
                repeated_segments = dropped.repeated_segments,
                "whisper: quality guards dropped text"
            );
        }
        t.segments = kept
            .into_iter()
            .map(|s| Segment {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: s.text.trim().to_string(),
            })
            .collect();
        t.text = t
            .segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        t.language = out.language;
        tracing::info!(file = ctx.display, model = %model_name, seconds, segments = t.segments.len(),
            elapsed_ms = out.elapsed_ms, threads = self.setup.threads, codec = %decoded.codec, "whisper: transcribed");
        Ok(Some(t))
    }
}

#[cfg(feature = "whisper")]
mod engine {
    //! The whisper.cpp side: the context loaded once, a pool of states, one `full` run.
    use super::super::guards::{RawSegment, rms_db};
    use crate::voice_memo::error::ItemError;
    use std::ffi::{CStr, c_char, c_void};
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, Once};
    use std::time::Instant;
    use whisper_rs::{
        FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
    };

    #[derive(Default)]
    pub struct Engine {
        /// The model, loaded on first use (a run whose memos all have Apple transcripts
        /// never loads it).
        ctx: Mutex<Option<(PathBuf, Arc<WhisperContext>)>>,
        /// Idle states; a worker takes one (or makes one) and puts it back.
        states: Mutex<Vec<WhisperState>>,
    }

    pub struct Output {
        pub segments: Vec<RawSegment>,
        pub language: Option<String>,
        pub elapsed_ms: u64,
    }

    /// whisper.cpp's and ggml's log lines go to the debug log, errors to warnings.
    unsafe extern "C" fn log_line(level: u32, text: *const c_char, _: *mut c_void) {
        if text.is_null() {
            return;
        }
        // SAFETY: whisper.cpp passes a NUL-terminated string valid for the call.
        let line = unsafe { CStr::from_ptr(text) }.to_string_lossy();
        let line = line.trim_end();
        if line.is_empty() {
            return;
        }
        if level == whisper_rs::whisper_rs_sys::ggml_log_level_GGML_LOG_LEVEL_ERROR {
            tracing::warn!(target: "whisper", "{line}");
        } else {
            tracing::debug!(target: "whisper", "{line}");
        }
    }

    fn route_logs() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            // SAFETY: installs a callback that only reads the string it is given.
            unsafe {
                whisper_rs::whisper_rs_sys::whisper_log_set(Some(log_line), std::ptr::null_mut());
                whisper_rs::whisper_rs_sys::ggml_log_set(Some(log_line), std::ptr::null_mut());
            }
        });
    }

    /// whisper.cpp asks this between steps: the run's stop signal aborts it.
    unsafe extern "C" fn should_abort(_: *mut c_void) -> bool {
        crate::run::stop::should_stop().is_some()
    }

    /// The segments of the last `full` run over `part` (which starts `offset_ms` into
    /// the recording), with what the guards judge them by.
    fn collect(
        state: &WhisperState,
        part: &[f32],
        offset_ms: i64,
        eot: i32,
        out: &mut Vec<RawSegment>,
    ) {
        for seg in state.as_iter() {
            let text = seg
                .to_str_lossy()
                .map(|s| s.into_owned())
                .unwrap_or_default();
            let start = seg.start_timestamp() * 10;
            let end = seg.end_timestamp() * 10;
            let (mut sum, mut n) = (0.0f32, 0usize);
            for i in 0..seg.n_tokens() {
                if let Some(tok) = seg.get_token(i) {
                    let d = tok.token_data();
                    if d.id < eot {
                        sum += d.plog;
                        n += 1;
                    }
                }
            }
            let from = ((start.max(0) as usize) * 16).min(part.len());
            let to = ((end.max(0) as usize) * 16).clamp(from, part.len());
            out.push(RawSegment {
                start_ms: offset_ms + start,
                end_ms: offset_ms + end,
                text,
                no_speech: seg.no_speech_probability(),
                avg_logprob: if n == 0 { 0.0 } else { sum / n as f32 },
                rms_db: rms_db(&part[from..to]),
            });
        }
    }

    impl Engine {
        fn context(&self, path: &Path) -> Result<Arc<WhisperContext>, ItemError> {
            let mut slot = self
                .ctx
                .lock()
                .map_err(|_| ItemError::transient("whisper model lock poisoned"))?;
            if let Some((p, c)) = slot.as_ref()
                && p == path
            {
                return Ok(c.clone());
            }
            route_logs();
            let started = Instant::now();
            let mut params = WhisperContextParameters::default();
            params.use_gpu(false);
            // As whisper-cli does by default: faster, and far smaller compute buffers.
            params.flash_attn(true);
            let ctx = WhisperContext::new_with_params(path, params).map_err(|e| {
                ItemError::transient(format!(
                    "cannot load the whisper model {}: {e}. Is it a ggml whisper model? Remove it and pull it again (`astra models pull NAME`)",
                    path.display()
                ))
            })?;
            tracing::info!(model = %path.display(), ms = started.elapsed().as_millis() as u64, "whisper: model loaded");
            let ctx = Arc::new(ctx);
            *slot = Some((path.to_path_buf(), ctx.clone()));
            Ok(ctx)
        }

        fn take_state(&self, ctx: &WhisperContext) -> Result<WhisperState, ItemError> {
            if let Some(s) = self.states.lock().ok().and_then(|mut v| v.pop()) {
                return Ok(s);
            }
            ctx.create_state()
                .map_err(|e| ItemError::transient(format!("cannot create a whisper state: {e}")))
        }

        /// Transcribes 16 kHz mono `samples`.
        pub fn run(
            &self,
            model: &Path,
            samples: &[f32],
            threads: usize,
            language: &str,
            display: &str,
        ) -> Result<Output, ItemError> {
            let ctx = self.context(model)?;
            let mut state = self.take_state(&ctx)?;
            let started = Instant::now();
            let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 5 });
            params.set_n_threads(threads.clamp(1, 64) as i32);
            params.set_language(Some(language));
            params.set_translate(false);
            // Each 30 s window on its own: conditioning on the previous text is what
            // lets whisper loop on a phrase.
            params.set_no_context(true);
            params.set_suppress_blank(true);
            params.set_suppress_nst(true);
            params.set_print_special(false);
            params.set_print_progress(false);
            params.set_print_realtime(false);
            params.set_print_timestamps(false);
            // SAFETY: a plain function that reads an atomic; no user data.
            unsafe {
                params.set_abort_callback(Some(should_abort));
                params.set_abort_callback_user_data(std::ptr::null_mut());
            }
            let eot = ctx.token_eot();
            let mut segments = Vec::new();
            let mut language = None;
            // Each stretch that may hold speech on its own; the silences between are
            // skipped (their time kept in the offsets). A state whose run was cut
            // short is dropped, not reused.
            for region in super::super::guards::speech_regions(samples, 16_000) {
                let offset_ms = (region.start / 16) as i64;
                let part = &samples[region];
                if part.len() < 1600 {
                    continue;
                }
                if let Err(e) = state.full(params.clone(), part) {
                    ItemError::check_stop()?;
                    return Err(ItemError::transient(format!(
                        "{display}: whisper failed: {e}"
                    )));
                }
                // whisper.cpp may end early without an error when asked to abort.
                ItemError::check_stop()?;
                collect(&state, part, offset_ms, eot, &mut segments);
                if language.is_none() {
                    language = whisper_rs::get_lang_str(state.full_lang_id_from_state())
                        .map(str::to_string);
                }
            }
            if let Ok(mut v) = self.states.lock() {
                v.push(state);
            }
            Ok(Output {
                segments,
                language,
                elapsed_ms: started.elapsed().as_millis() as u64,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(model: &str, language: &str) -> WhisperSetup {
        let cfg = TranscriptionConfig {
            whisper_model: model.into(),
            language: language.into(),
            ..TranscriptionConfig::default()
        };
        WhisperSetup::from_config(&cfg, PathBuf::from("/h/models"), 2)
    }

    #[test]
    fn language_and_threads() {
        assert_eq!(setup("base.en", "de").language(), "en");
        assert_eq!(setup("base", "").language(), "auto");
        assert_eq!(setup("small", "de").language(), "de");
        assert_eq!(threads_per_worker(3, 8), 3);
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(threads_per_worker(0, 1), cores);
        assert_eq!(threads_per_worker(0, 1000), 1);
    }

    #[test]
    fn a_missing_model_waits_for_a_pull_when_downloads_are_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = setup("base.en", "");
        s.models_dir = dir.path().to_path_buf();
        s.model = models::resolve("base.en", dir.path()).unwrap();
        s.download = false;
        let t = WhisperTranscriber::new(s);
        let e = t
            .transcribe_full(&dir.path().join("a.m4a"), &super::super::test_ctx("a.m4a"))
            .unwrap_err();
        if BUILT_IN {
            assert!(!e.is_permanent());
            assert!(e.message().contains("`astra models pull base.en`"), "{e}");
        } else {
            assert!(e.message().contains("without the `whisper` feature"), "{e}");
        }
    }
}
