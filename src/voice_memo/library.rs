//! Voice Memos' own library: `CloudRecordings.db` (Core Data over SQLite, WAL mode)
//! beside the recordings holds what the file names do not say: the title the user
//! gave a memo, its folder, a stable unique id, and whether it sits in Recently
//! Deleted. Read strictly read-only, from a private snapshot.
//!
//! Columns (from the public notes; see the README's "Voice Memos library"):
//! - title: `ZCUSTOMLABELFORSORTING`, else `ZENCRYPTEDTITLE`, else `ZCUSTOMLABEL`. A
//!   rename round trip on a real library (patrick-fu/voice-memos-cli issue #26, macOS
//!   26) changed the first two to the typed title and left `ZCUSTOMLABEL` alone.
//! - Recently Deleted: `ZEVICTIONDATE` set. The same project's delete/restore round
//!   trip changed only that column (NULL → a date → NULL); others guessed it means
//!   "evicted from this Mac", which that observation contradicts.
//! - evicted (audio only in iCloud): a live row whose `ZPATH` file is not on disk.
//! - `ZUNIQUEID`, `ZPATH` (file name, or an absolute path in old versions), `ZFOLDER`
//!   → `ZFOLDER.Z_PK`, folder name `ZENCRYPTEDNAME` (older: `ZNAME`).
//!
//! Column names vary across macOS versions, so they are looked up at run time.
//!
//! # Why a copy, and why it is consistent
//! Opening Apple's database in place, even `mode=ro`, makes SQLite create or write
//! the `-shm` wal-index in Apple's folder; `immutable=1` avoids that but ignores the
//! WAL, so memos titled since the last checkpoint would be read stale or not at all.
//! So the database and its `-wal` are copied into a private directory and the copy is
//! opened there (SQLite rebuilds the wal-index from the copied WAL). The copy is a
//! consistent snapshot when, across the whole copy, the database file did not change
//! (size and modification time: no checkpoint wrote into it) and the WAL header did
//! not change (salts and checkpoint sequence: the WAL was not restarted, only
//! appended to). Then the copied WAL is a prefix of the one generation the copied
//! database belongs to, and SQLite's recovery keeps its frames up to the last valid
//! commit. Otherwise the copy is retried; after a few tries the run falls back to the
//! plain folder listing and says why.
use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The database's file name in Voice Memos' Recordings folder.
pub const DB_NAME: &str = "CloudRecordings.db";

/// How many times a snapshot is retried while Voice Memos keeps writing.
const SNAPSHOT_TRIES: usize = 5;

/// What the database says about one recording.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recording {
    /// The audio's file name in the inbox (from `ZPATH`).
    pub file: String,
    pub unique_id: Option<String>,
    pub title: Option<String>,
    pub folder: Option<String>,
    /// In Recently Deleted.
    pub deleted: bool,
}

/// The recordings the database lists, by file name.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub recordings: HashMap<String, Recording>,
}

impl Library {
    pub fn get(&self, file: &str) -> Option<&Recording> {
        self.recordings.get(file)
    }

    /// Live recordings whose audio is not on disk (evicted to iCloud, or still
    /// downloading), by file name. `listed`: the files the inbox's listing found,
    /// which are on disk; only the others are looked for (one `stat` per recording
    /// would be most of a nothing-to-do run in a library of thousands).
    pub fn evicted(&self, inbox: &Path, listed: &HashSet<&str>) -> Vec<&Recording> {
        let mut out: Vec<&Recording> = self
            .recordings
            .values()
            .filter(|r| {
                !r.deleted && !listed.contains(r.file.as_str()) && !inbox.join(&r.file).exists()
            })
            .collect();
        out.sort_by(|a, b| a.file.cmp(&b.file));
        out
    }
}

