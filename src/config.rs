//! `config.toml`: every setting with its default, parsed strictly.
//!
//! Precedence: command-line flag > environment (`ASTRA_HOME`, `ASTRA_CONFIG`,
//! `STATE_FILE`, `LOG_FILE`, `AUTOMATION_PAUSE`) > `config.toml` > the defaults here.
//! A missing file means all defaults; an unknown key is an error naming the key, its
//! line and the nearest known key; `~` in paths is expanded.
use crate::exit::usage;
use crate::paths::expand_tilde;
use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub voice_memo: VoiceMemoConfig,
    pub transcription: TranscriptionConfig,
    pub organization: OrganizationConfig,
    pub sync: SyncConfig,
    pub journal: JournalConfig,
    pub alerts: AlertsConfig,
    pub jobs: JobsConfig,
    pub secrets: SecretsConfig,
    /// `[costs]`: prices per model for `stats.cost_usd` ([`crate::costs`]).
    pub costs: crate::costs::CostsConfig,
    pub logs: LogsConfig,
}

/// `[logs]`: how long log files and history lines are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogsConfig {
    /// Log files and history lines older than this are pruned, at most once a day;
    /// 0 keeps them forever.
    pub keep_days: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig { keep_days: 30 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveMode {
    /// Copy into the archive; the inbox is never touched (the original's behaviour).
    Copy,
    /// Move into the archive once the outputs are written.
    Move,
    /// Leave the file where it is.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceMemoConfig {
    pub inbox: PathBuf,
    pub archive_dir: PathBuf,
    pub archive_mode: ArchiveMode,
    pub extensions: Vec<String>,
    pub settle_seconds: u64,
    pub max_attempts: u32,
    pub concurrency: usize,
    /// How the inbox is read: `auto` (Voice Memos' `CloudRecordings.db` when the inbox
    /// holds one, else the folder), `folder` (the files alone), `voice-memos` (the
    /// database is required).
    pub library: LibraryMode,
}

/// `[voice_memo] library`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LibraryMode {
    #[default]
    Auto,
    Folder,
    VoiceMemos,
}

