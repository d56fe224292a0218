//! `astra jobs`: list, show, run, history, enable, disable, log-cleanup (not built yet).
use super::Ctx;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum JobsCommand {
    /// The jobs, their schedules, enabled or not (not built yet).
    List,
}

pub fn run(_ctx: &Ctx, _cmd: JobsCommand) -> Result<u8> {
    super::not_built("jobs")
}
