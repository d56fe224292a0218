//! The seen-index: a compact cache of which inbox names need no work (completed,
//! discarded, dead-lettered, or waiting for a backoff), derived from state.json and
//! stamped with the state file's identity. A run with nothing new reads this small
//! file instead of parsing a state.json that holds years of memos.
//!
//! It is only a cache: a stale or missing index is rebuilt from state.json, and a
//! wrong one cannot be used because the stamp (device, inode, size, mtime) of every
//! state save differs (saves are atomic renames).
use crate::state::{ItemStatus, VoiceMemoState};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const MAGIC: &str = "astra-seen-v1";

/// What the index knows about a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Nothing more to do.
    Settled,
    /// Retrying after this time (unix seconds).
    RetryAt(i64),
}

/// The index: settled names, backoffs, and whether state holds unfinished items.
#[derive(Debug, Default)]
pub struct Seen {
    pub names: HashMap<String, Known>,
    /// Items left `pending` by an interrupted run: the full state must be read.
    pub pending: usize,
}

impl Seen {
    /// Builds the index from a parsed state.
    pub fn from_state(vm: &VoiceMemoState) -> Seen {
        let mut seen = Seen::default();
        for (name, item) in &vm.items {
            let known = match item.status {
                s if s.is_done() || s == ItemStatus::Failed => Known::Settled,
                ItemStatus::Retrying => {
                    Known::RetryAt(item.next_attempt_at.map(|t| t.timestamp()).unwrap_or(0))
                }
                _ => {
                    seen.pending += 1;
                    continue;
                }
            };
            seen.names.insert(name.clone(), known);
        }
        seen
    }

    /// Whether `name` needs no work now (`waiting`: it is backing off).
    pub fn skip(&self, name: &str, now: DateTime<Utc>, retry_now: bool) -> Option<bool> {
        match self.names.get(name)? {
            Known::Settled => Some(false),
            Known::RetryAt(t) if !retry_now && *t > now.timestamp() => Some(true),
            Known::RetryAt(_) => None,
        }
    }

    fn encode(&self, stamp: &str) -> Vec<u8> {
        let mut out = format!("{MAGIC} {stamp} {}\n", self.pending).into_bytes();
        for (name, known) in &self.names {
            match known {
                Known::Settled => out.push(b'S'),
                Known::RetryAt(t) => out.extend_from_slice(format!("R{t} ").as_bytes()),
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
                    let (t, name) = rec[1..].split_once(' ')?;
                    (Known::RetryAt(t.parse().ok()?), name)
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

/// The index for `state_path`, from `index_path` when it is current (keeping only the
/// names in `wanted`, when given: the inbox's); otherwise built from state.json (then
/// also returned parsed, so the caller need not read it again) and, unless
/// `read_only`, saved for the next run.
pub fn load(
    state_path: &Path,
    index_path: &Path,
    read_only: bool,
    wanted: Option<&HashSet<&str>>,
) -> Result<(Seen, Option<VoiceMemoState>)> {
    let mut f = match File::open(state_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Seen::default(), Some(VoiceMemoState::default())));
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
    let seen = Seen::from_state(&vm);
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
                        ..Item::new_pending()
                    },
                );
            })
            .unwrap();
        let (seen, parsed) = load(&state, &index, false, None).unwrap();
        assert!(parsed.is_some(), "first load parses state.json");
        let (again, parsed) = load(&state, &index, false, None).unwrap();
        assert!(parsed.is_none(), "second load uses the index");
        assert_eq!(again.names, seen.names);
        let now = Utc::now();
        assert_eq!(again.skip("done\nname é.m4a", now, false), Some(false));
        assert_eq!(again.skip("wait.m4a", now, false), Some(true));
        assert_eq!(again.skip("wait.m4a", now, true), None);
        assert_eq!(again.skip("new.m4a", now, false), None);
        let inbox = HashSet::from(["wait.m4a", "new.m4a"]);
        let (few, _) = load(&state, &index, false, Some(&inbox)).unwrap();
        assert_eq!(few.names.len(), 1, "only the inbox's names are kept");
        assert_eq!(few.skip("wait.m4a", now, false), Some(true));
        store
            .update_job("voiceMemo", |vm: &mut VoiceMemoState| {
                vm.items.insert("half.m4a".into(), Item::new_pending());
            })
            .unwrap();
        let (seen, parsed) = load(&state, &index, false, None).unwrap();
        assert!(parsed.is_some(), "a new save invalidates the index");
        assert_eq!(seen.pending, 1);
    }
}
