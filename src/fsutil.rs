//! Durable file operations: atomic writes, private folders, copies that never
//! overwrite. Every write is temp file → fsync → rename → fsync of the folder.
use anyhow::{Context, Result, bail};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` and its parents; folders astra creates get mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating folder {}", dir.display()))
}

/// Creates `dir` and its parents with the default mode (for user-facing folders).
pub fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating folder {}", dir.display()))
}

/// A temp path beside `path`, unique to this process and call.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce: u32 = rand::random();
    path.with_file_name(format!(".{name}.{}.{nonce:08x}.tmp", std::process::id()))
}

/// The pid in a temp file's name made by [`temp_beside`] (`.<name>.<pid>.<nonce>.tmp`).
fn temp_owner(file_name: &str) -> Option<i32> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, nonce) = rest.rsplit_once('.')?;
    if nonce.len() != 8 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    rest.rsplit_once('.')?.1.parse().ok().filter(|p| *p > 0)
}

/// Whether a process with this pid exists (ours, or one we may not signal).
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes the temp files that processes killed mid-write (kill -9, a power cut) left
/// in `dir` and, up to `depth` levels, below it. A living process's temp file is left
/// alone. Returns how many were removed.
pub fn remove_stale_temps(dir: &Path, depth: usize) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && depth > 0 {
            removed += remove_stale_temps(&e.path(), depth - 1);
        } else if !is_dir
            && let Some(pid) = temp_owner(&name)
            && !alive(pid)
            && fs::remove_file(e.path()).is_ok()
        {
            tracing::info!(path = %e.path().display(), "removed a temp file a killed run left");
            removed += 1;
        }
    }
    removed
}

/// What to do about an I/O error somewhere in `err`'s chain that no retry fixes by
/// itself: a read-only file system, a refused permission, a full disk.
pub fn io_hint(err: &anyhow::Error) -> Option<&'static str> {
    let io = err.chain().find_map(|c| c.downcast_ref::<io::Error>())?;
    match io.raw_os_error()? {
        libc::EROFS => Some(
            "The folder must be writable: remount its file system read-write, or set ASTRA_HOME (or the path in config.toml) to a writable folder",
        ),
        libc::EACCES | libc::EPERM => Some(
            "The folder must be writable by this user: fix its owner or mode (chmod u+rwx), or set ASTRA_HOME (or the path in config.toml) to a writable folder",
        ),
        libc::ENOSPC | libc::EDQUOT => Some(
            "The disk is full: free some space; nothing was half-written, and the next run tries again",
        ),
        _ => None,
    }
}

/// Flushes a folder's entries (the rename) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).with_context(|| format!("opening folder {}", dir.display()))?;
    d.sync_all()
        .with_context(|| format!("syncing folder {}", dir.display()))
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Test hook: with `ASTRA_TEST_FAIL_WRITES_AFTER=N`, every atomic write after the
/// first `N` fails as a full disk would (for machines where a test cannot mount a
/// small file system).
fn injected_disk_full() -> io::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static AFTER: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let after = AFTER.get_or_init(|| {
        std::env::var("ASTRA_TEST_FAIL_WRITES_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    match after {
        Some(n) if WRITES.fetch_add(1, Ordering::SeqCst) >= *n => {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` atomically: a reader sees the old file or the new one,
/// never a mix, and a crash leaves no partial file under `path`.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    atomic_replace(path, bytes, mode)?;
    sync_dir(parent_of(path))
}

