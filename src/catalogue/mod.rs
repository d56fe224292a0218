//! The memo catalogue (`$ASTRA_HOME/memos.db`, SQLite): one record per memo astra has
//! seen — file, id, title, when it was recorded, how long it is, its status and stage,
//! every attempt with its time and error, the transcript (text, provider, model,
//! language, timed segments), the organization and the outputs — with an FTS5 index
//! over transcripts, titles and outputs for `astra memos search`.
//!
//! state.json keeps only what is in flight and the dead-letter list; a memo that is
//! done (completed or discarded) lives here alone. Who is the source of truth at each
//! moment, and why a kill -9 anywhere loses nothing and does nothing twice, is in
//! ARCHITECTURE.md ("The memo catalogue"); [`reconcile`] is the repair a run makes
//! before it starts.
mod schema;

use crate::paths::Paths;
use crate::state::{Item, ItemStatus, Outputs, StateStore, Tokens, VoiceMemoState};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The catalogue's file under `ASTRA_HOME`.
pub fn db_path(paths: &Paths) -> PathBuf {
    paths.home.join("memos.db")
}

/// The catalogue: one SQLite connection (a mutex serialises the pipeline's workers).
pub struct Catalogue {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// What `list` returns per memo (a row of `astra memos list`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoSummary {
    pub file: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub recorded_at: Option<String>,
    pub status: String,
    pub stage: Option<String>,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last error (or why it waits, or why it was discarded), on one line.
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// What was heard, and by whom.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct TranscriptRecord {
    pub text: String,
    pub provider: String,
    pub model: Option<String>,
    pub language: Option<String>,
    /// Timed segments (`[{"start", "end", "text"}]`) when the provider gives them.
    pub segments: serde_json::Value,
}

/// One attempt at a memo.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Attempt {
    pub n: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `running` while it runs (left so by a crash until the next run says `interrupted`),
    /// then the status it left the memo in.
    pub outcome: String,
    pub stage: Option<String>,
    pub error: Option<String>,
}

/// The whole story of one memo (`astra memos show`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoRecord {
    pub file: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub recorded_at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub status: String,
    pub stage: Option<String>,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub digest: Option<String>,
    /// Where the audio went: the archive, `failed/` or `invalid/`.
    pub archived_to: Option<String>,
    pub transcript: Option<TranscriptRecord>,
    /// The transcript beside the archived recording, and the vault's transcript note.
    pub transcript_files: Vec<String>,
    pub organization: Option<serde_json::Value>,
    pub outputs: Outputs,
    pub tokens: Option<Tokens>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<Attempt>,
}

/// A search result, best first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchHit {
    pub file: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub recorded_at: Option<String>,
    pub status: String,
    /// The matching text, the match in `[…]`.
    pub snippet: String,
    /// BM25 (lower is better).
    pub rank: f64,
}

/// Which memos `list` returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    /// Recorded at or after.
    pub since: Option<DateTime<Utc>>,
    pub limit: Option<usize>,
}

/// Which memos `retry` re-queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrySelector {
    /// File names or memo ids.
    Ids(Vec<String>),
    Status(String),
    /// Every memo but the completed ones.
    All,
}

/// How hard a write must be on disk before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// A mirror of state.json (in flight): a power cut may lose it; the next run's
    /// [`reconcile`] rewrites it from state.json.
    Mirror,
    /// The catalogue is the truth (a memo done, migrated, re-queued): fsynced before
    /// state.json changes.
    Durable,
}

/// Statuses a memo can have (state.json's and the catalogue's).
pub const STATUSES: &[&str] = &[
    "pending",
    "waiting",
    "retrying",
    "failed",
    "completed",
    "discarded",
];

fn check_status(s: &str) -> Result<()> {
    if STATUSES.contains(&s) {
        Ok(())
    } else {
        Err(crate::exit::usage(format!(
            "--status {s}: not a memo status (one of {})",
            STATUSES.join(", ")
        )))
    }
}

