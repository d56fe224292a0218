//! One memo through the stages, with its state saved after each, and the workers that
//! run `concurrency` memos at once.
use super::archive::{Archiver, Destination};
use super::error::ItemError;
use super::organize::{Organization, OrganizeInput, Organizer, Usage, rules::RulesOrganizer};
use super::sync::{SyncTarget, markdown::MarkdownTarget, notion::NotionTarget};
use super::transcribe::{self, Auto, Transcript};
use super::watch::Candidate;
use super::{JOB, Memo, audio, media};
use crate::catalogue::{Catalogue, Durability, TranscriptRecord};
use crate::config::{Config, OrganizationProvider};
use crate::fsutil;
use crate::run::lifecycle::RunContext;
use crate::run::result::{ItemResult, Stages};
use crate::state::{Item, ItemStatus, Stage, StateStore, Tokens, VoiceMemoState};
use anyhow::Result;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// The first retry waits this long; each next one twice as long, up to a day.
const BACKOFF_BASE_SECS: i64 = 5 * 60;
const BACKOFF_CAP_SECS: i64 = 24 * 60 * 60;
/// A memo held back by a rate limit or an empty account is looked at again after this.
const DEFERRED_SECS: i64 = 60;

/// The stages and everything they share during one run.
pub struct Pipeline {
    transcriber: Auto,
    organizer: Box<dyn Organizer>,
    sync: Box<dyn SyncTarget>,
    archiver: Archiver,
    state: StateStore,
    /// Every memo's record: done memos live only here (see `catalogue`).
    catalogue: Catalogue,
    /// The `[transcription]` config's hash, stamped on memos that wait or back off.
    transcription_hash: String,
    organizer_name: &'static str,
    /// The vault (Markdown target): where each memo's transcript note goes.
    vault: Option<PathBuf>,
    cache: PathBuf,
    /// The target's note categories, fetched on first use.
    categories: Mutex<Option<Vec<String>>>,
    max_attempts: u32,
    concurrency: usize,
    /// The items as this run found them (the job lock makes this run their only writer).
    items: Mutex<BTreeMap<String, Item>>,
    stages: Mutex<Stages>,
    /// What this run paid for: audio transcribed, tokens used.
    spent: Mutex<Spent>,
    /// `[transcription] model`: what an `openai` transcription is priced as.
    transcription_model: String,
    /// Voice Memos' titles and folders, by file name (`[voice_memo] library`).
    library: std::collections::HashMap<String, super::library::Recording>,
}

/// Audio transcribed and tokens used during one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spent {
    pub audio_seconds: Option<f64>,
    pub tokens: Option<Tokens>,
}

/// The organizer `organization.provider` names.
fn organizer(cfg: &Config) -> Result<Box<dyn Organizer>> {
    Ok(match cfg.organization.provider {
        OrganizationProvider::Rules => Box::new(RulesOrganizer),
        OrganizationProvider::Openai => Box::new(
            super::organize::openai::OpenAiOrganizer::from_config(&cfg.organization)?,
        ),
        OrganizationProvider::Gemini => Box::new(
            super::organize::gemini::GeminiOrganizer::from_config(&cfg.organization)?,
        ),
    })
}

fn tokens_of(u: Usage) -> Option<Tokens> {
    (u != Usage::default()).then_some(Tokens {
        prompt: u.prompt_tokens,
        completion: u.completion_tokens,
    })
}

/// The delay before retry number `attempts` (1-based), with ±10 % jitter.
pub fn backoff(attempts: u32) -> ChronoDuration {
    let exp = attempts.saturating_sub(1).min(20);
    let secs = (BACKOFF_BASE_SECS.saturating_mul(1 << exp)).min(BACKOFF_CAP_SECS);
    let jitter = 0.9 + rand::random::<f64>() * 0.2;
    ChronoDuration::seconds((secs as f64 * jitter) as i64)
}

/// Test hook: `ASTRA_TEST_CRASH_AT=<point>` aborts the process there, as a power cut
/// would. Points: `transcribed`, `organized`, `synced-unsaved`, `synced`, `archived-unsaved`,
/// `notion-page-created` (a Notion page made, its id not saved yet), `gemini-uploaded`
/// (audio in Gemini's Files API, not used or deleted yet), `gemini-uploaded-unrecorded`
/// (uploaded, its name not recorded yet), `catalogued-unsaved` (a memo done in the
/// catalogue, still in flight in state.json).
pub(crate) fn crash_point(point: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("ASTRA_TEST_CRASH_AT").ok())
        .as_deref()
        == Some(point)
    {
        std::process::abort();
    }
}

