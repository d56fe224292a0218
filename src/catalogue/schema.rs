//! The catalogue's tables, created or upgraded when it is opened.
use rusqlite::Connection;

/// `PRAGMA user_version` of the schema below.
pub const VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS memos (
    rowid INTEGER PRIMARY KEY,
    file TEXT NOT NULL UNIQUE,
    id TEXT,
    title TEXT,
    recorded_at TEXT,
    recorded_unix INTEGER,
    duration REAL,
    status TEXT NOT NULL,
    stage TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    digest TEXT,
    archived_to TEXT,
    transcript TEXT,
    transcript_provider TEXT,
    transcript_model TEXT,
    transcript_language TEXT,
    segments TEXT NOT NULL DEFAULT '[]',
    transcript_files TEXT NOT NULL DEFAULT '[]',
    organization TEXT,
    outputs TEXT NOT NULL DEFAULT '{}',
    outputs_text TEXT NOT NULL DEFAULT '',
    tokens_prompt INTEGER,
    tokens_completion INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS memos_status ON memos(status);
CREATE INDEX IF NOT EXISTS memos_id ON memos(id);
CREATE INDEX IF NOT EXISTS memos_recorded ON memos(recorded_unix);
CREATE TABLE IF NOT EXISTS attempts (
    memo INTEGER NOT NULL REFERENCES memos(rowid) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL,
    stage TEXT,
    error TEXT,
    PRIMARY KEY (memo, seq)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS memos_fts USING fts5(
    title, transcript, outputs_text,
    content = 'memos', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS memos_fts_insert AFTER INSERT ON memos BEGIN
    INSERT INTO memos_fts(rowid, title, transcript, outputs_text)
    VALUES (new.rowid, new.title, new.transcript, new.outputs_text);
END;
CREATE TRIGGER IF NOT EXISTS memos_fts_delete AFTER DELETE ON memos BEGIN
    INSERT INTO memos_fts(memos_fts, rowid, title, transcript, outputs_text)
    VALUES ('delete', old.rowid, old.title, old.transcript, old.outputs_text);
END;
CREATE TRIGGER IF NOT EXISTS memos_fts_update AFTER UPDATE OF title, transcript, outputs_text ON memos BEGIN
    INSERT INTO memos_fts(memos_fts, rowid, title, transcript, outputs_text)
    VALUES ('delete', old.rowid, old.title, old.transcript, old.outputs_text);
    INSERT INTO memos_fts(rowid, title, transcript, outputs_text)
    VALUES (new.rowid, new.title, new.transcript, new.outputs_text);
END;
";

/// Connection settings, and (when `write`) the tables. WAL: readers (`astra memos`,
/// the dashboard) never block the run that writes, and a commit is one append to the
/// log. The busy timeout covers a reader that opens while a checkpoint runs.
pub fn prepare(c: &Connection, write: bool) -> rusqlite::Result<()> {
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    if !write {
        return Ok(());
    }
    c.pragma_update(None, "journal_mode", "WAL")?;
    // A checkpoint every 64 pages (256 KiB), and the log cut back to that size after
    // it: a run's log stays small on a nearly full disk (SQLite's default lets it
    // grow to 4 MiB and keeps it that big).
    c.pragma_update(None, "wal_autocheckpoint", 64)?;
    c.pragma_update(None, "journal_size_limit", 256 * 1024)?;
    c.pragma_update(None, "synchronous", "FULL")?;
    let version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < VERSION {
        c.execute_batch(&format!(
            "BEGIN; {SCHEMA} PRAGMA user_version = {VERSION}; COMMIT;"
        ))?;
    }
    Ok(())
}
