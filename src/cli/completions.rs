//! `astra completions SHELL`: shell completions generated from the CLI's definition.
use anyhow::Result;
use clap::CommandFactory;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  astra completions zsh > ~/.zfunc/_astra")]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

pub fn run(args: CompletionsArgs) -> Result<u8> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "astra", &mut std::io::stdout());
    Ok(crate::exit::OK)
}
