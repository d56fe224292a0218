//! `astra init`: a commented config.toml.
use super::Ctx;
use super::output::{self, Artifact};
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Replace an existing config.toml.
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: InitArgs) -> Result<u8> {
    let path = &ctx.paths.config;
    let written = crate::init::write_default(path, args.force)?;
    if ctx.json {
        let status = if written { "written" } else { "exists" };
        output::json(
            &serde_json::json!({"path": path, "status": status}),
            Artifact::Text,
            "astra init",
        );
    } else if written {
        println!("wrote {}", path.display());
    } else {
        println!(
            "{} already exists; use --force to replace it",
            path.display()
        );
    }
    Ok(if written {
        crate::exit::OK
    } else {
        crate::exit::FAILED
    })
}