impl Default for VoiceMemoConfig {
    fn default() -> Self {
        VoiceMemoConfig {
            inbox: PathBuf::from("~/.astra/inbox"),
            archive_dir: PathBuf::from("~/.astra/archive"),
            archive_mode: ArchiveMode::Copy,
            extensions: [
                "m4a", "qta", "wav", "mp3", "aac", "caf", "flac", "ogg", "opus", "webm", "mp4",
            ]
            .map(String::from)
            .to_vec(),
            settle_seconds: 10,
            max_attempts: 5,
            concurrency: 4,
            library: LibraryMode::Auto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TranscriptionProvider {
    Auto,
    Apple,
    Sidecar,
    Command,
    Openai,
    Gemini,
    /// The built-in recognizer (whisper.cpp).
    Whisper,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TranscriptionConfig {
    pub provider: TranscriptionProvider,
    pub base_url: String,
    pub model: String,
    pub api_key_env: String,
    pub language: String,
    /// `json` (default), `text`, `verbose_json`, `srt` or `vtt`; `gpt-4o-*-transcribe`
    /// models take only `json`.
    pub response_format: String,
    pub command: Vec<String>,
    /// How long one run of `command` may take before it is stopped.
    pub command_timeout_seconds: u64,
    pub max_upload_mb: u64,
    /// `gemini`: a memo the model rates below this confidence (0–100) is discarded.
    pub min_confidence: u32,
    /// The built-in recognizer's model: a catalogue name (`base.en`) or a path to a
    /// ggml file.
    pub whisper_model: String,
    /// Threads per transcription; 0: the cores split between the workers.
    pub whisper_threads: usize,
    /// Download the named catalogue model when a memo needs it and it is missing.
    pub download_models: bool,
}

impl Default for TranscriptionConfig {
    fn default() -> Self {
        TranscriptionConfig {
            provider: TranscriptionProvider::Auto,
            base_url: "https://api.openai.com/v1".into(),
            model: "whisper-1".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            language: String::new(),
            response_format: "json".into(),
            command: Vec::new(),
            command_timeout_seconds: 900,
            max_upload_mb: 25,
            min_confidence: 30,
            whisper_model: "base.en".into(),
            whisper_threads: 0,
            download_models: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrganizationProvider {
    Rules,
    Openai,
    Gemini,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrganizationConfig {
    pub provider: OrganizationProvider,
    pub base_url: String,
    pub model: String,
    pub api_key_env: String,
}

impl Default for OrganizationConfig {
    fn default() -> Self {
        OrganizationConfig {
            provider: OrganizationProvider::Rules,
            base_url: "https://api.openai.com/v1".into(),
            model: "gpt-4o-mini".into(),
            api_key_env: "OPENAI_API_KEY".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncTarget {
    Markdown,
    Notion,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    pub target: SyncTarget,
    pub markdown: MarkdownConfig,
    pub notion: NotionConfig,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            target: SyncTarget::Markdown,
            markdown: MarkdownConfig::default(),
            notion: NotionConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarkdownConfig {
    pub dir: PathBuf,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        MarkdownConfig {
            dir: PathBuf::from("~/.astra/vault"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotionConfig {
    pub base_url: String,
    pub token_env: String,
    pub parent_page_id: String,
    pub todos_database_id: String,
    pub notes_database_id: String,
    pub journal_database_id: String,
}

impl Default for NotionConfig {
    fn default() -> Self {
        NotionConfig {
            base_url: "https://api.notion.com".into(),
            token_env: "NOTION_TOKEN".into(),
            parent_page_id: String::new(),
            todos_database_id: String::new(),
            notes_database_id: String::new(),
            journal_database_id: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SummaryProvider {
    Extractive,
    Openai,
    Gemini,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    pub summary_provider: SummaryProvider,
    /// The zone in which a day ends (IANA name); empty: the system's.
    pub time_zone: String,
    /// The weekday of the weekly review (`sunday`); empty: no review.
    pub weekly_review_day: String,
    /// The OpenAI-compatible server for `summary_provider = "openai"`; empty: the
    /// `[organization]` one (so one endpoint serves both).
    pub base_url: String,
    /// The chat model; empty: `[organization] model`.
    pub model: String,
    /// The variable holding the API key; empty: `[organization] api_key_env`.
    pub api_key_env: String,
}

impl Config {
    /// The endpoint, model and key variable the journal's `openai` summaries use:
    /// each `[journal]` key that is set, else the `[organization]` one.
    pub fn journal_llm(&self) -> OrganizationConfig {
        let pick = |own: &str, shared: &str| {
            if own.trim().is_empty() {
                shared.to_string()
            } else {
                own.trim().to_string()
            }
        };
        let (j, o) = (&self.journal, &self.organization);
        OrganizationConfig {
            provider: OrganizationProvider::Openai,
            base_url: pick(&j.base_url, &o.base_url),
            model: pick(&j.model, &o.model),
            api_key_env: pick(&j.api_key_env, &o.api_key_env),
        }
    }
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            summary_provider: SummaryProvider::Extractive,
            time_zone: String::new(),
            weekly_review_day: "sunday".into(),
            base_url: String::new(),
            model: String::new(),
            api_key_env: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine.
    None,
}

/// `[alerts]`: where to say that a job broke or recovered. Secrets (webhook URLs,
/// SMTP password) come from the environment variables named here.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    pub slack_webhook_env: String,
    pub discord_webhook_env: String,
    pub webhook_env: String,
    pub healthcheck_url_env: String,
    pub throttle_minutes: u64,
    /// Email alerts go to these addresses (empty: no email).
    pub email_to: Vec<String>,
    pub email_from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username_env: String,
    pub smtp_password_env: String,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            slack_webhook_env: String::new(),
            discord_webhook_env: String::new(),
            webhook_env: String::new(),
            healthcheck_url_env: String::new(),
            throttle_minutes: 60,
            email_to: Vec::new(),
            email_from: String::new(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username_env: String::new(),
            smtp_password_env: String::new(),
        }
    }
}

/// `[secrets]`: where keys are found besides the environment, the OS keychain and
/// `$ASTRA_HOME/secrets.env` (see `crate::secrets`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// A `.env` file to read keys from last (e.g. the original astra's); must be 0600.
    /// `~` is expanded; a relative path is relative to the config file's folder.
    pub env_file: PathBuf,
}

/// `[jobs.<name>]`: one table per job (by either spelling of its name); unset keys
/// take the job's defaults from the registry.
pub type JobsConfig = BTreeMap<String, JobConfig>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobConfig {
    pub enabled: Option<bool>,
    pub schedule: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub after: Option<Vec<String>>,
}

/// A job's settings with the registry's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    pub enabled: bool,
    pub schedule: String,
    pub timeout_seconds: u64,
    pub after: Vec<String>,
}

impl Config {
    /// A job's settings (by either name), with the registry's defaults.
    pub fn job(&self, job: &crate::jobs::JobInfo) -> JobSettings {
        let table = self
            .jobs
            .get(job.name)
            .or_else(|| self.jobs.get(job.program));
        let t = table.cloned().unwrap_or_default();
        JobSettings {
            enabled: t.enabled.unwrap_or(true),
            schedule: t
                .schedule
                .unwrap_or_else(|| job.default_schedule.to_string()),
            timeout_seconds: t.timeout_seconds.unwrap_or(job.default_timeout_seconds),
            after: t
                .after
                .unwrap_or_else(|| job.after.iter().map(|s| s.to_string()).collect()),
        }
    }

    /// Loads the config for these paths, with `~/.astra` defaults under `ASTRA_HOME`.
    pub fn load_for(paths: &crate::paths::Paths) -> Result<Config> {
        if paths.config_named && !paths.config.exists() {
            return Err(usage(format!(
                "config file {} does not exist (named by --config or ASTRA_CONFIG). Check the path, create it with `astra --config {} init`, or drop the flag to use $ASTRA_HOME/config.toml.",
                paths.config.display(),
                paths.config.display()
            )));
        }
        let mut cfg = Self::load(&paths.config)?;
        cfg.rebase_home(&paths.home);
        Ok(cfg)
    }

    /// Loads `path`; a missing file means defaults. Errors are usage errors (exit 2)
    /// that name the file, the line and the key.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut cfg = Config::default();
                cfg.expand_paths();
                return Ok(cfg);
            }
            Err(e) => {
                return Err(usage(format!(
                    "cannot read config file {}: {e}. Fix its permissions or point ASTRA_CONFIG elsewhere.",
                    path.display()
                )));
            }
        };
        Self::parse(&text, path)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut cfg: Config =
            toml::from_str(text).map_err(|e| usage(describe_toml_error(&e, text, path)))?;
        cfg.apply_gemini_defaults();
        cfg.expand_paths();
        cfg.validate(path, text)?;
        Ok(cfg)
    }

    /// Puts paths under `~/.astra` (the defaults) under `home` instead, so that
    /// `ASTRA_HOME` moves the inbox, archive and vault along with everything else.
    pub fn rebase_home(&mut self, home: &Path) {
        let Some(default_home) = crate::paths::user_home().map(|h| h.join(".astra")) else {
            return;
        };
        let rebase = |p: &mut PathBuf| {
            if let Ok(rest) = p.strip_prefix(&default_home) {
                *p = home.join(rest);
            }
        };
        rebase(&mut self.voice_memo.inbox);
        rebase(&mut self.voice_memo.archive_dir);
        rebase(&mut self.sync.markdown.dir);
    }

    fn expand_paths(&mut self) {
        let vm = &mut self.voice_memo;
        vm.inbox = expand_tilde(&vm.inbox);
        vm.archive_dir = expand_tilde(&vm.archive_dir);
        self.sync.markdown.dir = expand_tilde(&self.sync.markdown.dir);
    }

    fn validate(&self, path: &Path, text: &str) -> Result<()> {
        // `key` is "section] key" (the section without its brackets).
        let bad = |key: &str, what: &str| {
            let (section, key) = key.split_once("] ").unwrap_or(("", key));
            usage(key_error(path, text, section, key, what))
        };
        for job in crate::jobs::JOBS {
            let schedule = self.job(job).schedule;
            // A default schedule is known good (a unit test parses each), and parsing
            // one costs a fifth of a nothing-to-do run's instructions.
            if schedule == job.default_schedule {
                continue;
            }
            if let Err(e) = crate::schedule::CronSchedule::parse(&schedule) {
                let why = e.to_string();
                let why = why
                    .strip_prefix(&format!("bad cron expression {:?}: ", schedule.trim()))
                    .unwrap_or(&why);
                let table = [job.name, job.program]
                    .into_iter()
                    .map(|n| format!("jobs.{n}"))
                    .find(|t| key_line(text, t, "schedule").is_some())
                    .unwrap_or(format!("jobs.{}", job.name));
                return Err(usage(key_error(
                    path,
                    text,
                    &table,
                    "schedule",
                    &format!("= \"{schedule}\" is not a cron expression: {why}"),
                )));
            }
        }
        for name in self.jobs.keys() {
            if crate::jobs::find(name).is_none() {
                let hint = nearest(name, &crate::jobs::all_names())
                    .map(|n| format!("; did you mean [jobs.{n}]?"))
                    .unwrap_or_default();
                let line = text
                    .lines()
                    .position(|l| header(l.trim()).as_deref() == Some(&format!("jobs.{name}")))
                    .map(|i| i + 1);
                return Err(usage(format!(
                    "{}[jobs.{name}] is not a job astra knows (jobs: {}){hint}",
                    location(path, line, None),
                    crate::jobs::JOBS
                        .iter()
                        .map(|j| j.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let vm = &self.voice_memo;
        if vm.concurrency == 0 {
            return Err(bad(
                "voice_memo] concurrency",
                "must be at least 1 (default 4)",
            ));
        }
        if vm.max_attempts == 0 {
            return Err(bad(
                "voice_memo] max_attempts",
                "must be at least 1 (default 5)",
            ));
        }
        if vm.extensions.is_empty() {
            return Err(bad(
                "voice_memo] extensions",
                "is empty: list the audio extensions to pick up, e.g. [\"m4a\", \"wav\"]",
            ));
        }
        let t = &self.transcription;
        if t.provider == TranscriptionProvider::Command && t.command.is_empty() {
            return Err(bad(
                "transcription] command",
                "is empty but provider = \"command\": set the recognizer's argv, e.g. command = [\"whisper-cli\", \"-m\", \"ggml-base.en.bin\", \"-f\", \"{input_wav}\", \"-otxt\", \"-of\", \"{output_base}\"]",
            ));
        }
        validate_transcription_api(t).map_err(|(key, what)| bad(key, &what))?;
        if crate::models::resolve(&t.whisper_model, Path::new("models")).is_none() {
            return Err(bad(
                "transcription] whisper_model",
                &format!("= {}", crate::models::unknown_message(&t.whisper_model)),
            ));
        }
        if self.organization.provider == OrganizationProvider::Openai {
            check_base_url(&self.organization.base_url)
                .map_err(|what| bad("organization] base_url", &what))?;
        }
        self.validate_journal(path, text)?;
        crate::costs::validate(&self.costs, path)?;
        self.validate_gemini(path)?;
        Ok(())
    }
}

impl Config {
    fn validate_journal(&self, path: &Path, text: &str) -> Result<()> {
        let bad = |key: &str, what: String| usage(key_error(path, text, "journal", key, &what));
        let j = &self.journal;
        if j.summary_provider == SummaryProvider::Openai {
            let url = self.journal_llm().base_url;
            check_base_url(&url).map_err(|what| {
                let key = if j.base_url.trim().is_empty() {
                    "base_url (from [organization] base_url)"
                } else {
                    "base_url"
                };
                bad(key, what)
            })?;
        }
        let tz = j.time_zone.trim();
        if !tz.is_empty() && tz.parse::<chrono_tz::Tz>().is_err() {
            return Err(bad(
                "time_zone",
                format!(
                    "= \"{tz}\" is not a time zone name; use an IANA name such as \"Europe/Paris\", or \"\" for the system's"
                ),
            ));
        }
        let day = j.weekly_review_day.trim();
        if !day.is_empty() && day.parse::<chrono::Weekday>().is_err() {
            return Err(bad(
                "weekly_review_day",
                format!(
                    "= \"{day}\" is not a weekday; use monday … sunday, or \"\" to turn the weekly review off"
                ),
            ));
        }
        Ok(())
    }
}

/// The response formats `/audio/transcriptions` knows.
const RESPONSE_FORMATS: [&str; 5] = ["json", "text", "verbose_json", "srt", "vtt"];

/// `[transcription]`'s API keys: the limit, the response format for the model, the URL.
fn validate_transcription_api(t: &TranscriptionConfig) -> Result<(), (&'static str, String)> {
    if t.max_upload_mb == 0 {
        return Err((
            "transcription] max_upload_mb",
            "must be at least 1 (default 25, OpenAI's limit)".into(),
        ));
    }
    if !RESPONSE_FORMATS.contains(&t.response_format.as_str()) {
        return Err((
            "transcription] response_format",
            format!(
                "= \"{}\" is not one of {}",
                t.response_format,
                RESPONSE_FORMATS.join(", ")
            ),
        ));
    }
    if t.model.starts_with("gpt-4o")
        && t.model.contains("transcribe")
        && t.response_format != "json"
    {
        return Err((
            "transcription] response_format",
            format!(
                "= \"{}\" but model \"{}\" only answers in json: set response_format = \"json\"",
                t.response_format, t.model
            ),
        ));
    }
    let uses_api = matches!(
        t.provider,
        TranscriptionProvider::Openai | TranscriptionProvider::Auto
    );
    if uses_api {
        check_base_url(&t.base_url).map_err(|w| ("transcription] base_url", w))?;
    }
    Ok(())
}

/// An API base URL: http(s), with a host.
fn check_base_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        _ => Err(format!(
            "= \"{url}\" is not an http(s) URL: use e.g. \"https://api.openai.com/v1\" or \"http://127.0.0.1:8080/v1\""
        )),
    }
}

/// Turns a TOML/serde error into one message: file, line, the key, what is wrong and,
/// for an unknown key, the nearest known one (or the section it belongs in).
fn describe_toml_error(e: &toml::de::Error, text: &str, path: &Path) -> String {
    let msg = e.message().trim().replace('\n', " ");
    let (line_no, line_text) = match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line_no = text[..start].matches('\n').count() + 1;
            let line_text = text
                .lines()
                .nth(line_no - 1)
                .unwrap_or("")
                .trim()
                .to_string();
            (Some(line_no), line_text)
        }
        None => (None, String::new()),
    };
    let section = line_no.and_then(|n| section_of_line(text, n));
    let mut out = location(path, line_no, section.as_deref());
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let names = backticked(rest);
        let unknown = names.first().cloned().unwrap_or_default();
        let known = &names[1.min(names.len())..];
        out.push_str(&format!("unknown key `{unknown}`"));
        let homes: Vec<String> = template_sections_of(&unknown)
            .into_iter()
            .filter(|h| Some(h) != section.as_ref())
            .collect();
        if !homes.is_empty() {
            let homes: Vec<String> = homes.iter().map(|h| format!("[{h}]")).collect();
            out.push_str(&format!("; `{unknown}` belongs in {}", homes.join(" or ")));
        } else if let Some(near) = nearest(&unknown, known) {
            out.push_str(&format!("; did you mean `{near}`?"));
        } else if !known.is_empty() {
            out.push_str(&format!("; known keys: {}", known.join(", ")));
        }
    } else if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let names = backticked(rest);
        let value = names.first().cloned().unwrap_or_default();
        let key = line_text.split('=').next().unwrap_or("").trim();
        out.push_str(&format!(
            "{key} = \"{value}\" is not one of {}",
            names[1.min(names.len())..].join(", ")
        ));
    } else if let Some(wanted) = msg.rsplit_once(", expected ").map(|(_, w)| w) {
        out.push_str(&wrong_type(&line_text, section.as_deref(), wanted));
    } else {
        if !line_text.is_empty() {
            out.push_str(&format!("`{line_text}`: "));
        }
        out.push_str(&msg);
    }
    let end = if out.ends_with(['?', '.']) { " " } else { ". " };
    out.push_str(end);
    out.push_str("Fix the file (see `astra init` for a commented example) or move it aside to use the defaults.");
    out
}

/// `path line N in [section]: ` (the parts that are known).
fn location(path: &Path, line_no: Option<usize>, section: Option<&str>) -> String {
    let mut out = format!("{}", path.display());
    if let Some(n) = line_no {
        out.push_str(&format!(" line {n}"));
    }
    if let Some(s) = section.filter(|s| !s.is_empty()) {
        out.push_str(&format!(" in [{s}]"));
    }
    out.push_str(": ");
    out
}

/// A value of the wrong type, said in the config's words (not Rust's), with an example.
fn wrong_type(line_text: &str, section: Option<&str>, wanted: &str) -> String {
    let (key, value) = line_text
        .split_once('=')
        .map(|(k, v)| (k.trim(), strip_comment(v.trim())))
        .unwrap_or((line_text, ""));
    let kind = match wanted {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number (0 or more)",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a borrowed string" => "text in quotes",
        "a sequence" => "a list of strings",
        other => other,
    };
    let example = if wanted == "a sequence" && value.starts_with('"') {
        // `command = "pocketsphinx single {input_wav}"`: the same words as a list.
        let words: Vec<String> = value
            .trim_matches('"')
            .split_whitespace()
            .map(|w| format!("\"{w}\""))
            .collect();
        Some(format!("[{}]", words.join(", ")))
    } else {
        template_example(section.unwrap_or(""), key)
    };
    let mut out = if value.is_empty() {
        format!("{key} is not {kind}")
    } else {
        format!("{key} = {value} is not {kind}")
    };
    if let Some(ex) = example {
        out.push_str(&format!("; write e.g. {key} = {ex}"));
    }
    out
}

/// A TOML value without a trailing `# comment` (outside quotes).
fn strip_comment(v: &str) -> &str {
    let mut in_str = false;
    for (i, c) in v.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '#' if !in_str => return v[..i].trim_end(),
            _ => {}
        }
    }
    v
}

/// A message about `[section] key` with the line it is on: `path line N: [section]
/// key what`.
fn key_error(path: &Path, text: &str, section: &str, key: &str, what: &str) -> String {
    let line_no = key_line(text, section, key.split(' ').next().unwrap_or(key));
    format!("{}[{section}] {key} {what}", location(path, line_no, None))
}

/// The line (1-based) where `key` is set in `[section]`.
fn key_line(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if let Some(h) = header(l) {
            current = h;
        } else if current == section
            && l.split('=').next().map(|k| k.trim().trim_matches('"')) == Some(key)
            && l.contains('=')
        {
            return Some(i + 1);
        }
    }
    None
}

/// The table name of a `[table]` or `[[table]]` header line.
fn header(line: &str) -> Option<String> {
    line.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .map(|s| s.trim_matches('[').trim().to_string())
}

/// Each `(section, key, value)` the commented template (`astra init`) shows, its
/// commented-out lines included: where a key belongs, and an example of its value.
fn template_keys() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    for l in crate::init::DEFAULT_CONFIG.lines() {
        let l = l.trim().trim_start_matches('#').trim();
        if let Some(h) = header(l) {
            section = h;
        } else if let Some((k, v)) = l.split_once('=') {
            let k = k.trim();
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.push((
                    section.clone(),
                    k.to_string(),
                    strip_comment(v.trim()).to_string(),
                ));
            }
        }
    }
    out
}

/// The sections whose key `key` is.
fn template_sections_of(key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (s, k, _) in template_keys() {
        if k == key && !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The template's value for `[section] key` (a non-empty list preferred).
fn template_example(section: &str, key: &str) -> Option<String> {
    let values: Vec<String> = template_keys()
        .into_iter()
        .filter(|(s, k, _)| s == section && k == key)
        .map(|(_, _, v)| v)
        .collect();
    values
        .iter()
        .find(|v| *v != "[]" && *v != "\"\"")
        .or(values.first())
        .cloned()
}

/// The `[table]` header in force at line `line_no` (1-based).
fn section_of_line(text: &str, line_no: usize) -> Option<String> {
    text.lines()
        .take(line_no)
        .filter_map(|l| header(l.trim()))
        .last()
}

/// The words between backticks in a serde message.
fn backticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(String::from).collect()
}

/// The candidate closest to `word` by edit distance, if it is close enough to help.
pub fn nearest(word: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 2).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Gemini's Developer API, the model and the key variable a `gemini` provider means
/// when `base_url`, `model` and `api_key_env` are left at their (OpenAI) defaults.
pub const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";
pub const GEMINI_MODEL: &str = "gemini-2.5-flash";
pub const GEMINI_KEY_ENV: &str = "GEMINI_API_KEY";
/// Also accepted when [`GEMINI_KEY_ENV`] is not set (Google's SDKs read either).
pub const GOOGLE_KEY_ENV: &str = "GOOGLE_API_KEY";

/// Replaces the OpenAI defaults by Gemini's for a `gemini` provider.
fn gemini_defaults(
    base_url: &mut String,
    model: &mut String,
    key_env: &mut String,
    openai_model: &str,
) {
    if base_url.trim().is_empty() || base_url.trim_end_matches('/') == "https://api.openai.com/v1" {
        *base_url = GEMINI_BASE_URL.into();
    }
    if model.trim().is_empty() || model == openai_model {
        *model = GEMINI_MODEL.into();
    }
    if key_env.trim().is_empty() || key_env == "OPENAI_API_KEY" {
        *key_env = GEMINI_KEY_ENV.into();
    }
}

impl Config {
    /// `provider = "gemini"` with the endpoint keys left alone means Gemini's endpoint.
    fn apply_gemini_defaults(&mut self) {
        let t = &mut self.transcription;
        if t.provider == TranscriptionProvider::Gemini {
            gemini_defaults(
                &mut t.base_url,
                &mut t.model,
                &mut t.api_key_env,
                "whisper-1",
            );
        }
        let o = &mut self.organization;
        if o.provider == OrganizationProvider::Gemini {
            gemini_defaults(
                &mut o.base_url,
                &mut o.model,
                &mut o.api_key_env,
                "gpt-4o-mini",
            );
        }
    }

    /// The endpoint, model and key variable of `summary_provider = "gemini"`: each
    /// `[journal]` key that is set, else `[organization]`'s when it is Gemini too, else
    /// Gemini's defaults.
    pub fn journal_gemini(&self) -> OrganizationConfig {
        let (j, o) = (&self.journal, &self.organization);
        let shared = o.provider == OrganizationProvider::Gemini;
        let pick = |own: &str, org: &str, default: &str| {
            if !own.trim().is_empty() {
                own.trim().to_string()
            } else if shared {
                org.to_string()
            } else {
                default.to_string()
            }
        };
        OrganizationConfig {
            provider: OrganizationProvider::Gemini,
            base_url: pick(&j.base_url, &o.base_url, GEMINI_BASE_URL),
            model: pick(&j.model, &o.model, GEMINI_MODEL),
            api_key_env: pick(&j.api_key_env, &o.api_key_env, GEMINI_KEY_ENV),
        }
    }

    /// The `gemini` providers' keys: their URLs, `min_confidence`.
    fn validate_gemini(&self, path: &Path) -> Result<()> {
        let bad = |key: &str, what: String| usage(format!("{}: [{key}] {what}", path.display()));
        let t = &self.transcription;
        if t.min_confidence > 100 {
            return Err(bad(
                "transcription] min_confidence",
                format!(
                    "= {} is over 100: use 0–100 (default 30, as the original astra)",
                    t.min_confidence
                ),
            ));
        }
        if t.provider == TranscriptionProvider::Gemini {
            check_base_url(&t.base_url).map_err(|w| bad("transcription] base_url", w))?;
        }
        if self.organization.provider == OrganizationProvider::Gemini {
            check_base_url(&self.organization.base_url)
                .map_err(|w| bad("organization] base_url", w))?;
        }
        if self.journal.summary_provider == SummaryProvider::Gemini {
            check_base_url(&self.journal_gemini().base_url)
                .map_err(|w| bad("journal] base_url", w))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        format!(
            "{:#}",
            Config::parse(text, Path::new("/h/config.toml")).unwrap_err()
        )
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert_eq!(c.voice_memo.settle_seconds, 10);
        assert_eq!(c.voice_memo.archive_mode, ArchiveMode::Copy);
        assert_eq!(c.transcription.provider, TranscriptionProvider::Auto);
        assert!(c.job(&crate::jobs::VOICE_MEMO).enabled);
        assert_eq!(c.job(&crate::jobs::VOICE_MEMO).schedule, "*/5 * * * *");
        assert!(
            c.voice_memo.inbox.is_absolute(),
            "~ expanded: {:?}",
            c.voice_memo.inbox
        );
    }

    #[test]
    fn unknown_key_names_line_section_and_nearest() {
        let e = err("[voice_memo]\nsettle_seconds = 3\ninboxx = \"/tmp\"\n");
        assert!(e.contains("/h/config.toml line 3 in [voice_memo]"), "{e}");
        assert!(
            e.contains("unknown key `inboxx`; did you mean `inbox`?"),
            "{e}"
        );
    }

    #[test]
    fn unknown_table_is_refused() {
        let e = err("[voice_memos]\n");
        assert!(
            e.contains("unknown key `voice_memos`; did you mean `voice_memo`?"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_names_the_line() {
        let e = err("[voice_memo]\nsettle_seconds = \"ten\"\n");
        assert!(e.contains("line 2"), "{e}");
        assert!(
            e.contains("settle_seconds = \"ten\" is not a whole number (0 or more)"),
            "{e}"
        );
    }

    #[test]
    fn bad_variant_lists_choices() {
        let e = err("[voice_memo]\narchive_mode = \"shred\"\n");
        assert!(
            e.contains("\"shred\" is not one of copy, move, none"),
            "{e}"
        );
    }

    #[test]
    fn job_tables_accept_both_names() {
        let c = Config::parse("[jobs.voice-memo]\nenabled = false\n", Path::new("c")).unwrap();
        assert!(!c.job(&crate::jobs::VOICE_MEMO).enabled);
        let c = Config::parse("[jobs.voiceMemo]\nenabled = false\n", Path::new("c")).unwrap();
        assert!(!c.job(&crate::jobs::VOICE_MEMO).enabled);
        assert!(c.job(&crate::jobs::JOURNAL).enabled);
        assert_eq!(c.job(&crate::jobs::JOURNAL).after, ["voiceMemo"]);
    }

    #[test]
    fn a_bad_schedule_is_refused_at_load() {
        let e = err("[jobs.journal]\nschedule = \"at nine\"\n");
        assert!(
            e.contains("line 2: [jobs.journal] schedule = \"at nine\" is not a cron expression"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_job_names_the_nearest() {
        let e = err("[jobs.voiceMemos]\nenabled = false\n");
        assert!(
            e.contains("[jobs.voiceMemos] is not a job astra knows"),
            "{e}"
        );
        assert!(e.contains("did you mean [jobs.voiceMemo]?"), "{e}");
    }

    #[test]
    fn whisper_keys_default_and_check_the_model() {
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert_eq!(c.transcription.whisper_model, "base.en");
        assert_eq!(c.transcription.whisper_threads, 0);
        assert!(c.transcription.download_models);
        let c = Config::parse(
            "[transcription]\nprovider = \"whisper\"\nwhisper_model = \"~/m/ggml-x.bin\"\nwhisper_threads = 2\ndownload_models = false\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.transcription.provider, TranscriptionProvider::Whisper);
        assert!(!c.transcription.download_models);
        let e = err("[transcription]\nwhisper_model = \"medium\"\n");
        assert!(
            e.contains("whisper_model") && e.contains("\"medium\" is not a model name"),
            "{e}"
        );
    }

    #[test]
    fn command_provider_needs_a_command() {
        let e = err("[transcription]\nprovider = \"command\"\n");
        assert!(e.contains("[transcription] command"), "{e}");
    }

    #[test]
    fn journal_openai_reuses_the_organization_endpoint_unless_set() {
        let c = Config::parse(
            "[organization]\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3\"\n[journal]\nsummary_provider = \"openai\"\nmodel = \"qwen\"\n",
            Path::new("c"),
        )
        .unwrap();
        let llm = c.journal_llm();
        assert_eq!(llm.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(llm.model, "qwen");
        assert_eq!(llm.api_key_env, "OPENAI_API_KEY");
        let e = err("[journal]\nsummary_provider = \"openai\"\nbase_url = \"localhost\"\n");
        assert!(e.contains("[journal] base_url"), "{e}");
    }

    #[test]
    fn journal_keys_are_checked() {
        let c = Config::parse("", Path::new("c")).unwrap();
        assert_eq!(c.journal.weekly_review_day, "sunday");
        let e = err("[journal]\ntime_zone = \"Europe/Pariss\"\n");
        assert!(
            e.contains("[journal] time_zone = \"Europe/Pariss\" is not a time zone"),
            "{e}"
        );
        let e = err("[journal]\nweekly_review_day = \"caturday\"\n");
        assert!(e.contains("not a weekday"), "{e}");
        Config::parse(
            "[journal]\ntime_zone = \"Asia/Tokyo\"\nweekly_review_day = \"\"\n",
            Path::new("c"),
        )
        .unwrap();
    }

    #[test]
    fn openai_providers_are_accepted_and_checked() {
        let c = Config::parse(
            "[transcription]\nprovider = \"openai\"\n[organization]\nprovider = \"openai\"\n",
            Path::new("c"),
        )
        .unwrap();
        assert_eq!(c.transcription.response_format, "json");
        assert_eq!(c.transcription.max_upload_mb, 25);
        let e = err("[transcription]\nmax_upload_mb = 0\n");
        assert!(e.contains("[transcription] max_upload_mb"), "{e}");
        let e = err(
            "[transcription]\nmodel = \"gpt-4o-mini-transcribe\"\nresponse_format = \"text\"\n",
        );
        assert!(e.contains("only answers in json"), "{e}");
        let e = err("[transcription]\nresponse_format = \"xml\"\n");
        assert!(e.contains("not one of json, text"), "{e}");
        let e = err("[organization]\nprovider = \"openai\"\nbase_url = \"localhost:11434\"\n");
        assert!(e.contains("[organization] base_url"), "{e}");
    }

    #[test]
    fn gemini_providers_mean_geminis_endpoint_unless_set() {
        let c = Config::parse(
            "[transcription]\nprovider = \"gemini\"\n[organization]\nprovider = \"gemini\"\nmodel = \"gemini-3-flash-preview\"\n[journal]\nsummary_provider = \"gemini\"\n",
            Path::new("c"),
        )
        .unwrap();
        assert_eq!(c.transcription.base_url, GEMINI_BASE_URL);
        assert_eq!(c.transcription.model, GEMINI_MODEL);
        assert_eq!(c.transcription.api_key_env, GEMINI_KEY_ENV);
        assert_eq!(c.transcription.min_confidence, 30);
        assert_eq!(c.organization.model, "gemini-3-flash-preview");
        let j = c.journal_gemini();
        assert_eq!(
            j.model, "gemini-3-flash-preview",
            "shared with [organization]"
        );
        assert_eq!(j.base_url, GEMINI_BASE_URL);
        let c =
            Config::parse("[journal]\nsummary_provider = \"gemini\"\n", Path::new("c")).unwrap();
        assert_eq!(c.journal_gemini().model, GEMINI_MODEL);
        assert_eq!(c.journal_gemini().api_key_env, GEMINI_KEY_ENV);
        let c = Config::parse(
            "[transcription]\nprovider = \"gemini\"\nbase_url = \"http://127.0.0.1:9/\"\napi_key_env = \"MY_KEY\"\n",
            Path::new("c"),
        )
        .unwrap();
        assert_eq!(c.transcription.base_url, "http://127.0.0.1:9/");
        assert_eq!(c.transcription.api_key_env, "MY_KEY");
        let c = Config::parse(
            "transcription.provider = \"gemini\"\norganization.provider = \"gemini\"\njournal.summary_provider = \"gemini\"\n[voice_memo]\nsettle_seconds = 1\n",
            Path::new("c"),
        )
        .unwrap();
        assert_eq!(
            c.organization.base_url, GEMINI_BASE_URL,
            "README's three lines"
        );
        assert_eq!(c.journal.summary_provider, SummaryProvider::Gemini);
        let e = err("[transcription]\nmin_confidence = 101\n");
        assert!(e.contains("[transcription] min_confidence"), "{e}");
        let e = err("[organization]\nprovider = \"gemini\"\nbase_url = \"googleapis\"\n");
        assert!(e.contains("[organization] base_url"), "{e}");
    }
}

#[cfg(test)]
mod wording {
    use super::*;

    /// Bad configs and the exact message each gets: file, line, section, key, what is
    /// wrong in the config's words (never Rust's type names), and what to write instead.
    #[test]
    fn bad_configs_and_their_messages() {
        let cases: &[(&str, &str)] = &[
            (
                "[voice_memo]\nconcurrency = 0\n",
                "line 2: [voice_memo] concurrency must be at least 1 (default 4)",
            ),
            (
                "[voice_memo]\ninboxx = \"/tmp\"\n",
                "line 2 in [voice_memo]: unknown key `inboxx`; did you mean `inbox`? Fix the file (see `astra init` for a commented example) or move it aside to use the defaults.",
            ),
            (
                "[voice_memo]\nsettle_seconds = \"ten\"\n",
                "line 2 in [voice_memo]: settle_seconds = \"ten\" is not a whole number (0 or more); write e.g. settle_seconds = 10.{FIX}",
            ),
            (
                "[voice_memo]\nconcurrency = -1\n",
                "line 2 in [voice_memo]: concurrency = -1 is not a whole number (0 or more); write e.g. concurrency = 4.{FIX}",
            ),
            (
                "[transcription]\ncommand = \"pocketsphinx single {input_wav}\"\n",
                "line 2 in [transcription]: command = \"pocketsphinx single {input_wav}\" is not a list of strings; write e.g. command = [\"pocketsphinx\", \"single\", \"{input_wav}\"].{FIX}",
            ),
            (
                "command = [\"whisper-cli\", \"{input_wav}\"]\n",
                "line 1: unknown key `command`; `command` belongs in [transcription].{FIX}",
            ),
            (
                "[voice_memo]\nmodel = \"x\"\n",
                "line 2 in [voice_memo]: unknown key `model`; `model` belongs in [transcription] or [organization] or [journal].{FIX}",
            ),
            (
                "[jobs.journal]\nschedule = \"at nine\"\n",
                "line 2: [jobs.journal] schedule = \"at nine\" is not a cron expression: it has 2 fields, not 5 or 6. Use 5 fields (minute hour day-of-month month day-of-week, e.g. \"*/5 * * * *\"), 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly",
            ),
            (
                "[jobs.voiceMemo]\nenabled = \"yes\"\n",
                "line 2 in [jobs.voiceMemo]: enabled = \"yes\" is not true or false; write e.g. enabled = true.{FIX}",
            ),
            (
                "[voice_memo]\nextensions = []\n",
                "line 2: [voice_memo] extensions is empty: list the audio extensions to pick up, e.g. [\"m4a\", \"wav\"]",
            ),
            (
                "[journal]\ntime_zone = \"Mars/Olympus\"\n",
                "line 2: [journal] time_zone = \"Mars/Olympus\" is not a time zone name; use an IANA name such as \"Europe/Paris\", or \"\" for the system's",
            ),
            (
                "[transcription]\nresponse_format = \"xml\"\n",
                "line 2: [transcription] response_format = \"xml\" is not one of json, text, verbose_json, srt, vtt",
            ),
            (
                "[voice_memo]\narchive_mode = \"shred\"\n",
                "line 2 in [voice_memo]: archive_mode = \"shred\" is not one of copy, move, none.{FIX}",
            ),
            (
                "[jobs.voiceMemos]\nenabled = false\n",
                "line 1: [jobs.voiceMemos] is not a job astra knows (jobs: voiceMemo, journalProcessing); did you mean [jobs.voiceMemo]?",
            ),
        ];
        const FIX: &str = " Fix the file (see `astra init` for a commented example) or move it aside to use the defaults.";
        for (text, want) in cases {
            let got = format!(
                "{:#}",
                Config::parse(text, Path::new("/h/config.toml")).unwrap_err()
            );
            let want = format!("/h/config.toml {}", want.replace("{FIX}", FIX));
            assert_eq!(got, want, "config:\n{text}");
        }
    }
}
