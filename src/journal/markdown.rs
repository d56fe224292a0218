//! The Markdown journal store: `Journal/YYYY-MM-DD.md` in the vault, as voice-memo
//! writes it, and the weekly reviews `Journal/YYYY-Www.md`.
//!
//! A summary is one delimited block under the title (`<!-- astra:summary -->` …
//! `<!-- /astra:summary -->`), found and replaced on the next summary; `processed`,
//! `mood` and `themes` are front matter keys, updated in place. Every other line —
//! the user's keys, text and entries — is kept byte for byte. Writes are atomic.
use super::model::{
    Day, DaySummary, Entry, JournalStore, Mood, StoredSummary, WeekReview, Written, fingerprint,
};
use crate::fsutil;
use anyhow::{Context, Result, bail};
use chrono::{Datelike, NaiveDate};
use std::path::{Path, PathBuf};

const SUMMARY_START: &str = "<!-- astra:summary -->";
const SUMMARY_END: &str = "<!-- /astra:summary -->";
const WEEKLY_START: &str = "<!-- astra:weekly -->";
const WEEKLY_END: &str = "<!-- /astra:weekly -->";
/// At most this many open TODOs are listed in a weekly review.
const MAX_TODOS: usize = 20;

/// The journal in an Obsidian-compatible vault (`[sync.markdown] dir`).
#[derive(Debug, Clone)]
pub struct MarkdownStore {
    vault: PathBuf,
}

impl MarkdownStore {
    pub fn new(vault: PathBuf) -> MarkdownStore {
        MarkdownStore { vault }
    }

    fn journal_dir(&self) -> PathBuf {
        self.vault.join("Journal")
    }

    fn day_path(&self, date: NaiveDate) -> PathBuf {
        self.journal_dir().join(format!("{date}.md"))
    }
}

impl JournalStore for MarkdownStore {
    fn name(&self) -> &'static str {
        "markdown"
    }

    fn list_days(&self) -> Result<Vec<NaiveDate>> {
        let dir = self.journal_dir();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
        };
        let mut days: Vec<NaiveDate> = rd
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let stem = name.to_str()?.strip_suffix(".md")?;
                NaiveDate::parse_from_str(stem, "%Y-%m-%d").ok()
            })
            .collect();
        days.sort_unstable();
        Ok(days)
    }

    fn load_day(&self, date: NaiveDate) -> Result<Option<Day>> {
        let path = self.day_path(date);
        Ok(read_optional(&path)?.map(|text| parse_day(&text, date)))
    }

    fn write_summary(
        &self,
        date: NaiveDate,
        summary: &DaySummary,
        built_from: &str,
    ) -> Result<Written> {
        let path = self.day_path(date);
        let text = read_optional(&path)?.with_context(|| {
            format!(
                "{} disappeared before its summary was written",
                path.display()
            )
        })?;
        let now = fingerprint(&parse_day(&text, date).entries);
        if now != built_from {
            bail!(
                "{} changed while it was being summarised; the next run summarises it again",
                path.display()
            );
        }
        let updated = apply_summary(&text, date, summary)
            .with_context(|| format!("updating {}", path.display()))?;
        write_if_changed(&path, &text, &updated)
    }

    fn open_todos(&self) -> Result<Vec<String>> {
        let path = self.vault.join("Todos.md");
        Ok(read_optional(&path)?
            .map(|t| open_todos(&t))
            .unwrap_or_default())
    }

    fn write_week(&self, review: &WeekReview) -> Result<Written> {
        let dir = self.journal_dir();
        fsutil::create_dir(&dir)?;
        let path = dir.join(format!("{}.md", review.label));
        let text = read_optional(&path)?.unwrap_or_else(|| week_header(review));
        let block = week_block(review);
        let (front, body) = split_front_matter(&text);
        let body = place_block(body, &block, WEEKLY_START, WEEKLY_END)
            .with_context(|| format!("updating {}", path.display()))?;
        let updated = join_front_matter(front, &body);
        write_if_changed(&path, &text, &updated)
    }

    fn day_location(&self, date: NaiveDate) -> String {
        format!("Journal/{date}.md")
    }

    fn week_location(&self, label: &str) -> String {
        format!("Journal/{label}.md")
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes `new` unless it is byte for byte `old` (then the file is not touched).
fn write_if_changed(path: &Path, old: &str, new: &str) -> Result<Written> {
    if old == new {
        return Ok(Written::Unchanged);
    }
    fsutil::atomic_write(path, new.as_bytes(), 0o644)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Written::Changed)
}

// ---------------------------------------------------------------- reading a day

