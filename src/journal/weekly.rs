//! The weekly review: on `journal.weekly_review_day`, `Journal/YYYY-Www.md` (a `Week YYYY-Www`
//! page in Notion) sums up the seven days ending that day: lines, moods, themes, open TODOs.
//!
//! The week reviewed is the one ending on the latest review day on or before today, so
//! a run after days asleep still writes it. Like a day, it is rewritten only when the
//! entries of its days changed (the fingerprint in state); the TODOs are as of then.
use super::model::{Day, Summarizer, WeekDay, WeekReview};
use anyhow::Result;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use sha2::{Digest, Sha256};

/// `weekly_review_day`: a weekday name (`sunday`, `Sun`), or empty for no review.
pub fn parse_weekday(s: &str) -> Result<Option<Weekday>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<Weekday>().map(Some).map_err(|_| {
        format!(
            "\"{s}\" is not a weekday; use monday … sunday, or \"\" to turn the weekly review off"
        )
    })
}

/// The seven days a review covers and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekSpan {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The ISO week of the span's middle day (`2026-W03`): for a Sunday review, the
    /// ISO week it closes.
    pub label: String,
}

impl WeekSpan {
    /// Every date of the span, oldest first.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.start.iter_days().take(7).collect()
    }
}

/// The week ending on the latest `review_day` on or before `today`.
pub fn due_week(today: NaiveDate, review_day: Weekday) -> WeekSpan {
    let back = (7 + today.weekday().num_days_from_monday() - review_day.num_days_from_monday()) % 7;
    let end = today - Days::new(u64::from(back));
    let start = end - Days::new(6);
    let mid = (start + Days::new(3)).iso_week();
    WeekSpan {
        start,
        end,
        label: format!("{}-W{:02}", mid.year(), mid.week()),
    }
}

/// What a review was built from: the span and each day's entry fingerprint.
pub fn fingerprint(span: &WeekSpan, days: &[Day]) -> String {
    let mut h = Sha256::new();
    h.update(span.label.as_bytes());
    for d in days {
        h.update(d.date.to_string().as_bytes());
        h.update(d.fingerprint().as_bytes());
    }
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The review of `days` (those of the span that have entries). A processed day's own
/// summary gives its line; other days (today's, say) are summarised for the review.
pub fn build(
    span: &WeekSpan,
    days: &[Day],
    summarizer: &dyn Summarizer,
    todos: Vec<String>,
) -> Result<WeekReview> {
    let mut lines = Vec::new();
    for day in days.iter().filter(|d| !d.entries.is_empty()) {
        lines.push(week_day(day, summarizer)?);
    }
    Ok(WeekReview {
        label: span.label.clone(),
        start: span.start,
        end: span.end,
        days: lines,
        todos,
    })
}

fn week_day(day: &Day, summarizer: &dyn Summarizer) -> Result<WeekDay> {
    if let Some(s) = day.stored.as_ref().filter(|_| day.processed) {
        return Ok(WeekDay {
            date: day.date,
            line: headline(&s.summary, &s.themes),
            mood: s.mood,
            themes: s.themes.clone(),
        });
    }
    let s = summarizer.summarize(day)?;
    Ok(WeekDay {
        date: day.date,
        line: headline(&s.summary, &s.themes),
        mood: Some(s.mood),
        themes: s.themes,
    })
}

/// The summary's sentence that names the most of the day's themes (the first on a
/// tie): one line that stands for the day.
fn headline(summary: &str, themes: &[String]) -> String {
    let sentences = super::extractive::split_sentences(summary);
    let named = |s: &String| {
        let lower = s.to_lowercase();
        themes
            .iter()
            .filter(|t| lower.contains(&t.to_lowercase()))
            .count()
    };
    let mut best: Option<(usize, &String)> = None;
    for s in &sentences {
        let n = named(s);
        if best.is_none_or(|(b, _)| n > b) {
            best = Some((n, s));
        }
    }
    best.map_or_else(|| summary.trim().to_string(), |(_, s)| s.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::extractive::Extractive;
    use crate::journal::model::{Entry, Mood, StoredSummary};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_due_week_ends_on_the_last_review_day() {
        // 2026-01-18 is a Sunday.
        let sunday = due_week(d("2026-01-18"), Weekday::Sun);
        assert_eq!(
            (sunday.start, sunday.end),
            (d("2026-01-12"), d("2026-01-18"))
        );
        assert_eq!(sunday.label, "2026-W03");
        let tuesday_after = due_week(d("2026-01-20"), Weekday::Sun);
        assert_eq!(tuesday_after, sunday, "a late run still reviews that week");
        let saturday_before = due_week(d("2026-01-17"), Weekday::Sun);
        assert_eq!(saturday_before.label, "2026-W02");
        let friday = due_week(d("2026-01-18"), Weekday::Fri);
        assert_eq!(
            (friday.start, friday.end),
            (d("2026-01-10"), d("2026-01-16"))
        );
        assert_eq!(friday.label, "2026-W03", "its middle day, Tuesday the 13th");
        assert_eq!(due_week(d("2027-01-03"), Weekday::Sun).label, "2026-W53");
    }

    #[test]
    fn the_headline_names_the_most_themes() {
        let themes = ["launch".to_string(), "payments team".to_string()];
        assert_eq!(
            headline(
                "Made coffee. The launch is on. The payments team signed off on the launch.",
                &themes
            ),
            "The payments team signed off on the launch."
        );
        assert_eq!(headline("One. Two.", &[]), "One.");
    }

    #[test]
    fn weekday_names_parse_and_empty_disables() {
        assert_eq!(parse_weekday("sunday"), Ok(Some(Weekday::Sun)));
        assert_eq!(parse_weekday("Mon"), Ok(Some(Weekday::Mon)));
        assert_eq!(parse_weekday(""), Ok(None));
        assert!(
            parse_weekday("someday")
                .unwrap_err()
                .contains("not a weekday")
        );
    }

    #[test]
    fn stored_summaries_are_used_and_the_rest_summarised() {
        let entry = |t: &str| Entry {
            heading: "9:00 AM".into(),
            text: t.into(),
        };
        let processed = Day {
            date: d("2026-01-13"),
            entries: vec![entry("Anything.")],
            processed: true,
            stored: Some(StoredSummary {
                summary: "Stored line one. Stored line two.".into(),
                mood: Some(Mood::Low),
                themes: vec!["garden".into()],
            }),
        };
        let fresh = Day {
            date: d("2026-01-18"),
            entries: vec![entry("What a wonderful, happy Sunday in the garden.")],
            processed: false,
            stored: None,
        };
        let span = due_week(d("2026-01-18"), Weekday::Sun);
        let r = build(&span, &[processed, fresh], &Extractive, vec![]).unwrap();
        assert_eq!(
            r.days[0].line, "Stored line one.",
            "no theme named: the first"
        );
        assert_eq!(r.days[0].mood, Some(Mood::Low));
        assert_eq!(
            r.days[1].line,
            "What a wonderful, happy Sunday in the garden."
        );
        assert_eq!(r.days[1].mood, Some(Mood::Great));
        assert_eq!(r.themes(5)[0], ("garden".to_string(), 2));
    }
}
