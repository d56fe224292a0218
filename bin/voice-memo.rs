//! `voice-memo`: one pass of the voice-memo pipeline over the inbox, then exit.
use astra::run::lifecycle::{self, RunOptions};
use astra::voice_memo::{VoiceMemoJob, watch_loop};
use clap::Parser;
use std::process::ExitCode;

/// Turn new voice memos into TODOs, notes and journal entries.
///
/// Each run lists the inbox, transcribes every new recording that has settled,
/// organizes the transcript, writes the results to the Markdown vault (or Notion),
/// archives the audio and exits. Run it from cron, launchd or a systemd timer.
#[derive(Parser)]
#[command(
    name = "voice-memo",
    version,
    after_help = "\
Examples:
  voice-memo                      process ~/.astra/inbox into ~/.astra/vault
  voice-memo --dry-run --json     show what would be processed
  voice-memo --watch              keep running, process files as they settle
  AUTOMATION_PAUSE=1 voice-memo   do nothing (status paused)

Files: $ASTRA_HOME (default ~/.astra): config.toml, state.json, history.jsonl, logs/.
Exit codes: 0 done or nothing to do, 1 an item or the job failed, 2 usage/config error."
)]
struct Cli {
    #[command(flatten)]
    run: RunOptions,
    /// Keep running: process recordings as they appear and settle (uses file events).
    #[arg(long)]
    watch: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = if cli.watch {
        watch_loop(&cli.run)
    } else {
        lifecycle::run_job(&VoiceMemoJob, &cli.run)
    };
    astra::logging::shutdown();
    ExitCode::from(code)
}