/// A day file: its front matter flags, its `### <time>` entries (the summary block is
/// not an entry) and the summary on it now.
pub fn parse_day(text: &str, date: NaiveDate) -> Day {
    let (front, body) = split_front_matter(text);
    let front = front.unwrap_or("");
    let processed = front_value(front, "processed")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes"));
    let (outside, inside) = cut_block(body, SUMMARY_START, SUMMARY_END);
    let stored = inside.and_then(|block| {
        Some(StoredSummary {
            summary: stored_paragraph(block)?,
            mood: front_value(front, "mood").and_then(|m| Mood::parse(&m)),
            themes: front_list(front, "themes"),
        })
    });
    Day {
        date,
        entries: parse_entries(&outside),
        processed,
        stored,
    }
}

/// The `### ` sections of `body` that have text; each runs to the next heading of
/// level 1 to 3. Marker comments are dropped from the text.
pub fn parse_entries(body: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    let flush = |cur: Option<(String, Vec<&str>)>, out: &mut Vec<Entry>| {
        if let Some((heading, lines)) = cur {
            let text = lines.join("\n").trim().to_string();
            if !text.is_empty() {
                out.push(Entry { heading, text });
            }
        }
    };
    for line in body.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            flush(current.take(), &mut entries);
            current = Some((h.trim().to_string(), Vec::new()));
        } else if line.starts_with("# ") || line.starts_with("## ") {
            flush(current.take(), &mut entries);
        } else if let Some((_, lines)) = current.as_mut()
            && !is_comment_line(line)
        {
            lines.push(line);
        }
    }
    flush(current, &mut entries);
    entries
}

/// A marker comment, or the link to the memo's transcript note: not entry text.
fn is_comment_line(line: &str) -> bool {
    let l = line.trim();
    (l.starts_with("<!--") && l.ends_with("-->"))
        || (l.starts_with("[[Transcripts/") && l.ends_with("|transcript]]"))
}

/// The first paragraph after the `## Summary` heading inside a summary block.
fn stored_paragraph(block: &str) -> Option<String> {
    let after = block.split_once("## Summary")?.1;
    let para: Vec<&str> = after
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .collect();
    (!para.is_empty()).then(|| para.join(" "))
}

/// `body` without the block between the markers, and the block's inside.
fn cut_block<'a>(body: &'a str, start: &str, end: &str) -> (String, Option<&'a str>) {
    match block_range(body, start, end) {
        Ok(Some((a, b))) => (format!("{}{}", &body[..a], &body[b..]), Some(&body[a..b])),
        _ => (body.to_string(), None),
    }
}

/// The byte range of the block from the start marker's line through the end
/// marker's line (with its newline). An unterminated block is an error.
fn block_range(body: &str, start: &str, end: &str) -> Result<Option<(usize, usize)>> {
    let Some(s) = find_line(body, start, 0) else {
        return Ok(None);
    };
    let Some(e) = find_line(body, end, s) else {
        bail!(
            "it has a `{start}` line without the `{end}` line that closes the summary; \
             restore that line or delete the unfinished block, and run again"
        );
    };
    let line_end = body[e..].find('\n').map_or(body.len(), |i| e + i + 1);
    Ok(Some((s, line_end)))
}

