//! Watch: lists the inbox and decides which recordings are ready for this run.
//!
//! The inbox is flat (as Apple's Recordings folder is). A file is ready when it has the
//! right extension, is not hidden or an iCloud placeholder, has settled (old enough and
//! not growing), and its state says it still needs work now.
use crate::state::VoiceMemoState;
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone, Utc};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A recording found in the inbox.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The file name: its key in state.
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub modified: SystemTime,
    pub recorded_at: DateTime<FixedOffset>,
    /// A problem found while listing (a symlink out of the inbox): the item fails with it.
    pub problem: Option<String>,
}

/// What the scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Ready for this run, oldest recording first.
    pub ready: Vec<Candidate>,
    /// Still syncing or waiting for a backoff.
    pub waiting: usize,
    /// Of `waiting`: files still settling (younger than `settle_seconds`, or growing).
    pub settling: usize,
    /// Every audio file name seen in the inbox (done ones included).
    pub seen: usize,
}

/// Scan rules from the config.
#[derive(Debug, Clone)]
pub struct WatchRules {
    pub extensions: Vec<String>,
    pub settle: Duration,
    pub retry_now: bool,
    /// The `[transcription]` config's hash: a memo that waits or backs off under
    /// another one is taken up now.
    pub transcription_hash: String,
}

impl WatchRules {
    fn wants_extension(&self, name: &str) -> bool {
        let Some((_, ext)) = name.rsplit_once('.') else {
            return false;
        };
        self.extensions
            .iter()
            .any(|e| e.trim_start_matches('.').eq_ignore_ascii_case(ext))
    }
}

/// An audio file in the inbox (by name only: nothing is read or stat'ed yet).
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub path: PathBuf,
}

