//! The voice-memo job: watch → transcribe → organize → sync → archive, one memo at a
//! time per worker, its progress saved after every stage so a retry resumes where it
//! stopped and never pays for a transcription or writes an output twice.
pub mod archive;
pub mod audio;
pub mod decode;
pub mod error;
mod follow;
pub mod library;
pub mod media;
pub mod organize;
mod pipeline;
mod preview;
pub mod qta;
pub mod seen;
pub mod sync;
pub mod tcc;
pub mod transcribe;
pub mod watch;

use crate::exit::usage;
use crate::run::lifecycle::{Job, JobId, Outcome, RunContext};
use crate::run::result::{ItemResult, Stages, Stats};
use anyhow::Result;
use chrono::{DateTime, FixedOffset, Utc};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use follow::watch_loop;
pub use pipeline::Pipeline;

/// The job's names in state/history and on the command line.
pub const JOB: JobId = &crate::jobs::VOICE_MEMO;

/// One recording on its way through the pipeline.
#[derive(Debug, Clone)]
pub struct Memo {
    /// The file name (the key in state).
    pub name: String,
    pub path: PathBuf,
    /// Short id from the file name and content digest ([`memo_id`]): the marker on
    /// everything the memo writes.
    pub id: String,
    pub recorded_at: DateTime<FixedOffset>,
    /// What was heard (empty until transcribed): the Notion pages carry it.
    pub transcript: String,
}

/// A memo's short id: the start of SHA-256(file name, NUL, content digest). The name
/// is part of it because two files with the same audio are still two memos (each
/// with its own sidecar transcript and cache); the content is part of it so that a
/// new recording reusing an old name is a new memo.
pub fn memo_id(name: &str, digest: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0u8]);
    h.update(digest.as_bytes());
    crate::fsutil::hex(&h.finalize()[..6])
}

/// The voice-memo job.
pub struct VoiceMemoJob;

