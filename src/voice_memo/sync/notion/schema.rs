//! The three Notion databases astra writes to (TODOs, Notes, Journal): their schemas,
//! and setting them up — shared by `astra notion setup` and the first voice-memo run.
//!
//! Setup is idempotent: a configured database is checked and given any property it
//! lacks; a missing one is looked for under `parent_page_id` by title before it is
//! created; the ids found or made are written into `config.toml`, keeping its comments.
use crate::clients::notion::{self, DataSource, NotionClient, NotionError, PropertySchema};
use crate::config::NotionConfig;
use crate::exit::usage;
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// One of the three databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Todos,
    Notes,
    Journal,
}

/// Every database, in setup order.
pub const KINDS: [Kind; 3] = [Kind::Todos, Kind::Notes, Kind::Journal];

impl Kind {
    /// The database's title in Notion (also how setup finds it under the parent page).
    pub fn title(self) -> &'static str {
        match self {
            Kind::Todos => "TODOs",
            Kind::Notes => "Notes",
            Kind::Journal => "Journal",
        }
    }

    /// Its key in `[sync.notion]`.
    pub fn config_key(self) -> &'static str {
        match self {
            Kind::Todos => "todos_database_id",
            Kind::Notes => "notes_database_id",
            Kind::Journal => "journal_database_id",
        }
    }

    fn configured(self, cfg: &NotionConfig) -> &str {
        match self {
            Kind::Todos => &cfg.todos_database_id,
            Kind::Notes => &cfg.notes_database_id,
            Kind::Journal => &cfg.journal_database_id,
        }
        .trim()
    }

    /// The contract's properties: (name, Notion property configuration).
    pub fn properties(self) -> Vec<(&'static str, Value)> {
        let empty = || json!({});
        let options = |names: &[&str]| json!({"options": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()});
        match self {
            Kind::Todos => vec![
                ("title", json!({"title": empty()})),
                ("description", json!({"rich_text": empty()})),
                (
                    "priority",
                    json!({"select": options(&["asap", "soon", "eventually"])}),
                ),
                ("done", json!({"checkbox": empty()})),
                ("created_date", json!({"date": empty()})),
                ("due", json!({"date": empty()})),
                ("source", json!({"rich_text": empty()})),
            ],
            Kind::Notes => vec![
                ("title", json!({"title": empty()})),
                ("content", json!({"rich_text": empty()})),
                (
                    "category",
                    json!({"select": options(&crate::voice_memo::organize::DEFAULT_CATEGORIES)}),
                ),
                ("tags", json!({"multi_select": options(&[])})),
                ("created_date", json!({"date": empty()})),
                ("source", json!({"rich_text": empty()})),
            ],
            Kind::Journal => vec![
                ("title", json!({"title": empty()})),
                ("date", json!({"date": empty()})),
                ("processed", json!({"checkbox": empty()})),
                ("mood", json!({"select": options(&[])})),
                ("themes", json!({"multi_select": options(&[])})),
            ],
        }
    }
}

/// The type a property configuration declares (its one key, `name` aside).
fn declared_type(config: &Value) -> &str {
    config
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "name"))
        .map(String::as_str)
        .unwrap_or("")
}

/// A database as astra uses it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Resolved {
    pub database_id: String,
    pub data_source_id: String,
    /// The name of the title property (`title` when astra made it; a user's database
    /// may call it `Name`).
    pub title_property: String,
    pub properties: BTreeMap<String, PropertySchema>,
}

/// The three databases, ready to write to.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Databases {
    pub todos: Resolved,
    pub notes: Resolved,
    pub journal: Resolved,
}

impl Databases {
    /// The Notes database's `category` options (the defaults when it has none).
    pub fn categories(&self) -> Vec<String> {
        let found = self
            .notes
            .properties
            .get("category")
            .map(PropertySchema::option_names)
            .unwrap_or_default();
        if found.is_empty() {
            crate::voice_memo::organize::DEFAULT_CATEGORIES
                .iter()
                .map(|c| c.to_string())
                .collect()
        } else {
            found
        }
    }
}

