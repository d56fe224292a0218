//! `--dry-run`: what a run would write, without writing. Local transcribers (Apple's
//! transcript, a sidecar, the configured command) and the rules organizer run, so the
//! preview shows the very todo, note and journal lines; a remote service is never
//! called — the preview says which call it would make instead.
use super::organize::{DEFAULT_CATEGORIES, Organization, OrganizeInput, Priority};
use super::transcribe::{self, Transcriber};
use super::watch::Candidate;
use crate::config::{Config, OrganizationProvider, TranscriptionProvider};
use crate::run::result::ItemResult;
use crate::state::Outputs;
use std::path::PathBuf;
use std::time::Duration;

/// One memo's preview: the lines it would write (as the run result's `outputs`), and
/// what it would ask of remote services or why it cannot go on (`error`).
pub fn preview(cfg: &Config, cache: PathBuf, c: &Candidate) -> ItemResult {
    let mut result = ItemResult {
        id: String::new(),
        file: c.name.clone(),
        status: "pending".into(),
        error: c.problem.clone(),
        outputs: Outputs::default(),
    };
    if c.problem.is_some() {
        return result;
    }
    let t = &cfg.transcription;
    let mut local: Vec<Box<dyn Transcriber>> = Vec::new();
    let command = || -> Box<dyn Transcriber> {
        Box::new(transcribe::command::CommandTranscriber::new(
            t.command.clone(),
            Duration::from_secs(t.command_timeout_seconds.max(1)),
            cache.clone(),
        ))
    };
    let remote = match t.provider {
        TranscriptionProvider::Apple => {
            local.push(Box::new(transcribe::apple::AppleTranscriber));
            false
        }
        TranscriptionProvider::Sidecar => {
            local.push(Box::new(transcribe::sidecar::SidecarTranscriber));
            false
        }
        TranscriptionProvider::Command => {
            local.push(command());
            false
        }
        TranscriptionProvider::Openai => true,
        TranscriptionProvider::Auto => {
            local.push(Box::new(transcribe::apple::AppleTranscriber));
            local.push(Box::new(transcribe::sidecar::SidecarTranscriber));
            if !t.command.is_empty() {
                local.push(command());
            }
            crate::secrets::get(&t.api_key_env).is_some()
        }
    };
    let ctx = transcribe::TranscribeCtx {
        display: &c.name,
        cache_dir: &cache,
    };
    let mut text = None;
    for p in &local {
        match p.transcribe(&c.path, &ctx) {
            Ok(Some(found)) => {
                text = Some(found);
                break;
            }
            Ok(None) => {}
            Err(e) => {
                result.error = Some(format!("would fail: {e}"));
                return result;
            }
        }
    }
    let Some(text) = text else {
        result.error = Some(if remote {
            format!(
                "would call {}/audio/transcriptions (model {}) to transcribe it, then organize it",
                t.base_url.trim_end_matches('/'),
                t.model
            )
        } else {
            "would wait: no transcriber can read it (see `astra memos show` after a run)".into()
        });
        return result;
    };
    if cfg.organization.provider == OrganizationProvider::Openai {
        result.error = Some(format!(
            "transcribed locally ({} words); would call {}/chat/completions (model {}) to organize it",
            text.split_whitespace().count(),
            cfg.organization.base_url.trim_end_matches('/'),
            cfg.organization.model
        ));
        return result;
    }
    let categories: Vec<String> = DEFAULT_CATEGORIES.iter().map(|c| c.to_string()).collect();
    let org = super::organize::rules::organize_rules(&OrganizeInput {
        transcript: &text,
        recorded_at: c.recorded_at,
        categories: &categories,
    });
    result.outputs = lines(&org, c);
    if org.discard {
        result.error = Some("would discard it: nothing to keep in the transcript".into());
    }
    result
}

/// The lines the run would write, as a person reads them in the vault.
fn lines(org: &Organization, c: &Candidate) -> Outputs {
    let todos = org
        .todos
        .iter()
        .map(|t| {
            let mut line = format!("- [ ] {}", t.title);
            if let Some(due) = t.due {
                line.push_str(&format!(" 📅 {due}"));
            }
            line.push_str(match t.priority {
                Priority::Asap => " ⏫",
                Priority::Soon => " 🔼",
                Priority::Eventually => " 🔽",
            });
            line
        })
        .collect();
    let notes = org
        .notes
        .iter()
        .map(|n| {
            format!(
                "Notes/{}.md ({}): {}",
                super::sync::markdown::file_title(&n.title),
                n.category,
                n.content.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    let journal = org
        .journal
        .iter()
        .map(|j| {
            format!(
                "Journal/{}.md, {}: {}",
                c.recorded_at.date_naive(),
                c.recorded_at.format("%-I:%M %p"),
                j.content.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    Outputs {
        todos,
        notes,
        journal,
    }
}

/// The preview as text for a person (stdout without `--json`).
pub fn print(items: &[ItemResult]) {
    for it in items {
        println!("{}", it.file);
        for (label, list) in [
            ("todo", &it.outputs.todos),
            ("note", &it.outputs.notes),
            ("journal", &it.outputs.journal),
        ] {
            for l in list {
                println!("  {label}: {l}");
            }
        }
        if let Some(e) = &it.error {
            println!("  {e}");
        }
    }
}