/// [`atomic_write`] without its last step, the fsync of the folder that makes the
/// rename durable: the caller does that (with [`sync_parent`]) before it counts the
/// write as saved, possibly after releasing a lock that readers wait on.
pub fn atomic_replace(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = temp_beside(path);
    let result = (|| -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        injected_disk_full().with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("flushing {}", tmp.display()))?;
        fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Fsyncs the folder holding `path` (after a rename into it).
pub fn sync_parent(path: &Path) -> Result<()> {
    sync_dir(parent_of(path))
}

/// `name` if free in `dir`, else `stem (1).ext`, `stem (2).ext`, …
pub fn free_name(dir: &Path, name: &str) -> PathBuf {
    let candidate = dir.join(name);
    if fs::symlink_metadata(&candidate).is_err() {
        return candidate;
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (1..)
        .map(|n| dir.join(format!("{stem} ({n}){ext}")))
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or(candidate)
}

/// Places the finished temp file at `dst` without ever replacing an existing file.
fn place_no_replace(tmp: &Path, dst: &Path) -> io::Result<()> {
    match fs::hard_link(tmp, dst) {
        Ok(()) => fs::remove_file(tmp),
        // File systems without hard links: check, then rename (the job lock keeps
        // other astra runs out; this is the best such a file system allows).
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists && !dst.exists() => fs::rename(tmp, dst),
        Err(e) => Err(e),
    }
}

/// Copies `src` into `dir` as `name` (or a free variant of it), durably: the copy is
/// complete and on disk before it appears under its name. Returns the new path.
pub fn durable_copy(src: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    create_dir(dir)?;
    let mut input = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let probe = dir.join(name);
    let tmp = temp_beside(&probe);
    let result = (|| -> Result<PathBuf> {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        io::copy(&mut input, &mut out)
            .with_context(|| format!("copying {} to {}", src.display(), tmp.display()))?;
        out.sync_all()
            .with_context(|| format!("flushing {}", tmp.display()))?;
        for _ in 0..100 {
            let dst = free_name(dir, name);
            match place_no_replace(&tmp, &dst) {
                Ok(()) => return Ok(dst),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("placing {}", dst.display())),
            }
        }
        bail!("no free name for {name} in {}", dir.display())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    let dst = result?;
    sync_dir(dir)?;
    Ok(dst)
}

/// Moves `src` into `dir` as `name` (or a free variant), never overwriting: a rename
/// on the same file system, else copy + fsync + remove.
pub fn durable_move(src: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    create_dir(dir)?;
    for _ in 0..100 {
        let dst = free_name(dir, name);
        match fs::hard_link(src, &dst) {
            Ok(()) => {
                sync_dir(dir)?;
                fs::remove_file(src).with_context(|| format!("removing {}", src.display()))?;
                sync_dir(parent_of(src))?;
                return Ok(dst);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // Another file system (EXDEV) or no hard links: copy, then remove.
            Err(_) => break,
        }
    }
    let dst = durable_copy(src, dir, name)?;
    fs::remove_file(src).with_context(|| format!("removing {}", src.display()))?;
    sync_dir(parent_of(src))?;
    Ok(dst)
}

/// `sha256:<hex>` of a file's bytes, read in 64 KiB pieces.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex(&hasher.finalize())))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        atomic_write(&p, b"one", 0o600).unwrap();
        atomic_write(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("Notes");
        fs::create_dir(&sub).unwrap();
        // A pid that cannot exist (above the kernel's pid_max limit of 2^22).
        let dead = ".state.json.99999999.0ecb16d4.tmp";
        let mine = format!(".state.json.{}.0ecb16d4.tmp", std::process::id());
        for name in [dead, mine.as_str(), "keep.tmp", ".x.123.nothex!.tmp"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        fs::write(sub.join(".a.md.99999999.12345678.tmp"), b"x").unwrap();
        assert_eq!(remove_stale_temps(dir.path(), 0), 1);
        assert!(!dir.path().join(dead).exists());
        assert!(dir.path().join(&mine).exists(), "a living process's temp");
        assert!(dir.path().join("keep.tmp").exists(), "not ours");
        assert_eq!(remove_stale_temps(dir.path(), 1), 1, "one level down");
        let leftover = temp_beside(&dir.path().join("s.json"));
        assert_eq!(
            temp_owner(&leftover.file_name().unwrap().to_string_lossy()),
            Some(std::process::id() as i32)
        );
    }

    #[test]
    fn io_hints_say_what_to_do_about_a_read_only_or_full_disk() {
        let err = |code| {
            anyhow::Error::from(io::Error::from_raw_os_error(code)).context("writing /x/state.json")
        };
        assert!(io_hint(&err(libc::EROFS)).unwrap().contains("read-write"));
        assert!(io_hint(&err(libc::EACCES)).unwrap().contains("chmod"));
        assert!(
            io_hint(&err(libc::ENOSPC))
                .unwrap()
                .contains("free some space")
        );
        assert_eq!(io_hint(&err(libc::ECONNREFUSED)), None);
        assert_eq!(io_hint(&anyhow::anyhow!("no I/O here")), None);
    }

    #[test]
    fn copy_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.m4a");
        fs::write(&src, b"audio").unwrap();
        let out = dir.path().join("out");
        let first = durable_copy(&src, &out, "a.m4a").unwrap();
        let second = durable_copy(&src, &out, "a.m4a").unwrap();
        assert_eq!(first, out.join("a.m4a"));
        assert_eq!(second, out.join("a (1).m4a"));
        assert_eq!(fs::read(&src).unwrap(), b"audio");
        assert_eq!(fs::read_dir(&out).unwrap().count(), 2);
    }

    #[test]
    fn move_keeps_bytes_and_removes_source() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("b.wav");
        fs::write(&src, b"x").unwrap();
        let out = dir.path().join("arch");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("b.wav"), b"other").unwrap();
        let dst = durable_move(&src, &out, "b.wav").unwrap();
        assert_eq!(dst, out.join("b (1).wav"));
        assert!(!src.exists());
        assert_eq!(fs::read(out.join("b.wav")).unwrap(), b"other");
    }

    #[test]
    fn digest_is_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
