//! The Notion journal store: the day pages of the Journal database as voice-memo writes
//! them (`heading_3` "2:30 PM · <memo id>" + paragraphs), the summary a callout on top.
//!
//! The summary is one `callout` ("Summary" + the text, with the "Key insights" bullets
//! and the attribution nested in it), so it is one block to find, insert and delete.
//! The 2025-09-03 API inserts only at the end or `after` a block, never before the first
//! one: the first summary goes after the page's first block, which is then moved below
//! it (re-created after the summary, the original deleted). A new summary goes after the
//! old one, and the old one is deleted. `mood`, `themes` and `processed` are set last.
use super::model::{
    Day, DaySummary, Entry, JournalStore, Mood, StoredSummary, WeekReview, Written,
};
use crate::clients::notion::{self, Block, NotionClient, Page, text};
use crate::config::NotionConfig;
use crate::voice_memo::sync::notion::schema::{self, Resolved};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The callout's first line: how astra recognises its summary.
pub const SUMMARY_LABEL: &str = "Summary";
/// The heading of the insights inside the summary.
pub const INSIGHTS_LABEL: &str = "Key insights";
const ICON: &str = "🧭";
/// The most blocks above the summary that are moved under it (more: a person put the
/// summary there, and it stays).
const MAX_MOVED: usize = 3;
/// Block types whose content astra can re-create (to move the page's first block).
const MOVABLE: [&str; 9] = [
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "quote",
    "to_do",
    "divider",
];

/// The journal in the Notion Journal database (`[sync] target = "notion"`).
pub struct NotionStore {
    client: NotionClient,
    cfg: NotionConfig,
    config_path: PathBuf,
    read_only: bool,
    journal: OnceCell<Resolved>,
    todos: OnceCell<String>,
    /// The day pages found by the last listing (the first page of each date).
    pages: RefCell<BTreeMap<NaiveDate, Page>>,
}

impl NotionStore {
    /// The store for `[sync.notion]`; exit 2 when the token or the ids are missing.
    /// `read_only` (a dry run): the databases are never set up, only read.
    pub fn from_config(
        cfg: &NotionConfig,
        config_path: &Path,
        read_only: bool,
    ) -> Result<NotionStore> {
        let token = notion::token_from_env(&cfg.token_env).ok_or_else(|| {
            crate::exit::usage(format!(
                "{} is not set: the journal job reads and writes the Notion Journal database with your integration's secret: `astra secrets set {}`, or set [sync] target = \"markdown\" in {}",
                cfg.token_env,
                cfg.token_env,
                config_path.display()
            ))
        })?;
        schema::check_config(cfg, config_path)?;
        Ok(NotionStore {
            client: NotionClient::new(&cfg.base_url, token, &cfg.token_env),
            cfg: cfg.clone(),
            config_path: config_path.to_path_buf(),
            read_only,
            journal: OnceCell::new(),
            todos: OnceCell::new(),
            pages: RefCell::new(BTreeMap::new()),
        })
    }

    /// The Journal data source: the configured one (read only), or set up like
    /// voice-memo's first run does (found or created under `parent_page_id`).
    fn journal(&self) -> Result<&Resolved> {
        if let Some(r) = self.journal.get() {
            return Ok(r);
        }
        let resolved = match notion::normalize_id(&self.cfg.journal_database_id) {
            Some(id) => configured(&self.client, &id)?,
            None => self.set_up()?.journal,
        };
        Ok(self.journal.get_or_init(|| resolved))
    }

    fn set_up(&self) -> Result<schema::Databases> {
        if self.read_only {
            bail!(
                "[sync.notion] journal_database_id is not set and a dry run does not set Notion up: run `astra notion setup` (or voice-memo) first"
            );
        }
        let setup = schema::ensure(&self.client, &self.cfg)?;
        if !setup.new_ids.is_empty()
            && let Err(e) = schema::write_ids(&self.config_path, &setup.new_ids)
        {
            tracing::warn!(error = %format!("{e:#}"), "could not write the Notion database ids");
        }
        Ok(setup.databases)
    }

