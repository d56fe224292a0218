//! The memos as the pages see them, behind one small trait ([`MemoSource`]) shaped
//! like the memo catalogue's API (list with a status filter, get by id or file, search,
//! retry): [`CatalogueSource`] reads `memos.db`; [`StateSource`] reads `state.json`
//! (and a memo's cached transcript) for a home whose catalogue does not exist yet.
use crate::paths::Paths;
use crate::state::{Item, ItemStatus, VoiceMemoState};
use anyhow::Result;
use chrono::{DateTime, Utc};

/// A memo in the list.
#[derive(Debug, Clone, Default)]
pub struct MemoRow {
    pub id: String,
    pub file: String,
    pub title: Option<String>,
    pub recorded_at: Option<String>,
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why it is where it is (the last error, the discard reason).
    pub reason: Option<String>,
}

/// A piece of the transcript with its start in seconds.
#[derive(Debug, Clone)]
pub struct Segment {
    pub start: f64,
    pub text: String,
}

/// Something a memo wrote: its kind (todo, note, journal), a label, and where it is
/// (a vault path or a Notion URL).
#[derive(Debug, Clone)]
pub struct OutputLink {
    pub kind: String,
    pub label: String,
    pub location: String,
}

/// One attempt at a memo.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: Option<DateTime<Utc>>,
    pub run_id: Option<String>,
    pub stage: Option<String>,
    pub outcome: String,
    pub error: Option<String>,
}

/// A memo in full.
#[derive(Debug, Clone, Default)]
pub struct MemoDetail {
    pub row: MemoRow,
    pub transcript: Option<String>,
    pub segments: Vec<Segment>,
    /// The organization JSON (title, summary, todos, notes, journal).
    pub organization: Option<serde_json::Value>,
    pub outputs: Vec<OutputLink>,
    pub attempts: Vec<Attempt>,
    pub audio_seconds: Option<f64>,
}

/// A search result with a snippet around the match.
#[derive(Debug, Clone)]
pub struct Hit {
    pub row: MemoRow,
    pub snippet: String,
}

/// Which memos a retry is for.
#[derive(Debug, Clone)]
pub enum RetryWhat {
    Ids(Vec<String>),
    Status(String),
}

/// The statuses a memo can have (the filter's choices).
pub const STATUSES: &[&str] = &[
    "completed",
    "discarded",
    "pending",
    "waiting",
    "retrying",
    "failed",
];

/// Where the memo pages read from.
pub trait MemoSource {
    fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<MemoRow>>;
    fn get(&self, id_or_file: &str) -> Result<Option<MemoDetail>>;
    fn search(&self, text: &str, limit: usize) -> Result<Vec<Hit>>;
    /// Queues memos again; returns the files queued.
    fn retry(&self, what: &RetryWhat) -> Result<Vec<String>>;
    /// Says where the memos come from (shown under the list).
    fn describe(&self) -> String;
}

/// The memos in `state.json`, for a home without a catalogue.
pub struct StateSource {
    pub paths: Paths,
}

impl StateSource {
    fn load(&self) -> Result<VoiceMemoState> {
        crate::state::StateStore::new(&self.paths.state).load_job(crate::voice_memo::JOB.name)
    }

    fn row(file: &str, item: &Item) -> MemoRow {
        MemoRow {
            id: item.id.clone().unwrap_or_else(|| file.to_string()),
            file: file.to_string(),
            title: None,
            recorded_at: item.recorded_at.clone(),
            status: item.status.as_str().to_string(),
            attempts: item.attempts,
            next_attempt_at: item.next_attempt_at,
            reason: item.last_error.clone(),
        }
    }

    fn rows(&self) -> Result<Vec<(MemoRow, Item)>> {
        let vm = self.load()?;
        let mut rows: Vec<(MemoRow, Item)> = vm
            .items
            .iter()
            .map(|(f, i)| (Self::row(f, i), i.clone()))
            .collect();
        rows.sort_by(|a, b| {
            b.0.recorded_at
                .cmp(&a.0.recorded_at)
                .then(a.0.file.cmp(&b.0.file))
        });
        Ok(rows)
    }
}

