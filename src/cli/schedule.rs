//! `astra schedule`: print, install or uninstall the jobs' schedules for cron, launchd
//! or systemd, and explain a cron expression with its next run times.
use super::Ctx;
use super::output::{self, Artifact};
use crate::exit::usage;
use crate::schedule::entry::{self, Entry};
use crate::schedule::install::{self, Backend, Report};
use crate::schedule::{CronSchedule, local_zone, parse_zone};
use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

#[derive(clap::Subcommand, Debug)]
pub enum ScheduleCommand {
    /// Show what `install` would write (crontab block, plists or units), writing nothing.
    Print(BackendArgs),
    /// Install every enabled job's schedule; idempotent, other entries are left alone.
    #[command(after_help = "\
Examples:
  astra schedule install             launchd on macOS, systemd with a user manager, else cron
  astra schedule install --cron      a marked block in your crontab (crontab -l / crontab -)

The programs are found beside astra (override with ASTRA_BIN_DIR); schedules come from
[jobs.<name>] schedule in config.toml, or each job's default.")]
    Install(BackendArgs),
    /// Remove what `install` put in place; the user's other entries stay.
    Uninstall(BackendArgs),
    /// Explain a cron expression in plain English, with its next run times.
    #[command(after_help = "\
Examples:
  astra schedule explain '*/5 * * * *'
  astra schedule explain '30 2 * * *' --tz Europe/Berlin --from 2025-03-29T12:00:00Z
  astra schedule explain @daily --count 3 --json

Debian cron semantics: when neither day field starts with '*', a day matching either the
day of month or the day of week runs; a fixed time skipped by a DST change runs right
after it, and a repeated hour runs it once.")]
    Explain(ExplainArgs),
}

/// Which scheduler to use (default: launchd on macOS, systemd where a user manager
/// runs, cron otherwise).
#[derive(clap::Args, Debug, Default)]
#[group(multiple = false)]
pub struct BackendArgs {
    /// The user's crontab (a marked block).
    #[arg(long)]
    pub cron: bool,
    /// launchd agents in ~/Library/LaunchAgents.
    #[arg(long)]
    pub launchd: bool,
    /// systemd user timers in ~/.config/systemd/user.
    #[arg(long)]
    pub systemd: bool,
}

