//! `astra init`: writes a commented `config.toml` with every key and its default.
use anyhow::{Context, Result};
use std::path::Path;

/// The commented default config (the contract's keys; defaults in comments).
pub const DEFAULT_CONFIG: &str = r#"# astra configuration. Every key is optional; the values shown are the defaults.
# Secrets never go here: *_env keys name them; store one with `astra secrets set NAME`.

[voice_memo]
inbox = "~/.astra/inbox"          # Apple Voice Memos: ~/Library/Group Containers/group.com.apple.VoiceMemos.shared/Recordings
archive_dir = "~/.astra/archive"
archive_mode = "copy"             # copy (the inbox is never touched) | move | none
extensions = ["m4a", "qta", "wav", "mp3", "aac", "caf", "flac", "ogg", "opus", "webm", "mp4"]
settle_seconds = 10               # a file younger than this, or still growing, waits for the next run
max_attempts = 5                  # then the memo is dead-lettered (copied to failed/)
concurrency = 4                   # memos in flight at once
library = "auto"                  # auto | folder | voice-memos: titles, folders and deletions from
                                  # Voice Memos' CloudRecordings.db when the inbox holds one

[transcription]
provider = "auto"                 # auto | apple | sidecar | command | openai | gemini | whisper
                                  # auto: Apple's transcript inside the .m4a, else a .txt/.srt/.vtt
                                  # beside the audio, else `command` when set, else openai when
                                  # its key is in the environment, else whisper (built in, offline)
command = []                      # argv, no shell; {input} {input_wav} {output_base}
# A local recognizer, e.g. whisper.cpp's whisper-cli (brew install whisper-cpp) with a
# ggml model; give the program's absolute path when cron's PATH does not have it:
# provider = "command"
# command = ["whisper-cli", "-m", "/path/to/ggml-base.en.bin", "-f", "{input_wav}", "-otxt", "-of", "{output_base}"]
# or pocketsphinx (apt install pocketsphinx):
# command = ["pocketsphinx", "single", "{input_wav}"]
command_timeout_seconds = 900     # also the limit for each ffmpeg step
base_url = "https://api.openai.com/v1"   # any OpenAI-compatible server (Groq, whisper.cpp, LocalAI…);
                                  # with provider = "gemini" these three, left as they are, mean Gemini's:
                                  # generativelanguage.googleapis.com, gemini-2.5-flash, GEMINI_API_KEY
model = "whisper-1"
api_key_env = "OPENAI_API_KEY"    # the variable holding the key; "" for a local server
language = ""                     # optional ISO-639-1 hint
response_format = "json"          # gpt-4o-*-transcribe take only json
max_upload_mb = 25                # larger files are cut at silences and the transcripts joined
min_confidence = 30               # gemini: a memo rated below this (0-100) is discarded to invalid/
whisper_model = "base.en"         # tiny.en base.en small.en tiny base small large-v3-turbo, or a ggml file's path
whisper_threads = 0               # 0: the cores split between the workers
download_models = true            # fetch a missing model on first need (else: astra models pull NAME)

[organization]
provider = "rules"                # rules (offline) | openai | gemini
base_url = "https://api.openai.com/v1"   # Ollama: http://127.0.0.1:11434/v1
model = "gpt-4o-mini"
api_key_env = "OPENAI_API_KEY"

[sync]
target = "markdown"               # markdown | notion

[sync.markdown]
dir = "~/.astra/vault"            # an Obsidian vault works

# [sync.notion]                   # with target = "notion"; `astra notion setup` fills the ids
# base_url = "https://api.notion.com"
# token_env = "NOTION_TOKEN"      # the integration's secret is read from this variable
# parent_page_id = ""             # the page (shared with the integration) to create the databases under
# todos_database_id = ""
# notes_database_id = ""
# journal_database_id = ""

[journal]
summary_provider = "extractive"   # extractive (offline: the day's most representative sentences) | openai | gemini
# base_url = ""                   # for openai; "" = [organization]'s base_url, model and api_key_env
# model = ""
# api_key_env = ""
time_zone = ""                    # the zone in which a day ends, e.g. "Europe/Paris"; "" = the system's
weekly_review_day = "sunday"      # Journal/YYYY-Www.md on this weekday; "" = no weekly review

