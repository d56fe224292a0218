//! The seen-index: a compact cache of which inbox names need no work (completed,
//! discarded, dead-lettered, waiting, or backing off), derived from state.json (what
//! is in flight) and the memo catalogue (what is done), and stamped with the state
//! file's identity. A run with nothing new reads this small file and opens neither the
//! catalogue nor more of state.json.
//!
//! It is only a cache: a stale or missing index is rebuilt, and a wrong one cannot be
//! used because the stamp (device, inode, size, mtime) of every state save differs
//! (saves are atomic renames). Every change of the catalogue's done set is followed by
//! a state save (a memo finished: removed from state.json; migrated: removed), and
//! `astra memos retry` deletes the index before it writes; so a current stamp means the
//! catalogue's done set is the one the index was built from.
use crate::state::{ItemStatus, VoiceMemoState};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const MAGIC: &str = "astra-seen-v2";

/// What the index knows about a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// Nothing more to do.
    Settled,
    /// Retrying after this time (unix seconds), unless the `[transcription]` config
    /// hash is no longer this one.
    RetryAt(i64, String),
    /// Waiting for a transcriber while the `[transcription]` config hash is this one.
    Waiting(String),
}

/// Whether a memo in `status` holds back now: `Some(true)` waiting (for its backoff or
/// a transcriber), `Some(false)` nothing to do, `None` work to do. A change of the
/// `[transcription]` config (`current` ≠ the memo's hash) ends every wait and backoff.
pub fn holds(
    status: ItemStatus,
    next_attempt: Option<i64>,
    hash: Option<&str>,
    now: i64,
    retry_now: bool,
    current: &str,
) -> Option<bool> {
    let same = hash.is_none_or(|h| h == current);
    match status {
        s if s.is_done() || s == ItemStatus::Failed => Some(false),
        ItemStatus::Retrying if !retry_now && same && next_attempt.unwrap_or(0) > now => Some(true),
        ItemStatus::Waiting if !retry_now && same => Some(true),
        _ => None,
    }
}

/// The index: settled names, backoffs, and whether state holds unfinished items.
#[derive(Debug, Default)]
pub struct Seen {
    pub names: HashMap<String, Known>,
    /// Items left `pending` by an interrupted run, or done ones state.json still holds
    /// (not migrated to the catalogue yet): the full path must run.
    pub pending: usize,
}

impl Seen {
    /// Builds the index from a parsed state and the catalogue's done names.
    pub fn from_state(vm: &VoiceMemoState, done: Vec<String>) -> Seen {
        let mut seen = Seen::default();
        for name in done {
            seen.names.insert(name, Known::Settled);
        }
        for (name, item) in &vm.items {
            let hash = || item.transcription_hash.clone().unwrap_or_default();
            let known = match item.status {
                // Done memos still in state.json (the full state of an earlier version):
                // settled, but the run must take the full path once to migrate them.
                s if s.is_done() => {
                    seen.pending += 1;
                    Known::Settled
                }
                ItemStatus::Failed => Known::Settled,
                ItemStatus::Retrying => Known::RetryAt(
                    item.next_attempt_at.map(|t| t.timestamp()).unwrap_or(0),
                    hash(),
                ),
                ItemStatus::Waiting => Known::Waiting(hash()),
                _ => {
                    seen.pending += 1;
                    continue;
                }
            };
            seen.names.insert(name.clone(), known);
        }
        seen
    }

    /// Whether `name` needs no work now (`Some(true)`: it waits; see [`holds`]).
    pub fn skip(
        &self,
        name: &str,
        now: DateTime<Utc>,
        retry_now: bool,
        current: &str,
    ) -> Option<bool> {
        let now = now.timestamp();
        match self.names.get(name)? {
            Known::Settled => Some(false),
            Known::RetryAt(t, h) => holds(
                ItemStatus::Retrying,
                Some(*t),
                Some(h).filter(|h| !h.is_empty()).map(String::as_str),
                now,
                retry_now,
                current,
            ),
            Known::Waiting(h) => holds(
                ItemStatus::Waiting,
                None,
                Some(h).filter(|h| !h.is_empty()).map(String::as_str),
                now,
                retry_now,
                current,
            ),
        }
    }