    /// The day's page: from the last listing, else asked for by `date`.
    fn page(&self, date: NaiveDate) -> Result<Option<Page>> {
        if let Some(p) = self.pages.borrow().get(&date) {
            return Ok(Some(p.clone()));
        }
        let ds = &self.journal()?.data_source_id;
        let found = self.client.query(
            ds,
            &json!({"property": "date", "date": {"equals": date.to_string()}}),
        )?;
        Ok(found.into_iter().next())
    }

    fn replace_summary(&self, page: &Page, blocks: &[Block], summary: &DaySummary) -> Result<()> {
        let plan = Plan::of(blocks);
        let made = self
            .client
            .append_after(&page.id, &[summary_block(summary)], plan.anchor.as_deref())
            .context("inserting the summary")?;
        let new_id = made
            .iter()
            .find(|b| is_summary(b))
            .map(|b| b.id.clone())
            .context("Notion's answer holds no summary block")?;
        if !plan.copies.is_empty() {
            self.client
                .append_after(&page.id, &plan.copies, Some(&new_id))
                .context("moving the page's first block under the summary")?;
        }
        for id in plan.delete {
            self.client
                .delete_block(&id)
                .context("deleting a block the summary replaces")?;
        }
        Ok(())
    }
}

/// A configured Journal database with the properties the job sets.
fn configured(client: &NotionClient, id: &str) -> Result<Resolved> {
    let ds = client
        .resolve_data_source(id)
        .with_context(|| format!("reading the Journal database {id}"))?;
    for (name, kind) in [
        ("date", "date"),
        ("processed", "checkbox"),
        ("mood", "select"),
        ("themes", "multi_select"),
    ] {
        match ds.properties.get(name) {
            Some(p) if p.kind == kind => {}
            _ => bail!(
                "the Journal database has no {kind} property `{name}`: run `astra notion setup` to add it"
            ),
        }
    }
    let title_property = ds
        .properties
        .iter()
        .find(|(_, p)| p.kind == "title")
        .map_or_else(|| "title".to_string(), |(n, _)| n.clone());
    Ok(Resolved {
        database_id: id.to_string(),
        data_source_id: ds.id,
        title_property,
        properties: ds.properties,
    })
}

