//! Edits to `config.toml` that keep the user's comments and layout (toml_edit).
use crate::jobs::JobInfo;
use anyhow::{Context, Result};
use std::path::Path;
use toml_edit::{DocumentMut, Item, Table, value};

fn load(path: &Path) -> Result<DocumentMut> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    text.parse::<DocumentMut>()
        .map_err(|e| crate::exit::usage(format!("{}: {e}", path.display())))
}

fn save(path: &Path, doc: &DocumentMut) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsutil::create_private_dir(dir)?;
    }
    crate::fsutil::atomic_write(path, doc.to_string().as_bytes(), 0o600)
}

/// `[jobs.<name>]`, found by either spelling of the job's name and created (as
/// `[jobs.<name>]`) when missing.
fn job_table<'a>(
    doc: &'a mut DocumentMut,
    job: &JobInfo,
) -> Result<&'a mut dyn toml_edit::TableLike> {
    let jobs = doc.entry("jobs").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let jobs = jobs
        .as_table_mut()
        .context("`jobs` in config.toml is not a table")?;
    let key = if jobs.contains_key(job.program) {
        job.program
    } else {
        job.name
    };
    let table = jobs.entry(key).or_insert_with(|| Item::Table(Table::new()));
    table
        .as_table_like_mut()
        .with_context(|| format!("[jobs.{key}] in config.toml is not a table"))
}

/// Sets `key` in `table`, keeping the comment after the old value.
fn set_keeping_comment(table: &mut dyn toml_edit::TableLike, key: &str, new: toml_edit::Item) {
    match table.get_mut(key) {
        Some(item) => {
            let decor = item.as_value().map(|v| v.decor().clone());
            *item = new;
            if let (Some(d), Some(v)) = (decor, item.as_value_mut()) {
                *v.decor_mut() = d;
            }
        }
        None => {
            table.insert(key, new);
        }
    }
}

/// Sets `[jobs.<name>] enabled` (the table found or created by [`job_table`]).
/// Returns whether it changed.
pub fn set_job_enabled(path: &Path, job: &JobInfo, enabled: bool) -> Result<bool> {
    let mut doc = load(path)?;
    let table = job_table(&mut doc, job)?;
    let current = table
        .get("enabled")
        .and_then(|i| i.as_bool())
        .unwrap_or(true);
    if table.get("enabled").is_some() && current == enabled {
        return Ok(false);
    }
    if table.get("enabled").is_none() && enabled {
        return Ok(false);
    }
    set_keeping_comment(table, "enabled", value(enabled));
    save(path, &doc)?;
    Ok(true)
}

/// Sets `[jobs.<name>] schedule` (the table found or created as for `enabled`),
/// keeping the comment after the old value. Returns whether it changed.
pub fn set_job_schedule(path: &Path, job: &JobInfo, schedule: &str) -> Result<bool> {
    let mut doc = load(path)?;
    let table = job_table(&mut doc, job)?;
    let current = table
        .get("schedule")
        .and_then(|i| i.as_str())
        .unwrap_or(job.default_schedule);
    if current == schedule && (table.get("schedule").is_some() || schedule == job.default_schedule)
    {
        return Ok(false);
    }
    set_keeping_comment(table, "schedule", value(schedule));
    save(path, &doc)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_and_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        let text = "# my config\n[voice_memo]\nsettle_seconds = 3 # quick\n\n[jobs.voiceMemo]\nenabled = true   # on\nschedule = \"*/5 * * * *\" # five\n";
        std::fs::write(&p, text).unwrap();
        assert!(set_job_enabled(&p, &crate::jobs::VOICE_MEMO, false).unwrap());
        let out = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            out,
            text.replace("enabled = true   # on", "enabled = false   # on")
        );
        assert!(
            !set_job_enabled(&p, &crate::jobs::VOICE_MEMO, false).unwrap(),
            "already disabled"
        );
        assert!(set_job_enabled(&p, &crate::jobs::VOICE_MEMO, true).unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    }

    #[test]
    fn adds_a_table_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "# comment\n[voice_memo]\nconcurrency = 2\n").unwrap();
        assert!(set_job_enabled(&p, &crate::jobs::JOURNAL, false).unwrap());
        let out = std::fs::read_to_string(&p).unwrap();
        assert!(
            out.starts_with("# comment\n[voice_memo]\nconcurrency = 2\n"),
            "{out}"
        );
        assert!(
            out.contains("[jobs.journalProcessing]\nenabled = false\n"),
            "{out}"
        );
        let cfg = crate::config::Config::parse(&out, &p).unwrap();
        assert!(!cfg.job(&crate::jobs::JOURNAL).enabled);
    }

    #[test]
    fn a_schedule_is_replaced_in_place_with_its_comment() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        let text = "# mine\n[jobs.voice-memo]\nschedule = \"*/5 * * * *\" # five\nenabled = true\n";
        std::fs::write(&p, text).unwrap();
        assert!(set_job_schedule(&p, &crate::jobs::VOICE_MEMO, "*/10 * * * *").unwrap());
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            text.replace("*/5 * * * *", "*/10 * * * *")
        );
        assert!(!set_job_schedule(&p, &crate::jobs::VOICE_MEMO, "*/10 * * * *").unwrap());
        assert!(
            !set_job_schedule(&p, &crate::jobs::JOURNAL, "0 21 * * *").unwrap(),
            "the default"
        );
        assert!(set_job_schedule(&p, &crate::jobs::JOURNAL, "0 22 * * *").unwrap());
        let cfg = crate::config::Config::parse(&std::fs::read_to_string(&p).unwrap(), &p).unwrap();
        assert_eq!(cfg.job(&crate::jobs::JOURNAL).schedule, "0 22 * * *");
    }
}
