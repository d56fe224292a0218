//! `astra init --from-env`: the original astra's `.env` turned into a commented
//! `config.toml` that carries on where the original stopped.
//!
//! Keys are never copied: the config names the variables (`token_env`, `api_key_env`)
//! and `[secrets] env_file` points at the `.env`, so runs read them from there. Pure:
//! text in, config text and a report out; the CLI writes the files.
use crate::secrets::dotenv;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The original's inbox when `VOICE_MEMOS_DIR` is unset: iCloud's Voice Memos folder.
pub const ORIGINAL_INBOX: &str = "~/Library/Mobile Documents/com~apple~CloudDocs/Voice Memos";
/// The original's job interval when unset, in minutes.
const ORIGINAL_INTERVAL_MINUTES: u32 = 5;

/// The variables the original reads, with what each becomes here.
const KNOWN: [&str; 16] = [
    "GEMINI_API_KEY",
    "NOTION_API_KEY",
    "PARENT_PAGE_ID",
    "NOTION_TODO_DATABASE_ID",
    "NOTION_NOTES_DATABASE_ID",
    "NOTION_JOURNAL_DATABASE_ID",
    "VOICE_MEMOS_DIR",
    "ARCHIVE_DIR",
    "FAILED_DIR",
    "INVALID_DIR",
    "LOG_FILE",
    "STATE_FILE",
    "MAX_RETRIES",
    "GARBAGE_CONFIDENCE_THRESHOLD",
    "VOICE_MEMO_JOB_ENABLED",
    "VOICE_MEMO_JOB_INTERVAL_MINUTES",
];

/// A variable carried over.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Mapped {
    pub variable: String,
    /// The config key, e.g. `[voice_memo] inbox`.
    pub key: String,
    /// The value written (`None` for a key: only its name is written).
    pub value: Option<String>,
}

/// A variable not carried over, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotMapped {
    pub variable: String,
    pub why: String,
}

/// What `--from-env` makes of a `.env`.
#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    #[serde(skip)]
    pub config_text: String,
    pub mapped: Vec<Mapped>,
    pub not_mapped: Vec<NotMapped>,
    /// Notion is the target (run `astra notion setup` next).
    pub notion: bool,
    /// Gemini providers were written (`GEMINI_API_KEY` is set).
    pub gemini: bool,
    /// Where the original kept its state.json (`STATE_FILE`, default `~/.astra/state.json`).
    pub state_file: PathBuf,
}

/// Where astra keeps things, for comparing the original's folders with them.
pub struct Here<'a> {
    pub astra_home: &'a Path,
    /// The user's home directory (`~`).
    pub user_home: &'a Path,
}