impl BackendArgs {
    fn backend(&self) -> Backend {
        match (self.cron, self.launchd, self.systemd) {
            (true, _, _) => Backend::Cron,
            (_, true, _) => Backend::Launchd,
            (_, _, true) => Backend::Systemd,
            _ => Backend::detect(),
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// A cron expression: 5 fields, 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly.
    pub expr: String,
    /// How many next run times to show.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub count: usize,
    /// Count from this time (RFC 3339, e.g. 2025-03-29T12:00:00Z) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub from: Option<String>,
    /// Time zone of the schedule (IANA name; default: TZ, else the system's).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
}

pub fn run(ctx: &Ctx, cmd: ScheduleCommand) -> Result<u8> {
    match cmd {
        ScheduleCommand::Print(b) => print(ctx, b.backend()),
        ScheduleCommand::Install(b) => install_cmd(ctx, b.backend()),
        ScheduleCommand::Uninstall(b) => uninstall_cmd(ctx, b.backend()),
        ScheduleCommand::Explain(a) => explain(ctx, a),
    }
}

fn entries(ctx: &Ctx) -> Result<Vec<Entry>> {
    let config = ctx.config()?;
    let bin_dir = entry::bin_dir()?;
    entry::enabled_entries(&config, &ctx.paths, &bin_dir)
}

fn jobs_json(entries: &[Entry]) -> Vec<serde_json::Value> {
    entries
        .iter()
        .map(|e| {
            json!({
                "job": e.job,
                "program": e.program,
                "schedule": e.schedule.expr(),
                "schedule_human": e.schedule.describe(),
                "binary": e.binary,
            })
        })
        .collect()
}

fn print(ctx: &Ctx, backend: Backend) -> Result<u8> {
    let entries = entries(ctx)?;
    let files = install::plan(backend, &entries)?;
    if ctx.json {
        let data = json!({"backend": backend, "jobs": jobs_json(&entries), "files": files});
        output::json(&data, Artifact::Text, "astra schedule print");
        return Ok(crate::exit::OK);
    }
    for f in &files {
        if backend != Backend::Cron {
            println!("# {}", f.path);
        }
        print!("{}", f.content);
        if backend != Backend::Cron {
            println!();
        }
    }
    Ok(crate::exit::OK)
}

fn install_cmd(ctx: &Ctx, backend: Backend) -> Result<u8> {
    let entries = entries(ctx)?;
    let report = install::install(backend, &entries, &ctx.paths.logs)
        .with_context(|| format!("installing the {} schedules", backend.name()))?;
    if ctx.json {
        let data = json!({"backend": backend, "jobs": jobs_json(&entries), "report": report});
        output::json(&data, Artifact::Text, "astra schedule install");
        return Ok(crate::exit::OK);
    }
    for e in &entries {
        println!(
            "{}: {} ({}) → {}",
            e.program,
            e.schedule.expr(),
            e.schedule.describe(),
            e.binary.display()
        );
    }
    print_report(backend, &report, "installed");
    if backend == Backend::Launchd
        && crate::voice_memo::tcc::is_apple_folder(&ctx.config()?.voice_memo.inbox)
    {
        let bins: Vec<_> = entries
            .iter()
            .filter(|e| e.program == "voice-memo")
            .map(|e| e.binary.clone())
            .collect();
        println!(
            "note: the inbox is Voice Memos' folder; {}",
            crate::voice_memo::tcc::full_disk_access_hint(&bins)
        );
    }
    Ok(crate::exit::OK)
}

fn uninstall_cmd(ctx: &Ctx, backend: Backend) -> Result<u8> {
    let report = install::uninstall(backend)
        .with_context(|| format!("removing the {} schedules", backend.name()))?;
    if ctx.json {
        let data = json!({"backend": backend, "report": report});
        output::json(&data, Artifact::Text, "astra schedule uninstall");
        return Ok(crate::exit::OK);
    }
    print_report(backend, &report, "uninstalled");
    Ok(crate::exit::OK)
}

fn print_report(backend: Backend, report: &Report, verb: &str) {
    for w in &report.written {
        println!("wrote {w}");
    }
    for r in &report.removed {
        println!("removed {r}");
    }
    if report.written.is_empty() && report.removed.is_empty() {
        println!("{}: nothing to change", backend.name());
    } else {
        println!("{}: {verb}", backend.name());
    }
}

fn explain(ctx: &Ctx, args: ExplainArgs) -> Result<u8> {
    let schedule = CronSchedule::parse(&args.expr)?;
    let zone = match &args.tz {
        Some(name) => parse_zone(name)?,
        None => local_zone(),
    };
    let from = match &args.from {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                usage(format!(
                    "--from {s:?} is not an RFC 3339 time ({e}); write e.g. 2025-03-29T12:00:00Z"
                ))
            })?
            .with_timezone(&zone),
        None => Utc::now().with_timezone(&zone),
    };
    let runs: Vec<String> = schedule
        .next_n(&from, args.count)
        .iter()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .collect();
    if ctx.json {
        let data = json!({
            "expression": schedule.expr(),
            "description": schedule.describe(),
            "time_zone": zone.name(),
            "from": from.to_rfc3339_opts(SecondsFormat::Secs, true),
            "fixed_time": schedule.is_fixed_time(),
            "next_runs": runs,
        });
        output::json(&data, Artifact::PresentationCard, "astra schedule explain");
        return Ok(crate::exit::OK);
    }
    let mut rows = vec![
        ("expression", schedule.expr().to_string()),
        ("meaning", schedule.describe()),
        ("time zone", zone.name().to_string()),
    ];
    for (i, r) in runs.iter().enumerate() {
        rows.push((if i == 0 { "next runs" } else { "" }, r.clone()));
    }
    if runs.is_empty() && args.count > 0 {
        rows.push(("next runs", "never".into()));
    }
    print!("{}", output::card(schedule.expr(), rows));
    Ok(crate::exit::OK)
}

#[cfg(test)]
mod tests {
    use crate::cli::Cli;
    use clap::Parser;

    /// Accepted and refused command lines.
    #[test]
    fn grammar() {
        let ok = [
            "astra schedule print",
            "astra schedule print --cron",
            "astra schedule install --launchd",
            "astra schedule uninstall --systemd --json",
            "astra schedule explain @daily",
            "astra schedule explain */5 --count 3 --tz UTC --from 2025-01-01T00:00:00Z",
        ];
        let refused = [
            "astra schedule",
            "astra schedule print --cron --launchd",
            "astra schedule install --crontab",
            "astra schedule explain",
            "astra schedule explain x --count many",
        ];
        for line in ok {
            assert!(Cli::try_parse_from(line.split(' ')).is_ok(), "{line}");
        }
        for line in refused {
            assert!(Cli::try_parse_from(line.split(' ')).is_err(), "{line}");
        }
    }
}