impl Job for VoiceMemoJob {
    fn id(&self) -> JobId {
        JOB
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<Outcome> {
        run_once(ctx)
    }
}

/// One pass over the inbox.
pub fn run_once(ctx: &RunContext<'_>) -> Result<Outcome> {
    let cfg = &ctx.config.voice_memo;
    let watch_started = Instant::now();
    if !ensure_inbox(ctx)? {
        return Ok(Outcome {
            message: format!(
                "Nothing to do: the inbox {} does not exist yet (the first real run creates it)",
                cfg.inbox.display()
            ),
            ..Outcome::default()
        });
    }
    let rules = watch::WatchRules {
        extensions: cfg.extensions.clone(),
        settle: Duration::from_secs(cfg.settle_seconds),
        retry_now: ctx.opts.retry_now,
        transcription_hash: seen::transcription_hash(&ctx.config.transcription),
    };
    let now = Utc::now();
    let listed = watch::list(&cfg.inbox, &rules)?;
    let library = library::for_run(cfg.library, &cfg.inbox, &ctx.paths.cache)?;
    if library.is_some() && cfg.archive_mode == crate::config::ArchiveMode::Move {
        return Err(usage(format!(
            "[voice_memo] archive_mode = \"move\" would take recordings out of Voice Memos' folder {} (Voice Memos would lose them): set archive_mode = \"copy\" or \"none\" in {}",
            cfg.inbox.display(),
            ctx.paths.config.display()
        )));
    }
    let (listed, evicted) = match &library {
        Some(lib) => apply_library(lib, &cfg.inbox, listed),
        None => (listed, Vec::new()),
    };
    let index = seen::index_path(ctx.paths);
    let db = crate::catalogue::db_path(ctx.paths);
    // The fast path: an empty inbox, or names the seen-index settles, need no parse
    // of state.json — unless an interrupted run left memos pending.
    let quick_pending = if listed.is_empty() && evicted.is_empty() {
        seen::pending_if_current(ctx.state.path(), &index)
    } else {
        None
    };
    let (open, parsed, waiting) = match quick_pending {
        Some(0) => (Vec::new(), None, 0),
        _ => {
            if !ctx.opts.dry_run {
                crate::fsutil::create_private_dir(&ctx.paths.cache)?;
            }
            // A file Voice Memos renamed is the memo it was first seen as: when that
            // one is settled, the new name is not a new memo.
            let renames = match &library {
                Some(lib) => {
                    let mut ids = library::Identities::load(&ctx.paths.cache);
                    let r = ids.renames(lib, listed.iter().map(|l| l.name.as_str()));
                    if !ctx.opts.dry_run {
                        ids.save()?;
                    }
                    r
                }
                None => Default::default(),
            };
            let wanted = listed
                .iter()
                .map(|l| l.name.as_str())
                .chain(renames.values().map(String::as_str))
                .chain(evicted.iter().map(|r| r.file.as_str()))
                .collect();
            let (seen, parsed) = seen::load(
                ctx.state.path(),
                &index,
                &db,
                ctx.opts.dry_run,
                Some(&wanted),
            )?;
            let mut waiting = 0;
            // Evicted audio waits, unless that memo was processed before its audio
            // left this Mac.
            for r in &evicted {
                if matches!(seen.names.get(&r.file), Some(seen::Known::Settled)) {
                    continue;
                }
                waiting += 1;
                tracing::info!(
                    file = %r.file,
                    title = r.title.as_deref().unwrap_or(""),
                    "waiting: Voice Memos lists it but its audio is not on this Mac yet (kept in iCloud); it is processed once Voice Memos downloads it (play it once in Voice Memos to fetch it)"
                );
            }
            let open: Vec<_> = listed
                .into_iter()
                .filter(|l| {
                    if let Some(first) = renames.get(&l.name)
                        && matches!(seen.names.get(first), Some(seen::Known::Settled))
                    {
                        tracing::debug!(file = %l.name, first = %first, "renamed in Voice Memos; already processed under its first name");
                        return false;
                    }
                    match seen.skip(&l.name, now, ctx.opts.retry_now, &rules.transcription_hash) {
                        Some(w) => {
                            waiting += usize::from(w);
                            false
                        }
                        None => true,
                    }
                })
                .collect();
            if open.is_empty() && seen.pending == 0 {
                (open, None, waiting)
            } else {
                let state = match parsed {
                    Some(s) => s,
                    None => ctx.state.load_job(JOB.name)?,
                };
                (open, Some(state), waiting)
            }
        }
    };
    let Some(state) = parsed else {
        let mut stages = Stages::default();
        stages.add("watch", watch_started.elapsed().as_millis() as u64);
        let stats = Stats {
            skipped: waiting as u64,
            ..Stats::default()
        };
        return Ok(Outcome {
            message: format!(
                "Nothing to do: no new recordings in {}",
                cfg.inbox.display()
            ),
            stats,
            stages,
            items: Vec::new(),
        });
    };
    // The catalogue from here on: reconciled with state.json (which it migrates on the
    // first run) before anything is decided; a dry run only reads it.
    let catalogue = if ctx.opts.dry_run {
        crate::catalogue::Catalogue::open_read_only(ctx.paths)?
    } else {
        Some(crate::catalogue::Catalogue::open(ctx.paths)?)
    };
    let state = match &catalogue {
        Some(cat) if !ctx.opts.dry_run => crate::catalogue::reconcile(cat, &ctx.state)?,
        _ => state,
    };
    // A name the catalogue has done is settled even if the seen-index did not say so.
    let listed: Vec<_> = match &catalogue {
        Some(cat) => open
            .into_iter()
            .filter(|l| {
                state.items.contains_key(&l.name)
                    || !matches!(
                        cat.status_of(&l.name).ok().flatten().as_deref(),
                        Some("completed" | "discarded")
                    )
            })
            .collect(),
        None => open,
    };
    let mut scan = watch::scan(&cfg.inbox, listed, &rules, &state, now);
    scan.waiting += waiting;
    if cfg.settle_seconds > 0 && !scan.ready.is_empty() {
        std::thread::sleep(Duration::from_millis(1000.min(cfg.settle_seconds * 1000)));
        let (ready, waiting) = watch::second_look(scan.ready);
        scan.ready = ready;
        scan.waiting += waiting;
        scan.settling += waiting;
    }
    let mut stages = Stages::default();
    stages.add("watch", watch_started.elapsed().as_millis() as u64);
    let mut stats = Stats {
        found: scan.ready.len() as u64,
        skipped: scan.waiting as u64,
        settling: scan.settling as u64,
        // Tried before: not new.
        retried: scan
            .ready
            .iter()
            .filter(|c| state.items.get(&c.name).is_some_and(|i| i.attempts > 0))
            .count() as u64,
        ..Stats::default()
    };
    if ctx.opts.dry_run {
        let items: Vec<ItemResult> = scan
            .ready
            .iter()
            .map(|c| preview::preview(ctx.config, std::env::temp_dir(), c))
            .collect();
        if !ctx.opts.json && !ctx.opts.quiet {
            preview::print(&items);
        }
        let message = format!("Would process {} memo(s)", stats.found);
        return Ok(Outcome {
            message,
            stats,
            stages,
            items,
        });
    }
    let Some(catalogue) = catalogue else {
        unreachable!("a run that writes opened the catalogue")
    };
    let recovered = if cfg.archive_mode == crate::config::ArchiveMode::Move {
        pipeline::recover_moved(ctx, &state, &catalogue)?
    } else {
        0
    };
    ctx.begin_work()?;
    let mut pipeline = Pipeline::new(ctx, state, catalogue)?;
    if let Some(lib) = library {
        pipeline.set_library(lib);
    }
    let items = pipeline.run(&scan.ready, ctx.interactive);
    // The next run with nothing new finds a current seen-index.
    if let Err(e) = seen::load(
        ctx.state.path(),
        &index,
        &db,
        false,
        Some(&Default::default()),
    ) {
        tracing::debug!(error = %format!("{e:#}"), "could not refresh the seen-index");
    }
    stages.0.extend(pipeline.stages().0);
    for it in &items {
        match it.status.as_str() {
            "completed" => stats.processed += 1,
            "discarded" => {
                stats.processed += 1;
                stats.discarded += 1;
            }
            "pending" | "waiting" => stats.skipped += 1,
            "retrying" => {
                stats.failed += 1;
                stats.retrying += 1;
            }
            _ => stats.failed += 1,
        }
    }
    stats.processed += recovered;
    let spent = pipeline.spent();
    stats.audio_seconds = spent.audio_seconds.map(|a| (a * 10.0).round() / 10.0);
    stats.tokens = spent.tokens;
    let waiting = items.iter().filter(|i| i.status == "waiting").count() as u64;
    let mut message = match (stats.found, stats.failed + waiting) {
        (0, _) => "Nothing to do".to_string(),
        (n, 0) => format!("Processed {n} memo(s)"),
        (n, f) => format!("Processed {} of {n} memo(s)", n.saturating_sub(f)),
    };
    if stats.failed > 0 {
        message.push_str(&format!("; {} failed", stats.failed));
    }
    if waiting > 0 {
        message.push_str(&format!("; {waiting} waiting for a transcriber"));
    }
    Ok(Outcome {
        message,
        stats,
        stages,
        items,
    })
}

/// What Voice Memos' library says about the listed files: a memo in Recently Deleted
/// is not processed (what it already produced stays). Returns the files to go on
/// with, and the live memos whose audio is not on this Mac yet (they wait).
fn apply_library(
    lib: &library::Library,
    inbox: &std::path::Path,
    listed: Vec<watch::Listed>,
) -> (Vec<watch::Listed>, Vec<library::Recording>) {
    let listed: Vec<_> = listed
        .into_iter()
        .filter(|l| match lib.get(&l.name) {
            Some(r) if r.deleted => {
                tracing::debug!(file = %l.name, "in Voice Memos' Recently Deleted: not processed");
                false
            }
            _ => true,
        })
        .collect();
    let evicted = lib.evicted(inbox).into_iter().cloned().collect();
    (listed, evicted)
}

/// The default inbox is created on first use (false: it does not exist yet and this
/// is a dry run); a configured one elsewhere must exist.
fn ensure_inbox(ctx: &RunContext<'_>) -> Result<bool> {
    let inbox = &ctx.config.voice_memo.inbox;
    match std::fs::metadata(inbox) {
        Ok(m) if m.is_dir() => return Ok(true),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            let (what, fix) = watch::inbox_problem(inbox, &e);
            return Err(anyhow::anyhow!("{what}: {fix}"));
        }
        _ => {}
    }
    if inbox.starts_with(&ctx.paths.home) {
        if ctx.opts.dry_run {
            return Ok(false);
        }
        crate::fsutil::create_private_dir(inbox)?;
        return Ok(true);
    }
    Err(usage(format!(
        "the inbox {} does not exist: create it, or set [voice_memo] inbox in {} to the folder your recordings land in",
        inbox.display(),
        ctx.paths.config.display()
    )))
}