/// The configured sync target.
fn sync_target(ctx: &RunContext<'_>) -> Result<Box<dyn SyncTarget>> {
    let cfg = &ctx.config.sync;
    Ok(match cfg.target {
        crate::config::SyncTarget::Markdown => {
            Box::new(MarkdownTarget::new(cfg.markdown.dir.clone()))
        }
        crate::config::SyncTarget::Notion => Box::new(
            NotionTarget::from_config(&cfg.notion, &ctx.paths.config)?
                .with_schema_cache(super::sync::notion::schema::cache_path(&ctx.paths.cache)),
        ),
    })
}

impl Pipeline {
    pub fn new(
        ctx: &RunContext<'_>,
        state: VoiceMemoState,
        catalogue: Catalogue,
    ) -> Result<Pipeline> {
        let cfg = ctx.config;
        let cache = ctx.paths.cache.join("voice-memo");
        fsutil::create_private_dir(&cache)?;
        Ok(Pipeline {
            transcriber: transcribe::from_config(
                &cfg.transcription,
                transcribe::Setup {
                    work_root: cache.clone(),
                    models_dir: crate::models::dir(&ctx.paths.home),
                    workers: cfg.voice_memo.concurrency,
                },
            )?,
            organizer: organizer(cfg)?,
            sync: sync_target(ctx)?,
            archiver: Archiver {
                mode: cfg.voice_memo.archive_mode,
                archive_dir: cfg.voice_memo.archive_dir.clone(),
                invalid_dir: ctx.paths.invalid.clone(),
                failed_dir: ctx.paths.failed.clone(),
            },
            state: ctx.state.clone(),
            catalogue,
            transcription_hash: super::seen::transcription_hash(&cfg.transcription),
            vault: (cfg.sync.target == crate::config::SyncTarget::Markdown)
                .then(|| cfg.sync.markdown.dir.clone()),
            organizer_name: match cfg.organization.provider {
                OrganizationProvider::Rules => "rules",
                OrganizationProvider::Openai => "openai",
                OrganizationProvider::Gemini => "gemini",
            },
            cache,
            categories: Mutex::new(None),
            max_attempts: cfg.voice_memo.max_attempts,
            concurrency: cfg.voice_memo.concurrency,
            items: Mutex::new(state.items),
            stages: Mutex::new(Stages::default()),
            spent: Mutex::new(Spent::default()),
            transcription_model: cfg.transcription.model.clone(),
            library: Default::default(),
        })
    }

    /// The catalogue this run writes.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Audio transcribed and tokens used so far in this run.
    pub fn spent(&self) -> Spent {
        self.spent.lock().map(|s| *s).unwrap_or_default()
    }

    fn spend(&self, audio_seconds: Option<f64>, tokens: Option<Tokens>) {
        if let Ok(mut s) = self.spent.lock() {
            if let Some(a) = audio_seconds {
                s.audio_seconds = Some(s.audio_seconds.unwrap_or(0.0) + a);
            }
            if let Some(t) = tokens {
                s.tokens = Some(s.tokens.unwrap_or_default() + t);
            }
        }
    }