impl JournalStore for NotionStore {
    fn name(&self) -> &'static str {
        "notion"
    }

    fn list_days(&self) -> Result<Vec<NaiveDate>> {
        let ds = &self.journal()?.data_source_id;
        let pages = self
            .client
            .query(
                ds,
                &json!({"property": "date", "date": {"is_not_empty": true}}),
            )
            .context("listing the Journal database")?;
        let mut by_date = self.pages.borrow_mut();
        by_date.clear();
        for p in pages {
            if let Some(d) = page_date(&p) {
                by_date.entry(d).or_insert(p);
            }
        }
        Ok(by_date.keys().copied().collect())
    }

    fn load_day(&self, date: NaiveDate) -> Result<Option<Day>> {
        let Some(page) = self.page(date)? else {
            return Ok(None);
        };
        let blocks = self
            .client
            .children(&page.id)
            .with_context(|| format!("reading the journal page of {date}"))?;
        Ok(Some(parse_day(&page, &blocks, date)))
    }

    /// Notion keeps `last_edited_time` to the minute: a processed page not edited in a
    /// minute after the one its summary was written in has not changed. (An edit by hand
    /// in that same minute is missed; a new entry from voice-memo unticks `processed`.)
    fn may_have_changed(&self, date: NaiveDate, since: DateTime<Utc>) -> bool {
        let pages = self.pages.borrow();
        let Some(page) = pages.get(&date) else {
            return true;
        };
        match page.last_edited_time {
            Some(edited) if page.checkbox("processed") => edited > minute_of(since),
            _ => true,
        }
    }

    fn write_summary(
        &self,
        date: NaiveDate,
        summary: &DaySummary,
        built_from: &str,
    ) -> Result<Written> {
        let page = self
            .page(date)?
            .with_context(|| format!("the journal page of {date} disappeared"))?;
        let blocks = self.client.children(&page.id)?;
        let day = parse_day(&page, &blocks, date);
        if day.fingerprint() != built_from {
            bail!(
                "the journal page of {date} changed while it was being summarised; the next run summarises it again"
            );
        }
        let properties = summary_properties(summary);
        if self.unchanged(&page, &blocks, summary)? {
            return Ok(Written::Unchanged);
        }
        self.replace_summary(&page, &blocks, summary)?;
        self.client
            .update_page(&page.id, &properties)
            .context("setting processed, mood and themes")?;
        Ok(Written::Changed)
    }

    fn open_todos(&self) -> Result<Vec<String>> {
        let ds = self.todos()?;
        let pages = self
            .client
            .query(
                &ds,
                &json!({"property": "done", "checkbox": {"equals": false}}),
            )
            .context("reading the open TODOs")?;
        Ok(pages
            .iter()
            .map(|p| one_line(&p.title()))
            .filter(|t| !t.is_empty())
            .collect())
    }

    fn write_week(&self, review: &WeekReview) -> Result<Written> {
        let title = week_title(&review.label);
        let block = week_block(review);
        let Some(page) = self.week_page(&title)? else {
            self.create_week(&title, &block)?;
            return Ok(Written::Changed);
        };
        let blocks = self.client.children(&page.id)?;
        let ours: Vec<&Block> = blocks.iter().filter(|b| is_week(b)).collect();
        let text = text::plain(&block["callout"]["rich_text"]);
        if let [only] = ours.as_slice()
            && only.text == text
            && self.inner(&only.id)? == inner_of(&block)
        {
            return Ok(Written::Unchanged);
        }
        let anchor = ours.last().map(|b| b.id.as_str());
        self.client
            .append_after(&page.id, std::slice::from_ref(&block), anchor)
            .context("writing the weekly review")?;
        for b in ours {
            self.client
                .delete_block(&b.id)
                .context("deleting the previous weekly review")?;
        }
        Ok(Written::Changed)
    }

    fn day_location(&self, date: NaiveDate) -> String {
        format!("Notion Journal/{}", date.format("%B %-d, %Y"))
    }

    fn week_location(&self, label: &str) -> String {
        format!("Notion Journal/{}", week_title(label))
    }
}

impl NotionStore {
    /// The TODOs data source (the configured database, or set up like the Journal).
    fn todos(&self) -> Result<String> {
        if let Some(id) = self.todos.get() {
            return Ok(id.clone());
        }
        let ds = match notion::normalize_id(&self.cfg.todos_database_id) {
            Some(id) => {
                self.client
                    .resolve_data_source(&id)
                    .with_context(|| format!("reading the TODOs database {id}"))?
                    .id
            }
            None => self.set_up()?.todos.data_source_id,
        };
        Ok(self.todos.get_or_init(|| ds).clone())
    }

    /// The week's page: a Journal page of that title (it has no `date`, so neither the
    /// days' listing nor voice-memo's lookup by date ever takes it for a day).
    fn week_page(&self, title: &str) -> Result<Option<Page>> {
        let journal = self.journal()?;
        let found = self.client.query(
            &journal.data_source_id,
            &json!({"property": journal.title_property, "title": {"equals": title}}),
        )?;
        Ok(found.into_iter().next())
    }

    fn create_week(&self, title: &str, block: &Value) -> Result<()> {
        let journal = self.journal()?;
        let properties = json!({
            journal.title_property.clone(): {"title": text::property_text(title)},
            "processed": {"checkbox": true},
        });
        let children = std::slice::from_ref(block);
        notion::create_or_find(
            self.client.policy(),
            || {
                self.week_page(title)
                    .map_err(|e| notion_error(&format!("{e:#}")))
            },
            || {
                self.client
                    .create_page(&journal.data_source_id, &properties, children)
            },
        )
        .with_context(|| format!("creating the page {title}"))?;
        Ok(())
    }