/// The library for this run per `[voice_memo] library`: `None` when the mode is
/// `folder`, or `auto` finds no database or cannot read it (said once, as a warning).
pub fn for_run(
    mode: crate::config::LibraryMode,
    inbox: &Path,
    scratch: &Path,
) -> Result<Option<Library>> {
    use crate::config::LibraryMode;
    if mode == LibraryMode::Folder {
        return Ok(None);
    }
    match (load(inbox, scratch), mode) {
        (Ok(None), LibraryMode::VoiceMemos) => Err(crate::exit::usage(format!(
            "[voice_memo] library = \"voice-memos\" but {} has no {DB_NAME}: point inbox at Voice Memos' Recordings folder (~/Library/Group Containers/group.com.apple.VoiceMemos.shared/Recordings), or set library = \"auto\"",
            inbox.display()
        ))),
        (Ok(lib), _) => Ok(lib),
        (Err(e), LibraryMode::VoiceMemos) => {
            Err(e.context(format!("reading Voice Memos' {DB_NAME}")))
        }
        (Err(e), _) => {
            tracing::warn!(
                "cannot read Voice Memos' {DB_NAME} ({e:#}); listing the folder instead (no titles, folders or Recently Deleted)"
            );
            Ok(None)
        }
    }
}

/// The file name each Voice Memos unique id was first seen under (kept in
/// `$ASTRA_HOME/cache/voice-memos-ids.json`), so a memo whose file is renamed is known
/// as the same memo.
#[derive(Debug, Default)]
pub struct Identities {
    path: PathBuf,
    first_names: HashMap<String, String>,
    changed: bool,
}

impl Identities {
    pub fn load(cache: &Path) -> Identities {
        let path = cache.join("voice-memos-ids.json");
        let first_names = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Identities {
            path,
            first_names,
            changed: false,
        }
    }

    /// For each listed file the library knows: the name it was first seen under when
    /// that differs (a rename), by the new name. New ids are remembered.
    pub fn renames<'a>(
        &mut self,
        lib: &Library,
        listed: impl Iterator<Item = &'a str>,
    ) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for name in listed {
            let Some(uid) = lib.get(name).and_then(|r| r.unique_id.as_deref()) else {
                continue;
            };
            match self.first_names.get(uid) {
                Some(first) if first != name => {
                    out.insert(name.to_string(), first.clone());
                }
                Some(_) => {}
                None => {
                    self.first_names.insert(uid.to_string(), name.to_string());
                    self.changed = true;
                }
            }
        }
        out
    }

    pub fn save(&self) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&self.first_names)?;
        crate::fsutil::atomic_write(&self.path, &bytes, 0o600)
    }
}

