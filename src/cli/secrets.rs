//! `astra secrets set | list | rm`: the keys scheduled runs read, in the OS keychain or
//! `$ASTRA_HOME/secrets.env`. A value comes from stdin or a hidden prompt, never from
//! the command line (which `ps` and shell history would keep); none is ever printed.
use super::Ctx;
use super::output::{self, Artifact};
use crate::secrets::{self, Source};
use anyhow::{Context, Result};
use std::io::{IsTerminal, Read, Write};

#[derive(clap::Subcommand, Debug)]
pub enum SecretsCommand {
    /// Store a key under NAME (the variable a `*_env` config key names).
    ///
    /// The value is read from stdin, or asked for without echo at a terminal. It goes
    /// into the OS keychain when one is usable (macOS Keychain, the Secret Service on
    /// Linux desktops), else into $ASTRA_HOME/secrets.env (mode 0600).
    #[command(after_help = "\
Examples:
  astra secrets set NOTION_TOKEN                 asks for it (nothing shown as you type)
  pbpaste | astra secrets set OPENAI_API_KEY     from another program
  ASTRA_SECRETS_BACKEND=file astra secrets set NOTION_TOKEN   the file store, not the keychain

Lookup order in every run: the environment, the keychain, secrets.env, [secrets] env_file.")]
    Set(SetArgs),
    /// The names astra knows and where each is stored; never a value.
    List,
    /// Remove NAME from the keychain and secrets.env ([secrets] env_file is left alone).
    Rm(RmArgs),
}

#[derive(clap::Args, Debug)]
pub struct SetArgs {
    /// The variable's name, e.g. NOTION_TOKEN.
    pub name: String,
}

#[derive(clap::Args, Debug)]
pub struct RmArgs {
    /// The variable's name.
    pub name: String,
}

pub fn run(ctx: &Ctx, cmd: SecretsCommand) -> Result<u8> {
    match cmd {
        SecretsCommand::Set(a) => set(ctx, &a.name),
        SecretsCommand::List => list(ctx),
        SecretsCommand::Rm(a) => rm(ctx, &a.name),
    }
}

/// The config (for env_file and the names it needs), tolerating a broken config or a
/// refused key file: `set` and `rm` must work to repair things; `list` shows the
/// problem.
fn setup(ctx: &Ctx) -> (crate::config::Config, Option<String>) {
    let (config, problem) = match crate::config::Config::load_for(&ctx.paths) {
        Ok(c) => (c, None),
        Err(e) => (crate::config::Config::default(), Some(format!("{e:#}"))),
    };
    let refused = secrets::init(&ctx.paths, &config)
        .err()
        .map(|e| format!("{e:#}"));
    (config, problem.or(refused))
}

fn set(ctx: &Ctx, name: &str) -> Result<u8> {
    secrets::check_name(name)?;
    let value = read_value(name)?;
    let stored = secrets::set(&ctx.paths, name, &value)?;
    let (_, problem) = setup(ctx);
    let shadowed = std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if ctx.json {
        output::json(
            &serde_json::json!({
                "name": stored.name,
                "stored_in": stored.stored_in,
                "path": stored.path,
                "keychain_problem": stored.keychain_problem,
                "shadowed_by_environment": shadowed,
            }),
            Artifact::Text,
            "astra secrets set",
        );
    } else {
        match (&stored.path, &stored.keychain_problem) {
            (None, _) => println!("stored {name} in the keychain"),
            (Some(p), Some(why)) => {
                println!("stored {name} in {} (mode 0600; {why})", p.display())
            }
            (Some(p), None) => println!("stored {name} in {} (mode 0600)", p.display()),
        }
        if shadowed {
            println!(
                "note: {name} is also set in this shell's environment, which comes first for commands run here"
            );
        }
        if let Some(p) = problem {
            println!("warning: {p}");
        }
    }
    Ok(crate::exit::OK)
}

/// The value: stdin when it is not a terminal (one trailing newline dropped), else a
/// prompt on the terminal with echo off.
fn read_value(name: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let raw = if stdin.is_terminal() {
        prompt_hidden(&format!("{name}: "))?
    } else {
        let mut s = String::new();
        stdin
            .lock()
            .read_to_string(&mut s)
            .context("reading the value from stdin")?;
        s
    };
    let value = raw
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&raw)
        .to_string();
    if value.trim().is_empty() {
        return Err(crate::exit::usage(format!(
            "no value for {name} on stdin: pipe it in (`pbpaste | astra secrets set {name}`) or run the command at a terminal to be asked"
        )));
    }
    if value.contains('\n') {
        return Err(crate::exit::usage(format!(
            "the value for {name} spans several lines: pass the key alone, on one line"
        )));
    }
    Ok(value)
}

