//! The running record, `locks/<program>.run`: written when a run starts, removed when
//! it ends. A record found by the next run (whose lock was free) is a run that died —
//! killed, crashed, power lost — and is recorded in history as `interrupted`.
use crate::fsutil;
use crate::jobs::JobInfo;
use crate::paths::Paths;
use crate::run::result::{RunResult, RunStatus, Stages, Stats};
use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Who is running.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Running {
    pub run_id: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
}

fn path(paths: &Paths, job: &JobInfo) -> PathBuf {
    paths.locks.join(format!("{}.run", job.program))
}

/// Records this run as running.
pub fn start(paths: &Paths, job: &JobInfo, run_id: &str, started_at: DateTime<Utc>) -> Result<()> {
    let r = Running {
        run_id: run_id.to_string(),
        pid: std::process::id(),
        started_at,
    };
    fsutil::atomic_write(&path(paths, job), &serde_json::to_vec(&r)?, 0o600)
}

/// Removes the record at the end of the run.
pub fn finish(paths: &Paths, job: &JobInfo) {
    let _ = std::fs::remove_file(path(paths, job));
}

/// A record left by a run that died, turned into its history line (call with the job
/// lock held, before [`start`]).
pub fn take_stale(paths: &Paths, job: &JobInfo, noticed_by: &str) -> Option<RunResult> {
    let p = path(paths, job);
    let bytes = std::fs::read(&p).ok()?;
    let _ = std::fs::remove_file(&p);
    let r: Running = serde_json::from_slice(&bytes).ok()?;
    let now = Utc::now();
    Some(RunResult {
        job_name: job.name.to_string(),
        run_id: r.run_id,
        status: RunStatus::Interrupted,
        started_at: r.started_at,
        finished_at: now,
        duration_ms: (now - r.started_at).num_milliseconds().max(0) as u64,
        message: format!(
            "the run (pid {}) ended without finishing (killed, crashed or the machine stopped); noticed by run {noticed_by}. Its memos resume where they were.",
            r.pid
        ),
        stats: Stats::default(),
        stages: Stages::default(),
        items: None,
    })
}