    fn encode(&self, stamp: &str) -> Vec<u8> {
        let mut out = format!("{MAGIC} {stamp} {}\n", self.pending).into_bytes();
        for (name, known) in &self.names {
            match known {
                Known::Settled => out.push(b'S'),
                Known::RetryAt(t, h) => out.extend_from_slice(format!("R{t} {h} ").as_bytes()),
                Known::Waiting(h) => out.extend_from_slice(format!("W{h} ").as_bytes()),
            }
            out.extend_from_slice(name.as_bytes());
            out.push(0);
        }
        out
    }

    /// The index in `bytes` if it carries `stamp`; only the names in `wanted` (all
    /// when `None`) are kept, so a big index costs a scan, not a map of every name.
    fn decode(bytes: &[u8], stamp: &str, wanted: Option<&HashSet<&str>>) -> Option<Seen> {
        let nl = bytes.iter().position(|b| *b == b'\n')?;
        let header = std::str::from_utf8(&bytes[..nl]).ok()?;
        let rest = header
            .strip_prefix(MAGIC)?
            .trim_start()
            .strip_prefix(stamp)?;
        let pending = rest.trim().parse().ok()?;
        let mut names = HashMap::with_capacity(wanted.map_or(0, |w| w.len()));
        for rec in bytes[nl + 1..].split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let rec = std::str::from_utf8(rec).ok()?;
            let (known, name) = match rec.as_bytes()[0] {
                b'S' => (Known::Settled, &rec[1..]),
                b'R' => {
                    let (t, rest) = rec[1..].split_once(' ')?;
                    let (h, name) = rest.split_once(' ')?;
                    (Known::RetryAt(t.parse().ok()?, h.to_string()), name)
                }
                b'W' => {
                    let (h, name) = rec[1..].split_once(' ')?;
                    (Known::Waiting(h.to_string()), name)
                }
                _ => return None,
            };
            if wanted.is_none_or(|w| w.contains(name)) {
                names.insert(name.to_string(), known);
            }
        }
        Some(Seen { names, pending })
    }
}

/// The identity of the state file's current content.
fn stamp(meta: &std::fs::Metadata) -> String {
    format!(
        "{}:{}:{}:{}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime_nsec() + meta.mtime() * 1_000_000_000
    )
}

/// The number of unfinished items, read from the index's first line alone when the
/// index is current (`None`: stale or missing; call [`load`]).
pub fn pending_if_current(state_path: &Path, index_path: &Path) -> Option<usize> {
    use std::io::BufRead;
    let meta = match std::fs::metadata(state_path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(0),
        Err(_) => return None,
    };
    let mut line = String::new();
    std::io::BufReader::new(File::open(index_path).ok()?)
        .read_line(&mut line)
        .ok()?;
    let rest = line
        .trim_end()
        .strip_prefix(MAGIC)?
        .trim_start()
        .strip_prefix(&stamp(&meta))?;
    rest.trim().parse().ok()
}

/// A short hash of the `[transcription]` config: a memo waiting or backing off under
/// one hash is taken up as soon as the config has another.
pub fn transcription_hash(cfg: &crate::config::TranscriptionConfig) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{cfg:?}").as_bytes());
    crate::fsutil::hex(&digest[..8])
}

/// Where the index lives.
pub fn index_path(paths: &crate::paths::Paths) -> std::path::PathBuf {
    paths.cache.join("voice-memo.seen")
}

/// The catalogue's done names (none when there is no catalogue yet).
fn catalogue_done(db: &Path) -> Result<Vec<String>> {
    if !db.exists() {
        return Ok(Vec::new());
    }
    let conn = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening the memo catalogue {}", db.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A file whose first write failed (a full disk) has no tables yet: nothing done.
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .with_context(|| format!("reading the memo catalogue {}", db.display()))?;
    if version == 0 {
        return Ok(Vec::new());
    }
    let mut st = conn
        .prepare("SELECT file FROM memos WHERE status IN ('completed', 'discarded')")
        .with_context(|| format!("reading the memo catalogue {}", db.display()))?;
    let names = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()
        .with_context(|| format!("reading the memo catalogue {}", db.display()))?;
    Ok(names)
}