    /// Stage timings summed over the memos of this run.
    pub fn stages(&self) -> Stages {
        self.stages.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Processes `ready` with up to `concurrency` workers; results in input order.
    pub fn run(&self, ready: &[Candidate], interactive: bool) -> Vec<ItemResult> {
        let queue = Mutex::new(ready.iter().enumerate().collect::<VecDeque<_>>());
        let results = Mutex::new(vec![None; ready.len()]);
        // Before the workers: one lookup for the whole batch of what may exist already.
        let batch: Vec<_> = ready
            .iter()
            .filter(|c| c.problem.is_none())
            .map(|c| {
                let at = self
                    .snapshot(&c.name)
                    .recorded_at
                    .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                    .unwrap_or(c.recorded_at);
                (c.name.clone(), at)
            })
            .collect();
        self.sync.prefetch(&batch);
        let bar = progress_bar(ready.len(), interactive);
        let workers = self.concurrency.min(ready.len()).max(1);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    // A stopping run starts no new memo.
                    while let Some((i, c)) = crate::run::stop::should_stop()
                        .is_none()
                        .then(|| queue.lock().ok().and_then(|mut q| q.pop_front()))
                        .flatten()
                    {
                        if let Some(b) = &bar {
                            b.set_message(c.name.clone());
                        }
                        let r = self.process(c);
                        if let Ok(mut res) = results.lock() {
                            res[i] = Some(r);
                        }
                        if let Some(b) = &bar {
                            b.inc(1);
                        }
                    }
                });
            }
        });
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        results
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect()
    }

    fn time<T>(&self, stage: &str, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        if let Ok(mut s) = self.stages.lock() {
            s.add(stage, started.elapsed().as_millis() as u64);
        }
        out
    }

    fn snapshot(&self, name: &str) -> Item {
        self.items
            .lock()
            .ok()
            .and_then(|m| m.get(name).cloned())
            .unwrap_or_else(Item::new_pending)
    }

    /// Saves one item: in flight, to state.json (its truth) under the state lock, then
    /// mirrored to the catalogue; done, to the catalogue durably first (it becomes the
    /// truth), then removed from state.json. A crash between the two writes is
    /// repaired by `catalogue::reconcile` either way.
    fn save(&self, name: &str, item: &Item) -> Result<(), ItemError> {
        let to_item_error = |e: anyhow::Error| {
            let hint = fsutil::io_hint(&e)
                .map(|h| format!(". {h}"))
                .unwrap_or_default();
            ItemError::transient(format!("{name}: {e:#}{hint}"))
        };
        if let Ok(mut m) = self.items.lock() {
            m.insert(name.to_string(), item.clone());
        }
        let done = item.status.is_done();
        if done {
            self.catalogue
                .save_item(name, item, Durability::Durable)
                .map_err(to_item_error)?;
            crash_point("catalogued-unsaved");
        }
        self.state
            .update_job(JOB.name, |vm: &mut VoiceMemoState| {
                if done {
                    vm.items.remove(name);
                } else {
                    vm.items.insert(name.to_string(), item.clone());
                }
                let listed = vm.failed.iter().any(|f| f == name);
                if item.status == ItemStatus::Failed && !listed {
                    vm.failed.push(name.to_string());
                } else if item.status != ItemStatus::Failed && listed {
                    vm.failed.retain(|f| f != name);
                }
            })
            .map_err(to_item_error)?;
        if !done && let Err(e) = self.catalogue.save_item(name, item, Durability::Mirror) {
            // state.json holds it; the next run's reconcile mirrors it again.
            tracing::warn!(file = %name, error = %format!("{e:#}"), "could not update the memo catalogue");
        }
        Ok(())
    }

    /// One memo, start to finish or to its error.
    fn process(&self, c: &Candidate) -> ItemResult {
        let mut item = self.snapshot(&c.name);
        item.attempts += 1;
        item.status = ItemStatus::Pending;
        let outcome = self.save(&c.name, &item).and_then(|()| {
            if let Err(e) = self.catalogue.begin_attempt(&c.name, item.attempts) {
                tracing::warn!(file = %c.name, error = %format!("{e:#}"), "could not record the attempt");
            }
            self.advance(c, &mut item)
        });
        let error = match outcome {
            Ok(()) => {
                tracing::info!(file = %c.name, id = item.id.as_deref().unwrap_or(""), status = item.status.as_str(), "memo done");
                let _ = std::fs::remove_dir_all(self.cache.join(item.id.as_deref().unwrap_or("-")));
                None
            }
            Err(e) if e.is_deferred() => {
                // A rate limit or an empty account: the memo waits, its attempt unspent.
                item.attempts = item.attempts.saturating_sub(1);
                item.status = ItemStatus::Retrying;
                item.last_error = Some(e.message().to_string());
                item.next_attempt_at = Some(Utc::now() + ChronoDuration::seconds(DEFERRED_SECS));
                if let Err(err) = self.save(&c.name, &item) {
                    tracing::error!(file = %c.name, error = %err, "could not save a waiting memo");
                }
                tracing::warn!(file = %c.name, error = %e, "memo waits; the attempt does not count");
                Some(e.message().to_string())
            }
            Err(e) if e.is_waiting() => {
                // Waiting is not failing: no attempt spent, never dead-lettered; the
                // first run under another [transcription] config takes it up.
                item.attempts = item.attempts.saturating_sub(1);
                item.status = ItemStatus::Waiting;
                item.last_error = Some(e.message().to_string());
                item.next_attempt_at = None;
                item.transcription_hash = Some(self.transcription_hash.clone());
                if let Err(err) = self.save(&c.name, &item) {
                    tracing::error!(file = %c.name, error = %err, "could not save a waiting memo");
                }
                tracing::info!(file = %c.name, reason = %e, "memo waits for a transcriber");
                Some(e.message().to_string())
            }
            Err(e) if e.is_interrupted() => {
                let _ = self
                    .catalogue
                    .end_attempt(&c.name, "interrupted", Some(e.message()));
                item.attempts = item.attempts.saturating_sub(1);
                if let Err(err) = self.save(&c.name, &item) {
                    tracing::error!(file = %c.name, error = %err, "could not save an interrupted memo");
                }
                tracing::info!(file = %c.name, stage = ?item.stage, "memo interrupted; it resumes next run");
                Some(e.message().to_string())
            }
            Err(e) => {
                self.fail(c, &mut item, &e);
                tracing::warn!(file = %c.name, status = item.status.as_str(), attempts = item.attempts, error = %e, "memo failed");
                Some(e.message().to_string())
            }
        };
        ItemResult {
            id: item.id.clone().unwrap_or_default(),
            file: c.name.clone(),
            status: item.status.as_str().to_string(),
            error,
            outputs: item.outputs.clone(),
        }
    }

    /// Records a failure: a retry later, or the dead-letter list.
    fn fail(&self, c: &Candidate, item: &mut Item, e: &ItemError) {
        item.last_error = Some(e.message().to_string());
        if e.is_permanent() || item.attempts >= self.max_attempts {
            item.status = ItemStatus::Failed;
            item.next_attempt_at = None;
            if c.problem.is_none() && item.digest.is_none() {
                item.digest = fsutil::sha256_file(&c.path).ok();
            }
            if c.problem.is_none()
                && let Some(digest) = item.digest.clone()
            {
                match self
                    .archiver
                    .place(&c.path, &c.name, &digest, Destination::Failed)
                {
                    Ok(p) => item.archived_to = p.map(|p| p.display().to_string()),
                    Err(err) => {
                        tracing::warn!(file = %c.name, error = %format!("{err:#}"), "could not copy to failed/")
                    }
                }
            }
        } else {
            item.status = ItemStatus::Retrying;
            item.next_attempt_at = Some(Utc::now() + backoff(item.attempts));
            item.transcription_hash = Some(self.transcription_hash.clone());
        }
        if let Err(err) = self.save(&c.name, item) {
            tracing::error!(file = %c.name, error = %err, "could not record the failure");
        }
    }

    /// Voice Memos' library for this run: its titles and folders go into the outputs.
    pub fn set_library(&mut self, lib: super::library::Library) {
        self.library = lib.recordings;
    }

    /// What Voice Memos' library says about this recording. The library knows the file
    /// by its name on disk, which after a rename in Voice Memos is not the memo's name
    /// (the one it was first seen under).
    fn recording(&self, c: &Candidate) -> Option<&super::library::Recording> {
        let file = c.path.file_name()?.to_str()?;
        self.library.get(file)
    }

    /// The memo's title and folder from Voice Memos: the title is the memo's and (when
    /// it made one note) the note's; the folder is a tag on its notes.
    fn apply_library(&self, c: &Candidate, org: &mut Organization) {
        let Some(rec) = self.recording(c) else {
            return;
        };
        if let Some(title) = rec
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            org.title = title.to_string();
            if let [note] = org.notes.as_mut_slice() {
                note.title = title.to_string();
            }
        }
        if let Some(folder) = rec
            .folder
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            let tag = folder.split_whitespace().collect::<Vec<_>>().join("-");
            for note in &mut org.notes {
                if !note.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
                    note.tags.push(tag.clone());
                }
            }
        }
    }

    /// Runs the stages this item has not finished yet.
    fn advance(&self, c: &Candidate, item: &mut Item) -> Result<(), ItemError> {
        if let Some(problem) = &c.problem {
            return Err(ItemError::permanent(problem.clone()));
        }
        audio::check(&c.path, &c.name)?;
        if item.digest.is_none() {
            let digest = fsutil::sha256_file(&c.path)?;
            item.id = Some(super::memo_id(&c.name, &digest));
            item.digest = Some(digest);
            item.recorded_at = Some(c.recorded_at.to_rfc3339());
        }
        let mut memo = Memo {
            transcript: String::new(),
            name: c.name.clone(),
            path: c.path.clone(),
            id: item.id.clone().unwrap_or_default(),
            recorded_at: item
                .recorded_at
                .as_deref()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .unwrap_or(c.recorded_at),
            title: self.recording(c).and_then(|r| {
                let t = r.title.as_deref()?.trim();
                (!t.is_empty()).then(|| t.to_string())
            }),
        };
        let cache = self.cache.join(&memo.id);
        ItemError::check_stop()?;
        let (transcript, fresh) = self.time("transcribe", || self.transcript(&memo, &cache))?;
        if item.audio_seconds.is_none() {
            item.audio_seconds = transcript
                .audio_seconds
                .or_else(|| media::duration(&memo.path).map(|d| (d * 1000.0).round() / 1000.0));
        }
        if item.language.is_none() {
            item.language = transcript.language.clone();
        }
        let transcript = transcript.text;
        memo.transcript = transcript.clone();
        if let Some(provider) = fresh {
            self.spend(item.audio_seconds, None);
            if provider == "openai" {
                crate::costs::meter::audio(
                    &self.transcription_model,
                    item.audio_seconds.unwrap_or(0.0),
                );
            }
            if let Some(t) = transcribe::gemini::take_tokens(&cache) {
                item.tokens = Some(item.tokens.unwrap_or_default() + t);
                self.spend(None, Some(t));
            }
        }
        if item.stage.is_none() {
            item.stage = Some(Stage::Transcribed);
            self.save(&c.name, item)?;
            crash_point("transcribed");
        }
        ItemError::check_stop()?;
        let (mut org, usage) =
            self.time("organize", || self.organization(&memo, &transcript, &cache))?;
        self.apply_library(c, &mut org);
        if let Some(t) = tokens_of(usage) {
            item.tokens = Some(item.tokens.unwrap_or_default() + t);
            self.spend(None, Some(t));
        }
        if item.stage < Some(Stage::Organized) {
            let json = serde_json::to_value(&org).unwrap_or_default();
            if let Err(e) = self.catalogue.set_organization(&c.name, &org.title, &json) {
                tracing::warn!(file = %c.name, error = %format!("{e:#}"), "could not catalogue the organization");
            }
            item.stage = Some(Stage::Organized);
            self.save(&c.name, item)?;
            crash_point("organized");
        }
        if org.discard {
            item.last_error = Some(discard_reason(&transcript, self.organizer_name));
            // The transcriber's verdict (Gemini's garbage reason) says why, when it gave one.
            if let Some(d) = transcribe::gemini::discarded(&cache) {
                item.last_error = Some(format!("discarded: {}", d.reason));
            }
            return self.finish(c, item, Destination::Invalid, ItemStatus::Discarded, None);
        }
        ItemError::check_stop()?;
        if item.stage < Some(Stage::Synced)
            && let Some(vault) = &self.vault
        {
            // Before the sync: the todos, notes and journal entry link to it.
            let provider = self.transcript_provider(&c.name);
            match super::sync::markdown::write_transcript_note(
                vault,
                &memo,
                &org,
                &transcript,
                &provider,
            ) {
                Ok(rel) => {
                    let _ = self
                        .catalogue
                        .add_transcript_file(&c.name, &vault.join(rel).display().to_string());
                }
                Err(e) => {
                    return Err(ItemError::transient(format!(
                        "{}: writing the transcript note to the vault: {e:#}",
                        c.name
                    )));
                }
            }
        }
        if item.stage < Some(Stage::Synced) {
            let previous = item.outputs.clone();
            let mut progress = |o: &crate::state::Outputs| {
                let mut partial = item.clone();
                partial.outputs = o.clone();
                self.save(&c.name, &partial)
            };
            item.outputs = self.time("sync", || {
                self.sync.sync(&memo, &org, &previous, &mut progress)
            })?;
            crash_point("synced-unsaved");
            item.stage = Some(Stage::Synced);
            self.save(&c.name, item)?;
            crash_point("synced");
        }
        self.finish(
            c,
            item,
            Destination::Archive,
            ItemStatus::Completed,
            Some(&transcript),
        )
    }

    /// Who transcribed `file` (from its catalogue record; `unknown` when it is not there).
    fn transcript_provider(&self, file: &str) -> String {
        self.catalogue
            .get(file)
            .ok()
            .flatten()
            .and_then(|r| r.transcript.map(|t| t.provider))
            .unwrap_or_else(|| "unknown".into())
    }

    /// `<archived recording>.txt`: the transcript beside the audio, for people (a
    /// sidecar moved or copied there already is one).
    fn keep_transcript(&self, name: &str, archived: &Path, transcript: &str) {
        let path = archived.with_extension("txt");
        if !path.exists() {
            let mut text = transcript.trim().to_string();
            text.push('\n');
            if let Err(e) = fsutil::atomic_write(&path, text.as_bytes(), 0o600) {
                tracing::warn!(file = %name, error = %format!("{e:#}"), "could not keep the transcript beside the archived audio");
                return;
            }
        }
        let _ = self
            .catalogue
            .add_transcript_file(name, &path.display().to_string());
    }

    fn finish(
        &self,
        c: &Candidate,
        item: &mut Item,
        dest: Destination,
        status: ItemStatus,
        transcript: Option<&str>,
    ) -> Result<(), ItemError> {
        let digest = item.digest.clone().unwrap_or_default();
        let placed = self
            .time("archive", || {
                self.archiver.place(&c.path, &c.name, &digest, dest)
            })
            .map_err(|e| ItemError::transient(format!("{}: archiving: {e:#}", c.name)))?;
        if let (Some(p), Some(t)) = (&placed, transcript) {
            self.keep_transcript(&c.name, p, t);
        }
        crash_point("archived-unsaved");
        item.archived_to = placed.map(|p| p.display().to_string());
        item.stage = Some(Stage::Archived);
        item.status = status;
        if status != ItemStatus::Discarded {
            item.last_error = None;
        }
        item.next_attempt_at = None;
        item.transcription_hash = None;
        self.save(&c.name, item)
    }

    /// The cached transcript, or a new one (cached before it is used) and the
    /// provider that made it. `transcript.txt` is the text; `transcript.json` beside
    /// it, written first, keeps the segments, provider, model and language.
    fn transcript(
        &self,
        memo: &Memo,
        cache: &Path,
    ) -> Result<(Transcript, Option<&'static str>), ItemError> {
        let path = cache.join("transcript.txt");
        let meta_path = cache.join("transcript.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let meta = std::fs::read(&meta_path)
                .ok()
                .and_then(|b| serde_json::from_slice::<transcribe::CachedMeta>(&b).ok());
            return Ok((transcribe::CachedMeta::restore(meta, text), None));
        }
        let ctx = transcribe::TranscribeCtx {
            display: &memo.name,
            cache_dir: cache,
        };
        let t = self.transcriber.transcribe(&memo.path, &ctx)?;
        tracing::info!(file = %memo.name, provider = t.provider, chars = t.text.len(), segments = t.segments.len(), "transcribed");
        if t.text.trim().is_empty() && matches!(t.provider, "command" | "openai") {
            // A recognizer that hears nothing in audio that is not silent is broken
            // (wrong model, wrong arguments), not a reason to discard the memo.
            if let Some(db) = media::loudest_db(&memo.path, std::time::Duration::from_secs(120))
                && db > SILENT_DB
            {
                return Err(ItemError::transient(format!(
                    "{}: the {} transcriber returned an empty transcript, but the audio is not silent \
                     (loudest {db:.1} dB). Check [transcription] command/model in config.toml; the memo is retried",
                    memo.name, t.provider
                )));
            }
        }
        let record = TranscriptRecord {
            text: t.text.clone(),
            provider: t.provider.to_string(),
            model: t.model.clone(),
            language: t.language.clone(),
            segments: serde_json::to_value(&t.segments)
                .unwrap_or_else(|_| serde_json::Value::Array(Vec::new())),
        };
        if let Err(e) = self.catalogue.set_transcript(&memo.name, &record) {
            tracing::warn!(file = %memo.name, error = %format!("{e:#}"), "could not catalogue the transcript");
        }
        fsutil::create_private_dir(cache)?;
        let meta = serde_json::to_vec_pretty(&transcribe::CachedMeta::of(&t))
            .map_err(|e| ItemError::transient(e.to_string()))?;
        fsutil::atomic_write(&meta_path, &meta, 0o600)?;
        fsutil::atomic_write(&path, t.text.as_bytes(), 0o600)?;
        let provider = t.provider;
        Ok((t, Some(provider)))
    }

    /// The sync target's categories, asked once per run.
    fn categories(&self) -> Result<Vec<String>, ItemError> {
        let mut cached = self
            .categories
            .lock()
            .map_err(|_| ItemError::transient("categories lock poisoned"))?;
        if let Some(c) = cached.as_ref() {
            return Ok(c.clone());
        }
        let c = self.sync.categories()?;
        *cached = Some(c.clone());
        Ok(c)
    }

    /// The cached organization, or a new one (cached before it is used) and the
    /// tokens it took.
    fn organization(
        &self,
        memo: &Memo,
        transcript: &str,
        cache: &Path,
    ) -> Result<(Organization, Usage), ItemError> {
        let path = cache.join("organization.json");
        if let Some(org) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            return Ok((org, Usage::default()));
        }
        if let Some(d) = transcribe::gemini::discarded(cache) {
            return Ok((d.organization(), Usage::default()));
        }
        let categories = self.categories()?;
        let input = OrganizeInput {
            transcript,
            recorded_at: memo.recorded_at,
            categories: &categories,
        };
        let organized = self.organizer.organize(&input)?;
        let org = organized.org;
        let bytes =
            serde_json::to_vec_pretty(&org).map_err(|e| ItemError::transient(e.to_string()))?;
        fsutil::create_private_dir(cache)?;
        fsutil::atomic_write(&path, &bytes, 0o600)?;
        Ok((org, organized.usage))
    }
}

