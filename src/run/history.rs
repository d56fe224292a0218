//! `history.jsonl`: one line per finished run, appended with a single write under
//! `history.jsonl.lock`, which cleanup takes too, so no line is lost to a rewrite.
use crate::run::result::RunResult;
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Holds the history lock until dropped.
fn lock(path: &Path) -> Result<File> {
    let lp = lock_path(path);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lp)
        .with_context(|| format!("opening {}", lp.display()))?;
    f.lock()
        .with_context(|| format!("locking {}", lp.display()))?;
    Ok(f)
}

/// Appends `result` (without its items) as one JSON line.
pub fn append(path: &Path, result: &RunResult) -> Result<()> {
    let line = RunResult {
        items: None,
        ..result.clone()
    };
    let mut bytes = serde_json::to_vec(&line).context("serializing the run result")?;
    bytes.push(b'\n');
    let _lock = lock(path)?;
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening history {}", path.display()))?;
    // One write of the whole line: appenders never interleave. No fsync: history is a
    // log, and a line lost to a power cut costs nothing that state does not keep.
    f.write_all(&bytes)
        .with_context(|| format!("appending to history {}", path.display()))
}

/// Reads every parseable line, oldest first (a torn last line from a crash is skipped).
pub fn read(path: &Path) -> Result<Vec<RunResult>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading history {}", path.display())),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// Keeps the lines `keep` accepts (unparseable lines are dropped); returns how many
/// lines were removed. With `dry_run` nothing is written.
pub fn retain(path: &Path, dry_run: bool, keep: impl Fn(&RunResult) -> bool) -> Result<usize> {
    let _lock = lock(path)?;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("reading history {}", path.display())),
    };
    let mut kept = String::with_capacity(text.len());
    let mut removed = 0;
    for line in text.lines() {
        match serde_json::from_str::<RunResult>(line) {
            Ok(r) if keep(&r) => {
                kept.push_str(line);
                kept.push('\n');
            }
            _ => removed += 1,
        }
    }
    if removed > 0 && !dry_run {
        crate::fsutil::atomic_write(path, kept.as_bytes(), 0o600)?;
    }
    Ok(removed)
}

/// What the daily upkeep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Upkeep {
    pub history_lines_removed: usize,
    pub idle_lines_folded: usize,
    pub log_files_removed: usize,
}

/// The marker that says when the upkeep last ran (its content: the UTC date).
/// Whether the daily upkeep of the history at `path` has been done on `now`'s UTC day.
pub fn upkeep_done(path: &Path, now: chrono::DateTime<chrono::Utc>) -> bool {
    let today = now.date_naive().to_string();
    std::fs::read_to_string(upkeep_marker(path)).is_ok_and(|d| d.trim() == today)
}

fn upkeep_marker(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".upkeep");
    PathBuf::from(p)
}

/// A run that found nothing and did nothing.
fn is_idle(r: &RunResult) -> bool {
    r.status == crate::run::result::RunStatus::Success
        && r.stats.found == 0
        && r.stats.failed == 0
        && r.stats.skipped == 0
}

/// The daily upkeep, at most once a UTC day, under the history lock (so an append
/// waits and no line is lost): history lines and log files older than `keep_days`
/// (0: none) are removed, and the runs with nothing to do of each past day are folded
/// into one line per job (`stats.idle_runs`, the last one's times), so `astra jobs
/// show` still knows the last run and `overdue` still works. None: already done today.
pub fn upkeep(
    path: &Path,
    logs: &Path,
    keep_days: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Upkeep>> {
    // Done today already (every run but the day's first): no lock taken.
    if upkeep_done(path, now) {
        return Ok(None);
    }
    let _lock = lock(path)?;
    if upkeep_done(path, now) {
        return Ok(None);
    }
    let marker = upkeep_marker(path);
    let today = now.date_naive().to_string();
    let mut done = Upkeep::default();
    let cutoff = (keep_days > 0).then(|| now - chrono::Duration::days(keep_days as i64));
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading history {}", path.display())),
    };
    let lines: Vec<(&str, Option<RunResult>)> = text
        .lines()
        .map(|l| (l, serde_json::from_str::<RunResult>(l).ok()))
        .collect();
    // Idle runs of past days, by (job, day): how many, the time spent, the last line.
    let day = |r: &RunResult| r.started_at.date_naive();
    let mut groups: std::collections::HashMap<(String, chrono::NaiveDate), (u64, u64, usize)> =
        Default::default();
    for (i, (_, r)) in lines.iter().enumerate() {
        if let Some(r) = r
            .as_ref()
            .filter(|r| is_idle(r) && day(r) < now.date_naive())
        {
            let g = groups.entry((r.job_name.clone(), day(r))).or_default();
            g.0 += r.stats.idle_runs.max(1);
            g.1 += r.duration_ms;
            g.2 = i;
        }
    }
    let mut kept = String::with_capacity(text.len());
    for (i, (line, r)) in lines.iter().enumerate() {
        let Some(r) = r else {
            // A torn line from a crash: dropped.
            done.history_lines_removed += 1;
            continue;
        };
        if cutoff.is_some_and(|c| r.finished_at < c) {
            done.history_lines_removed += 1;
            continue;
        }
        let key = (r.job_name.clone(), day(r));
        match groups.get(&key).filter(|_| is_idle(r)) {
            Some(&(n, ms, last)) if i == last => {
                if n == r.stats.idle_runs.max(1) && r.stats.idle_runs > 0 {
                    kept.push_str(line);
                } else {
                    let mut folded = r.clone();
                    folded.stats.idle_runs = n;
                    folded.duration_ms = ms;
                    folded.message = format!("{n} runs with nothing to do on {}", key.1);
                    kept.push_str(&serde_json::to_string(&folded)?);
                }
                kept.push('\n');
            }
            Some(_) => done.idle_lines_folded += 1,
            None => {
                kept.push_str(line);
                kept.push('\n');
            }
        }
    }
    if kept != text {
        crate::fsutil::atomic_write(path, kept.as_bytes(), 0o600)?;
    }
    if let (Some(c), Ok(entries)) = (cutoff, std::fs::read_dir(logs)) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() && crate::logging::file_date(&p).is_some_and(|d| d < c) {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
                done.log_files_removed += 1;
            }
        }
    }
    crate::fsutil::atomic_write(&marker, today.as_bytes(), 0o600)?;
    Ok(Some(done))
}