/// What setup did to one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created under the parent page.
    Created,
    /// Not configured, but found under the parent page by its title.
    Found,
    /// Configured and complete: nothing to do.
    Unchanged,
    /// Configured, and given the properties it lacked.
    Repaired,
}

/// One line of setup's report.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub database: &'static str,
    pub action: Action,
    pub database_id: String,
    pub data_source_id: String,
    /// Properties added to an existing database.
    pub added: Vec<String>,
}

/// The outcome of [`ensure`].
#[derive(Debug, Clone)]
pub struct Setup {
    pub databases: Databases,
    pub steps: Vec<Step>,
    /// `[sync.notion]` keys to write: ids that were not configured.
    pub new_ids: Vec<(&'static str, String)>,
}

/// Checks what can be checked without asking Notion: every configured id is an id, and
/// a database without one has a parent page to be created under (exit 2 otherwise).
pub fn check_config(cfg: &NotionConfig, config_path: &Path) -> Result<()> {
    let file = config_path.display();
    for kind in KINDS {
        let id = kind.configured(cfg);
        if !id.is_empty() && notion::normalize_id(id).is_none() {
            return Err(usage(format!(
                "{file}: [sync.notion] {} = {id:?} is not a Notion id: copy the database's link (••• → Copy link) and paste it, or the 32 hex digits at its end",
                kind.config_key()
            )));
        }
    }
    let parent = cfg.parent_page_id.trim();
    if !parent.is_empty() && notion::normalize_id(parent).is_none() {
        return Err(usage(format!(
            "{file}: [sync.notion] parent_page_id = {parent:?} is not a Notion page id: paste the page's link or the 32 hex digits at its end"
        )));
    }
    let missing: Vec<&str> = KINDS
        .iter()
        .filter(|k| k.configured(cfg).is_empty())
        .map(|k| k.config_key())
        .collect();
    if !missing.is_empty() && parent.is_empty() {
        return Err(usage(format!(
            "{file}: [sync.notion] {} empty and parent_page_id is not set: set parent_page_id to the page astra should create its databases under (shared with your integration), or run `astra notion setup --parent <page link>`",
            if missing.len() == 1 {
                format!("{} is", missing[0])
            } else {
                format!("{} are", missing.join(", "))
            }
        )));
    }
    Ok(())
}

/// Makes sure the three databases exist with every property astra writes: checks the
/// configured ones (adding missing properties), finds or creates the others under
/// `parent_page_id`. Config is not written here (see [`write_ids`]).
pub fn ensure(client: &NotionClient, cfg: &NotionConfig) -> Result<Setup> {
    let parent = notion::normalize_id(&cfg.parent_page_id);
    let mut under_parent: Option<Vec<notion::Block>> = None;
    let mut steps = Vec::new();
    let mut new_ids = Vec::new();
    let mut resolved = Vec::new();
    for kind in KINDS {
        let (database_id, ds, mut action) = match notion::normalize_id(kind.configured(cfg)) {
            Some(id) => (
                id.clone(),
                client.resolve_data_source(&id)?,
                Action::Unchanged,
            ),
            None => {
                let parent = parent.as_deref().ok_or_else(|| {
                    usage(format!(
                        "[sync.notion] {} is empty and parent_page_id is not set: set parent_page_id or run `astra notion setup --parent <page link>`",
                        kind.config_key()
                    ))
                })?;
                let (id, ds, action) = find_or_create(client, parent, kind, &mut under_parent)?;
                new_ids.push((kind.config_key(), id.clone()));
                (id, ds, action)
            }
        };
        let (ds, title_property, added) = complete(client, kind, ds)?;
        if !added.is_empty() && action == Action::Unchanged {
            action = Action::Repaired;
        }
        steps.push(Step {
            database: kind.title(),
            action,
            database_id: database_id.clone(),
            data_source_id: ds.id.clone(),
            added,
        });
        resolved.push(Resolved {
            database_id,
            data_source_id: ds.id,
            title_property,
            properties: ds.properties,
        });
    }
    let mut it = resolved.into_iter();
    let (Some(todos), Some(notes), Some(journal)) = (it.next(), it.next(), it.next()) else {
        anyhow::bail!("internal: three databases expected");
    };
    Ok(Setup {
        databases: Databases {
            todos,
            notes,
            journal,
        },
        steps,
        new_ids,
    })
}

/// A database not configured: the parent page's child database of that title, or a
/// new one.
fn find_or_create(
    client: &NotionClient,
    parent: &str,
    kind: Kind,
    under_parent: &mut Option<Vec<notion::Block>>,
) -> Result<(String, DataSource, Action)> {
    let children = match under_parent.take() {
        Some(c) => c,
        None => client
            .children(parent)
            .with_context(|| format!("looking for astra's databases under parent page {parent}"))?,
    };
    let existing = child_database(&children, kind.title());
    *under_parent = Some(children);
    if let Some(id) = existing {
        let ds = client.resolve_data_source(&id)?;
        return Ok((id, ds, Action::Found));
    }
    let properties: Map<String, Value> = kind
        .properties()
        .into_iter()
        .map(|(n, c)| (n.to_string(), c))
        .collect();
    let properties = Value::Object(properties);
    let db = notion::create_or_find(
        client.policy(),
        || {
            let children = client.children(parent)?;
            Ok(
                child_database(&children, kind.title()).map(|id| notion::Database {
                    id,
                    data_sources: Vec::new(),
                }),
            )
        },
        || client.create_database(parent, kind.title(), &properties),
    )?;
    let ds = match db.data_sources.first() {
        Some(d) => client.retrieve_data_source(&d.id)?,
        None => client.resolve_data_source(&db.id)?,
    };
    tracing::info!(database = kind.title(), id = %db.id, "created a Notion database");
    Ok((db.id, ds, Action::Created))
}

fn child_database(children: &[notion::Block], title: &str) -> Option<String> {
    children
        .iter()
        .find(|b| b.kind == "child_database" && b.text.trim() == title)
        .map(|b| b.id.clone())
}

/// Adds the properties `ds` lacks; a property of the right name but the wrong type is
/// an error saying which. Returns the data source, its title property's name and what
/// was added.
fn complete(
    client: &NotionClient,
    kind: Kind,
    ds: DataSource,
) -> Result<(DataSource, String, Vec<String>)> {
    let title_property = ds
        .properties
        .iter()
        .find(|(_, p)| p.kind == "title")
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| "title".to_string());
    let mut missing = Map::new();
    for (name, config) in kind.properties() {
        let want = declared_type(&config);
        if want == "title" {
            continue;
        }
        match ds.properties.get(name) {
            None => {
                missing.insert(name.to_string(), config);
            }
            Some(p) if p.kind != want => {
                anyhow::bail!(
                    "the {} database's property `{name}` is of type {}, astra needs {want}: change its type in Notion, or rename it and run `astra notion setup` to add a new one",
                    kind.title(),
                    p.kind
                );
            }
            Some(_) => {}
        }
    }
    if missing.is_empty() {
        return Ok((ds, title_property, Vec::new()));
    }
    let added: Vec<String> = missing.keys().cloned().collect();
    let updated = client
        .update_data_source(&ds.id, &Value::Object(missing))
        .map_err(|e: NotionError| {
            anyhow::anyhow!(
                "adding {} to the {} database: {e}",
                added.join(", "),
                kind.title()
            )
        })?;
    tracing::info!(database = kind.title(), added = %added.join(", "), "added missing properties");
    Ok((updated, title_property, added))
}

