//! `astra notion setup`: create the three Notion databases, or add what existing ones
//! lack, and write their ids into config.toml (keeping its comments).
use super::Ctx;
use super::output::{self, Artifact};
use crate::clients::notion::{self, NotionClient};
use crate::exit::usage;
use crate::voice_memo::sync::notion::schema::{self, Action};
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum NotionCommand {
    /// Create the three databases (or add what they lack) and save their ids.
    ///
    /// Creates TODOs, Notes and Journal under parent_page_id when their ids are empty
    /// (reusing any found there by title), adds any missing property to existing ones,
    /// and writes the ids into config.toml, keeping its comments.
    #[command(after_help = "\
Before: create an integration (Notion → Settings → Connections → Develop or manage
integrations), store its secret with `astra secrets set NOTION_TOKEN`, and share the parent page with it
(••• on the page → Connections → your integration).

Examples:
  astra notion setup --parent https://www.notion.so/Astra-1f217cc1225f45808e22cd7eb8db3c5e
  astra notion setup           again at any time: changes nothing when all is in place")]
    Setup(SetupArgs),
}

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// The page to create the databases under (its link or id); saved as parent_page_id.
    #[arg(long, value_name = "PAGE")]
    pub parent: Option<String>,
}

pub fn run(ctx: &Ctx, cmd: NotionCommand) -> Result<u8> {
    match cmd {
        NotionCommand::Setup(args) => setup(ctx, args),
    }
}

fn setup(ctx: &Ctx, args: SetupArgs) -> Result<u8> {
    let config = ctx.config()?;
    let mut cfg = config.sync.notion.clone();
    let path = &ctx.paths.config;
    let mut writes = Vec::new();
    if let Some(p) = &args.parent {
        let id = notion::normalize_id(p).ok_or_else(|| {
            usage(format!(
                "--parent {p:?} is not a Notion page: pass the page's link (••• → Copy link) or its id"
            ))
        })?;
        if notion::normalize_id(&cfg.parent_page_id).as_deref() != Some(id.as_str()) {
            writes.push(("parent_page_id", id.clone()));
        }
        cfg.parent_page_id = id;
    }
    schema::check_config(&cfg, path)?;
    let token = notion::token_from_env(&cfg.token_env).ok_or_else(|| {
        usage(format!(
            "{} is not set: create a Notion integration, copy its internal secret and `astra secrets set {}`",
            cfg.token_env, cfg.token_env
        ))
    })?;
    let client = NotionClient::new(&cfg.base_url, token, &cfg.token_env);
    let done = schema::ensure(&client, &cfg)?;
    schema::save_cached(&schema::cache_path(&ctx.paths.cache), &cfg, &done.databases);
    writes.extend(done.new_ids.iter().cloned());
    let changed = !writes.is_empty() && schema::write_ids(path, &writes)?;
    let target_is_notion = config.sync.target == crate::config::SyncTarget::Notion;
    if ctx.json {
        output::json(
            &serde_json::json!({
                "databases": done.steps,
                "config": path,
                "config_changed": changed,
                "target_is_notion": target_is_notion,
            }),
            Artifact::Table,
            "astra notion setup",
        );
        return Ok(crate::exit::OK);
    }
    let rows = done
        .steps
        .iter()
        .map(|s| {
            vec![
                s.database.to_string(),
                describe(s.action, &s.added),
                s.database_id.clone(),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(&["database", "what setup did", "id"], rows)
    );
    if changed {
        println!("wrote the ids into {}", path.display());
    } else {
        println!("{} unchanged", path.display());
    }
    if !target_is_notion {
        println!(
            "to sync memos to Notion, set [sync] target = \"notion\" in {}",
            path.display()
        );
    }
    Ok(crate::exit::OK)
}

fn describe(action: Action, added: &[String]) -> String {
    let base = match action {
        Action::Created => "created",
        Action::Found => "found under the parent page",
        Action::Unchanged => "complete: nothing to do",
        Action::Repaired => "added missing properties",
    };
    if added.is_empty() || action == Action::Created {
        base.to_string()
    } else {
        format!("{base}: {}", added.join(", "))
    }
}