[alerts]                          # where to say that a job failed or recovered; each *_env key
                                  # names the environment variable holding the URL (never the URL)
slack_webhook_env = ""            # e.g. "SLACK_WEBHOOK_URL"
discord_webhook_env = ""          # e.g. "DISCORD_WEBHOOK_URL"
webhook_env = ""                  # a generic JSON POST
healthcheck_url_env = ""          # a healthchecks.io-style ping URL: /start, success, /fail
throttle_minutes = 60             # at most one alert per job in this time, recoveries always
# email_to = ["me@example.com"]   # email alerts (empty: none)
# email_from = "astra@example.com"
# smtp_host = "smtp.example.com"
# smtp_port = 587
# smtp_tls = "starttls"           # starttls | tls | none
# smtp_username_env = "SMTP_USERNAME"
# smtp_password_env = "SMTP_PASSWORD"

[logs]
keep_days = 30                    # log files and history lines older than this are pruned, at most
                                  # once a day (0: keep forever); idle runs of past days become one line a day

# [secrets]                      # keys: the environment, then the OS keychain, then
#                                 # $ASTRA_HOME/secrets.env (`astra secrets set NAME`), then:
# env_file = ""                   # a .env of yours to read keys from (mode 0600)

[costs]                           # prices for stats.cost_usd (USD); defaults for the known models, 0 for local ones
# "whisper-1" = { per_audio_minute = 0.006 }
# "gpt-4o-mini" = { per_million_input = 0.15, per_million_output = 0.60 }

[jobs.voiceMemo]
enabled = true
schedule = "*/5 * * * *"
timeout_seconds = 3600

[jobs.journalProcessing]
enabled = true
schedule = "0 21 * * *"
after = ["voiceMemo"]
"#;

/// Writes [`DEFAULT_CONFIG`] to `path` unless a file is already there.
pub fn write_default(path: &Path, force: bool) -> Result<bool> {
    if path.exists() && !force {
        return Ok(false);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsutil::create_private_dir(dir)?;
    }
    crate::fsutil::atomic_write(path, DEFAULT_CONFIG.as_bytes(), 0o600)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_commented_config_parses_to_the_defaults() {
        let c =
            crate::config::Config::parse(super::DEFAULT_CONFIG, std::path::Path::new("c")).unwrap();
        let d = crate::config::Config::default();
        assert_eq!(c.voice_memo.extensions, d.voice_memo.extensions);
        assert_eq!(c.voice_memo.settle_seconds, d.voice_memo.settle_seconds);
        assert_eq!(
            c.transcription.command_timeout_seconds,
            d.transcription.command_timeout_seconds
        );
        assert_eq!(c.transcription.whisper_model, d.transcription.whisper_model);
        assert_eq!(
            c.transcription.download_models,
            d.transcription.download_models
        );
        assert_eq!(c.alerts.throttle_minutes, d.alerts.throttle_minutes);
    }

    /// The template shows a local recognizer and the alerts, commented so that the
    /// defaults stay the defaults; uncommented, the examples parse.
    #[test]
    fn the_template_shows_a_recognizer_and_alerts() {
        let t = super::DEFAULT_CONFIG;
        assert!(t.contains("\n[alerts]"), "an [alerts] section");
        assert!(
            t.contains("# command = [\"whisper-cli\""),
            "a whisper example"
        );
        let example = |start: &str| {
            let line = t.lines().find(|l| l.starts_with(start)).unwrap();
            line.trim_start_matches("# ").to_string()
        };
        let text = format!(
            "[transcription]\n{}\n{}\n[alerts]\n{}\n{}\n",
            example("# provider = \"command\""),
            example("# command = [\"whisper-cli\""),
            example("# email_to"),
            example("# smtp_tls"),
        );
        let c = crate::config::Config::parse(&text, std::path::Path::new("c")).unwrap();
        assert_eq!(c.transcription.command[0], "whisper-cli");
        assert_eq!(c.alerts.email_to, ["me@example.com"]);
    }
}
