//! What every job run shares: config, pause and enabled checks, the job lock, logging,
//! history, the stderr summary and the exit code. A job supplies only its body.
use crate::config::Config;
use crate::exit;
use crate::jobs::JobInfo;
use crate::logging;
use crate::paths::Paths;
use crate::run::history;
use crate::run::record;
use crate::run::result::{ItemResult, RunResult, RunStatus, Stages, Stats};
use crate::run::stop::{self as control, Stop};
use crate::state::StateStore;
use anyhow::{Context, Result};
use chrono::Utc;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::IsTerminal;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The flags every job program takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunOptions {
    /// Config file (default: $ASTRA_HOME/config.toml).
    #[arg(long, value_name = "PATH", env = "ASTRA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the run result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Find and report the work; write no file, no state, call no remote service.
    #[arg(long)]
    pub dry_run: bool,
    /// Retry items waiting for their backoff now.
    #[arg(long)]
    pub retry_now: bool,
    /// More detail on stderr (-v info, -vv debug); the log file gets debug with -v.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print nothing on stderr, not even the summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Passes of `--watch`: one with nothing to do prints nothing (the watch says what
    /// it sees instead).
    #[arg(skip)]
    pub idle_silent: bool,
}

/// A job's registry entry (its names, defaults).
pub type JobId = &'static JobInfo;

/// What a job's body reports.
#[derive(Debug, Default)]
pub struct Outcome {
    pub message: String,
    pub stats: Stats,
    pub stages: Stages,
    pub items: Vec<ItemResult>,
}

/// Everything a job body needs.
pub struct RunContext<'a> {
    pub paths: &'a Paths,
    pub config: &'a Config,
    pub opts: &'a RunOptions,
    pub state: StateStore,
    pub run_id: String,
    /// A person is watching stderr (show progress).
    pub interactive: bool,
    pub job: JobId,
    pub started_at: chrono::DateTime<Utc>,
    /// Set once the running record is written.
    working: std::sync::OnceLock<()>,
}

impl RunContext<'_> {
    /// Call before the first write: records this run as running (`locks/<job>.run`),
    /// so that if it dies the next run records it as interrupted. A run with nothing
    /// to do never calls it and writes no record.
    pub fn begin_work(&self) -> Result<()> {
        if self.opts.dry_run || self.working.get().is_some() {
            return Ok(());
        }
        record::start(self.paths, self.job, &self.run_id, self.started_at)?;
        let _ = self.working.set(());
        Ok(())
    }
}