fn outputs(item: &Item) -> Vec<OutputLink> {
    let o = &item.outputs;
    [
        ("todo", &o.todos),
        ("note", &o.notes),
        ("journal", &o.journal),
    ]
    .into_iter()
    .flat_map(|(k, v)| {
        v.iter().map(move |s| OutputLink {
            kind: k.to_string(),
            label: s.clone(),
            location: s.clone(),
        })
    })
    .collect()
}

impl MemoSource for StateSource {
    fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<MemoRow>> {
        Ok(self
            .rows()?
            .into_iter()
            .map(|(r, _)| r)
            .filter(|r| status.is_none_or(|s| r.status == s))
            .take(limit)
            .collect())
    }

    fn get(&self, id_or_file: &str) -> Result<Option<MemoDetail>> {
        let Some((row, item)) = self
            .rows()?
            .into_iter()
            .find(|(r, _)| r.id == id_or_file || r.file == id_or_file)
        else {
            return Ok(None);
        };
        let cache = self.paths.cache.join("voice-memo").join(&row.id);
        let transcript = std::fs::read_to_string(cache.join("transcript.txt")).ok();
        let organization = std::fs::read(cache.join("organization.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        Ok(Some(MemoDetail {
            outputs: outputs(&item),
            attempts: vec![Attempt {
                at: None,
                run_id: None,
                stage: item.stage.map(|s| format!("{s:?}").to_lowercase()),
                outcome: row.status.clone(),
                error: item.last_error.clone(),
            }],
            audio_seconds: item.audio_seconds,
            row,
            transcript,
            segments: Vec::new(),
            organization,
        }))
    }

    fn search(&self, text: &str, limit: usize) -> Result<Vec<Hit>> {
        let needle = text.to_lowercase();
        Ok(self
            .rows()?
            .into_iter()
            .filter(|(r, i)| {
                r.file.to_lowercase().contains(&needle)
                    || outputs(i)
                        .iter()
                        .any(|o| o.label.to_lowercase().contains(&needle))
            })
            .take(limit)
            .map(|(row, _)| Hit {
                snippet: row.file.clone(),
                row,
            })
            .collect())
    }

    fn retry(&self, what: &RetryWhat) -> Result<Vec<String>> {
        let now = Utc::now();
        let store = crate::state::StateStore::new(&self.paths.state);
        store.update_job(crate::voice_memo::JOB.name, |vm: &mut VoiceMemoState| {
            let chosen: Vec<String> = vm
                .items
                .iter()
                .filter(|(f, i)| {
                    i.status != ItemStatus::Completed
                        && match what {
                            RetryWhat::Ids(ids) => ids
                                .iter()
                                .any(|w| w == *f || i.id.as_deref() == Some(w.as_str())),
                            RetryWhat::Status(s) => i.status.as_str() == s,
                        }
                })
                .map(|(f, _)| f.clone())
                .collect();
            for f in &chosen {
                if let Some(item) = vm.items.get_mut(f) {
                    item.status = ItemStatus::Retrying;
                    item.attempts = 0;
                    item.next_attempt_at = Some(now);
                }
            }
            vm.failed.retain(|f| !chosen.contains(f));
            chosen
        })
    }

    fn describe(&self) -> String {
        format!(
            "memos in flight and failed, from {}",
            self.paths.state.display()
        )
    }
}

/// The memo catalogue (`memos.db`): every memo astra has seen.
pub struct CatalogueSource {
    pub paths: Paths,
    pub cat: crate::catalogue::Catalogue,
}

fn summary_row(m: crate::catalogue::MemoSummary) -> MemoRow {
    MemoRow {
        id: m.id.unwrap_or_else(|| m.file.clone()),
        file: m.file,
        title: m.title,
        recorded_at: m.recorded_at,
        status: m.status,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        reason: m.reason,
    }
}

