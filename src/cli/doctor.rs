//! `astra doctor`: checks the setup — config, folders, permissions, tools, keys — and
//! says what to fix. Exit 1 when any check fails; warnings (a schedule not installed
//! yet, no `crontab` program) are shown and counted but leave the exit code 0.
use super::Ctx;
use super::output::{self, Artifact};
use crate::config::{ArchiveMode, Config, SyncTarget, TranscriptionProvider};
use anyhow::Result;
use serde::Serialize;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Worth doing, but nothing is broken: does not change the exit code.
    Warning,
    Failed,
}

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    /// False only for a failure (a warning is ok).
    pub ok: bool,
    /// `ok`, `warning` or `failed`.
    pub status: Level,
    pub detail: String,
    /// What to do when it failed or warned.
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &str, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: true,
            status: Level::Ok,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: false,
            status: Level::Failed,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: true,
            status: Level::Warning,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

pub fn run(ctx: &Ctx, _args: DoctorArgs) -> Result<u8> {
    let checks = checks(ctx);
    let count = |l: Level| checks.iter().filter(|c| c.status == l).count();
    let (failed, warnings) = (count(Level::Failed), count(Level::Warning));
    if ctx.json {
        let data = serde_json::json!({"checks": checks, "total": checks.len(), "failed": failed, "warnings": warnings});
        output::json(&data, Artifact::Table, "astra doctor");
    } else {
        for c in &checks {
            let mark = match c.status {
                Level::Ok => "✓",
                Level::Warning => "!",
                Level::Failed => "✗",
            };
            println!("{mark} {}: {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("    → {fix}");
            }
        }
        let plural = if warnings == 1 { "" } else { "s" };
        println!(
            "{} checks, {failed} failed, {warnings} warning{plural}",
            checks.len()
        );
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
    let cfg = match Config::load_for(&ctx.paths) {
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
    out.push(inbox_check(&cfg, &ctx.paths.home));
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
    out.extend(whisper_check(ctx, &cfg));
    out.extend(secret_checks(ctx, &cfg));
    out.extend(remote_checks(&cfg));
    out.extend(schedule_checks(ctx, &cfg));
    out
}

/// Keys in the environment, services reachable with them, Notion's schema.
fn remote_checks(cfg: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    let t = &cfg.transcription;
    if t.provider == TranscriptionProvider::Openai {
        out.push(openai_check("transcription", &t.base_url, &t.api_key_env));
    }
    let o = &cfg.organization;
    if o.provider == crate::config::OrganizationProvider::Openai {
        out.push(openai_check("organization", &o.base_url, &o.api_key_env));
    }
    if cfg.journal.summary_provider == crate::config::SummaryProvider::Openai {
        let j = cfg.journal_llm();
        out.push(openai_check("journal summary", &j.base_url, &j.api_key_env));
    }
    out.extend(gemini_checks(cfg));
    if cfg.sync.target == SyncTarget::Notion {
        out.extend(notion_checks(&cfg.sync.notion));
    }
    out
}

/// The key stores, and each key the config needs as a scheduled run will see it:
/// cron, launchd and systemd start jobs without this shell's environment, so a key
/// must resolve from the keychain, secrets.env or [secrets] env_file.
fn secret_checks(ctx: &Ctx, cfg: &Config) -> Vec<Check> {
    use crate::secrets::{self, Source};
    let mut out = Vec::new();
    match secrets::init(&ctx.paths, cfg) {
        Ok(()) => {
            let (file, env_file) = secrets::files().unwrap_or_default();
            let mut detail = format!("file store {}", file.display());
            if let Some(e) = env_file {
                detail.push_str(&format!(", env_file {}", e.display()));
            }
            out.push(Check::pass("secrets", detail));
        }
        Err(e) => out.push(Check::fail(
            "secrets",
            format!("{e:#}"),
            "do as the message says, then run astra doctor again",
        )),
    }
    for need in secrets::needed(cfg) {
        let first = &need.names[0];
        let name = format!("key {first}");
        let stored = need
            .names
            .iter()
            .find_map(|n| secrets::stored(n).map(|(_, s)| (n, s)));
        let in_env = need
            .names
            .iter()
            .find(|n| std::env::var(n.as_str()).is_ok_and(|v| !v.trim().is_empty()));
        out.push(match (stored, in_env) {
            (Some((n, src)), _) => Check::pass(
                &name,
                format!(
                    "{n} in {} ({}): scheduled runs find it",
                    match src {
                        Source::Keychain => "the keychain",
                        Source::SecretsFile => "secrets.env",
                        _ => "[secrets] env_file",
                    },
                    need.used_by
                ),
            ),
            (None, Some(n)) => Check::fail(
                &name,
                format!(
                    "{n} is only in this shell's environment ({}): scheduled runs (cron, launchd, systemd) start without it",
                    need.used_by
                ),
                format!("astra secrets set {n}"),
            ),
            (None, None) if need.required => Check::fail(
                &name,
                format!("{first} is not set anywhere ({})", need.used_by),
                format!("astra secrets set {first}"),
            ),
            (None, None) => continue,
        });
    }
    if let (Some(first), Some(why)) = (out.first_mut(), secrets::keychain_problem())
        && first.ok
    {
        first
            .detail
            .push_str(&format!("; keychain not used: {why}"));
    }
    out
}

/// `GET {base_url}/models` with the key: reachable, and the key accepted.
fn openai_check(what: &str, base_url: &str, key_env: &str) -> Check {
    let name = format!("{what} API");
    let key = crate::secrets::get(key_env);
    if key.is_none() && base_url.contains("api.openai.com") {
        return Check::fail(
            &name,
            format!("{key_env} is not set"),
            format!(
                "astra secrets set {key_env} (your OpenAI API key), or point base_url at a local server"
            ),
        );
    }
    let client = crate::clients::http::client(std::time::Duration::from_secs(5));
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let mut req = client.get(&url);
    if let Some(k) = &key {
        req = req.bearer_auth(k);
    }
    let host = base_url
        .split("//")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or(base_url)
        .to_string();
    match req.send() {
        Ok(r) if r.status().is_success() => {
            Check::pass(&name, format!("{host} reachable, key accepted"))
        }
        Ok(r) if r.status().as_u16() == 401 || r.status().as_u16() == 403 => Check::fail(
            &name,
            format!("{host} refused the key (HTTP {})", r.status().as_u16()),
            format!("check {key_env}"),
        ),
        // Some local servers have no /models; reachable is what matters.
        Ok(r) => Check::pass(
            &name,
            format!("{host} reachable (HTTP {} on /models)", r.status().as_u16()),
        ),
        Err(e) => {
            let why = crate::clients::http::connection_error(e);
            let (what, check) = why.split_once("; check ").unwrap_or((&why, "base_url"));
            Check::fail(&name, what, format!("check {check}"))
        }
    }
}

/// The token, the three databases, and their properties.
fn notion_checks(n: &crate::config::NotionConfig) -> Vec<Check> {
    use crate::voice_memo::sync::notion::schema::KINDS;
    let Some(token) = crate::clients::notion::token_from_env(&n.token_env) else {
        return vec![Check::fail(
            "notion",
            format!("{} is not set", n.token_env),
            format!(
                "astra secrets set {} (your integration's token, ntn_…)",
                n.token_env
            ),
        )];
    };
    let client = crate::clients::notion::NotionClient::new(&n.base_url, token, &n.token_env);
    let mut out = Vec::new();
    for kind in KINDS {
        let id = match kind {
            crate::voice_memo::sync::notion::schema::Kind::Todos => &n.todos_database_id,
            crate::voice_memo::sync::notion::schema::Kind::Notes => &n.notes_database_id,
            crate::voice_memo::sync::notion::schema::Kind::Journal => &n.journal_database_id,
        };
        let name = format!("notion {}", kind.title());
        if id.trim().is_empty() {
            out.push(Check::fail(
                &name,
                format!("[sync.notion] {} is empty", kind.config_key()),
                "run `astra notion setup` (needs parent_page_id)",
            ));
            continue;
        }
        match client.resolve_data_source(id) {
            Ok(ds) => {
                let missing: Vec<&str> = kind
                    .properties()
                    .iter()
                    .filter(|(p, spec)| {
                        let want = spec
                            .as_object()
                            .and_then(|o| o.keys().next())
                            .map(String::as_str)
                            .unwrap_or("");
                        !ds.properties.iter().any(|(have, s)| {
                            (have == p || (want == "title" && s.kind == "title")) && s.kind == want
                        })
                    })
                    .map(|(p, _)| *p)
                    .collect();
                out.push(if missing.is_empty() {
                    Check::pass(&name, "reachable, all properties present")
                } else {
                    Check::fail(
                        &name,
                        format!("missing properties: {}", missing.join(", ")),
                        "run `astra notion setup` to add them",
                    )
                });
            }
            Err(e) => out.push(Check::fail(
                &name,
                e.to_string(),
                "share the database with your integration, or run `astra notion setup`",
            )),
        }
    }
    out
}

/// Each enabled job's schedule installed (and loaded), and not overdue.
fn schedule_checks(ctx: &Ctx, cfg: &Config) -> Vec<Check> {
    use crate::schedule::install::{self, Backend};
    let mut out = Vec::new();
    let enabled: Vec<&'static crate::jobs::JobInfo> = crate::jobs::JOBS
        .iter()
        .copied()
        .filter(|j| cfg.job(j).enabled)
        .collect();
    let backend = Backend::detect();
    let programs: Vec<&str> = enabled.iter().map(|j| j.program).collect();
    match install::status(backend, &programs) {
        Ok(statuses) => {
            for s in statuses {
                let name = format!("schedule {}", s.program);
                out.push(match (s.installed, s.loaded) {
                    (true, Some(false)) => Check::fail(
                        &name,
                        format!("installed in {} but not loaded", backend.name()),
                        format!("astra schedule install --{}", backend.name()),
                    ),
                    (true, _) => Check::pass(&name, format!("installed in {}", backend.name())),
                    // Runs by hand still work: a step to take, not a fault.
                    (false, _) => Check::warn(
                        &name,
                        format!(
                            "not installed in {}: it runs only when you start it",
                            backend.name()
                        ),
                        format!("astra schedule install --{}", backend.name()),
                    ),
                });
            }
        }
        Err(_) if backend == Backend::Cron && !on_path("crontab") => out.push(Check::warn(
            "schedules",
            "no `crontab` program on PATH: jobs run only when you start them",
            "install cron (apt install cron / dnf install cronie), then astra schedule install --cron",
        )),
        Err(e) => out.push(Check::fail(
            "schedules",
            format!("{e:#}"),
            "astra schedule print shows what would be installed",
        )),
    }
    if let Some(voice_memo) = enabled.iter().find(|j| j.name == "voiceMemo") {
        out.extend(scheduled_tools_checks(cfg, backend, voice_memo.program));
    }
    for job in enabled {
        if let Ok(status) = super::jobs::job_status(ctx, job)
            && status["overdue"] == true
        {
            out.push(Check::fail(
                &format!("{} overdue", job.program),
                format!("last ran {}; its schedule ({}) expected a run since", status["last_run"].as_str().unwrap_or("?"), status["schedule"].as_str().unwrap_or("?")),
                "install or load its schedule (astra schedule install), then check `astra jobs history`",
            ));
        }
    }
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

fn inbox_check(cfg: &Config, home: &Path) -> Check {
    let inbox = &cfg.voice_memo.inbox;
    // The first run creates an inbox under ASTRA_HOME (the default one).
    if !inbox.exists() && inbox.starts_with(home) {
        return match writable_check("inbox", inbox, "[voice_memo] inbox") {
            c if c.ok => Check::pass(
                "inbox",
                format!("{} (will be created by the first run)", inbox.display()),
            ),
            c => c,
        };
    }
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
            format!("{}: permission denied (EPERM)", inbox.display()),
            crate::voice_memo::tcc::full_disk_access_hint(
                &crate::voice_memo::tcc::voice_memo_binaries(),
            ),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && apple => Check::fail(
            "inbox",
            format!("{}: no such folder (ENOENT)", inbox.display()),
            "Voice Memos has not made its folder on this Mac: open Voice Memos once (with iCloud sync on for Voice Memos), or set [voice_memo] inbox in config.toml",
        ),
        Err(e) => {
            let (what, fix) = crate::voice_memo::watch::inbox_problem(inbox, &e);
            Check::fail("inbox", what, fix)
        }
    }
}

/// A folder exists (or can be created) and a file can be written in it.
fn writable_check(name: &str, dir: &Path, key: &str) -> Check {
    let probe_dir = dir.ancestors().find(|a| a.exists()).unwrap_or(dir);
    let probe = probe_dir.join(format!(".astra-doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            if dir.exists() {
                Check::pass(name, format!("{} writable", dir.display()))
            } else {
                Check::pass(name, format!("{} (will be created)", dir.display()))
            }
        }
        Err(e) => Check::fail(
            name,
            format!("{}: {e}", probe_dir.display()),
            format!("make it writable, or set {key} in config.toml"),
        ),
    }
}

/// The programs the config names that are looked up on PATH.
fn named_tools(cfg: &Config) -> Vec<String> {
    let t = &cfg.transcription;
    let mut out = Vec::new();
    if let Some(p) = t.command.first().filter(|p| !p.contains('/')) {
        out.push(p.clone());
    }
    if t.command.iter().any(|a| a.contains("{input_wav}")) {
        out.push("ffmpeg".into());
    }
    out
}

/// Whether `program` is a file in one of `path`'s folders.
fn in_path(program: &str, path: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The scheduled run's PATH against this shell's, for each tool the config names: one
/// found here but not there works by hand and fails under the scheduler.
fn scheduled_tools_checks(
    cfg: &Config,
    backend: crate::schedule::install::Backend,
    program: &str,
) -> Vec<Check> {
    let tools = named_tools(cfg);
    if tools.is_empty() {
        return Vec::new();
    }
    let Some(scheduled) = crate::schedule::install::scheduled_path(backend, program) else {
        return Vec::new();
    };
    let here = std::env::var("PATH").unwrap_or_default();
    tools
        .iter()
        .map(|tool| {
            let name = format!("scheduled {tool}");
            match (in_path(tool, &here), in_path(tool, &scheduled)) {
                (_, Some(p)) => Check::pass(
                    &name,
                    format!("{} on the PATH {} runs with", p.display(), backend.name()),
                ),
                (Some(p), None) => Check::fail(
                    &name,
                    format!(
                        "found here ({}) but not on the PATH {} runs {program} with ({scheduled})",
                        p.display(),
                        backend.name()
                    ),
                    match backend {
                        // Agents get a fixed PATH, not the installing shell's.
                        crate::schedule::install::Backend::Launchd => "astra schedule install --launchd (the agent gets the binaries' folder, Homebrew's and the system's), or give its absolute path in config.toml".to_string(),
                        _ => format!(
                            "astra schedule install --{} (writes this shell's PATH into the schedule), or give its absolute path in config.toml",
                            backend.name()
                        ),
                    },
                ),
                (None, None) => Check::fail(
                    &name,
                    format!("not found here nor on the PATH {} runs with", backend.name()),
                    "install it, or give its absolute path in config.toml",
                ),
            }
        })
        .collect()
}

/// Whether `program` is a file in one of PATH's folders.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
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
        let found =
            Path::new(program).is_absolute() && Path::new(program).exists() || on_path(program);
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
            "auto: Apple's transcript, a .txt/.srt/.vtt sidecar, openai when its key is set, else the built-in recognizer",
        ));
    }
    out
}