    /// The texts of the blocks inside `id`.
    fn inner(&self, id: &str) -> Result<Vec<String>> {
        Ok(self
            .client
            .children(id)?
            .into_iter()
            .map(|b| b.text)
            .collect())
    }

    /// Whether the page already has exactly this summary on top and these properties.
    fn unchanged(&self, page: &Page, blocks: &[Block], s: &DaySummary) -> Result<bool> {
        let Some(first) = blocks.first().filter(|b| is_summary(b)) else {
            return Ok(false);
        };
        if blocks.iter().filter(|b| is_summary(b)).count() != 1
            || !page.checkbox("processed")
            || first.text != summary_text(s)
            || page_mood(page) != Some(s.mood)
            || page_themes(page) != s.themes.iter().map(|t| option_name(t)).collect::<Vec<_>>()
        {
            return Ok(false);
        }
        let inside: Vec<String> = self
            .client
            .children(&first.id)?
            .into_iter()
            .map(|b| b.text)
            .collect();
        Ok(inside == inner_texts(s))
    }
}

/// Where the new summary goes and what else changes: insert after `anchor`, re-create
/// `copies` after it (the blocks that were above), delete `delete`.
#[derive(Debug, Default, PartialEq)]
struct Plan {
    anchor: Option<String>,
    copies: Vec<Value>,
    delete: Vec<String>,
}

impl Plan {
    fn of(blocks: &[Block]) -> Plan {
        let ours: Vec<usize> = (0..blocks.len())
            .filter(|&i| is_summary(&blocks[i]))
            .collect();
        let (anchor_at, lead_end) = match (ours.first(), ours.last()) {
            (Some(&first), Some(&last)) => (Some(last), first),
            _ if blocks.is_empty() => (None, 0),
            _ => (Some(0), 1),
        };
        let mut plan = Plan {
            anchor: anchor_at.map(|i| blocks[i].id.clone()),
            ..Plan::default()
        };
        let lead = &blocks[..lead_end];
        let movable = lead.len() <= MAX_MOVED && lead.iter().all(|b| copy_of(b).is_some());
        if !movable {
            tracing::warn!(
                blocks = lead.len(),
                "the journal page starts with blocks astra does not move; the summary goes under them"
            );
        }
        if movable && !lead.is_empty() {
            // A move interrupted after the copies landed: the copies are there already.
            let after = anchor_at.map_or(0, |i| i + 1);
            let copied = blocks.get(after..after + lead.len()).is_some_and(|next| {
                next.iter()
                    .zip(lead)
                    .all(|(a, b)| a.kind == b.kind && a.text == b.text)
            });
            if !copied {
                plan.copies = lead.iter().filter_map(copy_of).collect();
            }
            plan.delete.extend(lead.iter().map(|b| b.id.clone()));
        }
        plan.delete
            .extend(ours.iter().map(|&i| blocks[i].id.clone()));
        plan
    }
}

/// A block to re-create `b` (its text, annotations and color), when astra can.
fn copy_of(b: &Block) -> Option<Value> {
    if !MOVABLE.contains(&b.kind.as_str()) || b.has_children {
        return None;
    }
    let mut body = b.body.as_object().cloned().unwrap_or_default();
    if let Some(items) = body.get("rich_text").and_then(Value::as_array) {
        let mut clean = Vec::with_capacity(items.len());
        for it in items {
            if it["type"] != "text" {
                return None;
            }
            clean.push(json!({"type": "text", "text": it["text"], "annotations": it.get("annotations").cloned().unwrap_or(json!({}))}));
        }
        body.insert("rich_text".into(), Value::Array(clean));
    }
    Some(json!({"object": "block", "type": b.kind, b.kind.clone(): Value::Object(body)}))
}

/// Whether `b` is astra's summary callout.
fn is_summary(b: &Block) -> bool {
    b.kind == "callout" && b.text.starts_with(&format!("{SUMMARY_LABEL}\n"))
}

/// The callout's plain text: the label line, then the summary.
fn summary_text(s: &DaySummary) -> String {
    format!("{SUMMARY_LABEL}\n{}", one_line(&s.summary))
}

