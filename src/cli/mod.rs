//! `astra`, the admin CLI: one file per subcommand. Every command prints a readable
//! table or card, or with `--json` the envelope `{"data", "artifact_type", "title"}`.
pub mod alert;
pub mod completions;
pub mod doctor;
pub mod failed;
pub mod init;
pub mod jobs;
pub mod models;
pub mod notion;
pub mod output;
pub mod schedule;
pub mod secrets;
pub mod skill;

use crate::config::Config;
use crate::paths::Paths;
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Manage astra's jobs: list and run them, read their history, install their
/// schedules, inspect failed items, check the setup.
#[derive(Parser, Debug)]
#[command(
    name = "astra",
    version,
    after_help = "\
Examples:
  astra init                         write a commented ~/.astra/config.toml
  astra jobs list                    the jobs, their schedules, enabled or not
  astra jobs show voice-memo --json  one job's status as JSON
  astra jobs run --all               run every enabled job now
  astra failed list                  memos that gave up, with their last error
  astra doctor                       check config, paths, keys and services
  astra secrets set NOTION_TOKEN     store a key where scheduled runs find it
  astra init --from-env ~/astra/.env carry on from the original astra

Every command takes --json: {\"data\": …, \"artifact_type\": \"table\"|\"presentation_card\"|\"text\", \"title\": …}.
Exit codes: 0 ok, 1 a check or a job failed, 2 usage or configuration error."
)]
pub struct Cli {
    /// Config file (default: $ASTRA_HOME/config.toml).
    #[arg(long, global = true, value_name = "PATH", env = "ASTRA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print JSON: {"data", "artifact_type", "title"}.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a commented config.toml; --from-env carries over the original astra's .env.
    Init(init::InitArgs),
    /// List, show, run, enable or disable jobs; read their history.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// The dead-letter list: memos that gave up, with their last error.
    #[command(subcommand)]
    Failed(failed::FailedCommand),
    /// Print, install or uninstall cron/launchd/systemd schedules; explain an expression.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Notion: create or repair the three databases.
    #[command(subcommand)]
    Notion(notion::NotionCommand),
    /// Check config, paths, permissions, keys, services and schedules.
    Doctor(doctor::DoctorArgs),
    /// Keys for scheduled runs: set, list or remove them (keychain or secrets.env).
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Alerts: send a test message to the configured channels.
    #[command(subcommand)]
    Alert(alert::AlertCommand),
    /// Speech models for the built-in recognizer: list, pull, rm.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Install an agent skill file that teaches an AI agent this CLI.
    #[command(subcommand)]
    Skill(skill::SkillCommand),
}

/// What every command needs: where things are, and how to print.
pub struct Ctx {
    pub paths: Paths,
    pub json: bool,
}

impl Ctx {
    /// The config (exit 2 on a bad one), with `~/.astra` defaults under `ASTRA_HOME`.
    /// Sets up the secret stores too (a key file others can read is refused).
    pub fn config(&self) -> Result<Config> {
        let config = Config::load_for(&self.paths)?;
        crate::secrets::init(&self.paths, &config)?;
        Ok(config)
    }
}

/// Runs the parsed command; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let result = Paths::resolve(cli.config.as_deref()).and_then(|paths| {
        let ctx = Ctx {
            paths,
            json: cli.json,
        };
        match cli.command {
            Command::Init(a) => init::run(&ctx, a),
            Command::Jobs(c) => jobs::run(&ctx, c),
            Command::Failed(c) => failed::run(&ctx, c),
            Command::Schedule(c) => schedule::run(&ctx, c),
            Command::Notion(c) => notion::run(&ctx, c),
            Command::Doctor(a) => doctor::run(&ctx, a),
            Command::Alert(c) => alert::run(&ctx, c),
            Command::Secrets(c) => secrets::run(&ctx, c),
            Command::Models(c) => models::run(&ctx, c),
            Command::Completions(a) => completions::run(a),
            Command::Skill(c) => skill::run(&ctx, c),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("astra: error: {e:#}");
            crate::exit::code_for(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::Parser;

    /// The CLI grammar: command lines that parse and those that must not.
    #[test]
    fn grammar() {
        let accepted: &[&str] = &[
            "astra init",
            "astra init --force",
            "astra jobs list",
            "astra jobs list --json",
            "astra --json jobs list",
            "astra jobs show voice-memo",
            "astra jobs show voiceMemo --json",
            "astra jobs run voice-memo",
            "astra jobs run voice-memo journal --sequential",
            "astra jobs run --all",
            "astra jobs history",
            "astra jobs history --job journal --status failed -n 5",
            "astra jobs enable journal",
            "astra jobs disable voice-memo",
            "astra jobs log-cleanup",
            "astra jobs log-cleanup --days 7 --dry-run",
            "astra failed list",
            "astra failed retry a.m4a b.m4a",
            "astra failed retry --all",
            "astra failed purge --dry-run",
            "astra doctor",
            "astra doctor --json",
            "astra alert test",
            "astra alert test slack",
            "astra completions zsh",
            "astra models list",
            "astra models list --json",
            "astra models pull base.en",
            "astra models rm tiny.en",
            "astra skill install",
            "astra skill print",
            "astra secrets set NOTION_TOKEN",
            "astra secrets list --json",
            "astra secrets rm NOTION_TOKEN",
            "astra init --from-env /tmp/astra/.env",
            "astra --config /tmp/c.toml jobs list",
        ];
        let refused: &[&str] = &[
            "astra",
            "astra jobs",
            "astra jobs show",
            "astra jobs run",
            "astra jobs run voice-memo --all",
            "astra jobs history -n many",
            "astra jobs log-cleanup --days -1",
            "astra failed retry",
            "astra failed retry x --all",
            "astra completions tcsh",
            "astra models pull",
            "astra models rm",
            "astra frobnicate",
            "astra secrets set",
            "astra secrets set NOTION_TOKEN secret_value_on_argv",
            "astra secrets rm",
        ];
        for line in accepted {
            if let Err(e) = Cli::try_parse_from(line.split_whitespace()) {
                panic!("`{line}` should parse: {e}");
            }
        }
        for line in refused {
            assert!(
                Cli::try_parse_from(line.split_whitespace()).is_err(),
                "`{line}` should be refused"
            );
        }
    }
}
