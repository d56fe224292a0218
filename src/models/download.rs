//! Downloading a catalogue model: into `<file>.part`, resumed with `Range` after a
//! dropped connection (in the same pull, or the next one), checked against the
//! catalogue's size and SHA-256, then renamed into place. A progress bar at a
//! terminal; one line at the start and one at the end otherwise.
use super::catalogue::Model;
use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Connection attempts in one pull (each resumes where the last one stopped).
const ATTEMPTS: u32 = 6;
/// How long one read may wait for bytes before the connection counts as dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// The file was already there, with the catalogue's size and SHA-256.
    Present(PathBuf),
    /// Downloaded now; `resumed_from` is the part already on disk when it started
    /// (from an earlier, interrupted pull) and `reconnects` the drops it survived.
    Downloaded {
        path: PathBuf,
        resumed_from: u64,
        reconnects: u32,
    },
}

/// How a pull reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar on stderr (a person at a terminal).
    Bar,
    /// A line when it starts and one when it ends (cron, logs).
    Lines,
    /// Nothing on stderr (the tracing log only).
    Quiet,
}

/// Lower-case hex SHA-256 of a file.
pub fn sha256_hex(path: &Path) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::fsutil::hex(&h.finalize()))
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `dir/<file>.part`: where the download goes before it is checked.
pub fn part_path(dir: &Path, model: &Model) -> PathBuf {
    dir.join(format!("{}.part", model.file_name()))
}

/// Downloads `model` from `base_url` into `dir` (see the module doc). A stopping run
/// (signal, timeout) ends the pull early with the part kept for the next one.
pub fn pull(model: &Model, dir: &Path, base_url: &str, progress: Progress) -> Result<Pulled> {
    crate::fsutil::create_private_dir(dir)?;
    let dest = dir.join(model.file_name());
    if dest.exists() {
        return check_present(model, &dest).map(|()| Pulled::Present(dest));
    }
    let lock_path = dir.join(format!(".{}.lock", model.file_name()));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        bail!(
            "another astra process is downloading {} into {} right now; wait for it to finish",
            model.name,
            dir.display()
        );
    }
    // The other process may have finished while we waited for nothing.
    if dest.exists() {
        return check_present(model, &dest).map(|()| Pulled::Present(dest));
    }
    let part = part_path(dir, model);
    let url = model.url(base_url);
    let resumed_from = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let started = Instant::now();
    match progress {
        Progress::Quiet => {}
        _ if resumed_from > 0 => eprintln!(
            "Resuming {} ({} of {}) from {url} into {}",
            model.name,
            mib(resumed_from),
            mib(model.size),
            dest.display()
        ),
        _ => eprintln!(
            "Downloading {} ({}) from {url} into {}",
            model.name,
            mib(model.size),
            dest.display()
        ),
    }
    tracing::info!(model = model.name, url = %url, to = %dest.display(), resumed_from, "downloading a speech model");
    let bar = (progress == Progress::Bar).then(|| bar(model.size, resumed_from));
    let fetched = fetch(model, &url, &part, bar.as_ref());
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let reconnects = fetched?;
    verify(model, &part)?;
    File::open(&part)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", part.display()))?;
    std::fs::rename(&part, &dest)
        .with_context(|| format!("renaming {} to {}", part.display(), dest.display()))?;
    crate::fsutil::sync_dir(dir)?;
    drop(lock);
    let _ = std::fs::remove_file(&lock_path);
    if progress != Progress::Quiet {
        eprintln!(
            "Downloaded {} ({}) in {:.0} s, sha256 checked: {}",
            model.name,
            mib(model.size),
            started.elapsed().as_secs_f64(),
            dest.display()
        );
    }
    tracing::info!(model = model.name, path = %dest.display(), reconnects, "speech model downloaded and checked");
    Ok(Pulled::Downloaded {
        path: dest,
        resumed_from,
        reconnects,
    })
}

fn bar(total: u64, at: u64) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_position(at);
    b
}

/// An installed file: the catalogue's size (and, on an explicit pull, its SHA-256).
fn check_present(model: &Model, dest: &Path) -> Result<()> {
    let len = std::fs::metadata(dest)
        .with_context(|| format!("reading {}", dest.display()))?
        .len();
    let got = if len == model.size {
        sha256_hex(dest)?
    } else {
        String::new()
    };
    if got != model.sha256 {
        bail!(
            "{} is already there but is not the catalogue's {} ({} bytes, expected {}{}); remove it with `astra models rm {}` and pull again",
            dest.display(),
            model.name,
            len,
            model.size,
            if got.is_empty() {
                String::new()
            } else {
                format!(", sha256 {got}")
            },
            model.name
        );
    }
    Ok(())
}