/// The schema check's result kept across runs (`cache/notion-schema.json`): the three
/// databases as [`ensure`] left them, for this server and these settings. A run
/// that finds it needs no request before its first write; it is checked again only
/// when Notion refuses a write for a schema reason (Notion shows a data source's
/// `last_edited_time` only to a request for it, so a change is seen when it matters).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct CachedSchema {
    version: u32,
    base_url: String,
    parent_page_id: String,
    checked_at: chrono::DateTime<chrono::Utc>,
    databases: Databases,
}

const CACHE_VERSION: u32 = 1;

/// Whether a cached database answers for `kind` as configured: the same id, or, when
/// none is configured, one found or made under the same parent page.
fn cached_fits(kind: Kind, cfg: &NotionConfig, cached: &CachedSchema, r: &Resolved) -> bool {
    match notion::normalize_id(kind.configured(cfg)) {
        Some(id) => notion::normalize_id(&r.database_id).as_deref() == Some(id.as_str()),
        None => {
            !cached.parent_page_id.is_empty()
                && notion::normalize_id(&cfg.parent_page_id).as_deref()
                    == Some(cached.parent_page_id.as_str())
        }
    }
}

/// Where the schema check is kept, under the cache folder.
pub fn cache_path(cache_dir: &Path) -> std::path::PathBuf {
    cache_dir.join("notion-schema.json")
}

