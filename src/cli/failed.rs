//! `astra failed`: the dead-letter list — memos that gave up, with their last error;
//! retry them (the next voice-memo run picks them up) or purge them.
use super::Ctx;
use super::output::{self, Artifact};
use crate::state::{Item, ItemStatus, VoiceMemoState};
use crate::voice_memo::JOB;
use anyhow::Result;
use chrono::Utc;
use serde_json::{Value, json};

#[derive(clap::Subcommand, Debug)]
pub enum FailedCommand {
    /// The dead letters: file, attempts, last error.
    List,
    /// Queue dead letters for the next voice-memo run (attempts start again).
    #[command(
        after_help = "Examples:\n  astra failed retry \"20260111 135431-096B2196.m4a\"\n  astra failed retry 0123456789ab\n  astra failed retry --all"
    )]
    Retry {
        /// File names or memo ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Forget the dead letters: delete their copies in failed/ and clear the list.
    /// The memos stay marked failed, so they are not processed again.
    Purge {
        /// Say what would be purged; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(ctx: &Ctx, cmd: FailedCommand) -> Result<u8> {
    match cmd {
        FailedCommand::List => list(ctx),
        FailedCommand::Retry { ids, all } => retry(ctx, &ids, all),
        FailedCommand::Purge { dry_run } => purge(ctx, dry_run),
    }
}

fn store(ctx: &Ctx) -> crate::state::StateStore {
    crate::state::StateStore::new(&ctx.paths.state)
}

fn describe(file: &str, item: Option<&Item>) -> Value {
    json!({
        "file": file,
        "id": item.and_then(|i| i.id.clone()),
        "attempts": item.map(|i| i.attempts),
        "stage": item.and_then(|i| i.stage),
        "last_error": item.and_then(|i| i.last_error.clone()),
        "recorded_at": item.and_then(|i| i.recorded_at.clone()),
        "copy": item.and_then(|i| i.archived_to.clone()),
    })
}

fn list(ctx: &Ctx) -> Result<u8> {
    let vm: VoiceMemoState = store(ctx).load_job(JOB.name)?;
    let items: Vec<Value> = vm
        .failed
        .iter()
        .map(|f| describe(f, vm.items.get(f)))
        .collect();
    if ctx.json {
        output::json(
            &json!({"items": items, "total": items.len()}),
            Artifact::Table,
            "Failed Items",
        );
        return Ok(crate::exit::OK);
    }
    if items.is_empty() {
        println!("No failed memos.");
        return Ok(crate::exit::OK);
    }
    let rows = items
        .iter()
        .map(|i| {
            vec![
                i["file"].as_str().unwrap_or("").to_string(),
                i["id"].as_str().unwrap_or("—").to_string(),
                i["attempts"].to_string(),
                i["last_error"].as_str().unwrap_or("—").to_string(),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(&["file", "id", "attempts", "last error"], rows)
    );
    println!("Retry with `astra failed retry ID…` or `--all`.");
    Ok(crate::exit::OK)
}

fn matches(file: &str, item: Option<&Item>, wanted: &str) -> bool {
    file == wanted || item.and_then(|i| i.id.as_deref()) == Some(wanted)
}

fn retry(ctx: &Ctx, ids: &[String], all: bool) -> Result<u8> {
    let now = Utc::now();
    let (retried, unknown) = store(ctx).update_job(JOB.name, |vm: &mut VoiceMemoState| {
        let chosen: Vec<String> = vm
            .failed
            .iter()
            .filter(|f| all || ids.iter().any(|w| matches(f, vm.items.get(*f), w)))
            .cloned()
            .collect();
        let unknown: Vec<String> = ids
            .iter()
            .filter(|w| !vm.failed.iter().any(|f| matches(f, vm.items.get(f), w)))
            .cloned()
            .collect();
        for f in &chosen {
            let item = vm.items.entry(f.clone()).or_insert_with(Item::new_pending);
            item.status = ItemStatus::Retrying;
            item.attempts = 0;
            item.next_attempt_at = Some(now);
        }
        vm.failed.retain(|f| !chosen.contains(f));
        (chosen, unknown)
    })?;
    // The catalogue mirrors state.json's in-flight items (`astra memos` reads it).
    if !retried.is_empty()
        && let Some(cat) = crate::catalogue::Catalogue::open_read_only(&ctx.paths)?
    {
        let vm: VoiceMemoState = store(ctx).load_job(JOB.name)?;
        for f in &retried {
            if let Some(item) = vm.items.get(f) {
                cat.save_item(f, item, crate::catalogue::Durability::Mirror)?;
            }
        }
    }
    let msg = format!(
        "{} memo(s) queued; the next voice-memo run processes them",
        retried.len()
    );
    if ctx.json {
        output::json(
            &json!({"retried": retried, "not_found": unknown, "message": msg}),
            Artifact::Text,
            "Retry Failed Items",
        );
    } else {
        println!("{msg}");
        for f in &retried {
            println!("  {f}");
        }
        for u in &unknown {
            println!("  not in the failed list: {u}");
        }
    }
    Ok(if unknown.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::FAILED
    })
}

fn purge(ctx: &Ctx, dry_run: bool) -> Result<u8> {
    let vm: VoiceMemoState = store(ctx).load_job(JOB.name)?;
    let purged: Vec<String> = vm.failed.clone();
    let mut copies = Vec::new();
    for f in &purged {
        if let Some(copy) = vm.items.get(f).and_then(|i| i.archived_to.clone())
            && std::path::Path::new(&copy).starts_with(&ctx.paths.failed)
        {
            copies.push(copy);
        }
    }
    if !dry_run {
        for c in &copies {
            match std::fs::remove_file(c) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(anyhow::Error::new(e).context(format!("removing {c}"))),
            }
        }
        store(ctx).update_job(JOB.name, |vm: &mut VoiceMemoState| {
            for f in &purged {
                if let Some(i) = vm.items.get_mut(f) {
                    i.archived_to = None;
                }
            }
            vm.failed.retain(|f| !purged.contains(f));
        })?;
    }
    let verb = if dry_run { "would purge" } else { "purged" };
    let msg = format!(
        "{verb} {} failed memo(s) and {} copy(ies) in failed/",
        purged.len(),
        copies.len()
    );
    if ctx.json {
        output::json(
            &json!({"dry_run": dry_run, "purged": purged, "copies": copies, "message": msg}),
            Artifact::Text,
            "Purge Failed Items",
        );
    } else {
        println!("{msg}");
    }
    Ok(crate::exit::OK)
}
