//! `journal`: one pass of journal processing (daily summaries), then exit.
use astra::journal::{Force, JournalJob};
use astra::run::lifecycle::{self, RunOptions};
use chrono::NaiveDate;
use clap::Parser;
use std::process::ExitCode;

/// Summarise the journal: each finished day's entries get a summary, a mood and themes.
///
/// Each run waits for a running voice-memo, then summarises every journal day that has
/// ended (in `[journal] time_zone`) and is not processed yet, or that got new entries
/// since its summary; on `weekly_review_day` it writes the week's review. Run it from
/// cron, launchd or a systemd timer after voice-memo.
#[derive(Parser)]
#[command(
    name = "journal",
    version,
    after_help = "\
Examples:
  journal                         summarise every finished day not processed yet
  journal --dry-run --json        show which days would be summarised
  journal --day 2026-01-14        summarise that day again, processed or not
  journal --today                 summarise today so far

Files: $ASTRA_HOME (default ~/.astra): config.toml, state.json, history.jsonl, logs/.
Exit codes: 0 done or nothing to do, 1 a day or the job failed, 2 usage/config error."
)]
struct Cli {
    #[command(flatten)]
    run: RunOptions,
    /// Summarise this day (YYYY-MM-DD) whether or not it is due.
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "today")]
    day: Option<NaiveDate>,
    /// Summarise today so far (in `[journal] time_zone`).
    #[arg(long)]
    today: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let force = match (cli.day, cli.today) {
        (Some(d), _) => Some(Force::Day(d)),
        (None, true) => Some(Force::Today),
        (None, false) => None,
    };
    let code = lifecycle::run_job(&JournalJob { force }, &cli.run);
    astra::logging::shutdown();
    ExitCode::from(code)
}