/// The texts of the blocks nested in the callout, in order.
fn inner_texts(s: &DaySummary) -> Vec<String> {
    let mut out = Vec::new();
    if !s.insights.is_empty() {
        out.push(INSIGHTS_LABEL.to_string());
        out.extend(s.insights.iter().map(|i| one_line(i)));
    }
    out.push(one_line(&s.attribution));
    out
}

/// The summary as one callout block, the insights and attribution nested in it; text
/// split into 2,000-character pieces.
pub fn summary_block(s: &DaySummary) -> Value {
    let mut rich = vec![
        json!({"type": "text", "text": {"content": format!("{SUMMARY_LABEL}\n")}, "annotations": {"bold": true}}),
    ];
    rich.extend(text::rich_text(&one_line(&s.summary)));
    rich.truncate(text::MAX_ITEMS);
    let mut children = Vec::new();
    if !s.insights.is_empty() {
        children.push(styled("paragraph", INSIGHTS_LABEL, json!({"bold": true})));
        for i in &s.insights {
            children.push(styled("bulleted_list_item", &one_line(i), json!({})));
        }
    }
    children.push(styled(
        "paragraph",
        &one_line(&s.attribution),
        json!({"italic": true, "color": "gray"}),
    ));
    json!({
        "object": "block",
        "type": "callout",
        "callout": {
            "rich_text": rich,
            "icon": {"type": "emoji", "emoji": ICON},
            "color": "gray_background",
            "children": children,
        },
    })
}

fn styled(kind: &str, content: &str, annotations: Value) -> Value {
    let mut items = text::rich_text(content);
    items.truncate(text::MAX_ITEMS);
    for it in &mut items {
        it["annotations"] = annotations.clone();
    }
    json!({"object": "block", "type": kind, kind: {"rich_text": items}})
}

/// `processed`, `mood` and `themes` for the page.
fn summary_properties(s: &DaySummary) -> Value {
    let mut seen = std::collections::HashSet::new();
    let themes: Vec<Value> = s
        .themes
        .iter()
        .map(|t| option_name(t))
        .filter(|t| !t.is_empty() && seen.insert(t.clone()))
        .map(|t| json!({"name": t}))
        .collect();
    let mut p = Map::new();
    p.insert("processed".into(), json!({"checkbox": true}));
    p.insert("mood".into(), json!({"select": {"name": s.mood.as_str()}}));
    p.insert("themes".into(), json!({"multi_select": themes}));
    Value::Object(p)
}

/// A day page: its entries (each `heading_3` with the paragraphs right after it), the
/// summary on it and its properties.
pub fn parse_day(page: &Page, blocks: &[Block], date: NaiveDate) -> Day {
    let stored = blocks
        .iter()
        .find(|b| is_summary(b))
        .map(|b| StoredSummary {
            summary: b.text[SUMMARY_LABEL.len() + 1..].trim().to_string(),
            mood: page_mood(page),
            themes: page_themes(page),
        });
    Day {
        date,
        entries: parse_entries(blocks),
        processed: page.checkbox("processed"),
        stored,
    }
}

/// The entries of a page's top-level blocks; a heading without text is none.
pub fn parse_entries(blocks: &[Block]) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        if blocks[i].kind != "heading_3" {
            i += 1;
            continue;
        }
        let heading = blocks[i].text.trim().to_string();
        let mut paras = Vec::new();
        i += 1;
        while i < blocks.len() && blocks[i].kind == "paragraph" {
            let t = blocks[i].text.trim();
            if !t.is_empty() {
                paras.push(t.to_string());
            }
            i += 1;
        }
        if !paras.is_empty() {
            entries.push(Entry {
                heading,
                text: paras.join("\n\n"),
            });
        }
    }
    entries
}

/// Whether `e` comes from a Notion failure that may pass by itself (429, 5xx, no
/// connection): the day is left for the next run.
pub fn is_transient(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<notion::NotionError>())
        .any(notion::NotionError::is_retryable)
}

/// A week page's title (`Week 2026-W03`).
pub fn week_title(label: &str) -> String {
    format!("Week {label}")
}

