//! The `markdown` target: an Obsidian-compatible vault.
//!
//! `Todos.md` holds Obsidian Tasks lines, `Notes/` one file per note with front matter,
//! `Journal/YYYY-MM-DD.md` the day's entries under time headings. Each file is
//! rewritten atomically; each piece carries a marker with the memo id. The memo's
//! transcript is a note of its own under `Transcripts/` (written by the pipeline
//! before the sync, [`write_transcript_note`]) that every piece links to.
use super::SyncTarget;
use crate::fsutil;
use crate::state::Outputs;
use crate::voice_memo::error::ItemError;
use crate::voice_memo::organize::{JournalEntry, Note, Organization, Priority, Todo};
use crate::voice_memo::{Memo, one_line};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, NaiveDate};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct MarkdownTarget {
    dir: PathBuf,
    /// Memos are synced concurrently; files they share are edited one at a time.
    write_lock: Mutex<()>,
}

impl MarkdownTarget {
    pub fn new(dir: PathBuf) -> Self {
        MarkdownTarget {
            dir,
            write_lock: Mutex::new(()),
        }
    }

    /// `[[Transcripts/…|transcript]]` when the memo's transcript note is in the vault.
    fn transcript_link(&self, memo: &Memo, org: &Organization) -> Option<String> {
        let rel = transcript_note(memo, org);
        self.dir
            .join(format!("{rel}.md"))
            .exists()
            .then(|| format!("[[{rel}|transcript]]"))
    }

    fn todos(&self, memo: &Memo, todos: &[Todo], link: Option<&str>) -> Result<Vec<String>> {
        if todos.is_empty() {
            return Ok(Vec::new());
        }
        let path = self.dir.join("Todos.md");
        let mut text = read_or(&path, "# Todos\n\n")?;
        let mut outputs = Vec::new();
        let mut changed = false;
        for (i, todo) in todos.iter().enumerate() {
            let marker = format!("^astra-{}-t{i}", memo.id);
            if !contains_marker(&text, &marker) {
                ensure_newline(&mut text);
                text.push_str(&todo_line(todo, &marker, link));
                changed = true;
            }
            outputs.push(format!("Todos.md#{}", &marker[1..]));
        }
        if changed {
            write(&path, &text)?;
        }
        Ok(outputs)
    }

    fn note(&self, memo: &Memo, index: usize, note: &Note, link: Option<&str>) -> Result<String> {
        let dir = self.dir.join("Notes");
        fsutil::create_dir(&dir)?;
        let marker = format!("{}-n{index}", memo.id);
        let base = file_title(&note.title);
        for n in 0..1000 {
            let name = if n == 0 {
                format!("{base}.md")
            } else {
                format!("{base} ({n}).md")
            };
            let path = dir.join(&name);
            match std::fs::read_to_string(&path) {
                Ok(existing) if existing.contains(&format!("\nastra_id: {marker}\n")) => {
                    return Ok(format!("Notes/{name}"));
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    write(&path, &note_file(memo, note, &marker, link))?;
                    return Ok(format!("Notes/{name}"));
                }
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            }
        }
        anyhow::bail!("no free file name for note {base:?} in {}", dir.display())
    }

    fn journal(
        &self,
        memo: &Memo,
        entries: &[JournalEntry],
        link: Option<&str>,
    ) -> Result<Vec<String>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.dir.join("Journal");
        fsutil::create_dir(&dir)?;
        let day = memo.recorded_at.date_naive();
        let name = format!("{day}.md");
        let path = dir.join(&name);
        let mut text = read_or(&path, &journal_header(day))?;
        let mut changed = false;
        let mut outputs = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let id = format!("<!-- astra:{}:j{i}", memo.id);
            // Older files carry the marker without the recording time.
            if !text.contains(&format!("{id} -->")) && !text.contains(&format!("{id} at ")) {
                let at = memo.recorded_at.to_rfc3339();
                let marker = format!("{id} at {at} -->");
                let time = memo.recorded_at.format("%-I:%M %p");
                let heading = match &memo.title {
                    Some(title) => format!("{time} · {}", one_line(title)),
                    None => time.to_string(),
                };
                let mut section = format!("### {heading}\n{marker}\n\n{}\n", entry.content.trim());
                if let Some(l) = link {
                    section.push_str(&format!("\n{l}\n"));
                }
                insert_in_order(&mut text, &section, memo.recorded_at);
                changed = true;
            }
            outputs.push(format!(
                "Journal/{name}#{}",
                memo.recorded_at.format("%-I:%M %p")
            ));
        }
        if changed {
            // A new entry on a summarised day: the journal job summarises it again.
            text = text.replacen("\nprocessed: true\n", "\nprocessed: false\n", 1);
            write(&path, &text)?;
        }
        Ok(outputs)
    }
}

