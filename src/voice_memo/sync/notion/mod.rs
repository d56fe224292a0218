//! The `notion` target: TODO and Note pages in their databases, journal entries
//! appended to the day's page in the Journal database.
//!
//! Nothing twice: before creating a memo's pages astra looks for pages whose `source`
//! is the memo's file name and reuses one of the same title; a journal entry's heading
//! carries the memo's id, and the day's page is read before appending. Each page id is
//! saved (through `progress`) as soon as it exists.
//!
//! Few requests: the lookups are made for the whole batch of a pass (its memos are
//! given before the workers start, [`SyncTarget::prefetch`]), on the first need of each
//! database: one query per 100 memos, an `or` of `source` conditions, and one per 100
//! days for the journal pages; a memo the batch did not cover, or a create whose
//! answer was lost, is looked up on its own. The schema check is kept
//! across runs (`cache/notion-schema.json`) and made again only when Notion refuses a
//! write for a schema reason. A page goes with its body (and the memo's transcript, in
//! a toggle) in one request when Notion's limits allow; a day page read once in a run
//! is known from then on, so each further entry on it is one append.
pub mod schema;

use super::{Progress, SyncTarget};
use crate::clients::notion::{self, Block, NotionClient, NotionError, Page, text};
use crate::config::NotionConfig;
use crate::state::Outputs;
use crate::voice_memo::error::ItemError;
use crate::voice_memo::organize::{JournalEntry, Note, Organization, Todo};
use crate::voice_memo::{Memo, one_line};
use anyhow::Result;
use chrono::{DateTime, FixedOffset, NaiveDate};
use schema::{Databases, Resolved};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The Notion sync target.
pub struct NotionTarget {
    client: NotionClient,
    cfg: NotionConfig,
    config_path: PathBuf,
    /// Where the schema check is kept between runs (none: checked once per run).
    schema_cache: Option<PathBuf>,
    /// The databases, set up on first use (once per run), and whether they came from
    /// the kept check (so that a refusal is worth a new one).
    databases: Mutex<Option<(Arc<Databases>, bool)>>,
    /// What the batch lookup found: (data source id, source) → its pages. A key that
    /// is present was looked up (its list may be empty).
    by_source: Mutex<HashMap<(String, String), Vec<Page>>>,
    /// The journal's day pages this run knows: absent, not looked up; `None`, none.
    days: Mutex<HashMap<NaiveDate, Option<DayPage>>>,
    /// The memos of this pass, for the batch lookups.
    batch: Mutex<Batch>,
    /// Journal entries go one at a time: two memos of one day must not both create
    /// that day's page.
    journal: Mutex<()>,
}

/// The memos of a pass ([`SyncTarget::prefetch`]), sorted, and the data sources
/// already looked up for all of them.
#[derive(Debug, Default)]
struct Batch {
    names: Vec<String>,
    days: Vec<NaiveDate>,
    done: HashSet<String>,
}

/// A day's page in the Journal database, as far as this run knows it.
#[derive(Debug, Clone)]
struct DayPage {
    id: String,
    processed: bool,
    /// Its blocks, once read (or made by this run); `None`: read before appending.
    blocks: Option<Vec<Block>>,
}

/// Why a memo's sync stopped: Notion's answer (kept whole, to see a schema refusal),
/// or another failure.
enum Fail {
    Notion(NotionError),
    Item(ItemError),
}

impl From<NotionError> for Fail {
    fn from(e: NotionError) -> Fail {
        Fail::Notion(e)
    }
}

impl From<ItemError> for Fail {
    fn from(e: ItemError) -> Fail {
        Fail::Item(e)
    }
}

/// One memo's sync in progress: what is written so far, and where to report it.
struct Written<'a, 'p> {
    memo: &'a Memo,
    out: Outputs,
    progress: &'a mut Progress<'p>,
}

impl Written<'_, '_> {
    /// Records one more output in `field` and saves the outputs so far.
    fn add(
        &mut self,
        field: fn(&mut Outputs) -> &mut Vec<String>,
        id: String,
    ) -> Result<(), ItemError> {
        field(&mut self.out).push(id);
        (self.progress)(&self.out)
    }
}

/// A page to be: its title (to recognise it) and what to send.
struct PageSpec {
    title: String,
    properties: Value,
    children: Vec<Value>,
}

