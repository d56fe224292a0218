//! `history.jsonl`: one line per finished run, appended with a single write.
use crate::run_result::RunResult;
use anyhow::{Context, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Appends `result` (without its items) as one JSON line.
pub fn append(path: &Path, result: &RunResult) -> Result<()> {
    let line = RunResult {
        items: None,
        ..result.clone()
    };
    let mut bytes = serde_json::to_vec(&line).context("serializing the run result")?;
    bytes.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening history {}", path.display()))?;
    f.write_all(&bytes)
        .with_context(|| format!("appending to history {}", path.display()))?;
    f.sync_data()
        .with_context(|| format!("flushing history {}", path.display()))
}

/// Reads every parseable line (a torn last line from a crash is skipped).
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
