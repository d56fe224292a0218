//! `state.json`: per-job sections, each read-modify-write under an exclusive lock on
//! `state.json.lock`, saved atomically. The file is never overwritten when it cannot
//! be parsed; the original astra's flat format is read and upgraded on the next save.
use crate::exit::usage;
use crate::fsutil;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub const STATE_VERSION: u32 = 1;

/// The file as stored: each job's section kept as raw JSON, so a job parses only its
/// own section and never disturbs another's.
#[derive(Deserialize, Serialize, Default)]
struct StateFile {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    jobs: BTreeMap<String, Box<RawValue>>,
}

/// `state.json` and its lock file.
#[derive(Debug, Clone)]
pub struct StateStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl StateStore {
    pub fn new(path: &Path) -> StateStore {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        StateStore {
            path: path.to_path_buf(),
            lock_path: PathBuf::from(lock),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_file(&self) -> Result<StateFile> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StateFile::default()),
            Err(e) => {
                return Err(usage(format!(
                    "cannot read state file {}: {e}. Check its permissions.",
                    self.path.display()
                )));
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| self.parse_error(&e))
    }

    fn parse_error(&self, e: &serde_json::Error) -> anyhow::Error {
        usage(format!(
            "state file {} cannot be parsed: {e} (line {}, column {}). It was left untouched; \
             repair it, or move it aside to start with empty state (completed memos would then be processed again).",
            self.path.display(),
            e.line(),
            e.column()
        ))
    }

    /// Parses one job's section out of state.json's bytes (errors name the file).
    pub fn parse_job_bytes<T: DeserializeOwned + Default>(
        &self,
        bytes: &[u8],
        job: &str,
    ) -> Result<T> {
        let file: StateFile = serde_json::from_slice(bytes).map_err(|e| self.parse_error(&e))?;
        self.section(&file, job)
    }

    /// Reads one job's section (default when absent). No lock: saves are atomic renames.
    pub fn load_job<T: DeserializeOwned + Default>(&self, job: &str) -> Result<T> {
        let file = self.read_file()?;
        self.section(&file, job)
    }

    fn section<T: DeserializeOwned + Default>(&self, file: &StateFile, job: &str) -> Result<T> {
        match file.jobs.get(job) {
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| self.parse_error(&e)),
            None => Ok(T::default()),
        }
    }

    /// Read-modify-write of one job's section under the exclusive state lock, held
    /// only for this call. Other jobs' sections are written back byte for byte.
    /// Returns once the new file is durable; the folder's fsync that makes the rename
    /// durable comes after the lock is released (a writer waiting for it reads the
    /// renamed file either way), so concurrent workers wait for one fsync, not two.
    pub fn update_job<T, R>(&self, job: &str, f: impl FnOnce(&mut T) -> R) -> Result<R>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        let out = {
            let _lock = self.lock()?;
            let mut file = self.read_file()?;
            let mut section: T = self.section(&file, job)?;
            let out = f(&mut section);
            let raw = serde_json::value::to_raw_value(&section).context("serializing state")?;
            file.jobs.insert(job.to_string(), raw);
            file.version = Some(STATE_VERSION);
            let bytes = serde_json::to_vec(&file).context("serializing state")?;
            fsutil::atomic_replace(&self.path, &bytes, 0o600)
                .with_context(|| format!("saving state to {}", self.path.display()))?;
            out
        };
        fsutil::sync_parent(&self.path)
            .with_context(|| format!("saving state to {}", self.path.display()))?;
        Ok(out)
    }

    fn lock(&self) -> Result<File> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fsutil::create_private_dir(dir)?;
        }
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&self.lock_path)
            .with_context(|| format!("opening state lock {}", self.lock_path.display()))?;
        f.lock()
            .with_context(|| format!("locking {}", self.lock_path.display()))?;
        Ok(f)
    }
}

/// Where a memo is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// In progress; resumes after `stage`.
    Pending,
    Completed,
    /// Silence or noise: nothing synced, audio in `invalid/`.
    Discarded,
    /// Failed; tried again after `next_attempt_at`.
    Retrying,
    /// Dead-lettered after `max_attempts` (or an error no retry can fix).
    Failed,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::Completed => "completed",
            ItemStatus::Discarded => "discarded",
            ItemStatus::Retrying => "retrying",
            ItemStatus::Failed => "failed",
        }
    }
    /// Completed or discarded: nothing more to do.
    pub fn is_done(self) -> bool {
        matches!(self, ItemStatus::Completed | ItemStatus::Discarded)
    }
}