impl NotionTarget {
    /// A target for `[sync.notion]`. Fails (exit 2) when the token is not in the
    /// environment or the config names neither the databases nor a parent page.
    pub fn from_config(cfg: &NotionConfig, config_path: &Path) -> Result<NotionTarget> {
        let token = notion::token_from_env(&cfg.token_env).ok_or_else(|| {
            crate::exit::usage(format!(
                "{} is not set: create a Notion integration (Settings → Connections → Develop or manage integrations), copy its internal secret and `astra secrets set {}` (scheduled runs find it there); or set [sync] target = \"markdown\" in {}",
                cfg.token_env,
                cfg.token_env,
                config_path.display()
            ))
        })?;
        schema::check_config(cfg, config_path)?;
        Ok(NotionTarget {
            client: NotionClient::new(&cfg.base_url, token, &cfg.token_env),
            cfg: cfg.clone(),
            config_path: config_path.to_path_buf(),
            schema_cache: None,
            databases: Mutex::new(None),
            by_source: Mutex::new(HashMap::new()),
            days: Mutex::new(HashMap::new()),
            batch: Mutex::new(Batch::default()),
            journal: Mutex::new(()),
        })
    }

    /// Keeps the schema check in `path` across runs.
    pub fn with_schema_cache(mut self, path: PathBuf) -> NotionTarget {
        self.schema_cache = Some(path);
        self
    }

