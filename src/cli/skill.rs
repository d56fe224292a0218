//! `astra skill install`: writes `~/.claude/skills/astra/SKILL.md`, which teaches an AI
//! agent the CLI and its `--json` shapes.
use super::Ctx;
use super::output::{self, Artifact};
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum SkillCommand {
    /// Write the skill file (default ~/.claude/skills/astra/SKILL.md).
    Install {
        /// Another folder for SKILL.md.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the skill file.
    Print,
}

/// The skill: what astra is, the commands, their JSON, and safe habits.
pub const SKILL: &str = r#"---
name: astra
description: Manage astra, the user's personal automation jobs (voice memos into TODOs/notes/journal; daily journal summaries). Use to check job status, run jobs, read history, retry failed memos, and diagnose setup problems.
---

# astra

astra is a set of one-shot jobs started by cron/launchd/systemd: `voice-memo` (inbox
recordings → transcript → TODOs, notes, journal entries in a Markdown vault or Notion)
and `journal` (daily summaries). `astra` is the admin CLI. Always pass `--json`: every
command prints `{"data": …, "artifact_type": "table"|"presentation_card"|"text", "title": …}`.

## Commands
- `astra jobs list --json` → `data.jobs[]`: `name`, `program`, `description`, `schedule`, `enabled`; `data.total`.
- `astra jobs show voice-memo --json` → `data`: `schedule`, `schedule_human`, `enabled`, `last_run`, `next_run`, `last_status`, `last_error`, `run_count`, `overdue`.
- `astra jobs run voice-memo --json` (or `--all`, `--sequential`) → `data.jobs_run[]`: `job_name`, `status`, `duration_ms`, `result.{success,message,items_processed,items_failed}`; exit 1 if any failed.
- `astra jobs history --json [--job voice-memo] [--status failed] [-n 20]` → `data.runs[]` (run results), `success_rate`, `p50_ms`, `p95_ms`.
- `astra jobs enable|disable NAME --json` (edits config.toml, keeps comments).
- `astra jobs log-cleanup --days 30 --dry-run --json`.
- `astra memos --json [--status S] [--since YYYY-MM-DD] [-n N]` → `data.items[]`: `file`, `id`, `title`, `recorded_at`, `status` (pending|waiting|retrying|failed|completed|discarded), `attempts`, `next_attempt_at`, `reason`.
- `astra memos show ID|FILE --json` → `data`: `transcript.{text,provider,model,language,segments}`, `organization`, `outputs`, `history[]` (`n`, `started_at`, `outcome`, `error`), `transcript_files`.
- `astra memos search TEXT --json` → `data.hits[]`: `file`, `id`, `title`, `snippet` (match in `[…]`), best first; `astra memos retry ID… | --status S | --all` (any status but completed).
- `astra jobs show voice-memo --json` → `data.failing[]`: `file`, `status`, `attempts`, `reason`.
- `astra jobs log-cleanup --days 30 --dry-run --json` (also done daily: `[logs] keep_days`).
- `astra jobs logs [RUN_ID | --job NAME] [-n N] [--follow] --json` → the run's JSON log lines, one a line (the last run by default).
- `astra jobs stop NAME --json` → `data.stopped`, `data.pid`: SIGTERM, the run ends `interrupted`.
- `astra jobs run NAME --no-wait --json` → `data.started[]`: `job_name`, `pid`; detached.
- `astra failed list --json` → `data.items[]`: `file`, `id`, `attempts`, `last_error`; `astra failed retry ID… | --all`; `astra failed purge --dry-run`.
- `astra doctor --json` → `data.checks[]`: `name`, `ok`, `status` (ok|warning|failed), `detail`, `fix`; `data.failed`, `data.warnings`; exit 1 only when a check failed.
- `astra init` writes a commented config.toml; `astra init --from-env PATH --json` carries over the original astra's `.env` → `data.mapped[]`, `data.not_mapped[]`, `data.next[]`.
- `astra secrets list --json` → `data.secrets[]`: `name`, `stored_in[]`, `in_environment`, `scheduled_runs_find_it`, `used_by` (never values); `astra secrets set NAME` reads the value from stdin; `astra secrets rm NAME`.
- Job programs: `voice-memo --json`, `journal --json` print one run result:
  `job_name`, `run_id`, `status` (success|partial|failed|skipped|paused|disabled|interrupted),
  `stats.{found,processed,failed,skipped}`, `stages`, `items[]` (`file`, `status`, `error`, `outputs`).

## Exit codes
0 ok / nothing to do / paused / disabled / skipped; 1 an item or job failed; 2 usage or config error (the message says what to fix).

## Habits
- Read before acting: `astra doctor --json`, `astra jobs show NAME --json`.
- `--dry-run` on job programs reports the work without writing anything.
- `AUTOMATION_PAUSE=1` pauses every job.
- Files live in `$ASTRA_HOME` (default `~/.astra`): `config.toml`, `state.json`, `history.jsonl`, `logs/`.
- Never print or store the user's API keys: config.toml names them; they live in the environment, the keychain or `secrets.env` (`astra secrets set NAME`, the value on stdin, never on the command line).
"#;

pub fn run(ctx: &Ctx, cmd: SkillCommand) -> Result<u8> {
    match cmd {
        SkillCommand::Print => {
            print!("{SKILL}");
            Ok(crate::exit::OK)
        }
        SkillCommand::Install { dir } => {
            let dir = match dir {
                Some(d) => d,
                None => crate::paths::user_home()
                    .context("no home directory: pass --dir")?
                    .join(".claude/skills/astra"),
            };
            crate::fsutil::create_dir(&dir)?;
            let path = dir.join("SKILL.md");
            crate::fsutil::atomic_write(&path, SKILL.as_bytes(), 0o644)?;
            if ctx.json {
                output::json(
                    &serde_json::json!({"path": path}),
                    Artifact::Text,
                    "Skill installed",
                );
            } else {
                println!("wrote {}", path.display());
            }
            Ok(crate::exit::OK)
        }
    }
}
