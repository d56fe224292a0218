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
mod unchanged;
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
    /// The title the user gave the memo in Voice Memos (`[voice_memo] library`).
    pub title: Option<String>,
}

/// Between a memo's title and its file name in `source`.
const SOURCE_SEPARATOR: &str = " · ";

impl Memo {
    /// What the outputs' `source` says: the file name, or `Title · file name` when
    /// Voice Memos has a title for it. The file name always ends it, so a lookup by
    /// source finds the memo's pages whatever its title was when they were written
    /// ([`is_source_of`]); titles alone repeat ("New Recording 3", a place name).
    pub fn source(&self) -> String {
        match self
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(t) => format!("{}{SOURCE_SEPARATOR}{}", one_line(t), self.name),
            None => self.name.clone(),
        }
    }
}

/// Whether an output's `source` belongs to the memo named `name`: the bare file name
/// (astra before titles, or a memo without one) or any title followed by it.
pub fn is_source_of(source: &str, name: &str) -> bool {
    source == name
        || source
            .strip_suffix(name)
            .is_some_and(|head| head.ends_with(SOURCE_SEPARATOR))
}

/// The memo file name a `source` ends with, among `names` (sorted): the whole source,
/// else the part after a separator.
pub fn source_name<'a>(source: &str, names: &'a [String]) -> Option<&'a String> {
    let find = |n: &str| {
        names
            .binary_search_by(|x| x.as_str().cmp(n))
            .ok()
            .map(|i| &names[i])
    };
    find(source).or_else(|| {
        source
            .match_indices(SOURCE_SEPARATOR)
            .find_map(|(i, sep)| find(&source[i + sep.len()..]))
    })
}

/// `s` on one line: runs of whitespace, newlines included, become one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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
    let now = Utc::now();
    let index = seen::index_path(ctx.paths);
    // Nothing can be new when the inbox, Voice Memos' database and the settings are as
    // the last nothing-to-do run found them and state.json has nothing in flight.
    let mark = unchanged::path(ctx.paths);
    let catalogue_db = crate::catalogue::db_path(ctx.paths);
    let catalogue_wal = {
        let mut p = catalogue_db.clone().into_os_string();
        p.push("-wal");
        std::path::PathBuf::from(p)
    };
    let look = unchanged::look(
        &cfg.inbox,
        &[ctx.state.path(), &catalogue_db, &catalogue_wal],
        &unchanged::settings_digest(ctx.config),
    );
    if !ctx.opts.retry_now
        && look
            .as_ref()
            .is_some_and(|l| unchanged::same_as_recorded(&mark, l))
        && seen::pending_if_current(ctx.state.path(), &index) == Some(0)
    {
        return Ok(nothing_new(cfg, watch_started, 0));
    }
    let rules = watch::WatchRules {
        extensions: cfg.extensions.clone(),
        settle: Duration::from_secs(cfg.settle_seconds),
        retry_now: ctx.opts.retry_now,
        transcription_hash: seen::transcription_hash(&ctx.config.transcription),
    };
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
    let db = crate::catalogue::db_path(ctx.paths);
    let nothing_evicted = evicted.is_empty();
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
            // A file Voice Memos renamed is the memo it was first seen as (same unique
            // id): it goes on under that name.
            let listed = match &library {
                Some(lib) => {
                    let mut ids = library::Identities::load(&ctx.paths.cache);
                    let renames = ids.renames(lib, listed.iter().map(|l| l.name.as_str()));
                    if !ctx.opts.dry_run {
                        ids.save()?;
                    }
                    as_first_names(listed, &renames)
                }
                None => listed,
            };
            let wanted = listed
                .iter()
                .map(|l| l.name.as_str())
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
        if !ctx.opts.dry_run {
            match look.as_ref().filter(|_| waiting == 0 && nothing_evicted) {
                Some(l) => unchanged::record(&mark, l),
                None => unchanged::forget(&mark),
            }
        }
        return Ok(nothing_new(cfg, watch_started, waiting));
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
    unchanged::forget(&mark);
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

/// A run that found no new recordings (`waiting`: memos that wait for their time).
fn nothing_new(
    cfg: &crate::config::VoiceMemoConfig,
    watch_started: Instant,
    waiting: usize,
) -> Outcome {
    let mut stages = Stages::default();
    stages.add("watch", watch_started.elapsed().as_millis() as u64);
    Outcome {
        message: format!(
            "Nothing to do: no new recordings in {}",
            cfg.inbox.display()
        ),
        stats: Stats {
            skipped: waiting as u64,
            ..Stats::default()
        },
        stages,
        items: Vec::new(),
    }
}