fn one_line(s: &str) -> String {
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 160 {
        let cut: String = line.chars().take(159).collect();
        format!("{cut}…")
    } else {
        line
    }
}

fn stage_str(item: &Item) -> Option<String> {
    item.stage.map(|s| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    })
}

/// Outputs as searchable text: the lines they wrote, one per line.
fn outputs_text(o: &Outputs) -> String {
    o.todos
        .iter()
        .chain(&o.notes)
        .chain(&o.journal)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The recording time in unix seconds (for sorting and `--since`).
fn recorded_unix(item: &Item) -> Option<i64> {
    item.recorded_at
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp())
}

/// An FTS5 query from free text: each word quoted (so `-`, `:` or `"` are words, not
/// syntax), all of them required; a trailing `*` keeps its prefix meaning.
fn fts_query(text: &str) -> String {
    text.split_whitespace()
        .filter_map(|w| {
            let prefix = w.ends_with('*');
            let w: String = w.chars().filter(|c| *c != '"' && *c != '*').collect();
            (!w.is_empty()).then(|| {
                if prefix {
                    format!("\"{w}\"*")
                } else {
                    format!("\"{w}\"")
                }
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Catalogue {
    /// Opens (creating) the catalogue for reading and writing.
    pub fn open(paths: &Paths) -> Result<Catalogue> {
        Catalogue::open_at(&db_path(paths))
    }

    /// Opens (creating) the catalogue at `path`.
    pub fn open_at(path: &Path) -> Result<Catalogue> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::fsutil::create_private_dir(dir)?;
        }
        let existed = path.exists();
        let conn = Connection::open(path)
            .with_context(|| format!("opening the memo catalogue {}", path.display()))?;
        if !existed {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        let cat = Catalogue {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        };
        cat.with(|c| schema::prepare(c, true))?;
        Ok(cat)
    }

    /// Opens the catalogue read-only; `None` when there is none yet.
    pub fn open_read_only(paths: &Paths) -> Result<Option<Catalogue>> {
        let path = db_path(paths);
        if !path.exists() {
            return Ok(None);
        }
        // Read-write flags without CREATE: WAL readers need the -shm file, which a
        // read-only connection cannot create. Nothing here writes.
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .or_else(|_| {
            Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        })
        .with_context(|| format!("opening the memo catalogue {}", path.display()))?;
        let cat = Catalogue {
            conn: Mutex::new(conn),
            path,
        };
        cat.with(|c| schema::prepare(c, false))?;
        // A file whose tables were never created (its first write failed): no catalogue.
        let version: i64 =
            cat.with(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))?;
        if version == 0 {
            return Ok(None);
        }
        Ok(Some(cat))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<R>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<R>) -> Result<R> {
        let mut c = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("the catalogue's lock is poisoned"))?;
        f(&mut c).map_err(|e| sql_error(e, &self.path))
    }

    /// Memos, most recently recorded first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<MemoSummary>> {
        if let Some(s) = &filter.status {
            check_status(s)?;
        }
        let limit = filter.limit.map(|n| n as i64).unwrap_or(-1);
        let since = filter.since.map(|t| t.timestamp());
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT file, id, title, recorded_at, status, stage, attempts, next_attempt_at,
                        last_error, updated_at
                 FROM memos
                 WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR recorded_unix >= ?2)
                 ORDER BY recorded_unix DESC, file LIMIT ?3",
            )?;
            let rows = st.query_map(params![filter.status, since, limit], |r| {
                Ok(MemoSummary {
                    file: r.get(0)?,
                    id: r.get(1)?,
                    title: r.get(2)?,
                    recorded_at: r.get(3)?,
                    status: r.get(4)?,
                    stage: r.get(5)?,
                    attempts: r.get(6)?,
                    next_attempt_at: r.get(7)?,
                    reason: r.get::<_, Option<String>>(8)?.map(|e| one_line(&e)),
                    updated_at: r.get(9)?,
                })
            })?;
            rows.collect()
        })
    }

    /// One memo by file name or id (an id prefix of 6+ characters when unambiguous).
    pub fn get(&self, id_or_file: &str) -> Result<Option<MemoRecord>> {
        self.with(|c| {
            let rowid: Option<i64> = c
                .query_row(
                    "SELECT rowid FROM memos WHERE file = ?1 OR id = ?1 ORDER BY file = ?1 DESC LIMIT 1",
                    [id_or_file],
                    |r| r.get(0),
                )
                .optional()?;
            let rowid = match rowid {
                Some(r) => Some(r),
                None if id_or_file.len() >= 6 => {
                    let mut st = c.prepare(
                        "SELECT rowid FROM memos WHERE id >= ?1 AND id < ?1 || x'ff' LIMIT 2",
                    )?;
                    let found: Vec<i64> = st
                        .query_map([id_or_file], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    (found.len() == 1).then(|| found[0])
                }
                None => None,
            };
            let Some(rowid) = rowid else { return Ok(None) };
            record(c, rowid).map(Some)
        })
    }

    /// Transcripts, titles and outputs matching every word of `text`, best first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let q = fts_query(text);
        if q.is_empty() {
            bail!(crate::exit::usage(
                "astra memos search: give a word to look for"
            ));
        }
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT m.file, m.id, m.title, m.recorded_at, m.status,
                        snippet(memos_fts, -1, '[', ']', '…', 12), f.rank
                 FROM memos_fts f JOIN memos m ON m.rowid = f.rowid
                 WHERE memos_fts MATCH ?1
                 ORDER BY f.rank LIMIT ?2",
            )?;
            let rows = st.query_map(params![q, limit as i64], |r| {
                Ok(SearchHit {
                    file: r.get(0)?,
                    id: r.get(1)?,
                    title: r.get(2)?,
                    recorded_at: r.get(3)?,
                    status: r.get(4)?,
                    snippet: r.get(5)?,
                    rank: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    /// How many memos have each status.
    pub fn counts(&self) -> Result<Vec<(String, i64)>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT status, count(*) FROM memos GROUP BY status ORDER BY status")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// The status of `file`, if catalogued.
    pub fn status_of(&self, file: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row("SELECT status FROM memos WHERE file = ?1", [file], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// The names of every done memo (completed or discarded): what the seen-index
    /// lists as settled.
    pub fn done_files(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT file FROM memos WHERE status IN ('completed', 'discarded')")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Writes `item` (status, stage, attempts, outputs…) as `file`'s record.
    pub fn save_item(&self, file: &str, item: &Item, durability: Durability) -> Result<()> {
        self.with(|c| {
            set_sync(c, durability)?;
            let tx = c.transaction()?;
            upsert(&tx, file, item, Utc::now())?;
            tx.commit()
        })
    }

    /// Stores the transcript (and, when it came from the disk copies, their paths).
    pub fn set_transcript(&self, file: &str, t: &TranscriptRecord) -> Result<()> {
        let segments = if t.segments.is_null() {
            "[]".to_string()
        } else {
            t.segments.to_string()
        };
        self.with(|c| {
            set_sync(c, Durability::Mirror)?;
            ensure_row(c, file)?;
            c.execute(
                "UPDATE memos SET transcript = ?2, transcript_provider = ?3, transcript_model = ?4,
                        transcript_language = ?5, segments = ?6
                 WHERE file = ?1",
                params![file, t.text, t.provider, t.model, t.language, segments],
            )?;
            Ok(())
        })
    }

    /// Stores the organization and the title it gave the memo.
    pub fn set_organization(&self, file: &str, title: &str, org: &serde_json::Value) -> Result<()> {
        self.with(|c| {
            set_sync(c, Durability::Mirror)?;
            ensure_row(c, file)?;
            c.execute(
                "UPDATE memos SET title = ?2, organization = ?3 WHERE file = ?1",
                params![file, (!title.is_empty()).then_some(title), org.to_string()],
            )?;
            Ok(())
        })
    }

    /// Records where the transcript was kept for people (archive `.txt`, vault note).
    pub fn add_transcript_file(&self, file: &str, path: &str) -> Result<()> {
        self.with(|c| {
            set_sync(c, Durability::Mirror)?;
            ensure_row(c, file)?;
            let current: String = c.query_row(
                "SELECT transcript_files FROM memos WHERE file = ?1",
                [file],
                |r| r.get(0),
            )?;
            let mut list: Vec<String> = serde_json::from_str(&current).unwrap_or_default();
            if !list.iter().any(|p| p == path) {
                list.push(path.to_string());
                c.execute(
                    "UPDATE memos SET transcript_files = ?2 WHERE file = ?1",
                    params![file, serde_json::to_string(&list).unwrap_or_default()],
                )?;
            }
            Ok(())
        })
    }

    /// Starts attempt `n` of `file` (an earlier one still `running` was cut off by a
    /// crash: it becomes `interrupted`).
    pub fn begin_attempt(&self, file: &str, n: u32) -> Result<()> {
        let now = Utc::now();
        self.with(|c| {
            set_sync(c, Durability::Mirror)?;
            let tx = c.transaction()?;
            let rowid = ensure_row(&tx, file)?;
            tx.execute(
                "UPDATE attempts SET outcome = 'interrupted' WHERE memo = ?1 AND outcome = 'running'",
                [rowid],
            )?;
            tx.execute(
                "INSERT INTO attempts(memo, seq, n, started_at, outcome)
                 VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM attempts WHERE memo = ?1), ?2, ?3, 'running')",
                params![rowid, n, now],
            )?;
            tx.commit()
        })
    }

    /// Ends `file`'s running attempt with `outcome` (saving a memo in any status but
    /// `pending` does this too, with that status).
    pub fn end_attempt(&self, file: &str, outcome: &str, error: Option<&str>) -> Result<()> {
        let now = Utc::now();
        self.with(|c| {
            set_sync(c, Durability::Mirror)?;
            c.execute(
                "UPDATE attempts SET finished_at = ?2, outcome = ?3, error = ?4
                 WHERE memo = (SELECT rowid FROM memos WHERE file = ?1) AND outcome = 'running'",
                params![file, now, outcome, error],
            )?;
            Ok(())
        })
    }
}

/// A SQLite error naming the catalogue; a full disk becomes the ENOSPC it is, so the
/// message says what to do (`fsutil::io_hint`), as for every other file astra writes.
fn sql_error(e: rusqlite::Error, path: &Path) -> anyhow::Error {
    use rusqlite::ErrorCode;
    let what = format!("the memo catalogue {}", path.display());
    let os = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DiskFull => Some(libc::ENOSPC),
            ErrorCode::ReadOnly => Some(libc::EROFS),
            ErrorCode::PermissionDenied => Some(libc::EACCES),
            _ => None,
        },
        _ => None,
    };
    match os {
        Some(code) => anyhow::Error::new(std::io::Error::from_raw_os_error(code))
            .context(format!("writing {what} ({e})")),
        None => anyhow::Error::new(e).context(what),
    }
}

fn set_sync(c: &Connection, d: Durability) -> rusqlite::Result<()> {
    let level = match d {
        Durability::Mirror => "NORMAL",
        Durability::Durable => "FULL",
    };
    c.pragma_update(None, "synchronous", level)
}

/// The row of `file`, created (status pending) when missing.
fn ensure_row(c: &Connection, file: &str) -> rusqlite::Result<i64> {
    let now = Utc::now();
    c.execute(
        "INSERT INTO memos(file, status, created_at, updated_at) VALUES (?1, 'pending', ?2, ?2)
         ON CONFLICT(file) DO NOTHING",
        params![file, now],
    )?;
    c.query_row("SELECT rowid FROM memos WHERE file = ?1", [file], |r| {
        r.get(0)
    })
}

fn upsert(c: &Connection, file: &str, item: &Item, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let outputs = serde_json::to_string(&item.outputs).unwrap_or_else(|_| "{}".into());
    c.execute(
        "INSERT INTO memos(file, id, recorded_at, recorded_unix, duration, status, stage, attempts,
                           next_attempt_at, last_error, digest, archived_to, outputs, outputs_text,
                           tokens_prompt, tokens_completion, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17)
         ON CONFLICT(file) DO UPDATE SET
           id = coalesce(excluded.id, id), recorded_at = coalesce(excluded.recorded_at, recorded_at),
           recorded_unix = coalesce(excluded.recorded_unix, recorded_unix),
           duration = coalesce(excluded.duration, duration), status = excluded.status,
           stage = excluded.stage, attempts = excluded.attempts,
           next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
           digest = coalesce(excluded.digest, digest),
           archived_to = coalesce(excluded.archived_to, archived_to),
           tokens_prompt = excluded.tokens_prompt, tokens_completion = excluded.tokens_completion,
           updated_at = excluded.updated_at",
        params![
            file,
            item.id,
            item.recorded_at,
            recorded_unix(item),
            item.audio_seconds,
            item.status.as_str(),
            stage_str(item),
            item.attempts,
            item.next_attempt_at,
            item.last_error,
            item.digest,
            item.archived_to,
            outputs,
            outputs_text(&item.outputs),
            item.tokens.map(|t| t.prompt as i64),
            item.tokens.map(|t| t.completion as i64),
            now,
        ],
    )?;
    if item.status != ItemStatus::Pending {
        c.execute(
            "UPDATE attempts SET finished_at = ?2, outcome = ?3, stage = ?4, error = ?5
             WHERE memo = (SELECT rowid FROM memos WHERE file = ?1) AND outcome = 'running'",
            params![
                file,
                now,
                item.status.as_str(),
                stage_str(item),
                item.last_error
            ],
        )?;
    }
    // Outputs only change while syncing; rewriting them (and so the search index) on
    // every status change would be wasted work.
    c.execute(
        "UPDATE memos SET outputs = ?2, outputs_text = ?3 WHERE file = ?1 AND outputs IS NOT ?2",
        params![file, outputs, outputs_text(&item.outputs)],
    )?;
    Ok(())
}

fn record(c: &Connection, rowid: i64) -> rusqlite::Result<MemoRecord> {
    let mut rec = c.query_row(
        "SELECT file, id, title, recorded_at, duration, status, stage, attempts, next_attempt_at,
                last_error, digest, archived_to, transcript, transcript_provider, transcript_model,
                transcript_language, segments, transcript_files, organization, outputs,
                tokens_prompt, tokens_completion, created_at, updated_at
         FROM memos WHERE rowid = ?1",
        [rowid],
        |r| {
            let transcript = r
                .get::<_, Option<String>>(12)?
                .map(|text| TranscriptRecord {
                    text,
                    provider: r
                        .get::<_, Option<String>>(13)
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                    model: r.get(14).ok().flatten(),
                    language: r.get(15).ok().flatten(),
                    segments: r
                        .get::<_, String>(16)
                        .ok()
                        .and_then(|s| serde_json::from_str(&s).ok())
                        .unwrap_or(serde_json::Value::Array(Vec::new())),
                });
            let json = |i: usize| -> rusqlite::Result<Option<serde_json::Value>> {
                Ok(r.get::<_, Option<String>>(i)?
                    .and_then(|s| serde_json::from_str(&s).ok()))
            };
            let tokens = match (r.get::<_, Option<i64>>(20)?, r.get::<_, Option<i64>>(21)?) {
                (Some(p), Some(c)) => Some(Tokens {
                    prompt: p as u64,
                    completion: c as u64,
                }),
                _ => None,
            };
            Ok(MemoRecord {
                file: r.get(0)?,
                id: r.get(1)?,
                title: r.get(2)?,
                recorded_at: r.get(3)?,
                duration_seconds: r.get(4)?,
                status: r.get(5)?,
                stage: r.get(6)?,
                attempts: r.get(7)?,
                next_attempt_at: r.get(8)?,
                last_error: r.get(9)?,
                digest: r.get(10)?,
                archived_to: r.get(11)?,
                transcript,
                transcript_files: json(17)?
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default(),
                organization: json(18)?,
                outputs: json(19)?
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default(),
                tokens,
                created_at: r.get(22)?,
                updated_at: r.get(23)?,
                history: Vec::new(),
            })
        },
    )?;
    let mut st = c.prepare_cached(
        "SELECT n, started_at, finished_at, outcome, stage, error FROM attempts WHERE memo = ?1 ORDER BY seq",
    )?;
    rec.history = st
        .query_map([rowid], |r| {
            Ok(Attempt {
                n: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                outcome: r.get(3)?,
                stage: r.get(4)?,
                error: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rec)
}

/// Brings the catalogue and state.json into agreement, under the state lock, before
/// a run works (and migrates a full state.json on its first save):
/// - a done item in state.json (today's or the original astra's full state) is
///   written to the catalogue, durably, then dropped from state.json;
/// - an in-flight item whose catalogue record is done was finished just before a
///   crash (the catalogue is written first): dropped from state.json;
/// - any other in-flight item is mirrored into the catalogue (state.json is its truth);
/// - a catalogue record in flight that state.json lacks (a re-queue by `astra memos
///   retry` whose state.json write was lost, a state.json moved aside) is put back.
///
/// Returns the state as saved.
pub fn reconcile(cat: &Catalogue, store: &StateStore) -> Result<VoiceMemoState> {
    let job = crate::voice_memo::JOB.name;
    store.update_job(job, |vm: &mut VoiceMemoState| -> Result<VoiceMemoState> {
        let restored: Vec<(String, Item)> = cat.with(|c| {
            let mut st = c.prepare(
                "SELECT file, id, digest, recorded_at, attempts, next_attempt_at, last_error,
                        duration, status, stage, outputs, archived_to
                 FROM memos WHERE status NOT IN ('completed', 'discarded')",
            )?;
            let rows = st.query_map([], |r| {
                let status: String = r.get(8)?;
                let stage: Option<String> = r.get(9)?;
                let outputs: String = r.get(10)?;
                fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
                    serde_json::from_value(serde_json::Value::String(s.into())).ok()
                }
                Ok((
                    r.get::<_, String>(0)?,
                    Item {
                        status: parse(&status).unwrap_or(ItemStatus::Retrying),
                        stage: stage.as_deref().and_then(parse::<crate::state::Stage>),
                        id: r.get(1)?,
                        digest: r.get(2)?,
                        recorded_at: r.get(3)?,
                        attempts: r.get(4)?,
                        next_attempt_at: r.get(5)?,
                        last_error: r.get(6)?,
                        audio_seconds: r.get(7)?,
                        outputs: serde_json::from_str(&outputs).unwrap_or_default(),
                        archived_to: r.get(11)?,
                        ..Item::new_pending()
                    },
                ))
            })?;
            rows.filter(|r| r.as_ref().map_or(true, |(f, _)| !vm.items.contains_key(f)))
                .collect()
        })?;
        let now = Utc::now();
        let mut drop = Vec::new();
        cat.with(|c| {
            set_sync(c, Durability::Durable)?;
            let tx = c.transaction()?;
            for (file, item) in &vm.items {
                let catalogued: Option<String> = tx
                    .query_row("SELECT status FROM memos WHERE file = ?1", [file], |r| {
                        r.get(0)
                    })
                    .optional()?;
                let cat_done = matches!(catalogued.as_deref(), Some("completed" | "discarded"));
                if item.status.is_done() {
                    if !cat_done {
                        upsert(&tx, file, item, now)?;
                    }
                    drop.push(file.clone());
                } else if cat_done {
                    drop.push(file.clone());
                } else {
                    upsert(&tx, file, item, now)?;
                }
            }
            tx.commit()
        })?;
        for file in &drop {
            vm.items.remove(file);
            vm.failed.retain(|f| f != file);
        }
        // Records state.json lost (a re-queue whose state write a crash cut off, or a
        // state.json moved aside): state.json takes them back.
        for (file, item) in restored {
            if item.status == ItemStatus::Failed && !vm.failed.contains(&file) {
                vm.failed.push(file.clone());
            }
            vm.items.insert(file, item);
        }
        Ok(vm.clone())
    })?
}

/// Re-queues memos for the next voice-memo run: any status but `completed`. Returns
/// the ids (file names for memos without one) it re-queued.
///
/// Order: the seen-index is removed (so the next run looks again), the catalogue is
/// written durably, then state.json. A crash between the two writes leaves a
/// catalogue record `retrying` that [`reconcile`] puts back into state.json.
pub fn retry(paths: &Paths, sel: &RetrySelector) -> Result<Vec<String>> {
    if let RetrySelector::Status(s) = sel {
        check_status(s)?;
        if s == "completed" {
            return Err(crate::exit::usage(
                "--status completed: completed memos are not retried (their outputs are written)",
            ));
        }
    }
    let cat = Catalogue::open(paths)?;
    let store = StateStore::new(&paths.state);
    // Catalogue records for memos only state.json knows yet (before a first reconcile).
    reconcile(&cat, &store)?;
    let chosen: Vec<(String, Option<String>, String)> = cat.with(|c| {
        let mut st = c.prepare("SELECT file, id, status FROM memos WHERE status != 'completed'")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<Vec<(String, Option<String>, String)>>>()
    })?;
    let chosen: Vec<_> = chosen
        .into_iter()
        .filter(|(file, id, status)| match sel {
            RetrySelector::All => true,
            RetrySelector::Status(s) => status == s,
            RetrySelector::Ids(ids) => ids.iter().any(|w| {
                w == file
                    || id.as_deref() == Some(w.as_str())
                    || (w.len() >= 6 && id.as_deref().is_some_and(|i| i.starts_with(w.as_str())))
            }),
        })
        .collect();
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let _ = std::fs::remove_file(crate::voice_memo::seen::index_path(paths));
    let now = Utc::now();
    cat.with(|c| {
        set_sync(c, Durability::Durable)?;
        let tx = c.transaction()?;
        for (file, _, status) in &chosen {
            // A discarded memo starts again from the beginning (its stage reset, so
            // reconcile knows it as re-queued); others resume where they stopped.
            let stage_reset = if status == "discarded" {
                ", stage = NULL"
            } else {
                ""
            };
            tx.execute(
                &format!(
                    "UPDATE memos SET status = 'retrying', attempts = 0, next_attempt_at = ?2,
                            updated_at = ?2{stage_reset} WHERE file = ?1"
                ),
                params![file, now],
            )?;
        }
        tx.commit()
    })?;
    store.update_job(crate::voice_memo::JOB.name, |vm: &mut VoiceMemoState| {
        for (file, _, status) in &chosen {
            let item = vm.items.entry(file.clone()).or_insert_with(|| {
                let mut it = Item::new_pending();
                if let Ok(Some(rec)) = cat.get(file) {
                    it.id = rec.id;
                    it.digest = rec.digest;
                    it.recorded_at = rec.recorded_at;
                    it.audio_seconds = rec.duration_seconds;
                }
                it
            });
            if status == "discarded" {
                item.stage = None;
            }
            item.status = ItemStatus::Retrying;
            item.attempts = 0;
            item.next_attempt_at = Some(now);
            item.transcription_hash = None;
        }
        vm.failed.retain(|f| !chosen.iter().any(|(c, _, _)| c == f));
    })?;
    Ok(chosen
        .into_iter()
        .map(|(file, id, _)| id.unwrap_or(file))
        .collect())
}

#[cfg(test)]
mod tests;