/// The built-in recognizer: in the build or not, its model installed or not, and size.
fn whisper_check(ctx: &Ctx, cfg: &Config) -> Option<Check> {
    let t = &cfg.transcription;
    if !matches!(
        t.provider,
        TranscriptionProvider::Auto | TranscriptionProvider::Whisper
    ) {
        return None;
    }
    let built_in = crate::voice_memo::transcribe::whisper::BUILT_IN;
    if !built_in {
        let detail = "this build has no built-in recognizer (built without the `whisper` feature)";
        let fix = "rebuild with default features (needs cmake and a C/C++ compiler), or set [transcription] provider to command or openai";
        return Some(if t.provider == TranscriptionProvider::Whisper {
            Check::fail("whisper", detail, fix)
        } else {
            Check::pass(
                "whisper",
                format!("{detail}; auto uses the other providers"),
            )
        });
    }
    let dir = crate::models::dir(&ctx.paths.home);
    let Some(choice) = crate::models::resolve(&t.whisper_model, &dir) else {
        return Some(Check::fail(
            "whisper",
            crate::models::unknown_message(&t.whisper_model),
            "set [transcription] whisper_model to a catalogue name or a ggml file",
        ));
    };
    let path = choice.path();
    let name = choice.name();
    let mib = |b: u64| format!("{:.0} MiB", b as f64 / 1048576.0);
    Some(match (std::fs::metadata(path), &choice) {
        (Ok(m), crate::models::Choice::Catalogue(model, _)) if m.len() != model.size => {
            Check::fail(
                "whisper",
                format!(
                    "model {name} at {} is {} bytes, not the catalogue's {}",
                    path.display(),
                    m.len(),
                    model.size
                ),
                format!("astra models rm {name} && astra models pull {name}"),
            )
        }
        (Ok(m), _) => Check::pass(
            "whisper",
            format!(
                "built in; model {name} installed ({}, {})",
                mib(m.len()),
                path.display()
            ),
        ),
        (Err(_), crate::models::Choice::Catalogue(model, _)) if t.download_models => Check::pass(
            "whisper",
            format!(
                "built in; model {name} not installed yet: the first memo that needs it downloads it ({}) to {}",
                mib(model.size),
                path.display()
            ),
        ),
        (Err(_), crate::models::Choice::Catalogue(..)) => Check::fail(
            "whisper",
            format!(
                "built in; model {name} not installed ({} missing) and download_models = false",
                path.display()
            ),
            format!("astra models pull {name}"),
        ),
        (Err(_), crate::models::Choice::File(_)) => Check::fail(
            "whisper",
            format!("the model file {} does not exist", path.display()),
            "set [transcription] whisper_model to an existing ggml file or a catalogue name",
        ),
    })
}

