//! `voice-memo --watch`: stays up and runs a pass whenever the inbox changes (after the
//! files settle), plus once a minute for retries that come due.
use super::VoiceMemoJob;
use crate::config::Config;
use crate::paths::Paths;
use crate::run::lifecycle::{self, RunOptions};
use notify::{RecursiveMode, Watcher};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A pass at least this often, for retries whose backoff ends.
const PERIODIC: Duration = Duration::from_secs(60);

/// A file appeared, changed or was renamed: worth a pass. Reads (our own, while a
/// pass copies or hashes a file) are not.
fn wakes(ev: &notify::Event) -> bool {
    use notify::EventKind;
    matches!(
        ev.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Any
    )
}

/// A file worth announcing: a recording by its extension, not hidden.
fn is_recording(path: &std::path::Path, extensions: &[String]) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let ext = path.extension().unwrap_or_default().to_string_lossy();
    !name.starts_with('.') && extensions.iter().any(|e| e.eq_ignore_ascii_case(&ext))
}

/// Runs passes until the process is stopped. Returns an exit code only on a setup error.
pub fn watch_loop(opts: &RunOptions) -> u8 {
    let mut pass_opts = opts.clone();
    pass_opts.idle_silent = true;
    let opts = &pass_opts;
    let setup = || -> anyhow::Result<(std::path::PathBuf, Duration, Vec<String>)> {
        let paths = Paths::resolve(opts.config.as_deref())?;
        let cfg = Config::load_for(&paths)?;
        Ok((
            cfg.voice_memo.inbox,
            Duration::from_secs(cfg.voice_memo.settle_seconds),
            cfg.voice_memo.extensions,
        ))
    };
    let (inbox, settle, extensions) = match setup() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("voice-memo: error: {e:#}");
            return crate::exit::code_for(&e);
        }
    };
    crate::run::stop::install_signal_handlers();
    // A missing default inbox is created by a first pass, so that it can be watched.
    if !inbox.is_dir() {
        lifecycle::run_job(&VoiceMemoJob, opts);
    }
    let (tx, rx) = mpsc::channel();
    let mut watcher = match notify::recommended_watcher(move |ev| {
        let _ = tx.send(ev);
    }) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("voice-memo: error: cannot watch files: {e}");
            return crate::exit::FAILED;
        }
    };
    if let Err(e) = watcher.watch(&inbox, RecursiveMode::NonRecursive) {
        eprintln!("voice-memo: error: cannot watch {}: {e}", inbox.display());
        return crate::exit::USAGE;
    }
    if !opts.quiet {
        eprintln!("voice-memo: watching {} (Ctrl-C to stop)", inbox.display());
    }
    // The first pass runs once the watch is in place: a file that arrives at any
    // moment is either seen by this pass or raises an event.
    let mut next = Instant::now();
    // Files seen by an event and not yet taken by a pass: when each will be.
    let mut seen: std::collections::BTreeMap<std::path::PathBuf, Instant> = Default::default();
    loop {
        if crate::run::stop::should_stop() == Some(crate::run::stop::Stop::Signal) {
            return crate::exit::OK;
        }
        // Checked on every turn, so a stream of events cannot starve the passes.
        if Instant::now() >= next {
            lifecycle::run_job(&VoiceMemoJob, opts);
            let now = Instant::now();
            seen.retain(|_, due| *due > now);
            next = seen.values().copied().min().unwrap_or(now + PERIODIC);
            continue;
        }
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(500));
        match rx.recv_timeout(wait) {
            // A change: run once the file has had time to settle (and not before a
            // pass already due sooner).
            Ok(Ok(ev)) if wakes(&ev) => {
                let due = Instant::now() + settle + Duration::from_millis(500);
                next = next.min(due);
                for path in ev.paths.iter().filter(|p| is_recording(p, &extensions)) {
                    if seen.insert(path.clone(), due).is_none() && !opts.quiet {
                        let at = chrono::Local::now()
                            + chrono::Duration::from_std(settle).unwrap_or_default();
                        eprintln!(
                            "voice-memo: saw {}; taking it at {} once it has settled ({}s without change)",
                            path.file_name().unwrap_or_default().to_string_lossy(),
                            at.format("%H:%M:%S"),
                            settle.as_secs()
                        );
                    }
                }
            }
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return crate::exit::FAILED,
        }
    }
}