/// Whether `b` is astra's weekly review callout.
fn is_week(b: &Block) -> bool {
    b.kind == "callout" && b.text.starts_with("Week ")
}

/// The most open TODOs listed in a review.
const MAX_TODOS: usize = 20;

/// The review as one callout: the days (a line and a mood each), the moods, the
/// themes and the open TODOs nested in it.
pub fn week_block(r: &WeekReview) -> Value {
    let head = format!(
        "{} · {} – {}",
        week_title(&r.label),
        r.start.format("%A, %B %-d"),
        r.end.format("%A, %B %-d")
    );
    let bold = || json!({"bold": true});
    let mut kids = vec![styled("paragraph", "Days", bold())];
    for d in &r.days {
        let mood = d
            .mood
            .map(|m| format!(" ({})", m.as_str()))
            .unwrap_or_default();
        let line = format!("{}{mood}: {}", d.date.format("%a %-d"), one_line(&d.line));
        kids.push(styled("bulleted_list_item", &line, json!({})));
    }
    kids.push(styled("paragraph", "Moods", bold()));
    kids.push(styled("paragraph", &r.moods_line(), json!({})));
    let themes = r.themes_line(6);
    if !themes.is_empty() {
        kids.push(styled("paragraph", "Themes", bold()));
        kids.push(styled("paragraph", &themes, json!({})));
    }
    kids.push(styled("paragraph", "Open TODOs", bold()));
    if r.todos.is_empty() {
        kids.push(styled("paragraph", "None.", json!({})));
    }
    for t in r.todos.iter().take(MAX_TODOS) {
        kids.push(styled("bulleted_list_item", &one_line(t), json!({})));
    }
    if r.todos.len() > MAX_TODOS {
        let more = format!(
            "… and {} more in the TODOs database",
            r.todos.len() - MAX_TODOS
        );
        kids.push(styled("paragraph", &more, json!({})));
    }
    let mut rich = text::rich_text(&head);
    rich.truncate(text::MAX_ITEMS);
    json!({
        "object": "block",
        "type": "callout",
        "callout": {
            "rich_text": rich,
            "icon": {"type": "emoji", "emoji": "🗓️"},
            "color": "blue_background",
            "children": kids,
        },
    })
}

/// The plain texts of the blocks nested in a callout built here.
fn inner_of(block: &Value) -> Vec<String> {
    block["callout"]["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            let t = b["type"].as_str().unwrap_or("");
            text::plain(&b[t]["rich_text"])
        })
        .collect()
}

/// A find that failed, as the error `create_or_find` expects.
fn notion_error(message: &str) -> notion::NotionError {
    notion::NotionError {
        kind: notion::ErrorKind::Transient,
        status: None,
        code: String::new(),
        message: message.to_string(),
    }
}

/// `t` rounded down to the minute, as Notion rounds `last_edited_time`.
fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

fn page_date(p: &Page) -> Option<NaiveDate> {
    let start = p.properties.get("date")?["date"]["start"].as_str()?;
    start.get(..10)?.parse().ok()
}

fn page_mood(p: &Page) -> Option<Mood> {
    p.properties.get("mood")?["select"]["name"]
        .as_str()
        .and_then(Mood::parse)
}

