//! The `notion` target: TODO and Note pages in their databases, journal entries
//! appended to the day's page in the Journal database.
//!
//! Nothing twice: before creating a memo's pages astra queries by `source` (the memo's
//! file name) and reuses a page of the same title; a journal entry's heading carries
//! the memo's id, and the day's page is read before appending. Each page id is saved
//! (through `progress`) as soon as it exists.
pub mod schema;

use super::{Progress, SyncTarget};
use crate::clients::notion::{self, NotionClient, NotionError, Page, text};
use crate::config::NotionConfig;
use crate::state::Outputs;
use crate::voice_memo::Memo;
use crate::voice_memo::error::ItemError;
use crate::voice_memo::organize::{JournalEntry, Note, Organization, Todo};
use anyhow::Result;
use chrono::NaiveDate;
use schema::{Databases, Resolved};
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The Notion sync target.
pub struct NotionTarget {
    client: NotionClient,
    cfg: NotionConfig,
    config_path: PathBuf,
    /// The databases, set up on first use (once per run).
    databases: Mutex<Option<Arc<Databases>>>,
    /// Journal entries go one at a time: two memos of one day must not both create
    /// that day's page.
    journal: Mutex<()>,
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
                "{} is not set: create a Notion integration (Settings → Connections → Develop or manage integrations), copy its internal secret and `export {}=…`; or set [sync] target = \"markdown\" in {}",
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
            databases: Mutex::new(None),
            journal: Mutex::new(()),
        })
    }

    /// The databases, set up (and their new ids written to config.toml) on first use.
    fn databases(&self) -> Result<Arc<Databases>, ItemError> {
        let mut slot = self
            .databases
            .lock()
            .map_err(|_| ItemError::transient("notion: setup lock poisoned"))?;
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
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
        let d = Arc::new(setup.databases);
        *slot = Some(d.clone());
        Ok(d)
    }

    /// The pages of a data source whose `source` is this memo's file name.
    fn by_source(&self, db: &Resolved, memo: &Memo) -> Result<Vec<Page>, NotionError> {
        self.client.query(
            &db.data_source_id,
            &json!({"property": "source", "rich_text": {"equals": memo.name}}),
        )
    }

    /// Creates the pages not created yet, in order; `field` picks the outputs list.
    fn sync_pages(
        &self,
        w: &mut Written<'_, '_>,
        db: &Resolved,
        specs: &[PageSpec],
        previous: &[String],
        field: fn(&mut Outputs) -> &mut Vec<String>,
    ) -> Result<(), ItemError> {
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
                None => self.by_source(db, memo).map_err(|e| item_error(memo, e))?,
            };
            let hit = claim(&found, &spec.title, &mut claimed);
            existing = Some(found);
            let id = match hit {
                Some(id) => id,
                None => self.create(db, memo, spec, &mut claimed)?,
            };
            if spec.children.len() > notion::MAX_CHILDREN {
                self.ensure_tail(&id, &spec.children)
                    .map_err(|e| item_error(memo, e))?;
            }
            claimed.insert(id.clone());
            w.add(field, id)?;
        }
        Ok(())
    }

    /// Creates one page; after a lost answer, finds it by source and title instead.
    fn create(
        &self,
        db: &Resolved,
        memo: &Memo,
        spec: &PageSpec,
        claimed: &mut HashSet<String>,
    ) -> Result<String, ItemError> {
        let id = notion::create_or_find(
            self.client.policy(),
            || Ok(claim(&self.by_source(db, memo)?, &spec.title, claimed)),
            || {
                self.client
                    .create_page(&db.data_source_id, &spec.properties, &spec.children)
                    .map(|p| p.id)
            },
        )
        .map_err(|e| item_error(memo, e))?;
        tracing::info!(file = %memo.name, page = %id, "Notion page created or found");
        crate::voice_memo::pipeline::crash_point("notion-page-created");
        Ok(id)
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
    ) -> Result<(), ItemError> {
        let _one_at_a_time = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let memo = w.memo;
        for (i, entry) in entries.iter().enumerate() {
            let marker = entry_marker(&memo.id, i);
            let suffix = format!("#{marker}");
            if let Some(done) = previous.iter().find(|o| o.ends_with(&suffix)) {
                w.out.journal.push(done.clone());
                continue;
            }
            let page_id = self
                .journal_entry(db, memo, entry, &marker)
                .map_err(|e| item_error(memo, e))?;
            w.add(|o| &mut o.journal, format!("{page_id}{suffix}"))?;
        }
        Ok(())
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
        let heading = format!("{} · {marker}", memo.recorded_at.format("%-I:%M %p"));
        let paragraphs = text::paragraphs(&entry.content);
        if let Some(page) = self.day_page(db, day)? {
            if page.checkbox("processed") {
                // Reopened first: a crash before the append leaves only a re-summary.
                self.client
                    .update_page(&page.id, &json!({"processed": {"checkbox": false}}))?;
            }
            self.ensure_entry(&page.id, &heading, marker, &paragraphs)?;
            return Ok(page.id);
        }
        let mut children = vec![text::heading_3(&heading)];
        children.extend(paragraphs.iter().cloned());
        let properties = journal_properties(db, day, entry);
        let (page_id, complete) = notion::create_or_find(
            self.client.policy(),
            || Ok(self.day_page(db, day)?.map(|p| (p.id, false))),
            || {
                self.client
                    .create_page(&db.data_source_id, &properties, &children)
                    .map(|p| (p.id, children.len() <= notion::MAX_CHILDREN))
            },
        )?;
        crate::voice_memo::pipeline::crash_point("notion-page-created");
        if !complete {
            self.ensure_entry(&page_id, &heading, marker, &paragraphs)?;
        }
        Ok(page_id)
    }

    /// The day's page in the Journal database (by its `date`).
    fn day_page(&self, db: &Resolved, day: NaiveDate) -> Result<Option<Page>, NotionError> {
        let pages = self.client.query(
            &db.data_source_id,
            &json!({"property": "date", "date": {"equals": day.to_string()}}),
        )?;
        Ok(pages.into_iter().next())
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
        let made = self.client.append_after(page_id, blocks, Some(first_id))?;
        let last = made
            .last()
            .map(|b| b.id.clone())
            .unwrap_or(first_id.to_string());
        self.client
            .append_after(page_id, &[text::heading_3(first_heading)], Some(&last))?;
        self.client.delete_block(first_id)
    }

    /// Reads the page and appends what it lacks of the entry: all of it (after a
    /// divider when the page has content), or the paragraphs after a heading that
    /// landed without all of them. An append that fails is checked the same way
    /// before it is tried again.
    fn ensure_entry(
        &self,
        page_id: &str,
        heading: &str,
        marker: &str,
        paragraphs: &[Value],
    ) -> Result<(), NotionError> {
        let policy = *self.client.policy();
        let mut tries = 0;
        loop {
            tries += 1;
            let blocks = self.client.children(page_id)?;
            let (missing, after) = missing_blocks(&blocks, heading, marker, paragraphs);
            if missing.is_empty() {
                return Ok(());
            }
            let sent = match &after {
                Some(Anchor::After(a)) => self
                    .client
                    .append_after(page_id, &missing, Some(a))
                    .map(|_| ()),
                Some(Anchor::BeforeFirst(id, heading)) => {
                    self.insert_before_first(page_id, &missing, id, heading)
                }
                None => self.client.append(page_id, &missing),
            };
            match sent {
                Ok(()) => return Ok(()),
                Err(e) if e.is_retryable() && tries < policy.max_tries => {
                    tracing::debug!(error = %e, "append failed; reading the page before trying again");
                    std::thread::sleep(policy.backoff(tries + 1));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl SyncTarget for NotionTarget {
    fn name(&self) -> &'static str {
        "notion"
    }

    fn categories(&self) -> Result<Vec<String>, ItemError> {
        Ok(self.databases()?.categories())
    }

    fn sync(
        &self,
        memo: &Memo,
        org: &Organization,
        previous: &Outputs,
        progress: &mut Progress<'_>,
    ) -> Result<Outputs, ItemError> {
        let dbs = self.databases()?;
        let mut w = Written {
            memo,
            out: Outputs::default(),
            progress,
        };
        let todos: Vec<PageSpec> = org
            .todos
            .iter()
            .map(|t| todo_page(&dbs.todos, memo, t))
            .collect();
        self.sync_pages(&mut w, &dbs.todos, &todos, &previous.todos, |o| {
            &mut o.todos
        })?;
        let notes: Vec<PageSpec> = org
            .notes
            .iter()
            .map(|n| note_page(&dbs.notes, memo, n))
            .collect();
        self.sync_pages(&mut w, &dbs.notes, &notes, &previous.notes, |o| {
            &mut o.notes
        })?;
        self.sync_journal(&mut w, &dbs.journal, &org.journal, &previous.journal)?;
        Ok(w.out)
    }
}

/// A Notion failure for one memo: Notion refusing the request as written (400) is
/// permanent; the rest (faults, and access the user can grant) are worth a retry.
fn item_error(memo: &Memo, e: NotionError) -> ItemError {
    let msg = format!("{}: {e}", memo.name);
    match e.kind {
        notion::ErrorKind::Invalid => ItemError::permanent(msg),
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

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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
        json!({"rich_text": text::property_text(&memo.name)}),
    );
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
        children: Vec::new(),
    }
}

/// A note: its content in the `content` property (cut at 100 pieces) and, whole, as
/// the page's paragraphs.
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
    PageSpec {
        title,
        properties: Value::Object(p),
        children: text::paragraphs(&note.content),
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