/// Reads the library in `inbox` through a snapshot in a private directory under
/// `scratch`. `Ok(None)`: there is no database.
pub fn load(inbox: &Path, scratch: &Path) -> Result<Option<Library>> {
    let db = inbox.join(DB_NAME);
    match fs::symlink_metadata(&db) {
        Ok(m) if m.is_file() => {}
        Ok(_) => bail!("{} is not a regular file", db.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", db.display())),
    }
    crate::fsutil::create_private_dir(scratch)?;
    let dir = scratch.join(format!("voice-memos-db.{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    crate::fsutil::create_private_dir(&dir)?;
    let result = snapshot(&db, &dir).and_then(|copy| read(&copy));
    let _ = fs::remove_dir_all(&dir);
    result.map(Some)
}

/// What is compared before and after a copy.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    db: (u64, Option<SystemTime>),
    wal_header: Option<Vec<u8>>,
}

fn fingerprint(db: &Path, wal: &Path) -> Result<Fingerprint> {
    let m = fs::metadata(db).with_context(|| format!("cannot read {}", db.display()))?;
    let wal_header = match fs::File::open(wal) {
        Ok(f) => {
            let mut h = Vec::with_capacity(32);
            f.take(32).read_to_end(&mut h)?;
            Some(h)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", wal.display())),
    };
    Ok(Fingerprint {
        db: (m.len(), m.modified().ok()),
        wal_header,
    })
}

/// Copies the database and its WAL into `dir` (see the module's notes); the path of
/// the copy.
fn snapshot(db: &Path, dir: &Path) -> Result<PathBuf> {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    let copy = dir.join(DB_NAME);
    let copy_wal = dir.join(format!("{DB_NAME}-wal"));
    for attempt in 1..=SNAPSHOT_TRIES {
        let before = fingerprint(db, &wal)?;
        let _ = fs::remove_file(&copy_wal);
        copy_file(db, &copy)?;
        if before.wal_header.is_some() {
            match copy_file(&wal, &copy_wal) {
                Ok(()) => {}
                // Checkpointed and removed meanwhile: the next look sees the change.
                Err(e) if !wal.exists() => tracing::debug!(error = %e, "the WAL went away"),
                Err(e) => return Err(e),
            }
        }
        let after = fingerprint(db, &wal)?;
        if before == after {
            return Ok(copy);
        }
        tracing::debug!(
            attempt,
            "Voice Memos wrote its database during the copy; again"
        );
        std::thread::sleep(Duration::from_millis(50 * attempt as u64));
    }
    bail!(
        "{} kept changing while it was copied ({SNAPSHOT_TRIES} tries)",
        db.display()
    )
}

/// Reads `from` and writes a private copy (only reads touch `from`).
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    let mut src =
        fs::File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut dst = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(to)
            .with_context(|| format!("cannot write {}", to.display()))?
    };
    std::io::copy(&mut src, &mut dst).with_context(|| format!("copying {}", from.display()))?;
    Ok(())
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let cols = st
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// Reads the recordings from the snapshot at `copy`.
fn read(copy: &Path) -> Result<Library> {
    let conn = Connection::open_with_flags(
        copy,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .context("cannot open the copy of the database")?;
    conn.execute_batch("PRAGMA query_only = 1;")?;
    let rec = columns(&conn, "ZCLOUDRECORDING")?;
    if rec.is_empty() {
        bail!("it has no ZCLOUDRECORDING table (not a Voice Memos library, or a new layout)");
    }
    let has = |c: &str| rec.iter().any(|x| x.eq_ignore_ascii_case(c));
    if !has("ZPATH") {
        bail!("its ZCLOUDRECORDING table has no ZPATH column (a layout astra does not know)");
    }
    let pick = |c: &str| {
        if has(c) {
            format!("r.{c}")
        } else {
            "NULL".to_string()
        }
    };
    let titles: Vec<String> = ["ZCUSTOMLABELFORSORTING", "ZENCRYPTEDTITLE", "ZCUSTOMLABEL"]
        .iter()
        .filter(|c| has(c))
        .map(|c| format!("NULLIF(TRIM(r.{c}), '')"))
        .collect();
    let title = match titles.len() {
        0 => "NULL".to_string(),
        1 => titles[0].clone(),
        _ => format!("COALESCE({})", titles.join(", ")),
    };
    let folder_cols = columns(&conn, "ZFOLDER")?;
    let fhas = |c: &str| folder_cols.iter().any(|x| x.eq_ignore_ascii_case(c));
    let folder_name = ["ZENCRYPTEDNAME", "ZNAME"].into_iter().find(|c| fhas(c));
    let (folder, join) = match folder_name {
        Some(n) if has("ZFOLDER") && fhas("Z_PK") => (
            format!("NULLIF(TRIM(f.{n}), '')"),
            "LEFT JOIN ZFOLDER f ON f.Z_PK = r.ZFOLDER",
        ),
        _ => ("NULL".to_string(), ""),
    };
    let deleted = if has("ZEVICTIONDATE") {
        "r.ZEVICTIONDATE IS NOT NULL"
    } else {
        "0"
    };
    let sql = format!(
        "SELECT r.ZPATH, {uid}, {title}, {folder}, {deleted} FROM ZCLOUDRECORDING r {join}",
        uid = pick("ZUNIQUEID"),
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut lib = Library::default();
    for row in rows {
        let (path, unique_id, title, folder, deleted) = row?;
        let Some(file) = path
            .as_deref()
            .and_then(|p| Path::new(p).file_name())
            .map(|n| n.to_string_lossy().into_owned())
        else {
            continue;
        };
        lib.recordings.insert(
            file.clone(),
            Recording {
                file,
                unique_id,
                title,
                folder,
                deleted,
            },
        );
    }
    Ok(lib)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The macOS 14-26 layout (the columns the public notes list).
    pub const SCHEMA_NEW: &str = "
        CREATE TABLE ZFOLDER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
            ZCOUNTOFRECORDINGS INTEGER, ZRANK INTEGER, ZENCRYPTEDNAME VARCHAR, ZUUID VARCHAR);
        CREATE TABLE ZCLOUDRECORDING (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
            ZFLAGS INTEGER, ZFOLDER INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT,
            ZEVICTIONDATE TIMESTAMP, ZLOCALDURATION FLOAT, ZCUSTOMLABEL VARCHAR,
            ZCUSTOMLABELFORSORTING VARCHAR, ZENCRYPTEDTITLE VARCHAR, ZPATH VARCHAR,
            ZUNIQUEID VARCHAR, ZAUDIODIGEST BLOB);";

    #[test]
    fn reads_titles_folders_and_deletions_from_a_live_wal_database() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("Recordings");
        fs::create_dir(&inbox).unwrap();
        let db = inbox.join(DB_NAME);
        let w = Connection::open(&db).unwrap();
        w.execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;")
            .unwrap();
        w.execute_batch(SCHEMA_NEW).unwrap();
        w.execute_batch(
            "INSERT INTO ZFOLDER (Z_PK, ZENCRYPTEDNAME) VALUES (1, 'Work');
             INSERT INTO ZCLOUDRECORDING (ZPATH, ZUNIQUEID, ZCUSTOMLABEL, ZCUSTOMLABELFORSORTING, ZENCRYPTEDTITLE, ZFOLDER)
               VALUES ('20260101 090000-AB.qta', 'U1', '20260101 090000', 'Dentist', 'Dentist', 1);
             INSERT INTO ZCLOUDRECORDING (ZPATH, ZUNIQUEID, ZCUSTOMLABEL, ZEVICTIONDATE)
               VALUES ('/old/path/20260102 090000-CD.m4a', 'U2', 'Old idea', 789000000.0);",
        )
        .unwrap();
        // Written after the schema: only in the WAL (no checkpoint), the writer open.
        assert!(inbox.join(format!("{DB_NAME}-wal")).exists());
        let before: Vec<(String, Vec<u8>)> = list(&inbox);
        let scratch = dir.path().join("cache");
        let lib = load(&inbox, &scratch).unwrap().unwrap();
        let a = lib.get("20260101 090000-AB.qta").unwrap();
        assert_eq!(a.title.as_deref(), Some("Dentist"));
        assert_eq!(a.folder.as_deref(), Some("Work"));
        assert_eq!(a.unique_id.as_deref(), Some("U1"));
        assert!(!a.deleted);
        let b = lib.get("20260102 090000-CD.m4a").unwrap();
        assert!(b.deleted);
        assert_eq!(b.title.as_deref(), Some("Old idea"));
        assert_eq!(
            lib.evicted(&inbox, &HashSet::new()).len(),
            1,
            "the live one has no audio on disk"
        );
        assert_eq!(list(&inbox), before, "Apple's folder is byte-identical");
        assert!(
            !scratch
                .join(format!("voice-memos-db.{}", std::process::id()))
                .exists()
        );
        drop(w);
    }

    #[test]
    fn no_database_is_none_and_a_foreign_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), &dir.path().join("c")).unwrap().is_none());
        let c = Connection::open(dir.path().join(DB_NAME)).unwrap();
        c.execute_batch("CREATE TABLE T (x);").unwrap();
        drop(c);
        let e = load(dir.path(), &dir.path().join("c")).unwrap_err();
        assert!(format!("{e:#}").contains("ZCLOUDRECORDING"), "{e:#}");
    }

    fn list(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }
}