fn segments(v: &serde_json::Value) -> Vec<Segment> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some(Segment {
                start: s["start"].as_f64()?,
                text: s["text"].as_str()?.trim().to_string(),
            })
        })
        .collect()
}

impl MemoSource for CatalogueSource {
    fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<MemoRow>> {
        let filter = crate::catalogue::ListFilter {
            status: status.map(str::to_string),
            since: None,
            limit: Some(limit),
        };
        Ok(self
            .cat
            .list(&filter)?
            .into_iter()
            .map(summary_row)
            .collect())
    }

    fn get(&self, id_or_file: &str) -> Result<Option<MemoDetail>> {
        let Some(m) = self.cat.get(id_or_file)? else {
            return Ok(None);
        };
        let mut outputs: Vec<OutputLink> = Vec::new();
        for (kind, list) in [
            ("todo", &m.outputs.todos),
            ("note", &m.outputs.notes),
            ("journal", &m.outputs.journal),
        ] {
            outputs.extend(list.iter().map(|l| OutputLink {
                kind: kind.to_string(),
                label: l.clone(),
                location: l.clone(),
            }));
        }
        outputs.extend(m.transcript_files.iter().map(|f| OutputLink {
            kind: "transcript".into(),
            label: f.clone(),
            location: f.clone(),
        }));
        if let Some(a) = &m.archived_to {
            outputs.push(OutputLink {
                kind: "audio".into(),
                label: a.clone(),
                location: a.clone(),
            });
        }
        let attempts = m
            .history
            .iter()
            .map(|a| Attempt {
                at: Some(a.started_at),
                run_id: None,
                stage: a.stage.clone(),
                outcome: a.outcome.clone(),
                error: a.error.clone(),
            })
            .collect();
        let reason = m.last_error.clone();
        Ok(Some(MemoDetail {
            row: MemoRow {
                id: m.id.clone().unwrap_or_else(|| m.file.clone()),
                file: m.file.clone(),
                title: m.title.clone(),
                recorded_at: m.recorded_at.clone(),
                status: m.status.clone(),
                attempts: m.attempts,
                next_attempt_at: m.next_attempt_at,
                reason,
            },
            segments: m
                .transcript
                .as_ref()
                .map(|t| segments(&t.segments))
                .unwrap_or_default(),
            transcript: m.transcript.map(|t| t.text),
            organization: m.organization,
            outputs,
            attempts,
            audio_seconds: m.duration_seconds,
        }))
    }

    fn search(&self, text: &str, limit: usize) -> Result<Vec<Hit>> {
        Ok(self
            .cat
            .search(text, limit)?
            .into_iter()
            .map(|h| Hit {
                row: MemoRow {
                    id: h.id.unwrap_or_else(|| h.file.clone()),
                    file: h.file,
                    title: h.title,
                    recorded_at: h.recorded_at,
                    status: h.status,
                    ..MemoRow::default()
                },
                snippet: h.snippet,
            })
            .collect())
    }

    fn retry(&self, what: &RetryWhat) -> Result<Vec<String>> {
        let sel = match what {
            RetryWhat::Ids(ids) => crate::catalogue::RetrySelector::Ids(ids.clone()),
            RetryWhat::Status(s) => crate::catalogue::RetrySelector::Status(s.clone()),
        };
        crate::catalogue::retry(&self.paths, &sel)
    }

    fn describe(&self) -> String {
        format!("the memo catalogue, {}", self.cat.path().display())
    }
}

/// The catalogue when this home has one, else `state.json`.
pub fn open(paths: &Paths) -> Result<Box<dyn MemoSource>> {
    Ok(match crate::catalogue::Catalogue::open_read_only(paths)? {
        Some(cat) => Box::new(CatalogueSource {
            paths: paths.clone(),
            cat,
        }),
        None => Box::new(StateSource {
            paths: paths.clone(),
        }),
    })
}
