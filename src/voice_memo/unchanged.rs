//! The inbox as the last nothing-to-do run found it, so the next run can tell it has
//! not changed without listing it.
//!
//! A run with nothing to do lists the whole inbox (and, in Voice Memos' folder, copies
//! and reads its database): linear in the library, several milliseconds for a few
//! thousand memos, every five minutes. But nothing can be new when the folder itself
//! has not changed (a file added, removed or renamed changes the folder's mtime), the
//! Voice Memos database has not changed (a restore from Recently Deleted, a download
//! from iCloud), the `[voice_memo]` and `[transcription]` settings are the same, and
//! state.json has nothing in flight (the seen-index says so: anything that re-queues a
//! memo writes state.json or removes that index).
//!
//! So a nothing-to-do run that had nothing waiting either records a fingerprint of
//! those in `cache/voice-memo.inbox`; the next run compares a fresh one (three `stat`
//! calls) and, when it is the same, is done. The fingerprint is taken before the
//! listing, and recorded only when the folder had not changed for [`QUIET`] by then:
//! a file added within the filesystem's timestamp granularity of the previous change
//! (a second on HFS+ and some network filesystems) may not move the mtime, and such
//! a change must not be taken for none.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long the folder must have been unchanged when it was looked at.
const QUIET: Duration = Duration::from_secs(2);

const MAGIC: &str = "astra-inbox-v1";

/// Where the fingerprint is kept.
pub fn path(paths: &crate::paths::Paths) -> PathBuf {
    paths.cache.join("voice-memo.inbox")
}

/// The inbox as it is now (`None`: it cannot be read), and when it was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    text: String,
    modified: SystemTime,
    at: SystemTime,
}

/// A fingerprint of `inbox` (device, inode, mtime), of Voice Memos' database and WAL
/// beside it and of astra's own records (`ours`: state.json, the catalogue and its
/// WAL; each by size and mtime, or its absence), and of `settings` (a digest of the
/// job's configuration). A user who deletes the catalogue and state to start again
/// is seen, as is anything else that writes them.
pub fn look(inbox: &Path, ours: &[&Path], settings: &str) -> Option<Look> {
    use std::os::unix::fs::MetadataExt;
    let at = SystemTime::now();
    let dir = std::fs::metadata(inbox).ok()?;
    let mut text = format!(
        "{MAGIC} {} {} {}.{} {settings}",
        dir.dev(),
        dir.ino(),
        dir.mtime(),
        dir.mtime_nsec()
    );
    let db = super::library::DB_NAME;
    let apple = [inbox.join(db), inbox.join(format!("{db}-wal"))];
    for file in apple
        .iter()
        .map(PathBuf::as_path)
        .chain(ours.iter().copied())
    {
        match std::fs::metadata(file) {
            Ok(m) => {
                let _ = write!(text, " {}:{}.{}", m.len(), m.mtime(), m.mtime_nsec());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => text.push_str(" -"),
            Err(_) => return None,
        }
    }
    Some(Look {
        text,
        modified: dir.modified().ok()?,
        at,
    })
}

/// Whether `now` is what the last nothing-to-do run recorded at `file`.
pub fn same_as_recorded(file: &Path, now: &Look) -> bool {
    std::fs::read_to_string(file).is_ok_and(|t| t.trim_end() == now.text)
}

/// Records `then` (taken before this run's listing, which found nothing to do and
/// nothing waiting) for the next run, if the folder had been quiet long enough.
pub fn record(file: &Path, then: &Look) {
    let quiet = then
        .at
        .duration_since(then.modified)
        .is_ok_and(|d| d >= QUIET);
    if !quiet {
        forget(file);
        return;
    }
    // Not durable on purpose: a lost or torn file only costs the next run a listing.
    let tmp = file.with_extension("inbox.tmp");
    if std::fs::write(&tmp, format!("{}\n", then.text)).is_err()
        || std::fs::rename(&tmp, file).is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The next run lists the inbox.
pub fn forget(file: &Path) {
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::debug!(error = %e, file = %file.display(), "could not remove the inbox fingerprint");
        }
        _ => {}
    }
}

/// A digest of what decides which files are memos and whether they are done: the
/// `[voice_memo]` and `[transcription]` settings. FNV-1a, not SHA-256: it only has
/// to tell this run's settings from the last nothing-to-do run's, and SHA-256's CPU
/// feature detection would cost that run more than everything else it hashes.
pub fn settings_digest(config: &crate::config::Config) -> String {
    let text = format!("{:?}\n{:?}", config.voice_memo, config.transcription);
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backdate(p: &Path, secs: u64) {
        let t = SystemTime::now() - Duration::from_secs(secs);
        std::fs::File::open(p).unwrap().set_modified(t).unwrap();
    }

    #[test]
    fn any_change_to_the_folder_its_database_or_the_settings_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        std::fs::write(inbox.join("a.m4a"), b"x").unwrap();
        backdate(&inbox, 60);
        let mark = dir.path().join("voice-memo.inbox");
        let first = look(&inbox, &[], "s1").unwrap();
        record(&mark, &first);
        assert!(same_as_recorded(&mark, &look(&inbox, &[], "s1").unwrap()));
        assert!(
            !same_as_recorded(&mark, &look(&inbox, &[], "s2").unwrap()),
            "settings"
        );

        std::fs::write(inbox.join("CloudRecordings.db"), b"db").unwrap();
        backdate(&inbox, 60);
        assert!(
            !same_as_recorded(&mark, &look(&inbox, &[], "s1").unwrap()),
            "database"
        );
        let with_db = look(&inbox, &[], "s1").unwrap();
        record(&mark, &with_db);
        assert!(same_as_recorded(&mark, &look(&inbox, &[], "s1").unwrap()));
        std::fs::write(inbox.join("CloudRecordings.db"), b"db, longer").unwrap();
        assert!(
            !same_as_recorded(&mark, &look(&inbox, &[], "s1").unwrap()),
            "database written"
        );

        record(&mark, &look(&inbox, &[], "s1").unwrap());
        std::fs::write(inbox.join("b.m4a"), b"y").unwrap();
        assert!(
            !same_as_recorded(&mark, &look(&inbox, &[], "s1").unwrap()),
            "a new file"
        );
    }

    #[test]
    fn astras_own_records_are_part_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        backdate(&inbox, 60);
        let state = dir.path().join("state.json");
        std::fs::write(&state, b"{}").unwrap();
        let mark = dir.path().join("voice-memo.inbox");
        record(&mark, &look(&inbox, &[&state], "s").unwrap());
        assert!(same_as_recorded(
            &mark,
            &look(&inbox, &[&state], "s").unwrap()
        ));
        std::fs::remove_file(&state).unwrap();
        assert!(
            !same_as_recorded(&mark, &look(&inbox, &[&state], "s").unwrap()),
            "state gone"
        );
    }

    #[test]
    fn a_folder_that_just_changed_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        let mark = dir.path().join("voice-memo.inbox");
        std::fs::write(&mark, "stale\n").unwrap();
        let now = look(&inbox, &[], "s").unwrap();
        record(&mark, &now);
        assert!(!mark.exists(), "changed under a second ago: no fingerprint");
        assert!(!same_as_recorded(&mark, &now));
    }
}