    /// The databases: from the kept check, else set up (and their new ids written to
    /// config.toml) on first use.
    fn databases(&self) -> Result<Arc<Databases>, ItemError> {
        let mut slot = self
            .databases
            .lock()
            .map_err(|_| ItemError::transient("notion: setup lock poisoned"))?;
        if let Some((d, _)) = slot.as_ref() {
            return Ok(d.clone());
        }
        if let Some(d) = self
            .schema_cache
            .as_deref()
            .and_then(|p| schema::load_cached(p, &self.cfg))
        {
            let d = Arc::new(d);
            *slot = Some((d.clone(), true));
            return Ok(d);
        }
        let setup = schema::ensure(&self.client, &self.cfg)
            .map_err(|e| ItemError::transient(format!("setting up the Notion databases: {e:#}")))?;
        if !setup.new_ids.is_empty() {
            match schema::write_ids(&self.config_path, &setup.new_ids) {
                Ok(_) => {
                    tracing::info!(config = %self.config_path.display(), "wrote the Notion database ids")
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "could not write the Notion database ids; they are found under the parent page next time")
                }
            }
        }
        if let Some(p) = &self.schema_cache {
            schema::save_cached(p, &self.cfg, &setup.databases);
        }
        let d = Arc::new(setup.databases);
        *slot = Some((d.clone(), false));
        Ok(d)
    }

    /// After a write refused for a schema reason: when the databases came from the
    /// kept check, checks Notion again (once per run; `seen` is what the caller used).
    /// `None`: the schema was checked in this run already, the refusal stands.
    fn recheck(&self, seen: &Arc<Databases>) -> Result<Option<Arc<Databases>>, ItemError> {
        {
            let mut slot = self
                .databases
                .lock()
                .map_err(|_| ItemError::transient("notion: setup lock poisoned"))?;
            match slot.as_ref() {
                Some((d, true)) if Arc::ptr_eq(d, seen) => {
                    tracing::info!(
                        "Notion refused a write for a schema reason; checking the databases again"
                    );
                    if let Some(p) = &self.schema_cache {
                        schema::forget_cached(p);
                    }
                    *slot = None;
                }
                Some((d, _)) if !Arc::ptr_eq(d, seen) => return Ok(Some(d.clone())),
                _ => return Ok(None),
            }
        }
        self.databases().map(Some)
    }

    /// The pages of a data source whose `source` is this memo's file name: from the
    /// batch lookup when it covered the memo (once), else asked now.
    fn by_source(&self, db: &Resolved, memo: &Memo) -> Result<Vec<Page>, NotionError> {
        let key = (db.data_source_id.clone(), memo.name.clone());
        let in_batch = self
            .batch
            .lock()
            .is_ok_and(|b| b.names.binary_search(&memo.name).is_ok());
        if in_batch {
            self.look_up_batch(db, false);
        }
        if let Some(pages) = self.by_source.lock().ok().and_then(|mut m| m.remove(&key)) {
            return Ok(pages);
        }
        self.ask_by_source(db, memo)
    }

    /// The pages whose `source` is the memo's: its file name, or a title and it
    /// ([`crate::voice_memo::is_source_of`]). Notion's `ends_with` finds them whatever
    /// the title was when they were written; the exact test drops other files whose
    /// names merely end the same way.
    fn ask_by_source(&self, db: &Resolved, memo: &Memo) -> Result<Vec<Page>, NotionError> {
        let mut pages = self.client.query(
            &db.data_source_id,
            &json!({"property": "source", "rich_text": {"ends_with": memo.name}}),
        )?;
        pages.retain(|p| crate::voice_memo::is_source_of(&source_of(p), &memo.name));
        Ok(pages)
    }

    /// Creates the pages not created yet, in order; `field` picks the outputs list.
    fn sync_pages(
        &self,
        w: &mut Written<'_, '_>,
        db: &Resolved,
        specs: &[PageSpec],
        previous: &[String],
        field: fn(&mut Outputs) -> &mut Vec<String>,
    ) -> Result<(), Fail> {
        let memo = w.memo;
        let mut claimed: HashSet<String> = previous.iter().cloned().collect();
        let mut existing: Option<Vec<Page>> = None;
        for (i, spec) in specs.iter().enumerate() {
            if let Some(id) = previous.get(i) {
                field(&mut w.out).push(id.clone());
                continue;
            }
            let found = match existing.take() {
                Some(p) => p,
                None => self.by_source(db, memo)?,
            };
            let hit = claim(&found, &spec.title, &mut claimed);
            existing = Some(found);
            let (id, sent) = match hit {
                Some(id) => (id, 0),
                None => self.create(db, memo, spec, &mut claimed)?,
            };
            if sent < spec.children.len() {
                self.ensure_tail(&id, &spec.children)?;
            }
            claimed.insert(id.clone());
            w.add(field, id)?;
        }
        Ok(())
    }

    /// Creates one page; after a lost answer, finds it by source and title instead.
    /// Returns its id and how many of its children went with it (0 when found).
    fn create(
        &self,
        db: &Resolved,
        memo: &Memo,
        spec: &PageSpec,
        claimed: &mut HashSet<String>,
    ) -> Result<(String, usize), NotionError> {
        let made = notion::create_or_find(
            self.client.policy(),
            || Ok(claim(&self.ask_by_source(db, memo)?, &spec.title, claimed).map(|id| (id, 0))),
            || {
                self.client
                    .create_page(&db.data_source_id, &spec.properties, &spec.children)
                    .map(|p| (p.id, notion::batch_len(&spec.children)))
            },
        )?;
        tracing::info!(file = %memo.name, page = %made.0, "Notion page created or found");
        crate::voice_memo::pipeline::crash_point("notion-page-created");
        Ok(made)
    }

    /// Appends what a page lacks of `children` (its first blocks were sent with it).
    fn ensure_tail(&self, page_id: &str, children: &[Value]) -> Result<(), NotionError> {
        let have = self.client.children(page_id)?.len();
        if have < children.len() {
            self.client.append(page_id, &children[have..])?;
        }
        Ok(())
    }

    /// Appends each journal entry to its day's page (made when missing).
    fn sync_journal(
        &self,
        w: &mut Written<'_, '_>,
        db: &Resolved,
        entries: &[JournalEntry],
        previous: &[String],
    ) -> Result<(), Fail> {
        let _one_at_a_time = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let memo = w.memo;
        for (i, entry) in entries.iter().enumerate() {
            let marker = entry_marker(&memo.id, i);
            let suffix = format!("#{marker}");
            if let Some(done) = previous.iter().find(|o| o.ends_with(&suffix)) {
                w.out.journal.push(done.clone());
                continue;
            }
            let page_id = self.journal_entry(db, memo, entry, &marker)?;
            w.add(|o| &mut o.journal, format!("{page_id}{suffix}"))?;
        }
        Ok(())
    }

    /// What this run knows of a day's page (looked up when it knows nothing).
    fn known_day(&self, db: &Resolved, day: NaiveDate) -> Result<Option<DayPage>, NotionError> {
        let in_batch = self
            .batch
            .lock()
            .is_ok_and(|b| b.days.binary_search(&day).is_ok());
        if in_batch {
            self.look_up_batch(db, true);
        }
        if let Some(known) = self.days.lock().ok().and_then(|m| m.get(&day).cloned()) {
            return Ok(known);
        }
        let found = self.day_page(db, day)?.map(|p| DayPage {
            processed: p.checkbox("processed"),
            id: p.id,
            blocks: None,
        });
        self.remember_day(day, found.clone());
        Ok(found)
    }

    fn remember_day(&self, day: NaiveDate, page: Option<DayPage>) {
        if let Ok(mut m) = self.days.lock() {
            m.insert(day, page);
        }
    }

    /// One entry: onto the day's page if there is one, else in a new page.
    fn journal_entry(
        &self,
        db: &Resolved,
        memo: &Memo,
        entry: &JournalEntry,
        marker: &str,
    ) -> Result<String, NotionError> {
        let day = memo.recorded_at.date_naive();
        let time = memo.recorded_at.format("%-I:%M %p");
        // The marker ends the heading (it is how the entry is found again); the title
        // Voice Memos has for the memo, when there is one, goes between.
        let heading = match &memo.title {
            Some(title) => format!("{time} · {} · {marker}", one_line(title)),
            None => format!("{time} · {marker}"),
        };
        let paragraphs = text::paragraphs(&entry.content);
        if let Some(mut page) = self.known_day(db, day)? {
            if page.processed {
                // Reopened first: a crash before the append leaves only a re-summary.
                self.client
                    .update_page(&page.id, &json!({"processed": {"checkbox": false}}))?;
                page.processed = false;
            }
            let result = self.ensure_entry(&mut page, &heading, marker, &paragraphs);
            let id = page.id.clone();
            self.remember_day(day, Some(page));
            result?;
            return Ok(id);
        }
        let mut children = vec![text::heading_3(&heading)];
        children.extend(paragraphs.iter().cloned());
        let properties = journal_properties(db, day, entry);
        let sent = notion::batch_len(&children);
        let (page_id, complete) = notion::create_or_find(
            self.client.policy(),
            || Ok(self.day_page(db, day)?.map(|p| (p.id, false))),
            || {
                self.client
                    .create_page(&db.data_source_id, &properties, &children)
                    .map(|p| (p.id, sent == children.len()))
            },
        )?;
        crate::voice_memo::pipeline::crash_point("notion-page-created");
        let mut page = DayPage {
            id: page_id.clone(),
            processed: false,
            blocks: complete.then(|| children.iter().map(Block::from_request).collect()),
        };
        let result = if complete {
            Ok(())
        } else {
            self.ensure_entry(&mut page, &heading, marker, &paragraphs)
        };
        self.remember_day(day, Some(page));
        result.map(|()| page_id)
    }

    /// The day's page in the Journal database (by its `date`).
    fn day_page(&self, db: &Resolved, day: NaiveDate) -> Result<Option<Page>, NotionError> {
        let pages = self.client.query(
            &db.data_source_id,
            &json!({"property": "date", "date": {"equals": day.to_string()}}),
        )?;
        Ok(pages.into_iter().next())
    }

    /// Completes a move cut short by a crash: a heading with no paragraph after it whose
    /// text a later heading repeats is the original left behind; it is deleted.
    fn finish_moves(
        &self,
        page_id: &str,
        mut blocks: Vec<notion::Block>,
    ) -> Result<Vec<notion::Block>, NotionError> {
        let mut i = 0;
        while i < blocks.len() {
            let b = &blocks[i];
            let stale = b.kind == "heading_3"
                && !b.id.is_empty()
                && blocks.get(i + 1).is_none_or(|n| n.kind != "paragraph")
                && blocks[i + 1..]
                    .iter()
                    .any(|later| later.kind == "heading_3" && later.text == b.text);
            if stale {
                tracing::debug!(
                    page = page_id,
                    "removing a heading left by an interrupted move"
                );
                self.client.delete_block(&b.id)?;
                blocks.remove(i);
            } else {
                i += 1;
            }
        }
        Ok(blocks)
    }

    /// The API inserts only after a block: the entry goes after the page's first block
    /// (a later entry's heading), which is then moved below it (re-created after the
    /// entry, the original deleted; a crash between the two leaves an empty duplicate
    /// heading, which is no entry).
    fn insert_before_first(
        &self,
        page_id: &str,
        blocks: &[Value],
        first_id: &str,
        first_heading: &str,
    ) -> Result<(), NotionError> {
        // One insert holds the entry and the copy of the first heading, so a crash
        // before the delete leaves only an empty duplicate, which finish_moves removes.
        let mut all = blocks.to_vec();
        all.push(text::heading_3(first_heading));
        self.client.append_after(page_id, &all, Some(first_id))?;
        self.client.delete_block(first_id)
    }

    /// Reads the page and appends what it lacks of the entry: all of it (after a
    /// divider when the page has content), or the paragraphs after a heading that
    /// landed without all of them. An append that fails is checked the same way
    /// before it is tried again.
    fn ensure_entry(
        &self,
        page: &mut DayPage,
        heading: &str,
        marker: &str,
        paragraphs: &[Value],
    ) -> Result<(), NotionError> {
        let policy = *self.client.policy();
        let mut tries = 0;
        loop {
            tries += 1;
            let blocks = match page.blocks.take() {
                Some(b) => b,
                None => {
                    let read = self.client.children(&page.id)?;
                    self.finish_moves(&page.id, read)?
                }
            };
            let (mut missing, mut after) = missing_blocks(&blocks, heading, marker, paragraphs);
            // Blocks known from a batch read may lack their ids: an insert in the
            // middle needs the page read for them.
            let mut blocks = blocks;
            let no_id = match &after {
                Some(Anchor::After(id) | Anchor::BeforeFirst(id, _)) => id.is_empty(),
                None => false,
            };
            if no_id {
                blocks = self.client.children(&page.id)?;
                blocks = self.finish_moves(&page.id, blocks)?;
                (missing, after) = missing_blocks(&blocks, heading, marker, paragraphs);
            }
            if missing.is_empty() {
                page.blocks = Some(blocks);
                return Ok(());
            }
            let sent = match &after {
                // Inserted in the middle: the known blocks are read again next time.
                Some(Anchor::After(a)) => self
                    .client
                    .append_after(&page.id, &missing, Some(a))
                    .map(|_| None),
                Some(Anchor::BeforeFirst(id, heading)) => self
                    .insert_before_first(&page.id, &missing, id, heading)
                    .map(|()| None),
                None => self.client.append(&page.id, &missing).map(Some),
            };
            match sent {
                Ok(made) => {
                    page.blocks = made.map(|made| {
                        let mut blocks = blocks;
                        blocks.extend(made);
                        blocks
                    });
                    return Ok(());
                }
                Err(e) if e.is_retryable() && tries < policy.max_tries => {
                    tracing::debug!(error = %e, "append failed; reading the page before trying again");
                    std::thread::sleep(policy.backoff(tries + 1));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The batch lookup in one database, made on the first need of it in a pass: the
    /// pages of every memo of the batch (by `source`), or, in the Journal database,
    /// the pages of every day of the batch. Once per database per pass, even when it
    /// fails (each memo is then looked up on its own).
    fn look_up_batch(&self, db: &Resolved, journal: bool) {
        let Ok(mut batch) = self.batch.lock() else {
            return;
        };
        if !batch.done.insert(db.data_source_id.clone()) {
            return;
        }
        let result = if journal {
            self.look_up_days(db, &batch.days)
        } else {
            self.look_up_sources(db, &batch.names)
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "the batch lookup in Notion failed; each memo is looked up on its own");
        }
    }

    fn look_up_sources(&self, db: &Resolved, names: &[String]) -> Result<(), NotionError> {
        if names.is_empty() {
            return Ok(());
        }
        let pages = self.client.query_any(
            &db.data_source_id,
            "source",
            "rich_text",
            "ends_with",
            names,
        )?;
        let mut found: HashMap<(String, String), Vec<Page>> = names
            .iter()
            .map(|n| ((db.data_source_id.clone(), n.clone()), Vec::new()))
            .collect();
        for p in pages {
            let Some(name) = crate::voice_memo::source_name(&source_of(&p), names) else {
                continue;
            };
            if let Some(list) = found.get_mut(&(db.data_source_id.clone(), name.clone())) {
                list.push(p);
            }
        }
        if let Ok(mut m) = self.by_source.lock() {
            m.extend(found);
        }
        Ok(())
    }

    fn look_up_days(&self, db: &Resolved, days: &[NaiveDate]) -> Result<(), NotionError> {
        if days.is_empty() {
            return Ok(());
        }
        let wanted: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        let pages = self
            .client
            .query_any(&db.data_source_id, "date", "date", "equals", &wanted)?;
        let mut known: HashMap<NaiveDate, Option<DayPage>> =
            days.iter().map(|d| (*d, None)).collect();
        for p in pages {
            let Some(day) = p
                .properties
                .get("date")
                .and_then(|d| d["date"]["start"].as_str())
                .and_then(|s| s.get(..10))
                .and_then(|s| s.parse::<NaiveDate>().ok())
            else {
                continue;
            };
            if let Some(slot @ None) = known.get_mut(&day) {
                *slot = Some(DayPage {
                    processed: p.checkbox("processed"),
                    id: p.id,
                    blocks: None,
                });
            }
        }
        if let Ok(mut m) = self.days.lock() {
            for (day, page) in known {
                m.entry(day).or_insert(page);
            }
        }
        Ok(())
    }

    /// Everything a memo writes, with the databases `dbs`.
    fn sync_with(
        &self,
        dbs: &Databases,
        w: &mut Written<'_, '_>,
        org: &Organization,
        previous: &Outputs,
    ) -> Result<(), Fail> {
        let memo = w.memo;
        let todos: Vec<PageSpec> = org
            .todos
            .iter()
            .map(|t| todo_page(&dbs.todos, memo, t))
            .collect();
        self.sync_pages(w, &dbs.todos, &todos, &previous.todos, |o| &mut o.todos)?;
        let notes: Vec<PageSpec> = org
            .notes
            .iter()
            .map(|n| note_page(&dbs.notes, memo, n))
            .collect();
        self.sync_pages(w, &dbs.notes, &notes, &previous.notes, |o| &mut o.notes)?;
        self.sync_journal(w, &dbs.journal, &org.journal, &previous.journal)
    }
}

impl SyncTarget for NotionTarget {
    fn name(&self) -> &'static str {
        "notion"
    }

    fn categories(&self) -> Result<Vec<String>, ItemError> {
        Ok(self.databases()?.categories())
    }

    fn prefetch(&self, memos: &[(String, DateTime<FixedOffset>)]) {
        let mut names: Vec<String> = memos.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        let mut days: Vec<NaiveDate> = memos.iter().map(|(_, at)| at.date_naive()).collect();
        days.sort();
        days.dedup();
        if let Ok(mut b) = self.batch.lock() {
            *b = Batch {
                names,
                days,
                done: HashSet::new(),
            };
        }
    }

    fn sync(
        &self,
        memo: &Memo,
        org: &Organization,
        previous: &Outputs,
        progress: &mut Progress<'_>,
    ) -> Result<Outputs, ItemError> {
        let mut dbs = self.databases()?;
        let mut previous = previous.clone();
        loop {
            let mut w = Written {
                memo,
                out: Outputs::default(),
                progress,
            };
            match self.sync_with(&dbs, &mut w, org, &previous) {
                Ok(()) => return Ok(w.out),
                Err(Fail::Item(e)) => return Err(e),
                Err(Fail::Notion(e)) if e.is_schema_refusal() => match self.recheck(&dbs)? {
                    Some(d) => {
                        previous = merged(&previous, w.out);
                        dbs = d;
                    }
                    None => return Err(item_error(memo, e)),
                },
                Err(Fail::Notion(e)) => return Err(item_error(memo, e)),
            }
        }
    }
}

/// The outputs of an attempt that stopped, over those it started from (each list is
/// the longer of the two: an attempt starts from the earlier one's and adds to it).
fn merged(previous: &Outputs, now: Outputs) -> Outputs {
    let longer = |a: &Vec<String>, b: Vec<String>| if b.len() >= a.len() { b } else { a.clone() };
    Outputs {
        todos: longer(&previous.todos, now.todos),
        notes: longer(&previous.notes, now.notes),
        journal: longer(&previous.journal, now.journal),
    }
}

/// A Notion failure for one memo: Notion refusing the request as written (400) is
/// permanent; the rest (faults, and access the user can grant) are worth a retry.
fn item_error(memo: &Memo, e: NotionError) -> ItemError {
    let msg = format!("{}: {e}", memo.name);
    match e.kind {
        notion::ErrorKind::Invalid => ItemError::permanent(msg),
        _ if e.is_rate_limited() => ItemError::deferred(msg),
        _ => ItemError::transient(msg),
    }
}

/// The first page of `pages` with this title that is not taken yet (and takes it).
fn claim(pages: &[Page], title: &str, claimed: &mut HashSet<String>) -> Option<String> {
    let hit = pages
        .iter()
        .find(|p| !claimed.contains(&p.id) && p.title() == title)?;
    claimed.insert(hit.id.clone());
    Some(hit.id.clone())
}

/// What a journal entry's heading ends with: the memo id (and the entry's number after
/// the first).
fn entry_marker(memo_id: &str, index: usize) -> String {
    if index == 0 {
        memo_id.to_string()
    } else {
        format!("{memo_id}.{index}")
    }
}

/// Where an entry's missing blocks go (None: at the end of the page).
#[derive(Debug, Clone, PartialEq)]
enum Anchor {
    After(String),
    /// Before the page's first block (its id and text), a later entry's heading.
    BeforeFirst(String, String),
}

/// When an entry heading (`2:30 PM · <marker>`) was recorded, to the minute.
fn heading_time(text: &str) -> Option<chrono::NaiveTime> {
    let time = text.split(" · ").next()?;
    chrono::NaiveTime::parse_from_str(time.trim(), "%I:%M %p").ok()
}

/// The blocks of an entry the page does not have yet, and the block to insert them
/// after (None: at the end). A new entry goes before the first entry recorded later,
/// so the page reads in recording order whatever order the memos finish in; the rest
/// of a half-written entry goes right after what landed of it.
fn missing_blocks(
    blocks: &[notion::Block],
    heading: &str,
    marker: &str,
    paragraphs: &[Value],
) -> (Vec<Value>, Option<Anchor>) {
    let at = blocks
        .iter()
        .position(|b| b.kind == "heading_3" && b.text.rsplit(" · ").next() == Some(marker));
    if let Some(i) = at {
        let have = blocks[i + 1..]
            .iter()
            .take_while(|b| b.kind == "paragraph")
            .count();
        let rest: Vec<Value> = paragraphs.iter().skip(have).cloned().collect();
        let last = &blocks[i + have];
        let after = (i + have + 1 < blocks.len()).then(|| Anchor::After(last.id.clone()));
        return (rest, after);
    }
    let new_time = heading_time(heading);
    let later = blocks.iter().position(|b| {
        b.kind == "heading_3"
            && b.text.contains(" · ")
            && heading_time(&b.text)
                .zip(new_time)
                .is_some_and(|(t, new)| t > new)
    });
    let entry = |divider_first: bool, divider_last: bool| {
        let mut all = Vec::with_capacity(paragraphs.len() + 2);
        if divider_first {
            all.push(text::divider());
        }
        all.push(text::heading_3(heading));
        all.extend(paragraphs.iter().cloned());
        if divider_last {
            all.push(text::divider());
        }
        all
    };
    match later {
        // Before a later entry that follows another one: after that one's last block.
        Some(i) if i >= 2 && blocks[i - 1].kind == "divider" => (
            entry(true, false),
            Some(Anchor::After(blocks[i - 2].id.clone())),
        ),
        // Before the first entry (after the summary, say).
        Some(i) if i >= 1 => (
            entry(false, true),
            Some(Anchor::After(blocks[i - 1].id.clone())),
        ),
        // Before a first entry nothing precedes.
        Some(_) => (
            entry(false, true),
            Some(Anchor::BeforeFirst(
                blocks[0].id.clone(),
                blocks[0].text.clone(),
            )),
        ),
        _ => (entry(!blocks.is_empty(), false), None),
    }
}

/// A select option name Notion accepts: no commas, at most 100 characters.
fn option_name(s: &str) -> String {
    one_line(&s.replace(',', " ")).chars().take(100).collect()
}

fn title_value(db: &Resolved, props: &mut Map<String, Value>, title: &str) {
    props.insert(
        db.title_property.clone(),
        json!({"title": text::property_text(title)}),
    );
}

fn common(props: &mut Map<String, Value>, memo: &Memo) {
    props.insert(
        "created_date".into(),
        json!({"date": {"start": memo.recorded_at.to_rfc3339()}}),
    );
    props.insert(
        "source".into(),
        json!({"rich_text": text::property_text(&memo.source())}),
    );
}

/// A page's `source`, as plain text.
fn source_of(page: &Page) -> String {
    page.properties
        .get("source")
        .map(|v| text::plain(&v["rich_text"]))
        .unwrap_or_default()
}

fn todo_page(db: &Resolved, memo: &Memo, todo: &Todo) -> PageSpec {
    let title = one_line(&todo.title);
    let mut p = Map::new();
    title_value(db, &mut p, &title);
    p.insert(
        "description".into(),
        json!({"rich_text": text::property_text(todo.description.trim())}),
    );
    p.insert(
        "priority".into(),
        json!({"select": {"name": todo.priority.as_str()}}),
    );
    p.insert("done".into(), json!({"checkbox": false}));
    if let Some(due) = todo.due {
        p.insert("due".into(), json!({"date": {"start": due.to_string()}}));
    }
    common(&mut p, memo);
    PageSpec {
        title,
        properties: Value::Object(p),
        children: text::transcript_toggles(&memo.transcript),
    }
}

/// A note: its content in the `content` property (cut at 100 pieces) and, whole, as
/// the page's paragraphs; then the memo's transcript in a toggle.
fn note_page(db: &Resolved, memo: &Memo, note: &Note) -> PageSpec {
    let title = one_line(&note.title);
    let mut p = Map::new();
    title_value(db, &mut p, &title);
    p.insert(
        "content".into(),
        json!({"rich_text": text::property_text(note.content.trim())}),
    );
    let category = option_name(&note.category);
    if !category.is_empty() {
        p.insert("category".into(), json!({"select": {"name": category}}));
    }
    let mut seen = HashSet::new();
    let tags: Vec<Value> = note
        .tags
        .iter()
        .map(|t| option_name(t))
        .filter(|t| !t.is_empty() && seen.insert(t.clone()))
        .map(|t| json!({"name": t}))
        .collect();
    p.insert("tags".into(), json!({"multi_select": tags}));
    common(&mut p, memo);
    let mut children = text::paragraphs(&note.content);
    children.extend(text::transcript_toggles(&memo.transcript));
    PageSpec {
        title,
        properties: Value::Object(p),
        children,
    }
}

fn journal_properties(db: &Resolved, day: NaiveDate, entry: &JournalEntry) -> Value {
    let mut p = Map::new();
    title_value(db, &mut p, &day.format("%B %-d, %Y").to_string());
    p.insert("date".into(), json!({"date": {"start": day.to_string()}}));
    p.insert("processed".into(), json!({"checkbox": false}));
    if let Some(mood) = entry
        .mood
        .as_deref()
        .map(option_name)
        .filter(|m| !m.is_empty())
    {
        p.insert("mood".into(), json!({"select": {"name": mood}}));
    }
    Value::Object(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: &str, text: &str) -> notion::Block {
        notion::Block {
            id: "b".into(),
            kind: kind.into(),
            text: text.into(),
            ..notion::Block::default()
        }
    }

    #[test]
    fn a_journal_entry_is_recognised_by_its_heading() {
        let paras = text::paragraphs("One.\n\nTwo.");
        let heading = "2:30 PM · 0123456789ab";
        let fresh = missing_blocks(&[], heading, "0123456789ab", &paras).0;
        assert_eq!(fresh.len(), 3, "no divider on an empty page");
        let other = [
            block("heading_3", "9:00 AM · ffffffffffff"),
            block("paragraph", "x"),
        ];
        let appended = missing_blocks(&other, heading, "0123456789ab", &paras).0;
        assert_eq!(appended[0]["type"], "divider");
        assert_eq!(appended.len(), 4);
        let mut done = other.to_vec();
        done.extend([
            block("divider", ""),
            block("heading_3", heading),
            block("paragraph", "One."),
            block("paragraph", "Two."),
        ]);
        assert!(
            missing_blocks(&done, heading, "0123456789ab", &paras)
                .0
                .is_empty()
        );
        done.pop();
        let tail = missing_blocks(&done, heading, "0123456789ab", &paras).0;
        assert_eq!(text::plain(&tail[0]["paragraph"]["rich_text"]), "Two.");
        // Another entry's marker that starts with this one does not count.
        let longer = [block("heading_3", "2:30 PM · 0123456789ab.1")];
        assert_eq!(
            missing_blocks(&longer, heading, "0123456789ab", &paras)
                .0
                .len(),
            4
        );
    }
    #[test]
    fn a_journal_entry_goes_before_the_entries_recorded_later() {
        let with_id = |id: &str, kind: &str, text: &str| notion::Block {
            id: id.into(),
            ..block(kind, text)
        };
        let page = [
            with_id("s", "callout", "Summary"),
            with_id("h2", "heading_3", "2:00 PM · aaaa"),
            with_id("p2", "paragraph", "two"),
            with_id("d4", "divider", ""),
            with_id("h4", "heading_3", "4:00 PM · bbbb"),
            with_id("p4", "paragraph", "four"),
        ];
        let paras = text::paragraphs("Three.");
        let (blocks, after) = missing_blocks(&page, "3:00 PM · cccc", "cccc", &paras);
        assert_eq!(
            after,
            Some(Anchor::After("p2".into())),
            "after the 2 PM entry"
        );
        assert_eq!(blocks[0]["type"], "divider");
        assert_eq!(blocks[1]["type"], "heading_3");
        let (blocks, after) = missing_blocks(&page, "11:00 AM · dddd", "dddd", &paras);
        assert_eq!(
            after,
            Some(Anchor::After("s".into())),
            "before the first entry"
        );
        assert_eq!(blocks.last().unwrap()["type"], "divider");
        let (_, after) = missing_blocks(&page, "6:00 PM · eeee", "eeee", &paras);
        assert_eq!(after, None, "the latest goes at the end");
        // The rest of a half-written entry goes right after what landed of it.
        let half = [page[1].clone(), page[3].clone(), page[4].clone()];
        let (rest, after) =
            missing_blocks(&half, "2:00 PM · aaaa", "aaaa", &text::paragraphs("two"));
        assert_eq!(rest.len(), 1);
        assert_eq!(after, Some(Anchor::After("h2".into())));
        // Before a first entry that nothing precedes: after it, then it moves below.
        let (blocks, after) = missing_blocks(&page[1..], "1:00 PM · ffff", "ffff", &paras);
        assert_eq!(
            after,
            Some(Anchor::BeforeFirst("h2".into(), "2:00 PM · aaaa".into()))
        );
        assert_eq!(blocks.last().unwrap()["type"], "divider");
    }

    #[test]
    fn only_a_refused_request_fails_a_memo_for_good() {
        let memo = Memo {
            name: "a.m4a".into(),
            path: PathBuf::from("a.m4a"),
            id: "0123456789ab".into(),
            recorded_at: chrono::DateTime::parse_from_rfc3339("2026-01-14T13:54:31+01:00").unwrap(),
            transcript: String::new(),
            title: None,
        };
        let e = |kind| NotionError {
            kind,
            status: None,
            code: String::new(),
            message: "m".into(),
        };
        assert!(item_error(&memo, e(notion::ErrorKind::Invalid)).is_permanent());
        for kind in [
            notion::ErrorKind::Auth,
            notion::ErrorKind::Access,
            notion::ErrorKind::Transient,
        ] {
            assert!(!item_error(&memo, e(kind)).is_permanent());
        }
        assert_eq!(
            item_error(&memo, e(notion::ErrorKind::Auth)).message(),
            "a.m4a: m"
        );
        // A rate limit is no fault of the memo's: it waits without spending an attempt.
        let limited = NotionError {
            status: Some(429),
            ..e(notion::ErrorKind::Transient)
        };
        assert!(item_error(&memo, limited).is_deferred());
        assert!(!item_error(&memo, e(notion::ErrorKind::Transient)).is_deferred());
    }

    #[test]
    fn an_interrupted_attempts_outputs_are_kept_for_the_next() {
        let prev = Outputs {
            todos: vec!["a".into()],
            notes: vec![],
            journal: vec!["j#1".into()],
        };
        let now = Outputs {
            todos: vec!["a".into(), "b".into()],
            notes: vec![],
            journal: vec![],
        };
        let m = merged(&prev, now);
        assert_eq!(m.todos, ["a", "b"]);
        assert_eq!(m.journal, ["j#1"]);
    }

    #[test]
    fn select_names_lose_commas_and_length() {
        assert_eq!(option_name(" work, home "), "work home");
        assert_eq!(option_name(&"x".repeat(150)).len(), 100);
    }

    #[test]
    fn entries_after_the_first_get_numbered_markers() {
        assert_eq!(entry_marker("abc", 0), "abc");
        assert_eq!(entry_marker("abc", 2), "abc.2");
    }
}