/// The databases a previous check left in `path`, when they still answer for `cfg`.
pub fn load_cached(path: &Path, cfg: &NotionConfig) -> Option<Databases> {
    let bytes = std::fs::read(path).ok()?;
    let cached: CachedSchema = serde_json::from_slice(&bytes).ok()?;
    if cached.version != CACHE_VERSION || cached.base_url != cfg.base_url.trim_end_matches('/') {
        return None;
    }
    let d = &cached.databases;
    let fits = KINDS
        .iter()
        .zip([&d.todos, &d.notes, &d.journal])
        .all(|(k, r)| cached_fits(*k, cfg, &cached, r));
    fits.then(|| cached.databases.clone())
}

/// Keeps the result of a schema check for later runs (a failure only costs a check).
pub fn save_cached(path: &Path, cfg: &NotionConfig, databases: &Databases) {
    let cached = CachedSchema {
        version: CACHE_VERSION,
        base_url: cfg.base_url.trim_end_matches('/').to_string(),
        parent_page_id: notion::normalize_id(&cfg.parent_page_id).unwrap_or_default(),
        checked_at: chrono::Utc::now(),
        databases: databases.clone(),
    };
    let written = serde_json::to_vec_pretty(&cached)
        .map_err(anyhow::Error::from)
        .and_then(|bytes| {
            if let Some(dir) = path.parent() {
                crate::fsutil::create_private_dir(dir)?;
            }
            crate::fsutil::atomic_write(path, &bytes, 0o600)
        });
    if let Err(e) = written {
        tracing::warn!(error = %format!("{e:#}"), "could not keep the Notion schema check; it is made again next run");
    }
}

/// Forgets the kept schema check (the next use checks Notion again).
pub fn forget_cached(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Writes `[sync.notion]` keys into the config file, keeping its comments and layout
/// (the table is added when missing). Returns whether the file changed.
pub fn write_ids(config_path: &Path, pairs: &[(&str, String)]) -> Result<bool> {
    let text = match std::fs::read_to_string(config_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", config_path.display())),
    };
    let updated =
        with_ids(&text, pairs).with_context(|| format!("updating {}", config_path.display()))?;
    if updated == text {
        return Ok(false);
    }
    if let Some(dir) = config_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsutil::create_private_dir(dir)?;
    }
    crate::fsutil::atomic_write(config_path, updated.as_bytes(), 0o600)
        .with_context(|| format!("writing {}", config_path.display()))?;
    Ok(true)
}