/// A TOML string literal.
fn lit(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

/// `key = value` padded to a column, with a comment.
fn line(out: &mut String, key: &str, value: &str, comment: &str) {
    let kv = format!("{key} = {value}");
    if comment.is_empty() {
        out.push_str(&kv);
    } else {
        out.push_str(&format!("{kv:<34} # {comment}"));
    }
    out.push('\n');
}

fn truthy(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The cron expression for "every `n` minutes", when cron can say it.
pub fn every_minutes(n: u32) -> Option<String> {
    match n {
        1..=59 => Some(format!("*/{n} * * * *")),
        1440 => Some("0 0 * * *".into()),
        n if n % 60 == 0 && (1..=23).contains(&(n / 60)) => Some(format!("0 */{} * * *", n / 60)),
        _ => None,
    }
}

/// Reads the original's `.env` text (at `env_path`) into a config.
pub fn from_env(
    text: &str,
    env_path: &Path,
    here: &Here<'_>,
) -> Result<Migration, dotenv::ParseError> {
    let vars = dotenv::parse(text)?;
    let get = |name: &str| {
        vars.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let env_dir = env_path.parent().unwrap_or(Path::new("/"));
    // A path as the original meant it: `~` kept (the config expands it), a relative
    // one taken from the folder it ran in (the .env's).
    let path_value = |v: &str| -> String {
        // Bun expands `$HOME` in a .env; the config says `~`.
        let home_var = ["${HOME}", "$HOME"].iter().find_map(|h| {
            v.strip_prefix(h)
                .filter(|r| r.is_empty() || r.starts_with('/'))
        });
        let v = &match home_var {
            Some(rest) => format!("~{rest}"),
            None => v.to_string(),
        };
        if v.starts_with('~') || Path::new(v).is_absolute() {
            v.to_string()
        } else {
            env_dir
                .join(v.strip_prefix("./").unwrap_or(v))
                .display()
                .to_string()
        }
    };
    let expand = |v: &str| -> PathBuf {
        let p = path_value(v);
        match p.strip_prefix("~/") {
            Some(rest) => here.user_home.join(rest),
            None if p == "~" => here.user_home.to_path_buf(),
            None => PathBuf::from(p),
        }
    };
    let mut mapped = Vec::new();
    let mut not_mapped = Vec::new();
    let mut map = |variable: &str, key: &str, value: Option<String>| {
        mapped.push(Mapped {
            variable: variable.into(),
            key: key.into(),
            value,
        })
    };
    let mut skip = |variable: &str, why: String| {
        not_mapped.push(NotMapped {
            variable: variable.into(),
            why,
        })
    };
    let mut out = String::new();
    out.push_str(&format!(
        "# astra configuration, carried over from the original astra's settings in\n#   {}\n",
        env_path.display()
    ));
    out.push_str(
        "# Keys are not copied here: each *_env key names a variable, read from that file\n",
    );
    out.push_str(
        "# ([secrets] env_file) unless the environment, the keychain or secrets.env has it\n",
    );
    out.push_str(
        "# (`astra secrets set NAME` stores one in the keychain). Every other key keeps its\n",
    );
    out.push_str(
        "# default: `astra init --force` in a scratch ASTRA_HOME prints them all, commented.\n\n",
    );

    // [voice_memo]
    out.push_str("[voice_memo]\n");
    match get("VOICE_MEMOS_DIR") {
        Some(v) => {
            let p = path_value(&v);
            line(&mut out, "inbox", &lit(&p), "VOICE_MEMOS_DIR");
            map("VOICE_MEMOS_DIR", "[voice_memo] inbox", Some(p));
        }
        None => {
            line(
                &mut out,
                "inbox",
                &lit(ORIGINAL_INBOX),
                "the original's default (VOICE_MEMOS_DIR unset)",
            );
            map(
                "VOICE_MEMOS_DIR",
                "[voice_memo] inbox (the original's default)",
                Some(ORIGINAL_INBOX.into()),
            );
        }
    }
    if let Some(v) = get("ARCHIVE_DIR") {
        let p = path_value(&v);
        line(&mut out, "archive_dir", &lit(&p), "ARCHIVE_DIR");
        map("ARCHIVE_DIR", "[voice_memo] archive_dir", Some(p));
    }
    line(
        &mut out,
        "archive_mode",
        &lit("copy"),
        "as the original: the inbox is never touched",
    );
    match get("MAX_RETRIES").map(|v| (v.parse::<u32>(), v)) {
        Some((Ok(n), v)) => {
            let n = n.max(1);
            line(
                &mut out,
                "max_attempts",
                &n.to_string(),
                &format!("MAX_RETRIES={v}; then the memo is copied to failed/"),
            );
            map(
                "MAX_RETRIES",
                "[voice_memo] max_attempts",
                Some(n.to_string()),
            );
        }
        Some((Err(_), _)) => skip(
            "MAX_RETRIES",
            "not a whole number: max_attempts keeps its default (5)".into(),
        ),
        None => {}
    }
    for (var, dir) in [("FAILED_DIR", "failed"), ("INVALID_DIR", "invalid")] {
        let Some(v) = get(var) else { continue };
        let own = here.astra_home.join(dir);
        if expand(&v) == own {
            map(
                var,
                &format!("$ASTRA_HOME/{dir} (the same folder)"),
                Some(own.display().to_string()),
            );
        } else {
            skip(
                var,
                format!(
                    "astra keeps these memos in {}; what is in {} stays there",
                    own.display(),
                    path_value(&v)
                ),
            );
        }
    }
    out.push('\n');

    // [transcription] / [organization]: Gemini when the original had its key.
    let gemini = get("GEMINI_API_KEY").is_some();
    if gemini {
        out.push_str("[transcription]\n");
        line(
            &mut out,
            "provider",
            &lit("gemini"),
            "as the original: Gemini transcribes",
        );
        line(
            &mut out,
            "api_key_env",
            &lit("GEMINI_API_KEY"),
            "read from [secrets] env_file",
        );
        map(
            "GEMINI_API_KEY",
            "[transcription] api_key_env (name only)",
            None,
        );
        match get("GARBAGE_CONFIDENCE_THRESHOLD").map(|v| (v.parse::<u32>(), v)) {
            Some((Ok(n), _)) if n <= 100 => {
                line(
                    &mut out,
                    "min_confidence",
                    &n.to_string(),
                    "GARBAGE_CONFIDENCE_THRESHOLD: below it a memo is discarded",
                );
                map(
                    "GARBAGE_CONFIDENCE_THRESHOLD",
                    "[transcription] min_confidence",
                    Some(n.to_string()),
                );
            }
            Some(_) => skip(
                "GARBAGE_CONFIDENCE_THRESHOLD",
                "not a number from 0 to 100: min_confidence keeps its default (30)".into(),
            ),
            None => {}
        }
        out.push('\n');
        out.push_str("[organization]\n");
        line(
            &mut out,
            "provider",
            &lit("gemini"),
            "as the original: Gemini sorts memos",
        );
        line(&mut out, "api_key_env", &lit("GEMINI_API_KEY"), "");
        map(
            "GEMINI_API_KEY",
            "[organization] api_key_env (name only)",
            None,
        );
        out.push('\n');
        out.push_str("[journal]\n");
        line(
            &mut out,
            "summary_provider",
            &lit("gemini"),
            "daily summaries by Gemini too ([organization]'s model and key)",
        );
        out.push('\n');
    } else if get("GARBAGE_CONFIDENCE_THRESHOLD").is_some() {
        skip(
            "GARBAGE_CONFIDENCE_THRESHOLD",
            "only used with Gemini transcription, and GEMINI_API_KEY is not set".into(),
        );
    }

    // [sync] / [sync.notion]
    let ids = [
        ("PARENT_PAGE_ID", "parent_page_id"),
        ("NOTION_TODO_DATABASE_ID", "todos_database_id"),
        ("NOTION_NOTES_DATABASE_ID", "notes_database_id"),
        ("NOTION_JOURNAL_DATABASE_ID", "journal_database_id"),
    ];
    let token = get("NOTION_API_KEY");
    let notion = token.is_some() || ids.iter().any(|(v, _)| get(v).is_some());
    if notion {
        out.push_str("[sync]\n");
        line(
            &mut out,
            "target",
            &lit("notion"),
            "the original's databases",
        );
        out.push_str("\n[sync.notion]\n");
        if token.is_some() {
            line(
                &mut out,
                "token_env",
                &lit("NOTION_API_KEY"),
                "the original's variable; its value stays in the .env",
            );
            map(
                "NOTION_API_KEY",
                "[sync.notion] token_env (name only)",
                None,
            );
        } else {
            line(
                &mut out,
                "token_env",
                &lit("NOTION_TOKEN"),
                "not in the .env: `astra secrets set NOTION_TOKEN`",
            );
            skip(
                "NOTION_API_KEY",
                "not set in the .env: store the integration's token with `astra secrets set NOTION_TOKEN`".into(),
            );
        }
        for (var, key) in ids {
            let Some(v) = get(var) else { continue };
            match crate::clients::notion::normalize_id(&v) {
                Some(id) => {
                    line(&mut out, key, &lit(&id), var);
                    map(var, &format!("[sync.notion] {key}"), Some(id));
                }
                None => skip(
                    var,
                    format!(
                        "{v:?} is not a Notion id: {key} left empty (`astra notion setup` finds or creates it)"
                    ),
                ),
            }
        }
        out.push('\n');
    }

    // [secrets]
    out.push_str("[secrets]\n");
    line(
        &mut out,
        "env_file",
        &lit(&env_path.display().to_string()),
        "the original's .env: keys by name, never copied",
    );
    out.push('\n');

    // [jobs.voiceMemo]
    out.push_str("[jobs.voiceMemo]\n");
    match get("VOICE_MEMO_JOB_ENABLED").map(|v| (truthy(&v), v)) {
        Some((Some(on), v)) => {
            line(
                &mut out,
                "enabled",
                &on.to_string(),
                &format!("VOICE_MEMO_JOB_ENABLED={v}"),
            );
            map(
                "VOICE_MEMO_JOB_ENABLED",
                "[jobs.voiceMemo] enabled",
                Some(on.to_string()),
            );
        }
        Some((None, _)) => skip(
            "VOICE_MEMO_JOB_ENABLED",
            "not true or false: the job stays enabled".into(),
        ),
        None => line(&mut out, "enabled", "true", ""),
    }
    let interval = get("VOICE_MEMO_JOB_INTERVAL_MINUTES");
    let minutes = match &interval {
        Some(v) => v.parse::<u32>().ok(),
        None => Some(ORIGINAL_INTERVAL_MINUTES),
    };
    match minutes.and_then(|n| every_minutes(n).map(|c| (n, c))) {
        Some((n, cron)) => {
            let mut why = if interval.is_some() {
                format!("VOICE_MEMO_JOB_INTERVAL_MINUTES={n}")
            } else {
                format!("every {n} minutes, as the original by default")
            };
            if n < 60 && 60 % n != 0 {
                why.push_str(" (cron starts over each hour)");
            }
            line(&mut out, "schedule", &lit(&cron), &why);
            if interval.is_some() {
                map(
                    "VOICE_MEMO_JOB_INTERVAL_MINUTES",
                    "[jobs.voiceMemo] schedule",
                    Some(cron),
                );
            }
        }
        None => {
            line(&mut out, "schedule", &lit("*/5 * * * *"), "");
            skip(
                "VOICE_MEMO_JOB_INTERVAL_MINUTES",
                format!(
                    "{:?} minutes is not an interval cron can repeat (1–59, or whole hours dividing a day): the schedule is every 5 minutes; edit [jobs.voiceMemo] schedule",
                    interval.unwrap_or_default()
                ),
            );
        }
    }

    if let Some(v) = get("LOG_FILE") {
        skip(
            "LOG_FILE",
            format!(
                "astra logs JSON lines to {}/logs/; {} is left as it is",
                here.astra_home.display(),
                path_value(&v)
            ),
        );
    }
    let state_file = match get("STATE_FILE") {
        Some(v) => expand(&v),
        None => here.user_home.join(".astra/state.json"),
    };
    for (name, _) in &vars {
        if !KNOWN.contains(&name.as_str()) {
            skip(
                name,
                "not one of the original's settings: astra can still read it by name from the env_file".into(),
            );
        }
    }
    Ok(Migration {
        config_text: out,
        mapped,
        not_mapped,
        notion,
        gemini,
        state_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the original writes it: its keys and settings, then the database ids it
    /// created appended, without a final newline.
    pub const ORIGINAL_ENV: &str = "GEMINI_API_KEY=AIzaSyFAKE-gemini-key\nNOTION_API_KEY=secret_FAKEnotionTOKEN\nPARENT_PAGE_ID=1f217cc1225f45808e22cd7eb8db3c5e\nVOICE_MEMO_JOB_ENABLED=true\nVOICE_MEMO_JOB_INTERVAL_MINUTES=10\nMAX_RETRIES=3\nGARBAGE_CONFIDENCE_THRESHOLD=40\nARCHIVE_DIR=./archive\nLOG_FILE=~/.astra/astra.log\nNOTION_TODO_DATABASE_ID=2a217cc1225f45808e22cd7eb8db3c5e\nNOTION_NOTES_DATABASE_ID=2b217cc1-225f-4580-8e22-cd7eb8db3c5e\nNOTION_JOURNAL_DATABASE_ID=2c217cc1225f45808e22cd7eb8db3c5e";

    fn migrate(text: &str) -> Migration {
        from_env(
            text,
            Path::new("/Users/me/astra/.env"),
            &Here {
                astra_home: Path::new("/Users/me/.astra"),
                user_home: Path::new("/Users/me"),
            },
        )
        .unwrap()
    }

    #[test]
    fn the_originals_env_becomes_a_config_with_gemini_and_notion() {
        let m = migrate(ORIGINAL_ENV);
        let t = &m.config_text;
        assert!(m.gemini && m.notion);
        for want in [
            "inbox = \"~/Library/Mobile Documents/com~apple~CloudDocs/Voice Memos\"",
            "archive_dir = \"/Users/me/astra/archive\"",
            "max_attempts = 3",
            "[transcription]\nprovider = \"gemini\"",
            "api_key_env = \"GEMINI_API_KEY\"",
            "min_confidence = 40",
            "[organization]\nprovider = \"gemini\"",
            "target = \"notion\"",
            "token_env = \"NOTION_API_KEY\"",
            "parent_page_id = \"1f217cc1-225f-4580-8e22-cd7eb8db3c5e\"",
            "todos_database_id = \"2a217cc1-225f-4580-8e22-cd7eb8db3c5e\"",
            "notes_database_id = \"2b217cc1-225f-4580-8e22-cd7eb8db3c5e\"",
            "journal_database_id = \"2c217cc1-225f-4580-8e22-cd7eb8db3c5e\"",
            "env_file = \"/Users/me/astra/.env\"",
            "enabled = true",
            "schedule = \"*/10 * * * *\"",
        ] {
            assert!(t.contains(want), "missing {want:?} in\n{t}");
        }
        assert!(!t.contains("FAKE"), "a key was copied:\n{t}");
        let not: Vec<&str> = m.not_mapped.iter().map(|n| n.variable.as_str()).collect();
        assert_eq!(not, ["LOG_FILE"]);
        assert_eq!(m.state_file, Path::new("/Users/me/.astra/state.json"));
        let report = serde_json::to_string(&m).unwrap();
        assert!(!report.contains("FAKE"), "{report}");
        let c = crate::config::Config::parse(t, Path::new("c")).unwrap();
        assert_eq!(
            c.transcription.provider,
            crate::config::TranscriptionProvider::Gemini
        );
        assert_eq!(
            c.journal.summary_provider,
            crate::config::SummaryProvider::Gemini
        );
        assert_eq!(c.transcription.min_confidence, 40);
    }

    #[test]
    fn without_gemini_the_config_loads_as_it_is() {
        let text = "NOTION_API_KEY=secret_x\nexport VOICE_MEMOS_DIR=\"/Volumes/memos\"\nVOICE_MEMO_JOB_ENABLED=false\nVOICE_MEMO_JOB_INTERVAL_MINUTES=120\nGARBAGE_CONFIDENCE_THRESHOLD=40\nFAILED_DIR=$HOME/.astra/failed\nARCHIVE_DIR=${HOME}/done\nINVALID_DIR=/tmp/bad\nSTATE_FILE=./state.json\nOTHER=1";
        let m = migrate(text);
        assert!(!m.gemini);
        let c = crate::config::Config::parse(&m.config_text, Path::new("c")).unwrap();
        assert_eq!(c.voice_memo.inbox, Path::new("/Volumes/memos"));
        assert_eq!(c.sync.target, crate::config::SyncTarget::Notion);
        assert_eq!(c.sync.notion.token_env, "NOTION_API_KEY");
        let job = c.job(&crate::jobs::VOICE_MEMO);
        assert!(!job.enabled);
        assert_eq!(job.schedule, "0 */2 * * *");
        assert_eq!(c.secrets.env_file, Path::new("/Users/me/astra/.env"));
        let not: Vec<&str> = m.not_mapped.iter().map(|n| n.variable.as_str()).collect();
        assert_eq!(
            not,
            ["INVALID_DIR", "GARBAGE_CONFIDENCE_THRESHOLD", "OTHER"]
        );
        assert!(m.mapped.iter().any(|x| x.variable == "FAILED_DIR"));
        assert_eq!(
            c.voice_memo.archive_dir,
            crate::paths::expand_tilde(Path::new("~/done"))
        );
        assert_eq!(m.state_file, Path::new("/Users/me/astra/state.json"));
    }

    #[test]
    fn an_env_with_nothing_set_keeps_the_originals_defaults() {
        let m = migrate("");
        assert!(!m.notion);
        let c = crate::config::Config::parse(&m.config_text, Path::new("c")).unwrap();
        assert!(
            c.voice_memo
                .inbox
                .ends_with("Library/Mobile Documents/com~apple~CloudDocs/Voice Memos")
        );
        assert_eq!(c.job(&crate::jobs::VOICE_MEMO).schedule, "*/5 * * * *");
        assert_eq!(c.sync.target, crate::config::SyncTarget::Markdown);
    }

    #[test]
    fn intervals_cron_can_repeat() {
        assert_eq!(every_minutes(1).as_deref(), Some("*/1 * * * *"));
        assert_eq!(every_minutes(59).as_deref(), Some("*/59 * * * *"));
        assert_eq!(every_minutes(60).as_deref(), Some("0 */1 * * *"));
        assert_eq!(every_minutes(1440).as_deref(), Some("0 0 * * *"));
        assert_eq!(every_minutes(90), None);
        assert_eq!(every_minutes(0), None);
        let m = migrate("VOICE_MEMO_JOB_INTERVAL_MINUTES=90");
        assert!(m.config_text.contains("schedule = \"*/5 * * * *\""));
        assert_eq!(m.not_mapped[0].variable, "VOICE_MEMO_JOB_INTERVAL_MINUTES");
    }
}