/// The index for `state_path`, from `index_path` when it is current (keeping only the
/// names in `wanted`, when given: the inbox's); otherwise built from state.json and the
/// catalogue at `db` (state then also returned parsed, so the caller need not read it
/// again) and, unless `read_only`, saved for the next run.
pub fn load(
    state_path: &Path,
    index_path: &Path,
    db: &Path,
    read_only: bool,
    wanted: Option<&HashSet<&str>>,
) -> Result<(Seen, Option<VoiceMemoState>)> {
    let mut f = match File::open(state_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seen = Seen::from_state(&VoiceMemoState::default(), catalogue_done(db)?);
            return Ok((seen, Some(VoiceMemoState::default())));
        }
        // Unreadable state: let the full load report it properly.
        Err(_) => {
            return Ok((
                Seen {
                    pending: 1,
                    ..Seen::default()
                },
                None,
            ));
        }
    };
    let meta = f
        .metadata()
        .with_context(|| format!("reading {}", state_path.display()))?;
    let stamp = stamp(&meta);
    if let Some(seen) = std::fs::read(index_path)
        .ok()
        .and_then(|b| Seen::decode(&b, &stamp, wanted))
    {
        return Ok((seen, None));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", state_path.display()))?;
    let vm = crate::state::StateStore::new(state_path)
        .parse_job_bytes::<VoiceMemoState>(&bytes, crate::voice_memo::JOB.name)?;
    // After the state file's stamp and content: see the module's comment.
    let seen = Seen::from_state(&vm, catalogue_done(db)?);
    if !read_only {
        // A cache: no fsync; a torn write fails the stamp or decode and is rebuilt.
        let tmp = index_path.with_extension(format!("tmp.{}", std::process::id()));
        if std::fs::write(&tmp, seen.encode(&stamp)).is_ok() {
            let _ = std::fs::rename(&tmp, index_path);
        }
    }
    Ok((seen, Some(vm)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Item, StateStore};

    #[test]
    fn round_trips_and_notices_a_new_state() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let index = dir.path().join("seen.idx");
        let store = StateStore::new(&state);
        let later = Utc::now() + chrono::Duration::hours(1);
        store
            .update_job("voiceMemo", |vm: &mut VoiceMemoState| {
                vm.items.insert(
                    "done\nname é.m4a".into(),
                    Item {
                        status: ItemStatus::Completed,
                        ..Item::new_pending()
                    },
                );
                vm.items.insert(
                    "wait.m4a".into(),
                    Item {
                        status: ItemStatus::Retrying,
                        next_attempt_at: Some(later),
                        transcription_hash: Some("h1".into()),
                        ..Item::new_pending()
                    },
                );
                vm.items.insert(
                    "nohear.m4a".into(),
                    Item {
                        status: ItemStatus::Waiting,
                        transcription_hash: Some("h1".into()),
                        ..Item::new_pending()
                    },
                );
            })
            .unwrap();
        let (seen, parsed) =
            load(&state, &index, &dir.path().join("memos.db"), false, None).unwrap();
        assert!(parsed.is_some(), "first load parses state.json");
        let (again, parsed) =
            load(&state, &index, &dir.path().join("memos.db"), false, None).unwrap();
        assert!(parsed.is_none(), "second load uses the index");
        assert_eq!(again.names, seen.names);
        let now = Utc::now();
        assert_eq!(
            again.skip("done\nname é.m4a", now, false, "h1"),
            Some(false)
        );
        assert_eq!(again.skip("wait.m4a", now, false, "h1"), Some(true));
        assert_eq!(again.skip("wait.m4a", now, true, "h1"), None);
        assert_eq!(
            again.skip("wait.m4a", now, false, "h2"),
            None,
            "a new [transcription] config ends the backoff"
        );
        assert_eq!(again.skip("nohear.m4a", now, false, "h1"), Some(true));
        assert_eq!(again.skip("nohear.m4a", now, false, "h2"), None);
        assert_eq!(again.skip("new.m4a", now, false, "h1"), None);
        let inbox = HashSet::from(["wait.m4a", "new.m4a"]);
        let (few, _) = load(
            &state,
            &index,
            &dir.path().join("memos.db"),
            false,
            Some(&inbox),
        )
        .unwrap();
        assert_eq!(few.names.len(), 1, "only the inbox's names are kept");
        assert_eq!(few.skip("wait.m4a", now, false, "h1"), Some(true));
        store
            .update_job("voiceMemo", |vm: &mut VoiceMemoState| {
                vm.items.insert("half.m4a".into(), Item::new_pending());
            })
            .unwrap();
        let (seen, parsed) =
            load(&state, &index, &dir.path().join("memos.db"), false, None).unwrap();
        assert!(parsed.is_some(), "a new save invalidates the index");
        assert_eq!(
            seen.pending, 2,
            "the half-done memo, and the done one state.json still holds (to migrate)"
        );
    }
}
