//! `astra doctor`: checks the setup and says what to fix (not built yet).
use super::Ctx;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {}

pub fn run(_ctx: &Ctx, _args: DoctorArgs) -> Result<u8> {
    super::not_built("doctor")
}
