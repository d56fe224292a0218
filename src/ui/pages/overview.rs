//! The overview: on one screen, whether the automation is healthy (each job's state),
//! what it did this week, and the memos that need attention.
use super::layout::{Section, View, badge};
use crate::run::result::{RunResult, RunStatus};
use crate::ui::memos::MemoRow;
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde_json::Value;

/// Whether every enabled job is fine: not overdue, last run not failed.
pub fn healthy(statuses: &[Value]) -> bool {
    statuses.iter().all(|s| {
        s["enabled"] != true
            || (s["overdue"] != true
                && !matches!(
                    s["last_status"].as_str(),
                    Some("failed" | "partial" | "interrupted")
                ))
    })
}

pub fn page(
    view: &View,
    statuses: &[Value],
    runs: &[RunResult],
    attention: &[MemoRow],
    now: DateTime<Utc>,
) -> Markup {
    let week: Vec<&RunResult> = runs
        .iter()
        .filter(|r| r.started_at > now - Duration::days(7))
        .collect();
    let count = |st: RunStatus| week.iter().filter(|r| r.status == st).count();
    let memos: u64 = week
        .iter()
        .filter(|r| r.job_name == crate::jobs::VOICE_MEMO.name)
        .map(|r| r.stats.processed)
        .sum();
    let audio: f64 = week
        .iter()
        .filter_map(|r| r.stats.audio_seconds)
        .sum::<f64>()
        / 60.0;
    let ok = healthy(statuses);
    super::layout::page(
        "Overview",
        Section::Overview,
        view,
        html! {
            p.notice.(if ok { "good" } else { "bad" }) role="status" {
                @if ok { "Healthy: every enabled job ran on time and its last run succeeded." }
                @else { "Needs attention: a job is overdue or its last run failed (details below)." }
            }
            div.cards { @for st in statuses { (super::jobs::card(view, st, "/")) } }
            h2 { "This week" }
            dl.facts {
                dt { "runs" } dd { (week.len()) " (" (count(RunStatus::Success)) " succeeded, " (count(RunStatus::Partial)) " partial, " (count(RunStatus::Failed)) " failed, " (count(RunStatus::Skipped)) " skipped)" }
                dt { "memos processed" } dd { (memos) }
                dt { "audio transcribed" } dd { (format!("{audio:.1} min")) }
            }
            (crate::ui::pages::history::charts(runs, 7, now))
            h2 { "Memos that need attention" }
            @if attention.is_empty() { p.muted { "None: no memo is failed, retrying or waiting." } }
            @else {
                ul { @for m in attention { li { a href=(super::memos::href(m)) { (m.title.as_deref().unwrap_or(&m.file)) } " " (badge(&m.status)) @if let Some(r) = &m.reason { " " span.muted { (r) } } } } }
            }
            p { a href="/history" { "All history" } " · " a href="/memos" { "All memos" } }
        },
    )
}