/// Why `inbox` cannot be listed, and what to do about it: not found (create it or
/// point the config at the right folder) is told apart from permission denied (who
/// lacks what; on macOS, Apple's folder needs Full Disk Access).
pub fn inbox_problem(inbox: &Path, e: &std::io::Error) -> (String, String) {
    use std::io::ErrorKind;
    let shown = inbox.display();
    match e.kind() {
        ErrorKind::NotFound => (
            format!("the inbox {shown} does not exist"),
            "create it (mkdir -p), or set [voice_memo] inbox in config.toml to the folder your recordings land in".into(),
        ),
        ErrorKind::PermissionDenied => {
            let who = std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| format!("uid {}", unsafe { libc::geteuid() }));
            // macOS refuses protected folders (Voice Memos', iCloud Drive's) with EPERM
            // to a program without Full Disk Access, whatever the folder's mode says.
            let on_mac = cfg!(target_os = "macos") || super::tcc::is_apple_folder(inbox);
            let fix = if on_mac {
                super::tcc::full_disk_access_hint(&super::tcc::voice_memo_binaries())
            } else {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                let owner = fs::metadata(inbox)
                    .map(|m| {
                        format!(
                            " (owner uid {}, mode {:o})",
                            m.uid(),
                            m.permissions().mode() & 0o777
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "give {who} read and search access to the folder{owner}, e.g. chmod u+rx, or run astra as its owner"
                )
            };
            (
                format!("permission denied: {who} cannot read the inbox {shown}"),
                fix,
            )
        }
        _ => (
            format!("cannot list the inbox {shown}: {e}"),
            "check the folder, or set [voice_memo] inbox in config.toml".into(),
        ),
    }
}

/// Lists the audio files in `inbox`: wanted extensions, no hidden files or iCloud
/// placeholders. A missing inbox is an error that says how to fix it.
pub fn list(inbox: &Path, rules: &WatchRules) -> Result<Vec<Listed>> {
    let entries = match fs::read_dir(inbox) {
        Ok(e) => e,
        Err(e) => {
            let (what, fix) = inbox_problem(inbox, &e);
            // The message says what to do; no generic I/O hint ("must be writable").
            return Err(anyhow::anyhow!("{what}: {fix}"));
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", inbox.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(".icloud") || !rules.wants_extension(&name) {
            continue;
        }
        out.push(Listed {
            name,
            path: entry.path(),
        });
    }
    Ok(out)
}

/// Decides which listed files are ready now, by their state and whether they settled.
pub fn scan(
    inbox: &Path,
    listed: Vec<Listed>,
    rules: &WatchRules,
    state: &VoiceMemoState,
    now: DateTime<Utc>,
) -> Scan {
    let mut scan = Scan::default();
    let now_sys = SystemTime::from(now);
    for Listed { name, path } in listed {
        if let Some(item) = state.items.get(&name) {
            match super::seen::holds(
                item.status,
                item.next_attempt_at.map(|t| t.timestamp()),
                item.transcription_hash.as_deref(),
                now.timestamp(),
                rules.retry_now,
                &rules.transcription_hash,
            ) {
                Some(false) => continue,
                Some(true) => {
                    scan.seen += 1;
                    scan.waiting += 1;
                    continue;
                }
                None => {}
            }
        }
        scan.seen += 1;
        match inspect(inbox, &path, name, now_sys, rules.settle) {
            Some(c) => scan.ready.push(c),
            None => {
                scan.waiting += 1;
                scan.settling += 1;
            }
        }
    }
    scan.ready.sort_by(|a, b| {
        a.recorded_at
            .cmp(&b.recorded_at)
            .then_with(|| a.name.cmp(&b.name))
    });
    scan
}

/// Looks at one file: `None` while it is still settling (or is not a file at all).
fn inspect(
    inbox: &Path,
    path: &Path,
    name: String,
    now: SystemTime,
    settle: Duration,
) -> Option<Candidate> {
    let link = fs::symlink_metadata(path).ok()?;
    let mut problem = None;
    let meta = if link.file_type().is_symlink() {
        match symlink_problem(inbox, path) {
            Some(p) => {
                problem = Some(p);
                link.clone()
            }
            None => fs::metadata(path).ok()?,
        }
    } else {
        link
    };
    if problem.is_none() && !meta.is_file() {
        return None;
    }
    let modified = meta.modified().unwrap_or(now);
    let age = now.duration_since(modified).unwrap_or(Duration::ZERO);
    if problem.is_none() && age < settle {
        return None;
    }
    let recorded_at = recorded_at_from_name(&name)
        .unwrap_or_else(|| DateTime::<Local>::from(modified).fixed_offset());
    Some(Candidate {
        name,
        path: path.to_path_buf(),
        size: meta.len(),
        modified,
        recorded_at,
        problem,
    })
}

/// Why a symlink in the inbox must not be followed, if it must not.
fn symlink_problem(inbox: &Path, path: &Path) -> Option<String> {
    let display = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = match fs::canonicalize(path) {
        Ok(t) => t,
        Err(e) => {
            return Some(format!(
                "{display}: a symlink whose target cannot be reached ({e})"
            ));
        }
    };
    let inbox = fs::canonicalize(inbox).unwrap_or_else(|_| inbox.to_path_buf());
    if target.starts_with(&inbox) {
        None
    } else {
        Some(format!(
            "{display}: a symlink that points outside the inbox (to {}); astra does not follow it. Copy the recording into the inbox instead",
            target.display()
        ))
    }
}

/// Re-checks the ready files after a pause: one whose size or mtime changed is still
/// being written (iCloud sync) and waits for the next run.
pub fn second_look(ready: Vec<Candidate>) -> (Vec<Candidate>, usize) {
    let mut waiting = 0;
    let still = ready
        .into_iter()
        .filter(|c| {
            if c.problem.is_some() {
                return true;
            }
            let same = fs::metadata(&c.path)
                .map(|m| m.len() == c.size && m.modified().ok() == Some(c.modified))
                .unwrap_or(false);
            if !same {
                waiting += 1;
            }
            same
        })
        .collect();
    (still, waiting)
}

/// Apple's Voice Memos name: `20260111 135431-096B2196.m4a` (local time).
pub fn recorded_at_from_name(name: &str) -> Option<DateTime<FixedOffset>> {
    let stamp = name.get(..15)?;
    let naive = NaiveDateTime::parse_from_str(stamp, "%Y%m%d %H%M%S").ok()?;
    let rest = &name[15..];
    if !(rest.starts_with('-') || rest.starts_with('.')) {
        return None;
    }
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|d| d.fixed_offset())
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_unreadable_inbox_is_not_a_missing_one() {
        let inbox = Path::new("/srv/memos");
        let (what, fix) = inbox_problem(inbox, &std::io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(what, "the inbox /srv/memos does not exist");
        assert!(fix.starts_with("create it"), "{fix}");
        for code in [libc::EACCES, libc::EPERM] {
            let (what, fix) = inbox_problem(inbox, &std::io::Error::from_raw_os_error(code));
            assert!(what.starts_with("permission denied: "), "{what}");
            assert!(what.ends_with("cannot read the inbox /srv/memos"), "{what}");
            assert!(!fix.contains("create"), "{fix}");
        }
        let apple = Path::new(
            "/Users/me/Library/Group Containers/group.com.apple.VoiceMemos.shared/Recordings",
        );
        let (_, fix) = inbox_problem(apple, &std::io::Error::from_raw_os_error(libc::EPERM));
        assert!(fix.contains("Full Disk Access"), "{fix}");
    }

    use super::*;
    use crate::state::{Item, ItemStatus};

    fn rules(settle: u64) -> WatchRules {
        WatchRules {
            extensions: vec!["m4a".into(), "wav".into()],
            settle: Duration::from_secs(settle),
            retry_now: false,
            transcription_hash: String::new(),
        }
    }

    fn touch(dir: &Path, name: &str, bytes: &[u8], age_secs: u64) {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        let t = SystemTime::now() - Duration::from_secs(age_secs);
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    fn scan(d: &Path, rules: &WatchRules, st: &VoiceMemoState, now: DateTime<Utc>) -> Result<Scan> {
        Ok(super::scan(d, list(d, rules)?, rules, st, now))
    }

    #[test]
    fn apple_names_give_local_recording_time() {
        let t = recorded_at_from_name("20260111 135431-096B2196.m4a").unwrap();
        assert_eq!(t.naive_local().to_string(), "2026-01-11 13:54:31");
        assert!(recorded_at_from_name("voice_memo_001.m4a").is_none());
        assert!(recorded_at_from_name("20261399 999999-x.m4a").is_none());
    }

    #[test]
    fn filters_hidden_placeholders_extensions_and_young_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "20260111 135431-096B2196.m4a", b"a", 100);
        touch(d, "20250101 080000-AAAA.M4A", b"b", 100);
        touch(d, ".hidden.m4a", b"c", 100);
        touch(d, ".x.m4a.icloud", b"d", 100);
        touch(d, "notes.txt", b"e", 100);
        touch(d, "young.wav", b"f", 1);
        fs::create_dir(d.join("dir.m4a")).unwrap();
        let s = scan(d, &rules(10), &VoiceMemoState::default(), Utc::now()).unwrap();
        let names: Vec<_> = s.ready.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["20250101 080000-AAAA.M4A", "20260111 135431-096B2196.m4a"]
        );
        assert_eq!(s.waiting, 2, "young.wav and the folder wait");
    }

    #[test]
    fn state_decides_what_is_done_or_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for n in ["done.m4a", "later.m4a", "due.m4a", "dead.m4a", "new.m4a"] {
            touch(d, n, b"x", 100);
        }
        let now = Utc::now();
        let mut st = VoiceMemoState::default();
        let mut item = |name: &str, status, next: Option<DateTime<Utc>>| {
            st.items.insert(
                name.into(),
                Item {
                    status,
                    next_attempt_at: next,
                    ..Item::new_pending()
                },
            );
        };
        item("done.m4a", ItemStatus::Completed, None);
        item(
            "later.m4a",
            ItemStatus::Retrying,
            Some(now + chrono::Duration::minutes(5)),
        );
        item(
            "due.m4a",
            ItemStatus::Retrying,
            Some(now - chrono::Duration::minutes(5)),
        );
        item("dead.m4a", ItemStatus::Failed, None);
        let s = scan(d, &rules(0), &st, now).unwrap();
        let mut names: Vec<_> = s.ready.iter().map(|c| c.name.clone()).collect();
        names.sort();
        assert_eq!(names, ["due.m4a", "new.m4a"]);
        assert_eq!(s.waiting, 1);
        let r = WatchRules {
            retry_now: true,
            ..rules(0)
        };
        assert_eq!(scan(d, &r, &st, now).unwrap().ready.len(), 3);
    }

    #[test]
    fn symlink_outside_the_inbox_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        fs::create_dir(&inbox).unwrap();
        touch(dir.path(), "secret.m4a", b"x", 100);
        std::os::unix::fs::symlink(dir.path().join("secret.m4a"), inbox.join("link.m4a")).unwrap();
        let s = scan(&inbox, &rules(0), &VoiceMemoState::default(), Utc::now()).unwrap();
        assert_eq!(s.ready.len(), 1);
        assert!(
            s.ready[0]
                .problem
                .as_deref()
                .unwrap()
                .contains("points outside the inbox")
        );
    }

    #[test]
    fn a_growing_file_waits() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "a.m4a", b"x", 100);
        let s = scan(
            dir.path(),
            &rules(0),
            &VoiceMemoState::default(),
            Utc::now(),
        )
        .unwrap();
        fs::write(dir.path().join("a.m4a"), b"xyz").unwrap();
        let (ready, waiting) = second_look(s.ready);
        assert!(ready.is_empty());
        assert_eq!(waiting, 1);
    }
}