/// The last stage a memo finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Transcribed,
    Organized,
    Synced,
    Archived,
}

/// What a memo produced: one string per written piece (a location a person can find).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outputs {
    pub todos: Vec<String>,
    pub notes: Vec<String>,
    pub journal: Vec<String>,
}

/// One memo's record, keyed by its file name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub status: ItemStatus,
    #[serde(default)]
    pub stage: Option<Stage>,
    #[serde(default)]
    pub attempts: u32,
    /// The memo's short id (from its name and digest): the marker on everything it writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub recorded_at: Option<String>,
    #[serde(default)]
    pub outputs: Outputs,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Where the audio went (archive, failed/ or invalid/ copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_to: Option<String>,
    /// How long the recording is, in seconds (what a transcription service bills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_seconds: Option<f64>,
    /// Tokens a remote model used to organize the memo, summed over attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
    /// The spoken language (ISO 639-1) when the recognizer detected or was told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Tokens a remote model used: prompt and completion are billed at different rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub prompt: u64,
    pub completion: u64,
}

impl std::ops::Add for Tokens {
    type Output = Tokens;
    fn add(self, o: Tokens) -> Tokens {
        Tokens {
            prompt: self.prompt + o.prompt,
            completion: self.completion + o.completion,
        }
    }
}

impl Item {
    pub fn new_pending() -> Item {
        Item {
            status: ItemStatus::Pending,
            stage: None,
            attempts: 0,
            id: None,
            digest: None,
            recorded_at: None,
            outputs: Outputs::default(),
            last_error: None,
            next_attempt_at: None,
            archived_to: None,
            audio_seconds: None,
            tokens: None,
            language: None,
        }
    }

    /// An item from the original astra's flat format (`"x.m4a": "completed"`).
    fn from_legacy(status: &str) -> Item {
        let status = match status {
            "completed" | "processed" | "done" => ItemStatus::Completed,
            "failed" => ItemStatus::Failed,
            _ => ItemStatus::Pending,
        };
        Item {
            status,
            stage: (status == ItemStatus::Completed).then_some(Stage::Archived),
            ..Item::new_pending()
        }
    }
}

/// The `voiceMemo` section.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VoiceMemoState {
    pub items: BTreeMap<String, Item>,
    /// The dead-letter list (file names), as in the original.
    pub failed: Vec<String>,
    /// Keys this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl<'de> Deserialize<'de> for VoiceMemoState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(VoiceMemoVisitor)
    }
}

/// Reads the current shape and the original's flat one (`"file": "status"` entries
/// beside `failed`) in one pass.
struct VoiceMemoVisitor;

impl<'de> Visitor<'de> for VoiceMemoVisitor {
    type Value = VoiceMemoState;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the voiceMemo state object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VoiceMemoState, A::Error> {
        let mut st = VoiceMemoState::default();
        let mut legacy = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "items" => st.items = map.next_value()?,
                "failed" => st.failed = map.next_value()?,
                _ => match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => legacy.push((key, s)),
                    other => {
                        st.extra.insert(key, other);
                    }
                },
            }
        }
        for (file, status) in legacy {
            st.items
                .entry(file)
                .or_insert_with(|| Item::from_legacy(&status));
        }
        for file in &st.failed {
            st.items
                .entry(file.clone())
                .or_insert_with(|| Item::from_legacy("failed"));
        }
        Ok(st)
    }
}

