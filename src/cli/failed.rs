//! `astra failed`: the dead-letter list (not built yet).
use super::Ctx;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum FailedCommand {
    /// The memos that gave up (not built yet).
    List,
}

pub fn run(_ctx: &Ctx, _cmd: FailedCommand) -> Result<u8> {
    super::not_built("failed")
}
