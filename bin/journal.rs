//! `journal`: one pass of journal processing (daily summaries), then exit.
use astra::runner::RunOptions;
use clap::Parser;
use std::process::ExitCode;

/// Summarise the journal: each finished day's entries get a summary, a mood and themes.
#[derive(Parser)]
#[command(name = "journal", version)]
struct Cli {
    #[command(flatten)]
    run: RunOptions,
}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "journal: not built yet in this version of astra: daily summaries arrive with the journal job. Nothing was read or written."
    );
    ExitCode::from(astra::exit::USAGE)
}
