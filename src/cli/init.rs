//! `astra init`: a commented config.toml; `--from-env` carries over the original
//! astra's `.env` (keys by name only) and its state.
use super::Ctx;
use super::output::{self, Artifact};
use crate::exit::usage;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  astra init                          every key with its default, commented
  astra init --from-env ~/astra/.env  carry on from the original astra: its folders, Notion
                                      databases, retries and schedule; keys stay in that file")]
pub struct InitArgs {
    /// Replace an existing config.toml.
    #[arg(long)]
    pub force: bool,
    /// The original astra's .env: write a config that carries on where it stopped.
    /// Keys are not copied; [secrets] env_file points at the file (made 0600).
    #[arg(long, value_name = "PATH")]
    pub from_env: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: InitArgs) -> Result<u8> {
    if let Some(env) = &args.from_env {
        return from_env(ctx, env, args.force);
    }
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

/// What became of the original's state.json.
fn carry_state(ctx: &Ctx, original: &Path) -> Result<String> {
    let ours = &ctx.paths.state;
    let same =
        std::fs::canonicalize(original).ok() == std::fs::canonicalize(ours).ok() && ours.exists();
    if same {
        return Ok(format!(
            "{}: read in place (its memos are not processed again)",
            ours.display()
        ));
    }
    let bytes = match std::fs::read(original) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(format!(
                "no state.json at {}: every memo in the inbox counts as new",
                original.display()
            ));
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", original.display())),
    };
    if ours.exists() {
        return Ok(format!(
            "{} exists, so the original's {} was not copied over it",
            ours.display(),
            original.display()
        ));
    }
    serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| {
        usage(format!(
            "{} is not JSON ({e}): fix or move it, then run this again",
            original.display()
        ))
    })?;
    if let Some(dir) = ours.parent() {
        crate::fsutil::create_private_dir(dir)?;
    }
    crate::fsutil::atomic_write(ours, &bytes, 0o600)
        .with_context(|| format!("writing {}", ours.display()))?;
    Ok(format!(
        "copied {} to {} (its memos are not processed again)",
        original.display(),
        ours.display()
    ))
}

/// Makes the .env private if others can read it (it holds keys; astra refuses it
/// otherwise). Whether its mode was changed.
fn make_private(path: &Path) -> Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
        .with_context(|| format!("making {} private (chmod 600)", path.display()))?;
    Ok(true)
}

fn from_env(ctx: &Ctx, env: &Path, force: bool) -> Result<u8> {
    let env = std::fs::canonicalize(env).map_err(|e| {
        usage(format!(
            "--from-env {}: {e}. Pass the original astra's .env (in the folder it ran from)",
            env.display()
        ))
    })?;
    let text = std::fs::read_to_string(&env)
        .map_err(|e| usage(format!("cannot read {}: {e}", env.display())))?;
    let user_home = crate::paths::user_home().unwrap_or_else(|| PathBuf::from("/"));
    let here = crate::migrate::Here {
        astra_home: &ctx.paths.home,
        user_home: &user_home,
    };
    let m = crate::migrate::from_env(&text, &env, &here).map_err(|e| {
        usage(format!(
            "{} {e}: fix that line (NAME=value) and run this again",
            env.display()
        ))
    })?;
    crate::config::Config::parse(&m.config_text, &ctx.paths.config)
        .context("the config made from the .env does not load (a bug: please report it)")?;
    let path = &ctx.paths.config;
    if path.exists() && !force {
        let msg = format!(
            "{} already exists; use --force to replace it with one made from {}",
            path.display(),
            env.display()
        );
        if ctx.json {
            output::json(
                &serde_json::json!({"path": path, "status": "exists", "message": msg}),
                Artifact::Text,
                "astra init --from-env",
            );
        } else {
            println!("{msg}");
        }
        return Ok(crate::exit::FAILED);
    }
    let tightened = match crate::secrets::check_private(&env) {
        Ok(()) => false,
        // Others can read it: tighten it (one that is not the user's stays an error).
        Err(e) if make_private(&env)? => {
            crate::secrets::check_private(&env).map_err(|_| e)?;
            true
        }
        Err(e) => return Err(e),
    };
    crate::fsutil::create_private_dir(&ctx.paths.home)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsutil::create_private_dir(dir)?;
    }
    crate::fsutil::atomic_write(path, m.config_text.as_bytes(), 0o600)
        .with_context(|| format!("writing {}", path.display()))?;
    let state = carry_state(ctx, &m.state_file)?;
    let mut next = Vec::new();
    if m.notion {
        next.push("astra notion setup".to_string());
    }
    next.push("astra schedule install".to_string());
    next.push("astra doctor".to_string());
    if ctx.json {
        output::json(
            &serde_json::json!({
                "path": path,
                "status": "written",
                "env_file": env,
                "mapped": m.mapped,
                "not_mapped": m.not_mapped,
                "state": state,
                "env_file_made_private": tightened,
                "notion": m.notion,
                "gemini": m.gemini,
                "next": next,
            }),
            Artifact::Text,
            "astra init --from-env",
        );
        return Ok(crate::exit::OK);
    }
    println!("wrote {} from {}", path.display(), env.display());
    let rows = m
        .mapped
        .iter()
        .map(|x| {
            vec![
                x.variable.clone(),
                x.key.clone(),
                x.value.clone().unwrap_or_else(|| "(name only)".into()),
            ]
        })
        .collect();
    println!("{}", output::table(&["carried over", "as", "value"], rows));
    if !m.not_mapped.is_empty() {
        println!("not carried over:");
        for n in &m.not_mapped {
            println!("  {}: {}", n.variable, n.why);
        }
    }
    println!("state: {state}");
    if tightened {
        println!(
            "made {} private (chmod 600): it holds keys, and astra refuses a key file others can read",
            env.display()
        );
    }
    println!(
        "keys: read by name from {} ([secrets] env_file, kept private: chmod 600); `astra secrets set NAME` moves one into the keychain",
        env.display()
    );
    println!("next: {}", next.join(", then "));
    Ok(crate::exit::OK)
}
