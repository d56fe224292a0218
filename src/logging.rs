//! Logging: JSON lines to `logs/<program>.log` (daily rotation, mode 0600, or `LOG_FILE`),
//! each event carrying `job_name` and `run_id`; plus human lines on stderr with `-v`.
use crate::paths::Paths;
use anyhow::{Context as _, Result};
use serde_json::{Map, Value};
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt as tfmt};

/// Flushes the log file. Call once, at the end of `main`. Each line is written to the
/// file as it is logged (one `write` on an append-mode file: no worker thread for a
/// run that logs two lines), so this only makes sure of it.
pub fn shutdown() {
    if let Some(f) = FILE.get()
        && let Ok(mut f) = f.lock()
    {
        let _ = f.flush();
    }
}

/// The log file, set up by [`init`].
static FILE: std::sync::OnceLock<std::sync::Mutex<PrivateLog>> = std::sync::OnceLock::new();

/// The log file, created with mode 0600 (tracing-appender's would follow the umask):
/// `dir/<prefix>.YYYY-MM-DD` (a new file each UTC day, as tracing-appender names them)
/// or, for `LOG_FILE`, one file.
struct PrivateLog {
    dir: PathBuf,
    prefix: String,
    daily: bool,
    open: Option<(String, File)>,
}

impl PrivateLog {
    fn new(dir: &Path, prefix: String, daily: bool) -> PrivateLog {
        PrivateLog {
            dir: dir.to_path_buf(),
            prefix,
            daily,
            open: None,
        }
    }

    fn current_name(&self) -> String {
        if self.daily {
            format!("{}.{}", self.prefix, chrono::Utc::now().format("%Y-%m-%d"))
        } else {
            self.prefix.clone()
        }
    }

    /// The file for now, opened (and made private) when the day changed.
    fn open_current(&mut self) -> std::io::Result<&mut File> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let name = self.current_name();
        if self.open.as_ref().map(|(n, _)| n) != Some(&name) {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(self.dir.join(&name))?;
            // A day's file made by an older version keeps no wider mode; a LOG_FILE
            // the user chose keeps theirs.
            if self.daily {
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            self.open = Some((name, f));
        }
        Ok(&mut self.open.as_mut().expect("opened above").1)
    }
}

impl Write for PrivateLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.open_current()?.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.open {
            Some((_, f)) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Writes each event as one JSON object with the run's identity on it.
struct JsonLines {
    job_name: String,
}

/// The current run's id: `--watch` starts many runs in one process.
static RUN_ID: std::sync::RwLock<String> = std::sync::RwLock::new(String::new());

fn set_run_id(run_id: &str) {
    if let Ok(mut r) = RUN_ID.write() {
        *r = run_id.to_string();
    }
    if let Ok(mut t) = RECENT.lock() {
        t.clear();
    }
}

/// The tail of this run's log (for a health-check `/fail` ping).
static RECENT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
const RECENT_MAX: usize = 10 * 1024;

fn remember(line: &str) {
    if let Ok(mut t) = RECENT.lock() {
        t.push_str(line);
        if t.len() > 2 * RECENT_MAX {
            let mut cut = t.len() - RECENT_MAX;
            while !t.is_char_boundary(cut) {
                cut += 1;
            }
            t.drain(..cut);
        }
    }
}

/// The last `max` bytes (at most 10 KiB) of this run's JSON log lines.
pub fn recent(max: usize) -> String {
    let t = RECENT.lock().map(|t| t.clone()).unwrap_or_default();
    let max = max.min(RECENT_MAX);
    if t.len() <= max {
        return t;
    }
    let mut cut = t.len() - max;
    while !t.is_char_boundary(cut) {
        cut += 1;
    }
    t[cut..].to_string()
}

#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            Value::String(format!("{value:?}")),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_string(), Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
}

impl<S: Subscriber> Layer<S> for JsonLines {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut obj = Map::new();
        obj.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        obj.insert(
            "level".into(),
            Value::String(event.metadata().level().to_string()),
        );
        obj.insert("job_name".into(), Value::String(self.job_name.clone()));
        obj.insert(
            "run_id".into(),
            Value::String(RUN_ID.read().map(|r| r.clone()).unwrap_or_default()),
        );
        obj.insert(
            "target".into(),
            Value::String(event.metadata().target().to_string()),
        );
        obj.extend(fields.0);
        if let Ok(mut line) = serde_json::to_string(&obj) {
            line.push('\n');
            remember(&line);
            if let Some(f) = FILE.get()
                && let Ok(mut f) = f.lock()
            {
                let _ = f.write_all(line.as_bytes());
            }
        }
    }
}

/// How much to say on stderr: `-q` nothing, default only what main prints, `-v` info,
/// `-vv` debug.
/// `level` for astra's own events; other crates (HTTP, TLS) only at warn, so their
/// debug lines (hosts, headers) never reach a log.
fn ours(level: LevelFilter) -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new()
        .with_target("astra", level)
        .with_default(level.min(LevelFilter::WARN))
}

/// The day a log file covers: from its rotated name (`voice-memo.log.2026-01-02`, the
/// end of that day), else its modification time.
pub fn file_date(path: &Path) -> Option<chrono::DateTime<chrono::Utc>> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    if let Some(d) = name
        .rsplit('.')
        .next()
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    {
        return d.and_hms_opt(23, 59, 59).map(|t| t.and_utc());
    }
    std::fs::metadata(path)
        .ok()?
        .modified()
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from)
}

/// Colour on stderr only at a terminal, and not when `NO_COLOR` is set to anything
/// non-empty (<https://no-color.org>): cron mails and pipes get plain text.
pub fn colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

pub fn stderr_level(verbose: u8, quiet: bool) -> LevelFilter {
    match (quiet, verbose) {
        (true, _) => LevelFilter::OFF,
        (false, 0) => LevelFilter::OFF,
        (false, 1) => LevelFilter::INFO,
        _ => LevelFilter::DEBUG,
    }
}

/// Starts logging for one run of `program`. Without a writable log folder (dry run)
/// only stderr logging is set up.
/// Starts logging for one run of `program`; in a process that already set it up
/// (`--watch`), only the run id changes.
pub fn init(
    paths: &Paths,
    program: &str,
    job_name: &str,
    run_id: &str,
    verbose: u8,
    quiet: bool,
    to_file: bool,
) -> Result<()> {
    static STARTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    set_run_id(run_id);
    if STARTED.set(()).is_err() {
        return Ok(());
    }
    let stderr = tfmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .without_time()
        .with_target(false)
        .with_filter(ours(stderr_level(verbose, quiet)));
    let file_level = if verbose > 0 {
        Level::DEBUG
    } else {
        Level::INFO
    };
    let file_layer = if to_file {
        let mut appender = match &paths.log_file {
            Some(f) => {
                let dir = f
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating log folder {}", dir.display()))?;
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "astra.log".into());
                PrivateLog::new(dir, name, false)
            }
            None => PrivateLog::new(&paths.logs, format!("{program}.log"), true),
        };
        let dir = appender.dir.clone();
        appender
            .open_current()
            .with_context(|| format!("opening the log file in {}", dir.display()))?;
        let _ = FILE.set(std::sync::Mutex::new(appender));
        let layer = JsonLines {
            job_name: job_name.to_string(),
        }
        .with_filter(ours(LevelFilter::from_level(file_level)));
        Some(layer)
    } else {
        None
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init()
        .ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::colour;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
    }
}
