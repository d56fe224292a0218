//! `astra ui`: the local dashboard (the server itself is in `crate::ui`).
use super::Ctx;
use anyhow::Result;
use std::net::{IpAddr, Ipv4Addr};

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  astra ui                     serve on 127.0.0.1:8765 and open the browser
  astra ui --port 0 --no-open  any free port; print the address only

The first line on stdout is the address with a fresh token (http://127.0.0.1:PORT/?token=…);
the browser keeps the token in a cookie. Only requests naming this address are answered,
and every change is a form with a CSRF token. Ctrl-C or SIGTERM stops it.")]
pub struct UiArgs {
    /// The port (0: any free port).
    #[arg(long, default_value_t = 8765, value_name = "N")]
    pub port: u16,
    /// Print the address, do not open the browser.
    #[arg(long)]
    pub no_open: bool,
    /// Listen on this address instead of 127.0.0.1 (a warning is printed: anyone who
    /// can reach it and learns the token can use the dashboard).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
}

pub fn run(ctx: &Ctx, args: UiArgs) -> Result<u8> {
    // A config that does not parse is reported now, with its file and key (exit 2).
    ctx.config()?;
    crate::ui::serve(
        ctx.paths.clone(),
        crate::ui::Options {
            port: args.port,
            bind: args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            open: !args.no_open,
        },
    )
}
