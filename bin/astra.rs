//! `astra`: the admin CLI.
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Manage astra's jobs: list and run them, read their history, install schedules,
/// inspect failed items, check the setup.
#[derive(Parser)]
#[command(
    name = "astra",
    version,
    after_help = "\
Examples:
  astra init                 write a commented ~/.astra/config.toml

Commands marked (not built yet) say so and exit 2."
)]
struct Cli {
    /// Config file (default: $ASTRA_HOME/config.toml).
    #[arg(long, global = true, value_name = "PATH", env = "ASTRA_CONFIG")]
    config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a commented config.toml with every key and its default.
    Init {
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// List, show, run, enable or disable jobs; read their history (not built yet).
    #[command(disable_help_flag = false)]
    Jobs {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The dead-letter list: list, retry, purge (not built yet).
    Failed {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print, install or uninstall cron/launchd/systemd schedules (not built yet).
    Schedule {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check config, paths, permissions, keys and services (not built yet).
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = match &cli.command {
        Command::Init { force } => return init(cli.config, *force, cli.json),
        Command::Jobs { .. } => "jobs",
        Command::Failed { .. } => "failed",
        Command::Schedule { .. } => "schedule",
        Command::Doctor => "doctor",
    };
    eprintln!(
        "astra {name}: not built yet in this version of astra. Read state.json and history.jsonl under ~/.astra meanwhile."
    );
    ExitCode::from(astra::exit::USAGE)
}

fn init(config: Option<PathBuf>, force: bool, json: bool) -> ExitCode {
    let result = astra::paths::Paths::resolve(config.as_deref()).and_then(|p| {
        astra::init::write_default(&p.config, force).map(|written| (p.config, written))
    });
    match result {
        Ok((path, written)) => {
            if json {
                let text = if written { "written" } else { "exists" };
                println!(
                    "{}",
                    serde_json::json!({"data": {"path": path, "status": text}, "artifact_type": "text", "title": "astra init"})
                );
            } else if written {
                eprintln!("wrote {}", path.display());
            } else {
                eprintln!(
                    "{} already exists; use --force to replace it",
                    path.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("astra init: error: {e:#}");
            ExitCode::from(astra::exit::code_for(&e))
        }
    }
}