/// Reads a line from the terminal without echoing it. The terminal is in
/// non-canonical mode with signals off while it asks, so Ctrl-C cancels here (and the
/// settings are always restored) instead of killing the process with echo off.
fn prompt_hidden(prompt: &str) -> Result<String> {
    use std::os::fd::AsRawFd;
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("opening the terminal to ask for the value")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    let have_termios = unsafe { libc::tcgetattr(fd, &mut old) } == 0;
    if have_termios {
        let mut quiet = old;
        quiet.c_lflag &= !(libc::ECHO | libc::ICANON | libc::ISIG);
        quiet.c_cc[libc::VMIN] = 1;
        quiet.c_cc[libc::VTIME] = 0;
        // SAFETY: fd is the open terminal; quiet is a valid termios.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let result = (|| -> Result<Option<Vec<u8>>> {
        tty.write_all(prompt.as_bytes())?;
        tty.flush()?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            if tty.read(&mut byte)? == 0 {
                break;
            }
            match byte[0] {
                b'\n' | b'\r' | 4 => break,
                3 => return Ok(None),
                8 | 127 => {
                    // Backspace: drop the last character (all its UTF-8 bytes).
                    while let Some(b) = line.pop() {
                        if b & 0xC0 != 0x80 {
                            break;
                        }
                    }
                }
                b => line.push(b),
            }
        }
        Ok(Some(line))
    })();
    if have_termios {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    }
    let _ = tty.write_all(b"\n");
    match result.context("reading the value from the terminal")? {
        Some(line) => String::from_utf8(line).context("the value is not UTF-8 text"),
        None => Err(crate::exit::usage("cancelled: nothing was stored")),
    }
}

fn list(ctx: &Ctx) -> Result<u8> {
    let (config, problem) = setup(ctx);
    let needs = secrets::needed(&config);
    let mut names = secrets::known_names(&ctx.paths);
    for n in &needs {
        names.extend(n.names.iter().cloned());
    }
    let mut rows = Vec::new();
    for name in &names {
        let stored = secrets::locations(name);
        let in_env = std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        let need = needs.iter().find(|n| n.names.contains(name));
        if stored.is_empty() && !in_env && need.is_some_and(|n| n.names[0] != *name || !n.required)
        {
            // An unused alternative (NOTION_API_KEY beside NOTION_TOKEN), or a key
            // used only when present (auto's OpenAI) and absent.
            continue;
        }
        let found = if in_env {
            Some(Source::Environment)
        } else {
            stored.first().copied()
        };
        rows.push(serde_json::json!({
            "name": name,
            "stored_in": stored,
            "in_environment": in_env,
            "found_in": found,
            "scheduled_runs_find_it": !stored.is_empty(),
            "used_by": need.map(|n| n.used_by.clone()),
        }));
    }
    let (file, env_file) = secrets::files().unwrap_or_default();
    if ctx.json {
        output::json(
            &serde_json::json!({
                "secrets": rows,
                "secrets_file": file,
                "env_file": env_file,
                "keychain_problem": secrets::keychain_problem(),
                "problem": problem,
            }),
            Artifact::Table,
            "astra secrets",
        );
        return Ok(crate::exit::OK);
    }
    let table_rows = rows
        .iter()
        .map(|r| {
            let stored: Vec<&str> = r["stored_in"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str())
                .map(label)
                .collect();
            let mut where_ = stored.join(", ");
            if r["in_environment"] == true {
                where_ = if where_.is_empty() {
                    "this shell's environment only".into()
                } else {
                    format!("{where_} (and the environment)")
                };
            }
            if where_.is_empty() {
                where_ = "not set".into();
            }
            vec![
                r["name"].as_str().unwrap_or("").to_string(),
                where_,
                r["used_by"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(&["name", "stored in", "used by"], table_rows)
    );
    println!("file store: {}", file.display());
    if let Some(e) = env_file {
        println!("env_file: {}", e.display());
    }
    if let Some(why) = secrets::keychain_problem() {
        println!("keychain: not used ({why})");
    }
    if let Some(p) = problem {
        println!("warning: {p}");
    }
    Ok(crate::exit::OK)
}

fn label(s: &str) -> &'static str {
    match s {
        "keychain" => "keychain",
        "secrets_file" => "secrets.env",
        "env_file" => "env_file",
        _ => "environment",
    }
}

fn rm(ctx: &Ctx, name: &str) -> Result<u8> {
    secrets::check_name(name)?;
    let removed = secrets::remove(&ctx.paths, name)?;
    setup(ctx);
    let left = secrets::locations(name);
    if ctx.json {
        output::json(
            &serde_json::json!({"name": name, "removed_from": removed, "still_in": left}),
            Artifact::Text,
            "astra secrets rm",
        );
    } else if removed.is_empty() {
        println!("{name} was not in the keychain or secrets.env");
    } else {
        let from: Vec<&str> = removed.iter().map(|s| s.label()).collect();
        println!("removed {name} from {}", from.join(" and "));
    }
    if left.contains(&Source::EnvFile) && !ctx.json {
        println!("{name} is still in [secrets] env_file (astra never edits that file)");
    }
    Ok(if removed.is_empty() {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    })
}