/// A job the runner can run.
pub trait Job {
    fn id(&self) -> JobId;
    fn run(&self, ctx: &RunContext<'_>) -> Result<Outcome>;
}

/// Whether `AUTOMATION_PAUSE` asks every job to stand still.
pub fn paused() -> bool {
    std::env::var("AUTOMATION_PAUSE")
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

/// A new run id: a ULID (time-ordered, 80 random bits) from the clock and the OS's
/// random source. `Ulid::new()` would draw from `rand`'s thread generator, whose
/// set-up (ChaCha, CPU feature detection) is a measurable part of a run with
/// nothing to do, for 16 bytes.
pub fn new_run_id() -> String {
    use rand::TryRngCore;
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut random = [0u8; 16];
    if rand::rngs::OsRng.try_fill_bytes(&mut random).is_err() {
        return ulid::Ulid::new().to_string();
    }
    ulid::Ulid::from_parts(ms, u128::from_le_bytes(random)).to_string()
}

/// Runs one job from start to exit code. Errors before the run starts (config) are
/// printed and mapped to exit 2.
pub fn run_job(job: &dyn Job, opts: &RunOptions) -> u8 {
    control::install_signal_handlers();
    match run_job_inner(job, opts) {
        Ok(code) => code,
        Err(e) => {
            match crate::fsutil::io_hint(&e) {
                Some(hint) => eprintln!("{}: error: {e:#}. {hint}", job.id().program),
                None => eprintln!("{}: error: {e:#}", job.id().program),
            }
            exit::code_for(&e)
        }
    }
}

fn run_job_inner(job: &dyn Job, opts: &RunOptions) -> Result<u8> {
    let id = job.id();
    let started = Instant::now();
    let started_at = Utc::now();
    let run_id = new_run_id();
    let paths = Paths::resolve(opts.config.as_deref())?;
    let config = Config::load_for(&paths)?;
    let short = |status: RunStatus, message: &str| RunResult {
        job_name: id.name.to_string(),
        run_id: run_id.clone(),
        status,
        started_at,
        finished_at: Utc::now(),
        duration_ms: started.elapsed().as_millis() as u64,
        message: message.to_string(),
        stats: Stats::default(),
        stages: Stages::default(),
        items: None,
    };
    if paused() {
        return Ok(finish_untouched(
            id,
            opts,
            short(
                RunStatus::Paused,
                "AUTOMATION_PAUSE is set: every job stands still until it is unset",
            ),
        ));
    }
    if !config.job(id).enabled {
        let msg = format!(
            "disabled in {} (astra jobs enable {})",
            paths.config.display(),
            id.program
        );
        return Ok(finish_untouched(id, opts, short(RunStatus::Disabled, &msg)));
    }
    // Where keys are found when the environment lacks them (a scheduled run's case):
    // looks at the key files only; the keychain is asked on the first lookup.
    crate::secrets::init(&paths, &config)?;
    if !opts.dry_run {
        paths.ensure_dirs()?;
    }
    let _job_lock = match take_job_lock(&paths, id, opts.dry_run)? {
        JobLock::Held(f) => f,
        JobLock::Busy => {
            let result = short(RunStatus::Skipped, "another run holds the job lock");
            history::append(&paths.history, &result)?;
            return Ok(finish_untouched(id, opts, result));
        }
    };
    logging::init(
        &paths,
        id.program,
        id.name,
        &run_id,
        opts.verbose,
        opts.quiet,
        !opts.dry_run,
    )?;
    let alerts = crate::alerts::Alerter::new(&config, &paths, id);
    if !opts.dry_run {
        let dead = record::take_stale(&paths, id, &run_id);
        remove_stale_temps(&paths, &config, dead.is_some());
        if let Some(dead) = dead {
            tracing::warn!(dead_run = %dead.run_id, "a previous run ended without finishing");
            history::append(&paths.history, &dead)?;
            alerts.after_run(&dead);
        }
        alerts.ping_start(&run_id);
    }
    control::set_timeout(Duration::from_secs(config.job(id).timeout_seconds.max(1)));
    tracing::info!(dry_run = opts.dry_run, "run started");
    let ctx = RunContext {
        paths: &paths,
        config: &config,
        opts,
        state: StateStore::new(&paths.state),
        run_id: run_id.clone(),
        interactive: std::io::stderr().is_terminal() && !opts.quiet,
        job: id,
        started_at,
        working: std::sync::OnceLock::new(),
    };
    let outcome = job.run(&ctx);
    let stop = control::should_stop();
    let (status, message, stats, stages, items, err) = match outcome {
        Ok(o) => {
            let status = match stop {
                Some(Stop::Signal) => RunStatus::Interrupted,
                Some(Stop::Timeout) => RunStatus::Failed,
                None if o.stats.failed > 0 => RunStatus::Partial,
                None => RunStatus::Success,
            };
            let message = match stop {
                Some(s) => format!("{}; {}", control::describe(s), o.message),
                None => o.message,
            };
            (status, message, o.stats, o.stages, o.items, None)
        }
        Err(e) => (
            RunStatus::Failed,
            format!("{e:#}"),
            Stats::default(),
            Stages::default(),
            Vec::new(),
            Some(e),
        ),
    };
    let mut stats = stats;
    stats.add_usage(&config.costs);
    let result = RunResult {
        job_name: id.name.to_string(),
        run_id,
        status,
        started_at,
        finished_at: Utc::now(),
        duration_ms: started.elapsed().as_millis() as u64,
        message,
        stats,
        stages,
        items: Some(items),
    };
    tracing::info!(status = status.as_str(), duration_ms = result.duration_ms, message = %result.message, "run finished");
    // A history that cannot be written (a full disk) still lets the result be
    // printed, the alert go out and the running record be cleared.
    let mut history_failed = false;
    if !opts.dry_run {
        if let Err(e) = history::append(&paths.history, &result) {
            history_failed = true;
            let hint = crate::fsutil::io_hint(&e)
                .map(|h| format!(". {h}"))
                .unwrap_or_default();
            tracing::error!(error = %format!("{e:#}"), "could not record the run in history");
            if !opts.quiet {
                eprintln!("{}: error: {e:#}{hint}", id.program);
            }
        }
        alerts.after_run(&result);
        // A failed upkeep costs nothing but space: logged, the run goes on.
        match history::upkeep(
            &paths.history,
            &paths.logs,
            config.logs.keep_days,
            Utc::now(),
        ) {
            Ok(Some(u)) if u != history::Upkeep::default() => {
                tracing::info!(
                    history_lines_removed = u.history_lines_removed as u64,
                    idle_lines_folded = u.idle_lines_folded as u64,
                    log_files_removed = u.log_files_removed as u64,
                    "daily upkeep of history and logs"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "daily upkeep of history and logs failed")
            }
        }
        if ctx.working.get().is_some() {
            record::finish(&paths, id);
        }
    }
    print_result(id, opts, &result, ctx.interactive);
    Ok(match (&err, status) {
        (Some(e), _) => exit::code_for(e),
        (None, RunStatus::Partial | RunStatus::Failed | RunStatus::Interrupted) => exit::FAILED,
        _ if history_failed => exit::FAILED,
        _ => exit::OK,
    })
}

/// Clears the temp files of writers killed mid-write: in `ASTRA_HOME` (state, config,
/// history) on the day's first run and after a run that died, and then also where
/// jobs write (cache, vault, archive). The other runs of a day skip it: listing those
/// folders is a tenth of a nothing-to-do run's system calls, and what a killed
/// `astra` command leaves is a stray file, never a lost write.
fn remove_stale_temps(paths: &Paths, config: &Config, after_dead_run: bool) {
    use crate::fsutil::remove_stale_temps as sweep;
    if !after_dead_run && history::upkeep_done(&paths.history, Utc::now()) {
        return;
    }
    let mut n = sweep(&paths.home, 0) + sweep(&paths.locks, 0);
    if let Some(dir) = paths.state.parent().filter(|d| *d != paths.home) {
        n += sweep(dir, 0);
    }
    if after_dead_run {
        n += sweep(&paths.cache, 4) + sweep(&config.sync.markdown.dir, 1);
        for dir in [
            &config.voice_memo.archive_dir,
            &paths.failed,
            &paths.invalid,
        ] {
            n += sweep(dir, 0);
        }
    }
    if n > 0 {
        tracing::info!(removed = n, "removed temp files left by interrupted writes");
    }
}

enum JobLock {
    Held(Option<File>),
    Busy,
}

/// Takes `locks/<program>.lock` for the whole run, without waiting.
fn take_job_lock(paths: &Paths, id: JobId, dry_run: bool) -> Result<JobLock> {
    let path = paths.job_lock(id.program);
    if dry_run && !path.exists() {
        return Ok(JobLock::Held(None));
    }
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening job lock {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => {
            // Who holds it, for `astra jobs stop` (the lock, not the text, is what counts).
            // Written over the last holder's pid, truncated only when that was longer:
            // truncating to zero and writing again makes the filesystem free and
            // allocate the block on every run (a third of a millisecond on ext4).
            let pid = std::process::id().to_string();
            let _ = std::os::unix::fs::FileExt::write_all_at(&f, pid.as_bytes(), 0);
            if f.metadata().is_ok_and(|m| m.len() > pid.len() as u64) {
                let _ = f.set_len(pid.len() as u64);
            }
            Ok(JobLock::Held(Some(f)))
        }
        Err(TryLockError::WouldBlock) => Ok(JobLock::Busy),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Paused, disabled, skipped: print (json, and one line saying why at a terminal or
/// with -v; nothing under cron) and exit 0.
fn finish_untouched(id: JobId, opts: &RunOptions, result: RunResult) -> u8 {
    if opts.json {
        println!("{}", serde_json::to_string(&result).unwrap_or_default());
    }
    let at_terminal = std::io::stderr().is_terminal();
    if (opts.verbose > 0 || at_terminal) && !opts.quiet {
        eprintln!(
            "{}: {} ({})",
            id.program,
            result.status.as_str(),
            result.message
        );
    }
    exit::OK
}

/// `; first failure: <file>: <reason>` for the summary line when a memo failed, so a
/// cron mail (or a log of stderr) says which and why without a terminal.
fn first_failure(result: &RunResult) -> String {
    let Some(item) = result
        .items
        .iter()
        .flatten()
        .find(|i| matches!(i.status.as_str(), "failed" | "retrying") && i.error.is_some())
    else {
        return String::new();
    };
    let reason: String = item
        .error
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let reason = reason
        .strip_prefix(&format!("{}: ", item.file))
        .unwrap_or(&reason);
    let reason: String = if reason.chars().count() > 200 {
        format!("{}…", reason.chars().take(199).collect::<String>())
    } else {
        reason.to_string()
    };
    format!("; first failure: {} ({}): {reason}", item.file, item.status)
}

/// One item's problem: `✗ a.m4a (failed): why` (`↻` when it will be retried), the file
/// named once even when the error starts with it.
fn item_line(item: &ItemResult) -> String {
    let err = item.error.as_deref().unwrap_or("");
    let err = err
        .strip_prefix(item.file.as_str())
        .and_then(|r| r.strip_prefix(": "))
        .unwrap_or(err);
    let mark = if item.status == "retrying" {
        "↻"
    } else {
        "✗"
    };
    format!("{mark} {} ({}): {err}", item.file, item.status)
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The one summary line (stderr) and, with `--json`, the whole result (stdout).
fn print_result(id: JobId, opts: &RunOptions, result: &RunResult, interactive: bool) {
    if opts.json {
        println!("{}", serde_json::to_string(result).unwrap_or_default());
    }
    if opts.quiet {
        return;
    }
    let s = &result.stats;
    let nothing = s.found == 0 && result.status == RunStatus::Success;
    if nothing && !interactive && opts.verbose == 0 {
        return;
    }
    if nothing && s.skipped == 0 && opts.idle_silent && opts.verbose == 0 {
        return;
    }
    // At a terminal, a run with nothing to do says why in one line.
    if nothing && s.skipped == 0 && s.failed == 0 {
        eprintln!("{}: {}", id.program, lowercase_first(&result.message));
        return;
    }
    let secs = result.duration_ms as f64 / 1000.0;
    let dry = if opts.dry_run { " (dry run)" } else { "" };
    match result.status {
        RunStatus::Failed => eprintln!("{}: failed in {secs:.1}s: {}", id.program, result.message),
        _ => {
            let line = s.summary("written less than settle_seconds ago or still growing");
            // Under cron the one line names the first failure; at a terminal each
            // failing item gets its own line below instead.
            let first = if interactive {
                String::new()
            } else {
                first_failure(result)
            };
            eprintln!("{}: {line} in {secs:.1}s{dry}{first}", id.program);
        }
    }
    if interactive {
        for item in result.items.iter().flatten().filter(|i| i.error.is_some()) {
            eprintln!("  {}", item_line(item));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::new_run_id;

    #[test]
    fn a_run_id_is_a_ulid_of_now_and_never_the_same_twice() {
        let before = chrono::Utc::now().timestamp_millis() as u64;
        let (a, b) = (new_run_id(), new_run_id());
        let after = chrono::Utc::now().timestamp_millis() as u64;
        let id = ulid::Ulid::from_string(&a).expect("a ULID");
        assert_eq!(a.len(), 26);
        assert!(
            (before..=after).contains(&id.timestamp_ms()),
            "{a}: time {} not in {before}..={after}",
            id.timestamp_ms()
        );
        assert_ne!(a, b);
        assert_ne!(id.random(), 0);
    }
}
