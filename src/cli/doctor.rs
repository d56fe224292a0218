//! `astra doctor`: checks the setup — config, folders, permissions, tools, keys — and
//! says what to fix. Exit 1 when any check fails.
use super::Ctx;
use super::output::{self, Artifact};
use crate::config::{ArchiveMode, Config, SyncTarget, TranscriptionProvider};
use anyhow::Result;
use serde::Serialize;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {}

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// What to do when it failed.
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &str, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

pub fn run(ctx: &Ctx, _args: DoctorArgs) -> Result<u8> {
    let checks = checks(ctx);
    let failed = checks.iter().filter(|c| !c.ok).count();
    if ctx.json {
        let data = serde_json::json!({"checks": checks, "total": checks.len(), "failed": failed});
        output::json(&data, Artifact::Table, "astra doctor");
    } else {
        for c in &checks {
            let mark = if c.ok { "✓" } else { "✗" };
            println!("{mark} {}: {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("    → {fix}");
            }
        }
        println!("{} checks, {failed} failed", checks.len());
    }
    Ok(if failed > 0 {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    })
}

/// Every check, in order; later ones are skipped when the config does not load.
pub fn checks(ctx: &Ctx) -> Vec<Check> {
    let mut out = Vec::new();
    let cfg = match ctx.config() {
        Ok(c) => {
            let where_ = if ctx.paths.config.exists() {
                ctx.paths.config.display().to_string()
            } else {
                "no config.toml: defaults".into()
            };
            out.push(Check::pass("config", where_));
            c
        }
        Err(e) => {
            out.push(Check::fail(
                "config",
                format!("{e:#}"),
                "fix the file as the message says, or move it aside",
            ));
            return out;
        }
    };
    out.push(home_check(ctx));
    out.push(state_check(ctx));
    out.push(inbox_check(&cfg));
    if cfg.voice_memo.archive_mode != ArchiveMode::None {
        out.push(writable_check(
            "archive",
            &cfg.voice_memo.archive_dir,
            "[voice_memo] archive_dir",
        ));
    }
    if cfg.sync.target == SyncTarget::Markdown {
        out.push(writable_check(
            "vault",
            &cfg.sync.markdown.dir,
            "[sync.markdown] dir",
        ));
    }
    out.extend(transcriber_checks(&cfg));
    out
}

fn home_check(ctx: &Ctx) -> Check {
    use std::os::unix::fs::PermissionsExt;
    let home = &ctx.paths.home;
    match std::fs::metadata(home) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => Check::fail(
            "ASTRA_HOME",
            format!(
                "{} is readable by others (mode {:o})",
                home.display(),
                m.permissions().mode() & 0o777
            ),
            format!("chmod 700 {}", home.display()),
        ),
        Ok(_) => Check::pass("ASTRA_HOME", home.display().to_string()),
        Err(_) => Check::pass(
            "ASTRA_HOME",
            format!("{} (created on the first run)", home.display()),
        ),
    }
}

fn state_check(ctx: &Ctx) -> Check {
    let store = crate::state::StateStore::new(&ctx.paths.state);
    match store.load_job::<crate::state::VoiceMemoState>("voiceMemo") {
        Ok(vm) => Check::pass(
            "state",
            format!(
                "{} ({} memos, {} failed)",
                ctx.paths.state.display(),
                vm.items.len(),
                vm.failed.len()
            ),
        ),
        Err(e) => Check::fail(
            "state",
            format!("{e:#}"),
            "repair state.json or move it aside",
        ),
    }
}

fn inbox_check(cfg: &Config) -> Check {
    let inbox = &cfg.voice_memo.inbox;
    let apple = inbox
        .to_string_lossy()
        .contains("group.com.apple.VoiceMemos");
    match std::fs::read_dir(inbox) {
        Ok(entries) => Check::pass(
            "inbox",
            format!("{} ({} entries)", inbox.display(), entries.count()),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && apple => Check::fail(
            "inbox",
            format!("{}: permission denied", inbox.display()),
            "give Full Disk Access to the program that runs astra (System Settings → Privacy & Security → Full Disk Access: Terminal, cron, or launchd's agent)",
        ),
        Err(e) => Check::fail(
            "inbox",
            format!("{}: {e}", inbox.display()),
            "create the folder, or set [voice_memo] inbox in config.toml",
        ),
    }
}

/// A folder exists (or can be created) and a file can be written in it.
fn writable_check(name: &str, dir: &Path, key: &str) -> Check {
    let probe_dir = dir.ancestors().find(|a| a.exists()).unwrap_or(dir);
    let probe = probe_dir.join(format!(".astra-doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Check::pass(name, format!("{} writable", dir.display()))
        }
        Err(e) => Check::fail(
            name,
            format!("{}: {e}", probe_dir.display()),
            format!("make it writable, or set {key} in config.toml"),
        ),
    }
}

/// Whether `program` runs (found on PATH).
pub fn has_program(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

fn transcriber_checks(cfg: &Config) -> Vec<Check> {
    let t = &cfg.transcription;
    let mut out = Vec::new();
    let needs_ffmpeg = t.command.iter().any(|a| a.contains("{input_wav}"));
    if needs_ffmpeg {
        out.push(if has_program("ffmpeg") {
            Check::pass("ffmpeg", "found")
        } else {
            Check::fail(
                "ffmpeg",
                "not found on PATH; the command transcriber needs it for {input_wav}",
                "install ffmpeg (brew install ffmpeg / apt install ffmpeg)",
            )
        });
    }
    if let Some(program) = t.command.first() {
        let found = Path::new(program).is_absolute() && Path::new(program).exists()
            || std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
        out.push(if found {
            Check::pass("transcriber", format!("command `{program}`"))
        } else {
            Check::fail(
                "transcriber",
                format!("`{program}` not found on PATH"),
                "install it or give its absolute path in [transcription] command",
            )
        });
    } else if t.provider == TranscriptionProvider::Auto {
        out.push(Check::pass(
            "transcriber",
            "auto without a command: memos need Apple's transcript or a .txt/.srt/.vtt sidecar; others wait until [transcription] command is set",
        ));
    }
    out
}
