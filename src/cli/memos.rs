//! `astra memos`: every memo astra has seen, from the catalogue — list them, read one's
//! whole story (transcript, organization, outputs, attempts), re-queue, search.
use super::Ctx;
use super::output::{self, Artifact};
use crate::catalogue::{Catalogue, ListFilter, MemoRecord, RetrySelector, STATUSES};
use anyhow::Result;
use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use serde_json::json;

#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "\
Examples:
  astra memos                             the latest memos: status, attempts, reason
  astra memos --status failed             only the dead letters
  astra memos list --since 2026-01-01 -n 20
  astra memos show 0123456789ab           transcript, organization, outputs, attempts
  astra memos retry --status discarded    re-queue for the next voice-memo run
  astra memos search dentist              best matches first, with the matching words
Statuses: pending, waiting, retrying, failed, completed, discarded."
)]
pub struct MemosArgs {
    #[command(subcommand)]
    pub command: Option<MemosCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(clap::Args, Debug, Default)]
pub struct ListArgs {
    /// Only memos with this status.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only memos recorded on or after this day (YYYY-MM-DD, local) or time (RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// At most this many (newest first).
    #[arg(short = 'n', long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
}

#[derive(clap::Subcommand, Debug)]
pub enum MemosCommand {
    /// File, title, recorded, status, attempts, next attempt, reason.
    List(ListArgs),
    /// One memo's whole story: transcript, organization, outputs, every attempt.
    Show {
        /// Memo id (or its first 6+ characters) or file name.
        id: String,
    },
    /// Re-queue memos for the next voice-memo run (any status but completed).
    #[command(
        after_help = "Examples:\n  astra memos retry 0123456789ab \"20260111 135431-096B2196.m4a\"\n  astra memos retry --status waiting\n  astra memos retry --all"
    )]
    Retry {
        /// Memo ids or file names.
        #[arg(required_unless_present_any = ["all", "status"], conflicts_with_all = ["all", "status"])]
        ids: Vec<String>,
        /// Every memo with this status.
        #[arg(long, value_name = "STATUS", conflicts_with = "all")]
        status: Option<String>,
        /// Every memo that is not completed.
        #[arg(long)]
        all: bool,
    },
    /// Search transcripts, titles and outputs; best matches first.
    Search {
        /// Words that must all appear (a trailing * matches a prefix).
        #[arg(required = true)]
        text: Vec<String>,
        /// At most this many.
        #[arg(short = 'n', long, value_name = "N", default_value_t = 20)]
        limit: usize,
    },
}

pub fn run(ctx: &Ctx, args: MemosArgs) -> Result<u8> {
    match args.command {
        None => list(ctx, &args.list),
        Some(MemosCommand::List(a)) => list(ctx, &a),
        Some(MemosCommand::Show { id }) => show(ctx, &id),
        Some(MemosCommand::Retry { ids, status, all }) => {
            let sel = match (all, status) {
                (true, _) => RetrySelector::All,
                (false, Some(s)) => RetrySelector::Status(s),
                (false, None) => RetrySelector::Ids(ids),
            };
            retry(ctx, &sel)
        }
        Some(MemosCommand::Search { text, limit }) => search(ctx, &text.join(" "), limit),
    }
}

fn parse_since(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        crate::exit::usage(format!(
            "--since {s}: not a date; give YYYY-MM-DD (e.g. 2026-01-31) or an RFC 3339 time"
        ))
    })?;
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Ok(Local
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight)))
}

fn open(ctx: &Ctx) -> Result<Option<Catalogue>> {
    Catalogue::open_read_only(&ctx.paths)
}

fn dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("—").to_string()
}

/// An RFC 3339 time as local `YYYY-MM-DD HH:MM`.
fn when(s: Option<&str>) -> String {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

fn when_utc(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "—".into())
}