/// The part's size and SHA-256 against the catalogue; a mismatch deletes the part.
fn verify(model: &Model, part: &Path) -> Result<()> {
    let len = std::fs::metadata(part)
        .with_context(|| format!("reading {}", part.display()))?
        .len();
    let got = sha256_hex(part)?;
    if got == model.sha256 && len == model.size {
        return Ok(());
    }
    let removed = std::fs::remove_file(part).is_ok();
    bail!(
        "the download of {} does not match the catalogue: sha256 {got} ({len} bytes), expected {} ({} bytes); {}. \
         Pull again; if it keeps failing, the server (check ASTRA_MODEL_BASE_URL) is not serving the right file",
        model.file_name(),
        model.sha256,
        model.size,
        if removed {
            "the downloaded file was deleted"
        } else {
            "the downloaded file could not be deleted"
        }
    )
}

/// Fetches the rest of the file into `part`, reconnecting with `Range` after a drop.
/// Returns how many times it reconnected.
fn fetch(
    model: &Model,
    url: &str,
    part: &Path,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<u32> {
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(READ_TIMEOUT)
        .user_agent(concat!("astra/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let mut reconnects = 0;
    let mut last_error = None;
    // A server that does not answer at all (offline, wrong host) fails fast; one that
    // drops mid-file is resumed up to ATTEMPTS times.
    let mut unanswered = 0;
    for attempt in 0..ATTEMPTS {
        if unanswered >= 2 {
            break;
        }
        crate::voice_memo::error::ItemError::check_stop().map_err(|e| anyhow!("{e}"))?;
        if attempt > 0 {
            reconnects += 1;
            std::thread::sleep(Duration::from_millis(250 * u64::from(attempt)));
        }
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        if have >= model.size {
            return Ok(reconnects);
        }
        let mut req = client.get(url);
        if have > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let mut resp = match req.send() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(model = model.name, error = %e, "model download: no answer; trying again");
                last_error = Some(format!("no answer from {url}: {e:#}"));
                unanswered += 1;
                continue;
            }
        };
        unanswered = 0;
        let status = resp.status().as_u16();
        let append = match status {
            206 => {
                let starts_at = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range_start);
                if starts_at != Some(have) {
                    bail!(
                        "{url} answered a resume from byte {have} with Content-Range {starts_at:?}; delete {} and pull again",
                        part.display()
                    );
                }
                true
            }
            200 => {
                if have > 0 {
                    tracing::info!(
                        model = model.name,
                        "the server ignored Range: downloading from the start"
                    );
                }
                false
            }
            416 => return Ok(reconnects),
            404 => bail!(
                "{url} answered 404 Not Found: the model is not there (check ASTRA_MODEL_BASE_URL)"
            ),
            s if s >= 500 || s == 429 => {
                last_error = Some(format!("{url} answered {status}"));
                continue;
            }
            _ => bail!("{url} answered {status}"),
        };
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(part)
            .with_context(|| format!("opening {}", part.display()))?;
        if let Some(b) = bar {
            b.set_position(if append { have } else { 0 });
        }
        let room = model.size.saturating_sub(if append { have } else { 0 });
        match copy_body(&mut resp, &mut file, room, bar) {
            // The whole answer arrived: whatever its size, the checksum decides.
            Ok(()) => return Ok(reconnects),
            Err(BodyError::Write(e)) => {
                return Err(e).with_context(|| format!("writing {}", part.display()));
            }
            Err(BodyError::Read(e)) => {
                let now = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
                tracing::warn!(model = model.name, at = now, error = %e, "model download: connection dropped; resuming");
                last_error = Some(format!("the connection dropped at byte {now}: {e}"));
            }
            Err(BodyError::Stopped) => {
                bail!(
                    "the download of {} stopped ({}); {} is kept and the next pull resumes it",
                    model.name,
                    crate::run::stop::should_stop()
                        .map(crate::run::stop::describe)
                        .unwrap_or_default(),
                    part.display()
                );
            }
        }
    }
    bail!(
        "downloading {} from {url} failed after {} attempts ({}); anything received is kept in {} and the next pull resumes it",
        model.name,
        reconnects + 1,
        last_error.unwrap_or_default(),
        part.display()
    )
}

enum BodyError {
    Read(std::io::Error),
    Write(std::io::Error),
    Stopped,
}

/// Copies the body into `file`; stops a little past `room` bytes (a file larger than
/// the catalogue's is not the model, and the checksum will say so).
fn copy_body(
    resp: &mut impl Read,
    file: &mut File,
    room: u64,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<(), BodyError> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut written = 0u64;
    while written <= room {
        if crate::run::stop::should_stop().is_some() {
            let _ = file.flush();
            return Err(BodyError::Stopped);
        }
        let n = match resp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BodyError::Read(e)),
        };
        file.write_all(&buf[..n]).map_err(BodyError::Write)?;
        written += n as u64;
        if let Some(b) = bar {
            b.inc(n as u64);
        }
    }
    file.flush().map_err(BodyError::Write)
}

/// The first byte of `bytes A-B/N`.
fn content_range_start(v: &str) -> Option<u64> {
    v.trim()
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes */200"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}