/// `text` with `[sync.notion]` keys set to these values.
fn with_ids(text: &str, pairs: &[(&str, String)]) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = text.parse().context("parsing it as TOML")?;
    let sync = doc
        .entry("sync")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .context("[sync] is not a table")?;
    let notion = sync
        .entry("notion")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_mut()
        .context("[sync.notion] is not a table")?;
    for (key, value) in pairs {
        if notion.get(key).and_then(|v| v.as_str()) == Some(value.as_str()) {
            continue;
        }
        match notion.get_mut(key).and_then(|i| i.as_value_mut()) {
            Some(v) => {
                // Keep the comment after the value (`key = "" # …`).
                let decor = v.decor().clone();
                *v = toml_edit::Value::from(value.as_str());
                *v.decor_mut() = decor;
            }
            None => {
                notion.insert(key, toml_edit::value(value.as_str()));
            }
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(todos: &str, parent: &str) -> NotionConfig {
        NotionConfig {
            todos_database_id: todos.into(),
            notes_database_id: "1f217cc1225f45808e22cd7eb8db3c5e".into(),
            journal_database_id: "1f217cc1225f45808e22cd7eb8db3c5f".into(),
            parent_page_id: parent.into(),
            ..NotionConfig::default()
        }
    }

    #[test]
    fn empty_ids_need_a_parent() {
        let p = Path::new("/h/config.toml");
        let e = format!("{:#}", check_config(&cfg("", ""), p).unwrap_err());
        assert!(e.contains("todos_database_id is empty"), "{e}");
        assert!(e.contains("astra notion setup --parent"), "{e}");
        assert!(check_config(&cfg("", "1f217cc1225f45808e22cd7eb8db3c50"), p).is_ok());
        let e = format!("{:#}", check_config(&cfg("nope", ""), p).unwrap_err());
        assert!(e.contains("is not a Notion id"), "{e}");
    }

    #[test]
    fn ids_are_written_keeping_comments() {
        let text = "# my config\n[sync]\ntarget = \"notion\" # yes\n\n[sync.notion]\ntodos_database_id = \"\"   # filled by setup\nparent_page_id = \"p\"\n";
        let out = with_ids(
            text,
            &[
                ("todos_database_id", "abc".into()),
                ("notes_database_id", "def".into()),
            ],
        )
        .unwrap();
        assert!(
            out.starts_with("# my config\n[sync]\ntarget = \"notion\" # yes\n"),
            "{out}"
        );
        assert!(
            out.contains("todos_database_id = \"abc\"   # filled by setup\n"),
            "{out}"
        );
        assert!(out.contains("notes_database_id = \"def\"\n"), "{out}");
        assert_eq!(
            with_ids(&out, &[("todos_database_id", "abc".into())]).unwrap(),
            out
        );
    }

    #[test]
    fn the_table_is_added_when_missing() {
        let out = with_ids(
            "[voice_memo]\nconcurrency = 1\n",
            &[("parent_page_id", "x".into())],
        )
        .unwrap();
        assert_eq!(
            out,
            "[voice_memo]\nconcurrency = 1\n\n[sync.notion]\nparent_page_id = \"x\"\n"
        );
        let parsed = crate::config::Config::parse(&out, Path::new("c")).unwrap();
        assert_eq!(parsed.sync.notion.parent_page_id, "x");
    }

    #[test]
    fn the_commented_default_config_takes_the_ids() {
        let out = with_ids(
            crate::init::DEFAULT_CONFIG,
            &[("todos_database_id", "abc".into())],
        )
        .unwrap();
        for line in crate::init::DEFAULT_CONFIG.lines() {
            assert!(out.contains(line), "{line:?} lost:\n{out}");
        }
        assert!(out.contains("[sync.markdown]\ndir = \"~/.astra/vault\"            # an Obsidian vault works\n\n[sync.notion]\ntodos_database_id = \"abc\"\n"), "{out}");
        let parsed = crate::config::Config::parse(&out, Path::new("c")).unwrap();
        assert_eq!(parsed.sync.notion.todos_database_id, "abc");
    }

    #[test]
    fn every_schema_has_one_title_and_the_contracts_names() {
        for kind in KINDS {
            let props = kind.properties();
            assert_eq!(
                props
                    .iter()
                    .filter(|(_, c)| declared_type(c) == "title")
                    .count(),
                1
            );
            assert!(props.iter().any(|(n, _)| *n == "title"));
        }
        let names: Vec<_> = Kind::Journal.properties().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["title", "date", "processed", "mood", "themes"]);
    }
}
