//! `astra`: the admin CLI.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let code = astra::cli::run(astra::cli::Cli::parse());
    ExitCode::from(code)
}
