//! Waiting for the jobs this one runs after (`[jobs.journalProcessing] after`): their
//! job locks are taken, polling, and held for the whole run so no entry is half-written.
//!
//! A voice-memo run that starts while journal holds its lock is `skipped` (exit 0) and
//! does its work on its next scheduled run; journal runs take a fraction of a second.
use crate::exit::usage;
use crate::paths::Paths;
use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::time::{Duration, Instant};

/// How often a held lock is tried again.
const POLL: Duration = Duration::from_millis(200);

/// The other jobs' locks, held until dropped.
#[derive(Debug, Default)]
pub struct Held {
    _locks: Vec<File>,
    /// The jobs that were running and finished while this run waited.
    pub waited_for: Vec<String>,
}

/// Takes the job lock of every job in `after` (names as in config), waiting up to
/// `timeout` in all; `on_wait` is told once per job that is running.
pub fn wait_for(
    paths: &Paths,
    after: &[String],
    timeout: Duration,
    on_wait: &mut dyn FnMut(&str),
) -> Result<Held> {
    let deadline = Instant::now() + timeout;
    let mut held = Held::default();
    for name in after {
        let job = crate::jobs::find(name).ok_or_else(|| {
            usage(format!(
                "[jobs.journalProcessing] after = [\"{name}\"]: \"{name}\" is not a job astra knows (jobs: {})",
                crate::jobs::all_names().join(", ")
            ))
        })?;
        if job == super::JOB {
            // Its own lock is the runner's; waiting for it would never end.
            continue;
        }
        let path = paths.job_lock(job.program);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening job lock {}", path.display()))?;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()));
                }
            }
            if !told {
                on_wait(job.program);
                held.waited_for.push(job.program.to_string());
                told = true;
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} is still running after {}s (it holds {}); journal waits for it so that no entry being written is missed. \
                     Run journal again later, or raise [jobs.journalProcessing] timeout_seconds",
                    job.program,
                    timeout.as_secs(),
                    path.display()
                );
            }
            std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
        held._locks.push(file);
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let p = Paths::under(dir.path().to_path_buf(), None);
        std::fs::create_dir_all(&p.locks).unwrap();
        (dir, p)
    }

    #[test]
    fn a_free_lock_is_taken_at_once_and_held() {
        let (_d, p) = paths();
        let held = wait_for(&p, &["voiceMemo".into()], Duration::ZERO, &mut |_| {}).unwrap();
        assert!(held.waited_for.is_empty());
        let other = File::options()
            .write(true)
            .open(p.job_lock("voice-memo"))
            .unwrap();
        assert!(other.try_lock().is_err(), "held while journal runs");
        drop(held);
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn a_held_lock_times_out_with_a_clear_message() {
        let (_d, p) = paths();
        let holder = File::create(p.job_lock("voice-memo")).unwrap();
        holder.lock().unwrap();
        let mut told = Vec::new();
        let e = wait_for(
            &p,
            &["voice-memo".into()],
            Duration::from_millis(300),
            &mut |j| told.push(j.to_string()),
        )
        .unwrap_err();
        assert_eq!(told, ["voice-memo"]);
        assert!(
            format!("{e:#}").contains("voice-memo is still running"),
            "{e:#}"
        );
        assert_eq!(crate::exit::code_for(&e), crate::exit::FAILED);
    }

    #[test]
    fn the_job_itself_is_not_waited_for() {
        let (_d, p) = paths();
        let held = wait_for(&p, &["journal".into()], Duration::ZERO, &mut |_| {}).unwrap();
        assert!(held.waited_for.is_empty());
        assert!(!p.job_lock("journal").exists());
    }

    #[test]
    fn an_unknown_job_is_a_usage_error() {
        let (_d, p) = paths();
        let e = wait_for(&p, &["voiceMemos".into()], Duration::ZERO, &mut |_| {}).unwrap_err();
        assert_eq!(crate::exit::code_for(&e), crate::exit::USAGE);
    }
}