/// The `journalProcessing` section: the original's `{"lastRun": …}` plus what each
/// summary and weekly review was built from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JournalState {
    #[serde(rename = "lastRun", default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<DateTime<Utc>>,
    /// Summarised days by date (`2026-01-14`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub days: BTreeMap<String, DayRecord>,
    /// Written weekly reviews by week (`2026-W03`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weeks: BTreeMap<String, DayRecord>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// What one summary (or weekly review) was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRecord {
    /// The fingerprint of the entries it summarises.
    pub fingerprint: String,
    pub summarized_at: DateTime<Utc>,
    /// How many entries (days, for a week) it covers.
    #[serde(default)]
    pub entries: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, StateStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::new(&dir.path().join("state.json"));
        (dir, s)
    }

    #[test]
    fn missing_file_is_empty_state() {
        let (_d, s) = store();
        let vm: VoiceMemoState = s.load_job("voiceMemo").unwrap();
        assert!(vm.items.is_empty());
    }

    #[test]
    fn update_keeps_other_jobs_sections() {
        let (_d, s) = store();
        std::fs::write(
            s.path(),
            r#"{"jobs":{"journalProcessing":{"lastRun":"2025-01-05T09:00:00Z","x":[1, 2]}}}"#,
        )
        .unwrap();
        s.update_job("voiceMemo", |vm: &mut VoiceMemoState| {
            vm.items.insert("a.m4a".into(), Item::new_pending());
        })
        .unwrap();
        let text = std::fs::read_to_string(s.path()).unwrap();
        assert!(
            text.contains(r#""journalProcessing":{"lastRun":"2025-01-05T09:00:00Z","x":[1, 2]}"#),
            "{text}"
        );
        assert!(text.contains(r#""version":1"#));
        let vm: VoiceMemoState = s.load_job("voiceMemo").unwrap();
        assert_eq!(vm.items["a.m4a"].status, ItemStatus::Pending);
    }

    #[test]
    fn legacy_flat_format_is_upgraded() {
        let (_d, s) = store();
        std::fs::write(
            s.path(),
            r#"{"jobs":{"voiceMemo":{"voice_memo_001.m4a":"completed","failed":["voice_memo_003.m4a"]}}}"#,
        )
        .unwrap();
        s.update_job("voiceMemo", |_: &mut VoiceMemoState| ())
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(s.path()).unwrap()).unwrap();
        let items = &v["jobs"]["voiceMemo"]["items"];
        assert_eq!(items["voice_memo_001.m4a"]["status"], "completed");
        assert_eq!(items["voice_memo_001.m4a"]["stage"], "archived");
        assert_eq!(items["voice_memo_003.m4a"]["status"], "failed");
        assert_eq!(v["jobs"]["voiceMemo"]["failed"][0], "voice_memo_003.m4a");
        assert!(v["jobs"]["voiceMemo"].get("voice_memo_001.m4a").is_none());
    }

    #[test]
    fn journal_state_keeps_the_original_shape() {
        let original = r#"{"lastRun":"2025-01-05T09:00:00Z"}"#;
        let j: JournalState = serde_json::from_str(original).unwrap();
        assert!(j.days.is_empty());
        assert_eq!(serde_json::to_string(&j).unwrap(), original);
        let with_day = r#"{"lastRun":"2025-01-05T09:00:00Z","days":{"2025-01-04":{"fingerprint":"sha256:00","summarized_at":"2025-01-05T09:00:00Z","entries":2}}}"#;
        let j: JournalState = serde_json::from_str(with_day).unwrap();
        assert_eq!(j.days["2025-01-04"].entries, 2);
        assert_eq!(serde_json::to_string(&j).unwrap(), with_day);
    }

    #[test]
    fn corrupt_file_is_a_usage_error_and_untouched() {
        let (_d, s) = store();
        std::fs::write(s.path(), b"{\"jobs\": {\"voiceMemo\": ").unwrap();
        let err = s
            .update_job("voiceMemo", |_: &mut VoiceMemoState| ())
            .unwrap_err();
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        let msg = format!("{err:#}");
        assert!(msg.contains("line 1, column"), "{msg}");
        assert_eq!(
            std::fs::read(s.path()).unwrap(),
            b"{\"jobs\": {\"voiceMemo\": "
        );
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let (_d, s) = store();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let s = s.clone();
                scope.spawn(move || {
                    for i in 0..25 {
                        s.update_job("voiceMemo", |vm: &mut VoiceMemoState| {
                            vm.items.insert(format!("{t}-{i}"), Item::new_pending());
                        })
                        .unwrap();
                    }
                });
            }
        });
        let vm: VoiceMemoState = s.load_job("voiceMemo").unwrap();
        assert_eq!(vm.items.len(), 100);
    }
}