fn list(ctx: &Ctx, a: &ListArgs) -> Result<u8> {
    let filter = ListFilter {
        status: a.status.clone(),
        since: a.since.as_deref().map(parse_since).transpose()?,
        limit: Some(a.limit),
    };
    if let Some(s) = &filter.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(crate::exit::usage(format!(
            "--status {s}: not a memo status (one of {})",
            STATUSES.join(", ")
        )));
    }
    let items = match open(ctx)? {
        Some(cat) => cat.list(&filter)?,
        None => Vec::new(),
    };
    if ctx.json {
        output::json(
            &json!({"items": items, "total": items.len()}),
            Artifact::Table,
            "Memos",
        );
        return Ok(crate::exit::OK);
    }
    if items.is_empty() {
        println!("No memos yet: voice-memo records every recording it sees here.");
        return Ok(crate::exit::OK);
    }
    let rows = items
        .iter()
        .map(|m| {
            vec![
                m.file.clone(),
                dash(m.title.as_deref()),
                when(m.recorded_at.as_deref()),
                m.status.clone(),
                m.attempts.to_string(),
                when_utc(m.next_attempt_at),
                dash(m.reason.as_deref()),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(
            &[
                "file",
                "title",
                "recorded",
                "status",
                "attempts",
                "next attempt",
                "reason"
            ],
            rows
        )
    );
    println!("Details: `astra memos show ID|FILE`; re-queue: `astra memos retry ID…`.");
    Ok(crate::exit::OK)
}

fn not_found(id: &str) -> anyhow::Error {
    crate::exit::usage(format!(
        "no memo {id:?} in the catalogue: give a file name or id from `astra memos list`"
    ))
}

fn show(ctx: &Ctx, id: &str) -> Result<u8> {
    let rec = open(ctx)?
        .map(|c| c.get(id))
        .transpose()?
        .flatten()
        .ok_or_else(|| not_found(id))?;
    if ctx.json {
        output::json(
            &rec,
            Artifact::PresentationCard,
            &format!("Memo: {}", rec.file),
        );
        return Ok(crate::exit::OK);
    }
    print!("{}", render(&rec));
    Ok(crate::exit::OK)
}

/// The memo's story as text.
fn render(r: &MemoRecord) -> String {
    let mut rows = vec![
        ("id", dash(r.id.as_deref())),
        ("title", dash(r.title.as_deref())),
        ("recorded", when(r.recorded_at.as_deref())),
        (
            "duration",
            r.duration_seconds
                .map(|d| format!("{d:.1} s"))
                .unwrap_or_else(|| "—".into()),
        ),
        ("status", r.status.clone()),
        ("stage", dash(r.stage.as_deref())),
        ("attempts", r.attempts.to_string()),
    ];
    if r.next_attempt_at.is_some() {
        rows.push(("next attempt", when_utc(r.next_attempt_at)));
    }
    if let Some(e) = &r.last_error {
        let label = if r.status == "discarded" {
            "why discarded"
        } else {
            "reason"
        };
        rows.push((label, e.clone()));
    }
    rows.push(("audio", dash(r.archived_to.as_deref())));
    for f in &r.transcript_files {
        rows.push(("transcript file", f.clone()));
    }
    let mut out = output::card(&r.file, rows);
    match &r.transcript {
        Some(t) => {
            let mut by = t.provider.clone();
            for extra in [&t.model, &t.language].into_iter().flatten() {
                by.push_str(&format!(", {extra}"));
            }
            out.push_str(&format!("\nTranscript ({by}):\n"));
            let text = t.text.trim();
            out.push_str(&format!(
                "  {}\n",
                if text.is_empty() { "(empty)" } else { text }
            ));
        }
        None => out.push_str("\nTranscript: none yet\n"),
    }
    if let Some(org) = &r.organization {
        out.push_str("\nOrganization:\n");
        if let Some(s) = org["summary"].as_str().filter(|s| !s.is_empty()) {
            out.push_str(&format!("  summary: {s}\n"));
        }
        for (key, label) in [("todos", "todo"), ("notes", "note"), ("journal", "journal")] {
            for x in org[key].as_array().into_iter().flatten() {
                let text = x["text"]
                    .as_str()
                    .or_else(|| x["title"].as_str())
                    .or_else(|| x["entry"].as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string());
                out.push_str(&format!("  {label}: {text}\n"));
            }
        }
    }
    let o = &r.outputs;
    if !(o.todos.is_empty() && o.notes.is_empty() && o.journal.is_empty()) {
        out.push_str("\nOutputs:\n");
        for (label, list) in [
            ("todo", &o.todos),
            ("note", &o.notes),
            ("journal", &o.journal),
        ] {
            for x in list {
                out.push_str(&format!("  {label}: {x}\n"));
            }
        }
    }
    if !r.history.is_empty() {
        out.push_str("\nAttempts:\n");
        let rows = r
            .history
            .iter()
            .map(|a| {
                vec![
                    a.n.to_string(),
                    when_utc(Some(a.started_at)),
                    a.outcome.clone(),
                    dash(a.stage.as_deref()),
                    dash(a.error.as_deref()),
                ]
            })
            .collect();
        out.push_str(&output::table(
            &["#", "started", "outcome", "stage", "error"],
            rows,
        ));
        out.push('\n');
    }
    out
}

fn retry(ctx: &Ctx, sel: &RetrySelector) -> Result<u8> {
    let retried = crate::catalogue::retry(&ctx.paths, sel)?;
    let not_found: Vec<String> = match sel {
        RetrySelector::Ids(ids) => {
            let cat = open(ctx)?;
            let matched = |w: &String| {
                cat.as_ref()
                    .and_then(|c| c.get(w).ok().flatten())
                    .is_some_and(|m| {
                        retried
                            .iter()
                            .any(|r| Some(r) == m.id.as_ref() || *r == m.file)
                    })
            };
            ids.iter().filter(|w| !matched(w)).cloned().collect()
        }
        _ => Vec::new(),
    };
    let msg = format!(
        "{} memo(s) queued; the next voice-memo run processes them",
        retried.len()
    );
    if ctx.json {
        output::json(
            &json!({"retried": retried, "not_found": not_found, "message": msg}),
            Artifact::Text,
            "Retry Memos",
        );
    } else {
        println!("{msg}");
        for r in &retried {
            println!("  {r}");
        }
        for u in &not_found {
            println!("  not retried (unknown, or completed): {u}");
        }
    }
    Ok(if not_found.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::FAILED
    })
}

fn search(ctx: &Ctx, text: &str, limit: usize) -> Result<u8> {
    let hits = match open(ctx)? {
        Some(cat) => cat.search(text, limit)?,
        None => Vec::new(),
    };
    if ctx.json {
        output::json(
            &json!({"query": text, "hits": hits, "total": hits.len()}),
            Artifact::Table,
            "Memo Search",
        );
        return Ok(crate::exit::OK);
    }
    if hits.is_empty() {
        println!("No memo matches {text:?}.");
        return Ok(crate::exit::OK);
    }
    let rows = hits
        .iter()
        .map(|h| {
            vec![
                h.file.clone(),
                dash(h.title.as_deref()),
                when(h.recorded_at.as_deref()),
                h.snippet.split_whitespace().collect::<Vec<_>>().join(" "),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(&["file", "title", "recorded", "match"], rows)
    );
    Ok(crate::exit::OK)
}
