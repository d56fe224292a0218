//! `astra schedule`: cron, launchd and systemd schedules (not built yet).
use super::Ctx;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum ScheduleCommand {
    /// Print the schedule entries (not built yet).
    Print,
}

pub fn run(_ctx: &Ctx, _cmd: ScheduleCommand) -> Result<u8> {
    super::not_built("schedule")
}