/// Audio whose loudest sample is below this (dB) is silence.
const SILENT_DB: f64 = -60.0;

/// Why the organizer kept nothing, in words (the discard's recorded reason).
fn discard_reason(transcript: &str, organizer: &str) -> String {
    let words = transcript.split_whitespace().count();
    if words == 0 {
        return "the transcript is empty (silence or noise)".to_string();
    }
    let head: String = transcript.chars().take(80).collect();
    format!(
        "the {organizer} organizer found nothing to keep in a {words}-word transcript: \"{}\"",
        head.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

fn progress_bar(len: usize, interactive: bool) -> Option<indicatif::ProgressBar> {
    if !interactive || len == 0 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// Move mode: a memo moved to the archive just before a crash is no longer in the
/// inbox. Finds such items (synced, not archived) in the archive and completes them.
pub fn recover_moved(
    ctx: &RunContext<'_>,
    state: &VoiceMemoState,
    catalogue: &Catalogue,
) -> Result<u64> {
    let inbox = &ctx.config.voice_memo.inbox;
    let archive = &ctx.config.voice_memo.archive_dir;
    let mut recovered = 0;
    for (name, item) in &state.items {
        if item.status != ItemStatus::Pending
            || item.stage != Some(Stage::Synced)
            || inbox.join(name).exists()
        {
            continue;
        }
        let Some(digest) = &item.digest else { continue };
        if let Some(p) = super::archive::find_existing_copy(archive, name, digest)? {
            let mut done = item.clone();
            done.stage = Some(Stage::Archived);
            done.status = ItemStatus::Completed;
            done.archived_to = Some(p.display().to_string());
            catalogue.save_item(name, &done, Durability::Durable)?;
            ctx.state.update_job(JOB.name, |vm: &mut VoiceMemoState| {
                vm.items.remove(name);
            })?;
            tracing::info!(file = %name, "completed a memo moved to the archive before an interruption");
            recovered += 1;
        }
    }
    Ok(recovered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_minutes_to_a_day() {
        let secs = |a| backoff(a).num_seconds();
        assert!((270..=330).contains(&secs(1)), "{}", secs(1));
        assert!((540..=660).contains(&secs(2)));
        assert!((1080..=1320).contains(&secs(3)));
        assert!((77_760..=95_040).contains(&secs(30)));
    }
}