/// The offset of the first line at or after `from` whose trimmed text is `needle`.
fn find_line(body: &str, needle: &str, from: usize) -> Option<usize> {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if offset >= from && line.trim() == needle {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

// ---------------------------------------------------------------- front matter

/// The YAML front matter's inside (without the `---` lines) and the rest of the file.
pub fn split_front_matter(text: &str) -> (Option<&str>, &str) {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if matches!(line.trim_end(), "---" | "...") {
            return (Some(&rest[..offset]), &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    (None, text)
}

fn join_front_matter(front: Option<&str>, body: &str) -> String {
    match front {
        Some(f) => format!("---\n{f}---\n{body}"),
        None => body.to_string(),
    }
}

/// Whether `line` is the top-level `key:` line.
fn is_key_line(line: &str, key: &str) -> bool {
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

/// A line that belongs to the key above it (an indented line or a `- ` list item).
fn is_continuation(line: &str) -> bool {
    line.starts_with([' ', '\t']) || line.starts_with("- ") || line.trim_end() == "-"
}

/// The scalar value of a top-level key, unquoted.
fn front_value(front: &str, key: &str) -> Option<String> {
    let line = front.lines().find(|l| is_key_line(l, key))?;
    let v = line.split_once(':')?.1.trim();
    Some(v.trim_matches(['"', '\'']).to_string())
}

/// A list value, inline (`[a, b]`) or as `- ` items below the key.
fn front_list(front: &str, key: &str) -> Vec<String> {
    let lines: Vec<&str> = front.lines().collect();
    let Some(i) = lines.iter().position(|l| is_key_line(l, key)) else {
        return Vec::new();
    };
    let unquote = |s: &str| s.trim().trim_matches(['"', '\'']).to_string();
    let inline = lines[i].split_once(':').map_or("", |(_, v)| v.trim());
    if let Some(inner) = inline.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        return inner
            .split(',')
            .map(unquote)
            .filter(|s| !s.is_empty())
            .collect();
    }
    lines[i + 1..]
        .iter()
        .take_while(|l| is_continuation(l))
        .filter_map(|l| l.trim().strip_prefix('-').map(unquote))
        .filter(|s| !s.is_empty())
        .collect()
}

/// Sets `key` to `rendered` (complete lines, `key: …` first): the key's line and its
/// continuation lines are replaced where they are, or the key is added at the end.
pub fn set_front_key(front: &str, key: &str, rendered: &str) -> String {
    let mut out = String::new();
    let mut lines = front.split_inclusive('\n').peekable();
    let mut done = false;
    while let Some(line) = lines.next() {
        if done || !is_key_line(line, key) {
            out.push_str(line);
            continue;
        }
        while lines.peek().is_some_and(|l| is_continuation(l)) {
            lines.next();
        }
        out.push_str(rendered);
        done = true;
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(rendered);
    }
    out
}

/// A YAML scalar: plain when that is unambiguous, else double-quoted.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-')
        && !s.starts_with(['-', ' '])
        && !s.ends_with(' ')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
        )
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

fn yaml_list(key: &str, items: &[String]) -> String {
    if items.is_empty() {
        return format!("{key}: []\n");
    }
    let mut out = format!("{key}:\n");
    for i in items {
        out.push_str(&format!("  - {}\n", yaml_scalar(i)));
    }
    out
}

// ---------------------------------------------------------------- writing a day

/// The day's text with `summary` at the top (replacing an earlier one) and
/// `processed`, `mood`, `themes` set in the front matter.
pub fn apply_summary(text: &str, date: NaiveDate, summary: &DaySummary) -> Result<String> {
    let (front, body) = split_front_matter(text);
    let mut front = front.map_or_else(|| format!("date: {date}\n"), str::to_string);
    front = set_front_key(&front, "processed", "processed: true\n");
    front = set_front_key(
        &front,
        "mood",
        &format!("mood: {}\n", summary.mood.as_str()),
    );
    front = set_front_key(&front, "themes", &yaml_list("themes", &summary.themes));
    let body = place_block(body, &summary_block(summary), SUMMARY_START, SUMMARY_END)?;
    Ok(join_front_matter(Some(&front), &body))
}

/// The summary block, markers included.
pub fn summary_block(s: &DaySummary) -> String {
    let mut out = format!("{SUMMARY_START}\n## Summary\n\n{}\n", one_line(&s.summary));
    if !s.insights.is_empty() {
        out.push_str("\n**Key insights**\n");
        for i in &s.insights {
            out.push_str(&format!("- {}\n", one_line(i)));
        }
    }
    out.push_str(&format!(
        "\n_{}_\n{SUMMARY_END}\n",
        one_line(&s.attribution)
    ));
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces the block between `start` and `end` in `body`, or puts `block` under the
/// first `# ` title (at the top when there is none), with a blank line around it.
pub fn place_block(body: &str, block: &str, start: &str, end: &str) -> Result<String> {
    if let Some((a, b)) = block_range(body, start, end)? {
        return Ok(format!("{}{block}{}", &body[..a], &body[b..]));
    }
    let at = find_title_end(body);
    let (before, after) = body.split_at(at);
    let gap = if after.is_empty() || after.starts_with('\n') {
        ""
    } else {
        "\n"
    };
    let lead = if before.is_empty() || before.ends_with("\n\n") {
        ""
    } else if before.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    Ok(format!("{before}{lead}{block}{gap}{after}"))
}

/// The offset just after the first `# ` title line that comes before any entry;
/// 0 (the top of the body) when there is none.
fn find_title_end(body: &str) -> usize {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if line.starts_with("### ") || line.starts_with("## ") {
            break;
        }
        if line.starts_with("# ") {
            return offset + line.len();
        }
        offset += line.len();
    }
    0
}

// ---------------------------------------------------------------- todos and weeks

/// The unchecked `- [ ]` lines of `Todos.md`, without the checkbox and astra's block
/// ids (a copied block id would make Obsidian links ambiguous).
pub fn open_todos(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- [ ] "))
        .map(|t| {
            let t = t.trim_end();
            match t.rsplit_once(' ') {
                Some((rest, id)) if id.starts_with("^astra-") => rest.trim_end().to_string(),
                _ => t.to_string(),
            }
        })
        .filter(|t| !t.is_empty())
        .collect()
}

fn week_header(r: &WeekReview) -> String {
    let week = r
        .start
        .checked_add_days(chrono::Days::new(3))
        .unwrap_or(r.start)
        .iso_week();
    format!(
        "---\nweek: {}\nstart: {}\nend: {}\n---\n\n# Week {}, {}\n",
        r.label,
        r.start,
        r.end,
        week.week(),
        week.year()
    )
}

/// The review's block: one line per day, the moods, the themes and the open TODOs.
pub fn week_block(r: &WeekReview) -> String {
    let mut out = format!(
        "{WEEKLY_START}\n## {} – {}\n\n### Days\n",
        r.start.format("%A, %B %-d"),
        r.end.format("%A, %B %-d")
    );
    for d in &r.days {
        let mood = d
            .mood
            .map(|m| format!(" ({})", m.as_str()))
            .unwrap_or_default();
        out.push_str(&format!(
            "- [[{}|{}]]{mood}: {}\n",
            d.date,
            d.date.format("%a %-d"),
            one_line(&d.line)
        ));
    }
    out.push_str("\n### Moods\n");
    out.push_str(&format!("{}\n", r.moods_line()));
    let themes = r.themes_line(6);
    if !themes.is_empty() {
        out.push_str(&format!("\n### Themes\n{themes}\n"));
    }
    out.push_str("\n### Open TODOs\n");
    if r.todos.is_empty() {
        out.push_str("None.\n");
    }
    for t in r.todos.iter().take(MAX_TODOS) {
        out.push_str(&format!("- {}\n", one_line(t)));
    }
    if r.todos.len() > MAX_TODOS {
        out.push_str(&format!(
            "- … and {} more in [[Todos]]\n",
            r.todos.len() - MAX_TODOS
        ));
    }
    out.push_str(&format!("{WEEKLY_END}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day as voice-memo writes it, with a user's key and a line of their own.
    const DAY: &str = "---\ndate: 2026-01-14\nprocessed: false\ncover: beach.jpg\n---\n\n# January 14, 2026\n\nMy own note, not an entry.\n\n### 8:05 AM\n<!-- astra:aaaa:j0 -->\n\nWent for a run before work.\n\n### 1:54 PM\n<!-- astra:bbbb:j0 -->\n\nLunch with Sam.\nWe talked about the move.\n";

    fn summary(text: &str) -> DaySummary {
        DaySummary {
            summary: text.into(),
            mood: Mood::Good,
            themes: vec!["run".into(), "sam".into()],
            insights: vec!["I should run more.".into()],
            attribution: "Extractive summary.".into(),
        }
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 14).unwrap()
    }

    #[test]
    fn entries_are_the_time_sections() {
        let day = parse_day(DAY, date());
        assert!(!day.processed);
        assert_eq!(
            day.entries,
            [
                Entry {
                    heading: "8:05 AM".into(),
                    text: "Went for a run before work.".into()
                },
                Entry {
                    heading: "1:54 PM".into(),
                    text: "Lunch with Sam.\nWe talked about the move.".into()
                },
            ]
        );
        assert_eq!(day.stored, None);
    }

    #[test]
    fn the_summary_goes_under_the_title_and_keeps_everything_else() {
        let out = apply_summary(DAY, date(), &summary("A run and lunch.")).unwrap();
        assert_eq!(
            out,
            "---\ndate: 2026-01-14\nprocessed: true\ncover: beach.jpg\nmood: good\nthemes:\n  - run\n  - sam\n---\n\n# January 14, 2026\n\n<!-- astra:summary -->\n## Summary\n\nA run and lunch.\n\n**Key insights**\n- I should run more.\n\n_Extractive summary._\n<!-- /astra:summary -->\n\nMy own note, not an entry.\n\n### 8:05 AM\n<!-- astra:aaaa:j0 -->\n\nWent for a run before work.\n\n### 1:54 PM\n<!-- astra:bbbb:j0 -->\n\nLunch with Sam.\nWe talked about the move.\n"
        );
        let day = parse_day(&out, date());
        assert!(day.processed);
        assert_eq!(
            day.entries,
            parse_day(DAY, date()).entries,
            "the summary is not an entry"
        );
        let stored = day.stored.unwrap();
        assert_eq!(stored.summary, "A run and lunch.");
        assert_eq!(stored.mood, Some(Mood::Good));
        assert_eq!(stored.themes, ["run", "sam"]);
    }

    #[test]
    fn a_new_summary_replaces_the_old_one() {
        let once = apply_summary(DAY, date(), &summary("First.")).unwrap();
        let late = format!("{once}\n### 9:40 PM\n<!-- astra:cccc:j0 -->\n\nLate thought.\n")
            .replace("processed: true", "processed: false");
        let mut s = summary("Second.");
        s.themes = vec!["move".into()];
        s.mood = Mood::Low;
        let twice = apply_summary(&late, date(), &s).unwrap();
        assert_eq!(twice.matches(SUMMARY_START).count(), 1);
        assert_eq!(twice.matches("## Summary").count(), 1);
        assert!(
            twice.contains("\nSecond.\n") && !twice.contains("First."),
            "{twice}"
        );
        assert!(
            twice.contains("mood: low\nthemes:\n  - move\n---\n"),
            "{twice}"
        );
        assert_eq!(twice.matches("processed:").count(), 1);
        assert!(twice.ends_with("Late thought.\n"));
        assert_eq!(apply_summary(&twice, date(), &s).unwrap(), twice, "stable");
    }

    #[test]
    fn existing_keys_are_updated_in_place_whatever_their_style() {
        let front = "date: 2026-01-14\nthemes: [old, older]\nmood: \"bad\"\ntags:\n  - diary\nprocessed: false\n";
        let text = format!("---\n{front}---\n# T\n");
        let out = apply_summary(&text, date(), &summary("S.")).unwrap();
        assert!(
            out.starts_with("---\ndate: 2026-01-14\nthemes:\n  - run\n  - sam\nmood: good\ntags:\n  - diary\nprocessed: true\n---\n# T\n\n<!-- astra:summary -->"),
            "{out}"
        );
        let listed = set_front_key("themes:\n- a\n- b\nx: 1\n", "themes", "themes: []\n");
        assert_eq!(listed, "themes: []\nx: 1\n");
    }

    #[test]
    fn a_file_without_front_matter_or_title_gets_both_keys_and_block() {
        let out = apply_summary("### 9:00 AM\nHello.\n", date(), &summary("S.")).unwrap();
        assert!(
            out.starts_with("---\ndate: 2026-01-14\nprocessed: true\n"),
            "{out}"
        );
        assert!(
            out.contains("<!-- /astra:summary -->\n\n### 9:00 AM\nHello.\n"),
            "{out}"
        );
    }

    #[test]
    fn a_heading_without_text_is_not_an_entry() {
        let day = parse_day(
            "# T\n\n### 9:00 AM\n<!-- astra:x:j0 -->\n\n### 9:05 AM\nHi.\n",
            date(),
        );
        assert_eq!(day.entries.len(), 1);
        assert_eq!(day.entries[0].heading, "9:05 AM");
    }

    #[test]
    fn an_unterminated_block_is_refused_not_guessed() {
        let text = "---\nprocessed: false\n---\n# T\n<!-- astra:summary -->\n## Summary\n\n### 9:00 AM\nHi.\n";
        let e = apply_summary(text, date(), &summary("S.")).unwrap_err();
        assert!(
            format!("{e:#}").contains("<!-- /astra:summary -->"),
            "{e:#}"
        );
    }

    #[test]
    fn open_todos_are_the_unchecked_lines() {
        let t = "# Todos\n\n- [ ] Call the dentist 📅 2026-01-15 ⏫ ^astra-0123-t0\n- [x] Done thing ^astra-1-t1\n  - [ ] Nested one\n- [ ] Plain\n";
        assert_eq!(
            open_todos(t),
            ["Call the dentist 📅 2026-01-15 ⏫", "Nested one", "Plain"]
        );
    }

    #[test]
    fn a_week_block_lists_days_moods_and_todos() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 1, n).unwrap();
        let r = WeekReview {
            label: "2026-W03".into(),
            start: d(12),
            end: d(18),
            days: vec![super::super::model::WeekDay {
                date: d(14),
                line: "A run.".into(),
                mood: Some(Mood::Good),
                themes: vec!["run".into()],
            }],
            todos: vec!["Call mom".into()],
        };
        assert_eq!(
            week_block(&r),
            "<!-- astra:weekly -->\n## Monday, January 12 – Sunday, January 18\n\n### Days\n- [[2026-01-14|Wed 14]] (good): A run.\n\n### Moods\ngood ×1\n\n### Themes\nrun\n\n### Open TODOs\n- Call mom\n<!-- /astra:weekly -->\n"
        );
        assert!(week_header(&r).ends_with("---\n\n# Week 3, 2026\n"));
    }
}
