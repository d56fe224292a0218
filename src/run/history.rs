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
