//! One job as a scheduler sees it: its program's absolute path, its cron schedule and
//! its environment. Built from the registry and the config; rendered by each backend.
use super::CronSchedule;
use crate::config::Config;
use crate::jobs::{self, JobInfo};
use crate::paths::Paths;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// What every backend needs to know about one scheduled job.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The job's name in state and config (`voiceMemo`).
    pub job: String,
    /// The program that runs it (`voice-memo`): names the agent, unit or line.
    pub program: String,
    pub description: String,
    pub schedule: CronSchedule,
    /// The program's absolute path.
    pub binary: PathBuf,
    /// `ASTRA_HOME` for the job.
    pub home: PathBuf,
    /// True when `ASTRA_HOME` was set explicitly (crontab lines then carry it).
    pub home_is_set: bool,
    /// Paths whose change starts the job (launchd `WatchPaths`): the inbox for voice-memo.
    pub watch_paths: Vec<PathBuf>,
    /// `PATH` for the job (crontab lines carry it): the binaries' folder, then the PATH
    /// `astra schedule install` runs with, absolute folders only, each once.
    pub path: String,
}

impl Entry {
    /// The entry for `job` with these settings.
    pub fn new(job: &JobInfo, schedule: &str, bin_dir: &Path, home: &Path) -> Result<Entry> {
        let schedule = CronSchedule::parse(schedule)?;
        Ok(Entry {
            job: job.name.to_string(),
            program: job.program.to_string(),
            description: job.description.to_string(),
            schedule,
            binary: bin_dir.join(job.program),
            home: home.to_path_buf(),
            home_is_set: false,
            watch_paths: Vec::new(),
            path: scheduled_path(bin_dir, "/usr/local/bin:/usr/bin:/bin"),
        })
    }
}

/// `bin_dir`, then the folders of `path`: absolute ones only (a scheduler starts in
/// another folder), each once, in order.
pub fn scheduled_path(bin_dir: &Path, path: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let dirs = std::iter::once(bin_dir.to_string_lossy().into_owned())
        .chain(path.split(':').map(String::from));
    for d in dirs {
        let d = d.trim_end_matches('/').to_string();
        if d.starts_with('/') && !out.contains(&d) {
            out.push(d);
        }
    }
    out.join(":")
}

/// Where the job programs are: `ASTRA_BIN_DIR`, else the directory of this program.
pub fn bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("ASTRA_BIN_DIR").filter(|d| !d.is_empty()) {
        return Ok(crate::paths::expand_tilde(Path::new(&dir)));
    }
    let exe = std::env::current_exe().context("finding the path of this program")?;
    exe.parent()
        .map(Path::to_path_buf)
        .context("finding the directory of this program")
}

/// The entries of every enabled job, from the registry and the config.
pub fn enabled_entries(config: &Config, paths: &Paths, bin_dir: &Path) -> Result<Vec<Entry>> {
    let home_is_set = std::env::var_os("ASTRA_HOME").is_some_and(|h| !h.is_empty());
    let home = absolute(&paths.home)?;
    let bin_dir = &absolute(bin_dir)?;
    let bin_dir = absolute(bin_dir)?;
    let mut out = Vec::new();
    for job in jobs::JOBS {
        let settings = config.job(job);
        if !settings.enabled {
            continue;
        }
        let mut entry =
            Entry::new(job, &settings.schedule, &bin_dir, &home).with_context(|| {
                format!(
                    "{}: [jobs.{}] schedule (fix it, or remove it for the default {:?})",
                    paths.config.display(),
                    job.name,
                    job.default_schedule
                )
            })?;
        entry.home_is_set = home_is_set;
        entry.path = scheduled_path(
            &bin_dir,
            &std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        );
        if job.name == jobs::VOICE_MEMO.name {
            entry.watch_paths = vec![config.voice_memo.inbox.clone()];
        }
        out.push(entry);
    }
    Ok(out)
}

/// `path` made absolute against the current directory (a scheduler has another one).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("making {} absolute", path.display()))
}

/// The entries of the committed examples (`launchd/*.plist`, `crontab.example`): the
/// registry's default schedules, binaries in `/usr/local/bin`, home `/Users/you/.astra`.
pub fn example_entries() -> Vec<Entry> {
    let home = PathBuf::from("/Users/you/.astra");
    jobs::JOBS
        .iter()
        .filter_map(|job| {
            let mut e = Entry::new(
                job,
                job.default_schedule,
                Path::new("/usr/local/bin"),
                &home,
            )
            .ok()?;
            if job.name == jobs::VOICE_MEMO.name {
                e.watch_paths = vec![home.join("inbox")];
            }
            Some(e)
        })
        .collect()
}