impl SyncTarget for MarkdownTarget {
    fn name(&self) -> &'static str {
        "markdown"
    }

    /// Local files find their own markers, so `previous` and `progress` are not needed.
    fn sync(
        &self,
        memo: &Memo,
        org: &Organization,
        _previous: &Outputs,
        _progress: &mut super::Progress<'_>,
    ) -> Result<Outputs, ItemError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let write_all = || -> Result<Outputs> {
            fsutil::create_dir(&self.dir)?;
            let link = self.transcript_link(memo, org);
            let link = link.as_deref();
            let todos = self.todos(memo, &org.todos, link)?;
            let notes = org
                .notes
                .iter()
                .enumerate()
                .map(|(i, n)| self.note(memo, i, n, link))
                .collect::<Result<_>>()?;
            let journal = self.journal(memo, &org.journal, link)?;
            Ok(Outputs {
                todos,
                notes,
                journal,
            })
        };
        write_all().map_err(|e| {
            ItemError::transient(format!("{}: writing to the vault: {e:#}", memo.name))
        })
    }
}

fn read_or(path: &Path, default: &str) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(default.to_string()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    fsutil::atomic_write(path, text.as_bytes(), 0o644)
}

fn ensure_newline(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

/// A block id at the end of a line (`^astra-…`), as Obsidian and Tasks read them.
fn contains_marker(text: &str, marker: &str) -> bool {
    text.lines().any(|l| l.trim_end().ends_with(marker))
}

/// `- [ ] Call the dentist 📅 2025-01-07 ⏫ ^astra-…` (Obsidian Tasks format).
fn todo_line(todo: &Todo, marker: &str, link: Option<&str>) -> String {
    let mut line = format!("- [ ] {}", one_line(&todo.title));
    if let Some(due) = todo.due {
        line.push_str(&format!(" 📅 {due}"));
    }
    line.push_str(match todo.priority {
        Priority::Asap => " ⏫",
        Priority::Soon => " 🔼",
        Priority::Eventually => " 🔽",
    });
    line.push_str(&format!(" {marker}\n"));
    // The transcript link on a line of its own under the task: Obsidian Tasks reads
    // the due date and priority only at the end of the task's line.
    if let Some(l) = link {
        line.push_str(&format!("    - {l}\n"));
    }
    line
}

/// A YAML double-quoted scalar.
fn yaml_str(s: &str) -> String {
    serde_json::to_string(&one_line(s)).unwrap_or_else(|_| "\"\"".into())
}

fn note_file(memo: &Memo, note: &Note, marker: &str, link: Option<&str>) -> String {
    let tags: Vec<String> = note.tags.iter().map(|t| yaml_str(t)).collect();
    let footer = link.map(|l| format!("\n{l}\n")).unwrap_or_default();
    let body = format!(
        "---\ntitle: {}\nsource: {}\nrecorded_at: {}\ncategory: {}\ntags: [{}]\nastra_id: {marker}\n---\n\n# {}\n\n{}\n",
        yaml_str(&note.title),
        yaml_str(&memo.source()),
        memo.recorded_at.to_rfc3339(),
        yaml_str(&note.category),
        tags.join(", "),
        one_line(&note.title),
        note.content.trim()
    );
    body + &footer
}

/// The vault path (no `.md`) of the memo's transcript note: `Transcripts/<recorded>
/// <title> (<id>)`, stable for a memo (its organization is cached).
pub fn transcript_note(memo: &Memo, org: &Organization) -> String {
    let title = if org.title.trim().is_empty() {
        "Memo".to_string()
    } else {
        file_title(&org.title)
    };
    format!(
        "Transcripts/{} {title} ({})",
        memo.recorded_at.format("%Y-%m-%d %H%M"),
        memo.id
    )
}

/// Writes the memo's transcript note under `dir` (once: an existing one is kept) and
/// returns its vault path with `.md`.
pub fn write_transcript_note(
    dir: &Path,
    memo: &Memo,
    org: &Organization,
    transcript: &str,
    provider: &str,
) -> Result<String> {
    let rel = format!("{}.md", transcript_note(memo, org));
    let path = dir.join(&rel);
    if path.exists() {
        return Ok(rel);
    }
    fsutil::create_dir(&dir.join("Transcripts"))?;
    let text = format!(
        "---\ntitle: {}\nsource: {}\nrecorded_at: {}\ntranscribed_by: {}\nastra_id: {}-transcript\n---\n\n# {}\n\n{}\n",
        yaml_str(if org.title.trim().is_empty() {
            "Memo"
        } else {
            &org.title
        }),
        yaml_str(&memo.source()),
        memo.recorded_at.to_rfc3339(),
        yaml_str(provider),
        memo.id,
        one_line(if org.title.trim().is_empty() {
            &memo.name
        } else {
            &org.title
        }),
        transcript.trim()
    );
    write(&path, &text)?;
    Ok(rel)
}

/// When a `### ` entry was recorded: the `at` of its marker, else its heading's time
/// on the file's day (in the new entry's offset); None for a section of the user's.
fn entry_time(
    heading: &str,
    next_line: &str,
    like: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    if let Some(at) = next_line
        .trim()
        .strip_prefix("<!-- astra:")
        .and_then(|r| r.split_once(" at "))
        .and_then(|(_, r)| r.strip_suffix("-->"))
    {
        return DateTime::parse_from_rfc3339(at.trim()).ok();
    }
    let t = chrono::NaiveTime::parse_from_str(heading.trim(), "%I:%M %p").ok()?;
    like.date_naive()
        .and_time(t)
        .and_local_timezone(*like.offset())
        .single()
}

/// Puts `section` (an entry, from its `### ` line) before the first entry recorded
/// later, so the day reads in recording order whatever order the memos finish in
/// (several workers; a late memo synced the next day); at the end when none is.
fn insert_in_order(text: &mut String, section: &str, at: DateTime<FixedOffset>) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut offset = 0;
    let mut place = None;
    for (n, line) in lines.iter().enumerate() {
        if let Some(h) = line.strip_prefix("### ") {
            let next = lines.get(n + 1).copied().unwrap_or("");
            // Only a later time goes after: the same memo's entries keep their order.
            if entry_time(h, next, at).is_some_and(|t| t > at) {
                place = Some(offset);
                break;
            }
        }
        offset += line.len();
    }
    match place {
        Some(p) => text.insert_str(p, &format!("{section}\n")),
        None => {
            ensure_newline(text);
            text.push('\n');
            text.push_str(section);
        }
    }
}

