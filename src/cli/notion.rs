//! `astra notion`: create or repair the Notion databases (not built yet).
use super::Ctx;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum NotionCommand {
    /// Create the three databases under parent_page_id (not built yet).
    Setup,
}

pub fn run(_ctx: &Ctx, _cmd: NotionCommand) -> Result<u8> {
    super::not_built("notion")
}
