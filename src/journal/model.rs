//! What the journal job works on: a day's entries, its summary, its mood, and the two
//! seams a provider plugs into — [`Summarizer`] (extractive now) and [`JournalStore`].
use anyhow::Result;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// One `### <time>` section of a day: what voice-memo (or the user) wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The heading text, e.g. `1:54 PM`.
    pub heading: String,
    /// The entry's text, markers removed, trimmed.
    pub text: String,
}

/// A summary already on a day, as the store found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSummary {
    pub summary: String,
    pub mood: Option<Mood>,
    pub themes: Vec<String>,
}

/// One journal day as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub entries: Vec<Entry>,
    /// The `processed` flag (front matter or Notion checkbox).
    pub processed: bool,
    /// The summary on the day now, if any.
    pub stored: Option<StoredSummary>,
}

impl Day {
    /// The fingerprint of the day's entries (see [`fingerprint`]).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.entries)
    }
}

/// `sha256:<16 hex>` over the entries' headings and texts: what a summary was built
/// from. A new or edited entry changes it.
pub fn fingerprint(entries: &[Entry]) -> String {
    let mut h = Sha256::new();
    for e in entries {
        h.update(e.heading.trim().as_bytes());
        h.update(b"\n");
        h.update(e.text.trim().as_bytes());
        h.update(b"\0");
    }
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The organizer's mood labels, best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mood {
    Great,
    Good,
    Okay,
    Low,
    Bad,
}

impl Mood {
    /// Every label, best first.
    pub const ALL: [Mood; 5] = [Mood::Great, Mood::Good, Mood::Okay, Mood::Low, Mood::Bad];

    pub fn as_str(self) -> &'static str {
        match self {
            Mood::Great => "great",
            Mood::Good => "good",
            Mood::Okay => "okay",
            Mood::Low => "low",
            Mood::Bad => "bad",
        }
    }

    /// A label as written in front matter (case-insensitive); `None` for others.
    pub fn parse(s: &str) -> Option<Mood> {
        let s = s.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
        Mood::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// What a summarizer says about one day (the contract's `summary`, `mood`, `themes`,
/// `insights`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySummary {
    /// One to three sentences.
    pub summary: String,
    pub mood: Mood,
    /// Up to five short keywords or phrases, most salient first.
    pub themes: Vec<String>,
    /// Key insights, one sentence each.
    pub insights: Vec<String>,
    /// One honest line on how the summary was made, shown under it.
    pub attribution: String,
}

/// Summarises one day (`journal.summary_provider`).
pub trait Summarizer {
    /// The provider's name in config (`extractive`, `openai`).
    fn name(&self) -> &'static str;
    /// A summary of the day's entries; `day.entries` is never empty. A failure that
    /// may pass by itself carries a [`Transient`] in its chain.
    fn summarize(&self, day: &Day) -> Result<DaySummary>;
    /// The tokens remote models used so far (none for an offline summarizer).
    fn spent(&self) -> Option<crate::state::Tokens> {
        None
    }
}

/// A failure that may pass by itself (no connection, 5xx, 429): the day is left as it
/// is and the next run tries it again.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Transient(pub String);

/// Whether `e` (or anything in its chain) is [`Transient`].
pub fn is_transient(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Transient>())
}

/// Whether a write changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The target was changed.
    Changed,
    /// It already said exactly this: nothing was written.
    Unchanged,
}

/// One day's line in a weekly review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekDay {
    pub date: NaiveDate,
    /// One sentence.
    pub line: String,
    pub mood: Option<Mood>,
    pub themes: Vec<String>,
}

/// One week's review, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekReview {
    /// `2026-W03`.
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The days that have entries, oldest first.
    pub days: Vec<WeekDay>,
    /// The open TODOs when the review was written.
    pub todos: Vec<String>,
}