/// What Voice Memos' library says about the listed files: a memo in Recently Deleted
/// is not processed (what it already produced stays). Returns the files to go on
/// with, and the live memos whose audio is not on this Mac yet (they wait).
fn apply_library(
    lib: &library::Library,
    inbox: &std::path::Path,
    listed: Vec<watch::Listed>,
) -> (Vec<watch::Listed>, Vec<library::Recording>) {
    let on_disk: std::collections::HashSet<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    let evicted = lib.evicted(inbox, &on_disk).into_iter().cloned().collect();
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
    (listed, evicted)
}

/// Files Voice Memos renamed, as the memos they were first seen as (`renames`: first
/// name by current name). Such a memo keeps its name — its key in state and the
/// catalogue, the `source` of what it wrote, its id — and only its audio is read from
/// the file's new place, so a memo renamed half-way through is finished, not started
/// again, and one already done is not done twice. A file still there under a first
/// name that a renamed file now carries is the same memo twice: the renamed file,
/// which the library lists, is the one kept.
fn as_first_names(
    listed: Vec<watch::Listed>,
    renames: &std::collections::HashMap<String, String>,
) -> Vec<watch::Listed> {
    if renames.is_empty() {
        return listed;
    }
    let taken: std::collections::HashSet<&str> = renames.values().map(String::as_str).collect();
    listed
        .into_iter()
        .filter_map(|l| match renames.get(&l.name) {
            Some(first) => {
                tracing::debug!(file = %l.name, first = %first, "renamed in Voice Memos: the memo first seen as {first}");
                Some(watch::Listed {
                    name: first.clone(),
                    path: l.path,
                })
            }
            None if taken.contains(l.name.as_str()) => None,
            None => Some(l),
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn memo(name: &str, title: Option<&str>) -> Memo {
        Memo {
            name: name.into(),
            path: PathBuf::from(name),
            id: "0123456789ab".into(),
            recorded_at: DateTime::parse_from_rfc3339("2026-01-14T09:00:00+01:00").unwrap(),
            transcript: String::new(),
            title: title.map(str::to_string),
        }
    }

    #[test]
    fn the_source_is_the_title_then_the_file_name() {
        let name = "20260114 090000-AA11.qta";
        assert_eq!(memo(name, None).source(), name);
        assert_eq!(memo(name, Some("  ")).source(), name);
        let titled = memo(name, Some("Dentist\n and  garden"));
        assert_eq!(titled.source(), format!("Dentist and garden · {name}"));
        assert!(is_source_of(&titled.source(), name));
        assert!(is_source_of(name, name), "pages written before titles");
        assert!(is_source_of(&format!("Old title · {name}"), name));
        // Another file whose name ends the same way is another memo.
        assert!(!is_source_of("x20260114 090000-AA11.qta", name));
        assert!(!is_source_of(&format!("T · x{name}"), name));
    }

    #[test]
    fn a_source_names_its_memo_among_many() {
        let mut names = vec![
            "a.m4a".to_string(),
            "b · c.m4a".to_string(),
            "ba.m4a".to_string(),
        ];
        names.sort();
        assert_eq!(source_name("a.m4a", &names).unwrap(), "a.m4a");
        assert_eq!(source_name("Title · ba.m4a", &names).unwrap(), "ba.m4a");
        assert_eq!(source_name("b · c.m4a", &names).unwrap(), "b · c.m4a");
        assert_eq!(
            source_name("Title · b · c.m4a", &names).unwrap(),
            "b · c.m4a"
        );
        assert_eq!(source_name("Title · d.m4a", &names), None);
        assert_eq!(source_name("xa.m4a", &names), None);
    }

    #[test]
    fn a_renamed_file_goes_on_as_the_memo_it_was_first_seen_as() {
        let l = |n: &str| watch::Listed {
            name: n.into(),
            path: PathBuf::from("/in").join(n),
        };
        let renames = [("new.qta".to_string(), "first.qta".to_string())]
            .into_iter()
            .collect();
        // The old file still there under the first name is the same memo: one is kept.
        let out = as_first_names(vec![l("first.qta"), l("new.qta"), l("other.m4a")], &renames);
        let got: Vec<_> = out
            .iter()
            .map(|l| (l.name.as_str(), l.path.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [("first.qta", "/in/new.qta"), ("other.m4a", "/in/other.m4a")]
        );
    }
}