fn page_themes(p: &Page) -> Vec<String> {
    p.properties
        .get("themes")
        .and_then(|t| t["multi_select"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str().map(str::to_string))
        .collect()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A select option name Notion accepts: no commas, at most 100 characters.
fn option_name(s: &str) -> String {
    one_line(&s.replace(',', " ")).chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(id: &str, kind: &str, text: &str) -> Block {
        Block {
            id: id.into(),
            kind: kind.into(),
            text: text.into(),
            has_children: false,
            body: json!({"rich_text": [{"type": "text", "text": {"content": text}, "plain_text": text}]}),
        }
    }

    fn summary() -> DaySummary {
        DaySummary {
            summary: "A run.".into(),
            mood: Mood::Good,
            themes: vec!["run, fast".into()],
            insights: vec!["Run more.".into()],
            attribution: "Extractive summary.".into(),
        }
    }

    #[test]
    fn notions_passing_troubles_are_transient() {
        let e = |kind| notion::NotionError {
            kind,
            status: None,
            code: String::new(),
            message: "m".into(),
        };
        let busy: anyhow::Result<()> = Err(e(notion::ErrorKind::Transient).into());
        assert!(is_transient(
            &busy.context("inserting the summary").unwrap_err()
        ));
        let refused: anyhow::Error = e(notion::ErrorKind::Invalid).into();
        assert!(!is_transient(&refused));
    }

    #[test]
    fn entries_are_headings_with_their_paragraphs() {
        let blocks = [
            block("s", "callout", "Summary\nOld."),
            block("h1", "heading_3", "8:05 AM · aaaa"),
            block("p1", "paragraph", "Ran."),
            block("p2", "paragraph", "Fast."),
            block("d", "divider", ""),
            block("h2", "heading_3", "9:00 AM · bbbb"),
            block("h3", "heading_3", "1:00 PM · cccc"),
            block("p3", "paragraph", "Lunch."),
        ];
        let e = parse_entries(&blocks);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].text, "Ran.\n\nFast.");
        assert_eq!(e[1].heading, "1:00 PM · cccc");
    }

    #[test]
    fn the_first_summary_moves_the_first_block_under_it() {
        let blocks = [
            block("h1", "heading_3", "8:05 AM · a"),
            block("p1", "paragraph", "Ran."),
        ];
        let plan = Plan::of(&blocks);
        assert_eq!(plan.anchor.as_deref(), Some("h1"));
        assert_eq!(plan.copies.len(), 1);
        assert_eq!(
            plan.copies[0]["heading_3"]["rich_text"][0]["text"]["content"],
            "8:05 AM · a"
        );
        assert_eq!(plan.delete, ["h1"]);
    }

    #[test]
    fn a_new_summary_goes_after_the_old_one_which_is_deleted() {
        let blocks = [
            block("s", "callout", "Summary\nOld."),
            block("h1", "heading_3", "x"),
        ];
        let plan = Plan::of(&blocks);
        assert_eq!(plan.anchor.as_deref(), Some("s"));
        assert!(plan.copies.is_empty());
        assert_eq!(plan.delete, ["s"]);
        // An interrupted move: the copy is already under the summary.
        let blocks = [
            block("h1", "heading_3", "x"),
            block("s", "callout", "Summary\nOld."),
            block("h1b", "heading_3", "x"),
        ];
        let plan = Plan::of(&blocks);
        assert!(plan.copies.is_empty());
        assert_eq!(plan.delete, ["h1", "s"]);
        assert_eq!(Plan::of(&[]).anchor, None);
        // Many blocks above a summary someone moved down: they stay where they are.
        let mut many: Vec<Block> = (0..4)
            .map(|i| block(&format!("p{i}"), "paragraph", "x"))
            .collect();
        many.push(block("s", "callout", "Summary\nOld."));
        let plan = Plan::of(&many);
        assert!(plan.copies.is_empty());
        assert_eq!(plan.delete, ["s"]);
    }

    #[test]
    fn the_summary_block_holds_insights_and_long_text_in_pieces() {
        let mut s = summary();
        s.summary = "word ".repeat(900);
        let b = summary_block(&s);
        let rich = b["callout"]["rich_text"].as_array().unwrap();
        assert!(rich.len() >= 4);
        assert!(
            rich.iter()
                .all(|r| r["text"]["content"].as_str().unwrap().chars().count() <= 2000)
        );
        let kids = b["callout"]["children"].as_array().unwrap();
        assert_eq!(kids[1]["type"], "bulleted_list_item");
        assert_eq!(
            text::plain(&kids[0]["paragraph"]["rich_text"]),
            INSIGHTS_LABEL
        );
        let props = summary_properties(&summary());
        assert_eq!(props["themes"]["multi_select"][0]["name"], "run fast");
        assert_eq!(props["processed"]["checkbox"], true);
    }
}