impl WeekReview {
    /// How many days had each mood, best mood first (moods no day had are left out).
    pub fn mood_counts(&self) -> Vec<(Mood, usize)> {
        Mood::ALL
            .into_iter()
            .map(|m| (m, self.days.iter().filter(|d| d.mood == Some(m)).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The themes of the week: on how many days each came up, most days first (ties
    /// in first-seen order), at most `max`.
    pub fn themes(&self, max: usize) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for t in self.days.iter().flat_map(|d| &d.themes) {
            match counts.iter_mut().find(|(name, _)| name == t) {
                Some((_, n)) => *n += 1,
                None => counts.push((t.clone(), 1)),
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts.truncate(max);
        counts
    }

    /// The moods as a reader sees them: `good ×3, okay ×1` (empty: no mood recorded).
    pub fn moods_line(&self) -> String {
        let moods: Vec<String> = self
            .mood_counts()
            .iter()
            .map(|(m, n)| format!("{} ×{n}", m.as_str()))
            .collect();
        if moods.is_empty() {
            "no mood recorded".to_string()
        } else {
            moods.join(", ")
        }
    }

    /// The themes as a reader sees them: `launch (3 days), walk` (empty: no themes).
    pub fn themes_line(&self, max: usize) -> String {
        let themes: Vec<String> = self
            .themes(max)
            .into_iter()
            .map(|(t, n)| if n > 1 { format!("{t} ({n} days)") } else { t })
            .collect();
        themes.join(", ")
    }
}

/// Where journal days live (`sync.target`): the Markdown vault or the Notion Journal database.
pub trait JournalStore {
    /// The target's name (`markdown`).
    fn name(&self) -> &'static str;
    /// Every day that has a journal (file or page), oldest first.
    fn list_days(&self) -> Result<Vec<NaiveDate>>;
    /// One day with its entries; `None` when it has no journal.
    fn load_day(&self, date: NaiveDate) -> Result<Option<Day>>;
    /// Whether a listed day may have changed since `since` (when its summary was
    /// written): `false` lets the run skip reading a day it summarised. Unprocessed
    /// days always count as changed.
    fn may_have_changed(&self, _date: NaiveDate, _since: chrono::DateTime<chrono::Utc>) -> bool {
        true
    }
    /// Puts `summary` at the top of the day (replacing an earlier one), sets `mood`,
    /// `themes` and `processed`. Fails when the day's entries no longer match
    /// `built_from` (a fingerprint), so a summary never describes other entries.
    fn write_summary(
        &self,
        date: NaiveDate,
        summary: &DaySummary,
        built_from: &str,
    ) -> Result<Written>;
    /// The open TODOs, one line each, as a person would read them.
    fn open_todos(&self) -> Result<Vec<String>>;
    /// Writes (or replaces) a week's review.
    fn write_week(&self, review: &WeekReview) -> Result<Written>;
    /// Where a day lives, for people and the run result (`Journal/2026-01-14.md`).
    fn day_location(&self, date: NaiveDate) -> String;
    /// Where a week's review lives (`Journal/2026-W03.md`).
    fn week_location(&self, label: &str) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(h: &str, t: &str) -> Entry {
        Entry {
            heading: h.into(),
            text: t.into(),
        }
    }

    #[test]
    fn fingerprint_changes_with_any_entry() {
        let a = fingerprint(&[e("1:00 PM", "Ran.")]);
        assert_eq!(a, fingerprint(&[e("1:00 PM", " Ran. ")]));
        assert_ne!(
            a,
            fingerprint(&[e("1:00 PM", "Ran."), e("2:00 PM", "Ate.")])
        );
        assert_ne!(a, fingerprint(&[e("1:01 PM", "Ran.")]));
        assert!(a.starts_with("sha256:") && a.len() == 23, "{a}");
    }

    #[test]
    fn moods_parse_case_insensitively() {
        assert_eq!(Mood::parse("Good"), Some(Mood::Good));
        assert_eq!(Mood::parse("\"low\""), Some(Mood::Low));
        assert_eq!(Mood::parse("sunny"), None);
    }
}