/// Each `gemini` provider: its key, and its model (`GET v1beta/models/{model}`).
fn gemini_checks(cfg: &Config) -> Vec<Check> {
    use crate::config::{OrganizationProvider, SummaryProvider};
    let mut wanted = Vec::new();
    let t = &cfg.transcription;
    if t.provider == TranscriptionProvider::Gemini {
        wanted.push((
            "transcription",
            t.base_url.clone(),
            t.model.clone(),
            t.api_key_env.clone(),
        ));
    }
    let o = &cfg.organization;
    if o.provider == OrganizationProvider::Gemini {
        wanted.push((
            "organization",
            o.base_url.clone(),
            o.model.clone(),
            o.api_key_env.clone(),
        ));
    }
    if cfg.journal.summary_provider == SummaryProvider::Gemini {
        let j = cfg.journal_gemini();
        wanted.push(("journal summary", j.base_url, j.model, j.api_key_env));
    }
    wanted
        .into_iter()
        .map(|(what, url, model, env)| gemini_check(what, &url, &model, &env))
        .collect()
}

fn gemini_check(what: &str, base_url: &str, model: &str, key_env: &str) -> Check {
    use crate::clients::gemini::GeminiClient;
    let name = format!("{what} (gemini)");
    let client = match GeminiClient::from_env(base_url, key_env, what) {
        Ok(c) => c.with_policy(crate::clients::http::RetryPolicy {
            max_tries: 2,
            ..Default::default()
        }),
        Err(e) => {
            return Check::fail(
                &name,
                format!("{e:#}"),
                format!("export {key_env}=<your key> from https://aistudio.google.com/apikey"),
            );
        }
    };
    match client.model(model) {
        Ok(m) => {
            let shown = m["displayName"].as_str().unwrap_or(model);
            Check::pass(
                &name,
                format!(
                    "{}: key accepted, model {model} ({shown}) available",
                    client.host()
                ),
            )
        }
        Err(e) => Check::fail(
            &name,
            e.message.clone(),
            format!(
                "fix {key_env} or [{}] model",
                what.split(' ').next().unwrap_or(what)
            ),
        ),
    }
}