fn journal_header(day: NaiveDate) -> String {
    format!(
        "---\ndate: {day}\nprocessed: false\n---\n\n# {}\n",
        day.format("%B %-d, %Y")
    )
}

/// A note title made safe as a file name on macOS, Linux and in Obsidian links.
pub fn file_title(title: &str) -> String {
    let cleaned: String = one_line(title)
        .chars()
        .map(|c| {
            if "/\\:*?\"<>|#^[]".contains(c) || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    let cleaned = one_line(&cleaned);
    let cleaned = cleaned.trim_start_matches('.').trim();
    let mut out: String = cleaned.chars().take(80).collect();
    out = out.trim().to_string();
    if out.is_empty() {
        "Untitled note".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn memo() -> Memo {
        Memo {
            name: "20260114 135431-AB12.m4a".into(),
            path: PathBuf::from("/in/20260114 135431-AB12.m4a"),
            id: "0123456789ab".into(),
            recorded_at: DateTime::parse_from_rfc3339("2026-01-14T13:54:31+01:00").unwrap(),
            transcript: String::new(),
            title: None,
        }
    }

    fn org() -> Organization {
        Organization {
            title: "Dentist".into(),
            summary: String::new(),
            discard: false,
            todos: vec![
                Todo {
                    title: "Call the dentist".into(),
                    description: String::new(),
                    priority: Priority::Asap,
                    due: NaiveDate::from_ymd_opt(2026, 1, 14),
                },
                Todo {
                    title: "Buy milk".into(),
                    description: String::new(),
                    priority: Priority::Eventually,
                    due: None,
                },
            ],
            notes: vec![Note {
                title: "Q3 plan: ideas/next".into(),
                content: "Ship it.".into(),
                category: "project idea".into(),
                tags: vec!["work".into()],
            }],
            journal: vec![JournalEntry {
                content: "Felt good today.".into(),
                mood: Some("good".into()),
            }],
        }
    }

    #[test]
    fn journal_entries_land_in_recording_order() {
        let dir = tempfile::tempdir().unwrap();
        let t = MarkdownTarget::new(dir.path().to_path_buf());
        let at = |hhmm: &str, id: &str| Memo {
            name: format!("{id}.m4a"),
            path: PathBuf::from(format!("/in/{id}.m4a")),
            id: id.into(),
            recorded_at: DateTime::parse_from_rfc3339(&format!("2026-01-14T{hhmm}:00+01:00"))
                .unwrap(),
            transcript: String::new(),
            title: None,
        };
        let mut o = org();
        o.todos.clear();
        o.notes.clear();
        // Workers finish in any order; a late memo (11:00) is synced last, next day.
        for (hhmm, id) in [
            ("14:00", "a"),
            ("16:00", "b"),
            ("15:00", "c"),
            ("11:00", "d"),
        ] {
            t.sync(&at(hhmm, id), &o, &Outputs::default(), &mut |_| Ok(()))
                .unwrap();
        }
        // An entry written before recording times were kept, by its heading.
        let path = dir.path().join("Journal/2026-01-14.md");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\n### 11:30 PM\n<!-- astra:old:j0 -->\n\nOld style.\n");
        std::fs::write(&path, text).unwrap();
        t.sync(&at("18:00", "e"), &o, &Outputs::default(), &mut |_| Ok(()))
            .unwrap();
        let journal = std::fs::read_to_string(&path).unwrap();
        let headings: Vec<&str> = journal.lines().filter(|l| l.starts_with("### ")).collect();
        assert_eq!(
            headings,
            [
                "### 11:00 AM",
                "### 2:00 PM",
                "### 3:00 PM",
                "### 4:00 PM",
                "### 6:00 PM",
                "### 11:30 PM"
            ],
            "{journal}"
        );
        let entries = crate::journal::markdown::parse_entries(&journal);
        assert_eq!(entries.len(), 6);
        assert!(
            entries
                .iter()
                .all(|e| e.text == "Felt good today." || e.text == "Old style.")
        );
        // Synced again: nothing written twice.
        t.sync(&at("15:00", "c"), &o, &Outputs::default(), &mut |_| Ok(()))
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), journal);
    }

    #[test]
    fn writes_every_piece_once() {
        let dir = tempfile::tempdir().unwrap();
        let t = MarkdownTarget::new(dir.path().to_path_buf());
        let first = t
            .sync(&memo(), &org(), &Outputs::default(), &mut |_| Ok(()))
            .unwrap();
        let snapshot = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
        let todos = snapshot("Todos.md");
        assert!(
            todos.contains("- [ ] Call the dentist 📅 2026-01-14 ⏫ ^astra-0123456789ab-t0\n"),
            "{todos}"
        );
        assert!(
            todos.contains("- [ ] Buy milk 🔽 ^astra-0123456789ab-t1\n"),
            "{todos}"
        );
        let note = snapshot("Notes/Q3 plan ideas next.md");
        assert!(
            note.contains("source: \"20260114 135431-AB12.m4a\"\n"),
            "{note}"
        );
        assert!(
            note.contains("category: \"project idea\"\ntags: [\"work\"]\n"),
            "{note}"
        );
        let journal = snapshot("Journal/2026-01-14.md");
        assert!(
            journal.starts_with(
                "---\ndate: 2026-01-14\nprocessed: false\n---\n\n# January 14, 2026\n"
            ),
            "{journal}"
        );
        assert!(
            journal.contains("### 1:54 PM\n<!-- astra:0123456789ab:j0 at 2026-01-14T13:54:31+01:00 -->\n\nFelt good today.\n"),
            "{journal}"
        );
        let second = t
            .sync(&memo(), &org(), &Outputs::default(), &mut |_| Ok(()))
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(snapshot("Todos.md"), todos);
        assert_eq!(snapshot("Journal/2026-01-14.md"), journal);
        assert_eq!(
            std::fs::read_dir(dir.path().join("Notes")).unwrap().count(),
            1
        );
    }

    #[test]
    fn a_note_title_taken_by_another_memo_gets_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = MarkdownTarget::new(dir.path().to_path_buf());
        t.sync(&memo(), &org(), &Outputs::default(), &mut |_| Ok(()))
            .unwrap();
        let other = Memo {
            id: "ffffffffffff".into(),
            ..memo()
        };
        let out = t
            .sync(&other, &org(), &Outputs::default(), &mut |_| Ok(()))
            .unwrap();
        assert_eq!(out.notes, ["Notes/Q3 plan ideas next (1).md"]);
        let journal = std::fs::read_to_string(dir.path().join("Journal/2026-01-14.md")).unwrap();
        assert_eq!(journal.matches("### 1:54 PM").count(), 2);
    }

    #[test]
    fn a_new_entry_reopens_a_processed_day() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Journal")).unwrap();
        std::fs::write(
            dir.path().join("Journal/2026-01-14.md"),
            "---\ndate: 2026-01-14\nprocessed: true\n---\n",
        )
        .unwrap();
        MarkdownTarget::new(dir.path().to_path_buf())
            .sync(&memo(), &org(), &Outputs::default(), &mut |_| Ok(()))
            .unwrap();
        let journal = std::fs::read_to_string(dir.path().join("Journal/2026-01-14.md")).unwrap();
        assert!(journal.contains("processed: false"));
    }

    #[test]
    fn titles_become_safe_file_names() {
        assert_eq!(file_title("a/b: c?"), "a b c");
        assert_eq!(file_title("..hidden"), "hidden");
        assert_eq!(file_title("  "), "Untitled note");
        assert_eq!(file_title("line\nbreak"), "line break");
    }
}
