//! The History pages: charts of the last days (runs by status, duration p50/p95,
//! memos, audio minutes, tokens), the run list with stage timings, and one run with its
//! log lines.
use super::layout::{Section, View, badge, millis, time};
use crate::jobs::{self, JobInfo};
use crate::run::result::RunResult;
use crate::ui::charts::{self, Series};
use crate::ui::daily::{self, STATUSES};
use crate::ui::logs::LogLine;
use chrono::{DateTime, Utc};
use maud::{Markup, html};

/// What the list shows.
#[derive(Debug, Clone)]
pub struct Filter {
    pub job: Option<&'static JobInfo>,
    pub status: Option<String>,
    pub days: usize,
    pub limit: usize,
}

fn program(r: &RunResult) -> &str {
    jobs::find(&r.job_name)
        .map(|j| j.program)
        .unwrap_or(r.job_name.as_str())
}

/// Each stage's time as text, with a bar of its share (an SVG: no inline styles).
fn stages(r: &RunResult) -> Markup {
    let total: u64 = r.stages.0.iter().map(|(_, t)| t.ms).sum();
    let classes = [
        "s-a",
        "s-b",
        "s-success",
        "s-partial",
        "s-interrupted",
        "s-skipped",
    ];
    let mut x = 0.0;
    let bars: Vec<(f64, f64)> = r
        .stages
        .0
        .iter()
        .map(|(_, t)| {
            let w = 100.0 * t.ms as f64 / total.max(1) as f64;
            x += w;
            (x - w, w)
        })
        .collect();
    html! {
        @if total > 0 {
            svg.stages xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 6" width="100" height="6" role="img" aria-label="each stage's share of the run" {
                @for (i, (x, w)) in bars.iter().enumerate() {
                    rect class=(classes[i % classes.len()]) x=(format!("{x:.1}")) y="0" width=(format!("{w:.1}")) height="6" {}
                }
            }
            br;
        }
        span.muted {
            @for (i, (s, t)) in r.stages.0.iter().enumerate() {
                @if i > 0 { " · " }
                (s) " " (millis(t.ms))
            }
        }
    }
}

/// The runs as a table, newest first as given.
pub fn run_table(runs: &[RunResult]) -> Markup {
    html! {
        div.table-wrap {
            table.responsive {
                thead { tr {
                    th scope="col" { "started" } th scope="col" { "job" } th scope="col" { "status" }
                    th.num scope="col" { "duration" } th.num scope="col" { "found / done / failed" } th scope="col" { "stages" } th scope="col" { "message" }
                } }
                tbody {
                    @for r in runs {
                        tr {
                            td data-label="started" { a href=(format!("/history/{}", r.run_id)) { (time(&r.started_at)) } }
                            td data-label="job" { (program(r)) }
                            td data-label="status" { (badge(r.status.as_str())) }
                            td.num data-label="duration" { (millis(r.duration_ms)) }
                            td.num data-label="found / done / failed" { (r.stats.found) " / " (r.stats.processed) " / " (r.stats.failed) }
                            td data-label="stages" { (stages(r)) }
                            td data-label="message" { (r.message) }
                        }
                    }
                }
            }
        }
    }
}

/// The charts over `days` days.
pub fn charts(runs: &[RunResult], days: usize, now: DateTime<Utc>) -> Markup {
    let zone = crate::schedule::local_zone();
    let d = daily::days(runs, days, now, &zone);
    let labels: Vec<String> = d
        .iter()
        .map(|x| {
            x.date
                .map(|d| d.format("%m-%d").to_string())
                .unwrap_or_default()
        })
        .collect();
    let by_status: Vec<Series> = STATUSES
        .iter()
        .enumerate()
        .filter(|(k, _)| d.iter().any(|x| x.runs[*k] > 0) || *k < 3)
        .map(|(k, s)| Series {
            label: s.as_str().to_string(),
            class: s.as_str().to_string(),
            values: d.iter().map(|x| x.runs[k] as f64).collect(),
        })
        .collect();
    let secs = |v: Option<u64>| v.unwrap_or(0) as f64 / 1000.0;
    let one = |label: &str, class: &str, values: Vec<f64>| {
        vec![Series {
            label: label.into(),
            class: class.into(),
            values,
        }]
    };
    html! {
        div.charts {
            (charts::stacked_bars("chart-runs", "Runs per day by status", "runs", &labels, &by_status))
            (charts::lines("chart-duration", "Run duration", "seconds", &labels, &[
                Series { label: "p50".into(), class: "a".into(), values: d.iter().map(|x| secs(x.p50_ms)).collect() },
                Series { label: "p95".into(), class: "b".into(), values: d.iter().map(|x| secs(x.p95_ms)).collect() },
            ]))
            (charts::stacked_bars("chart-memos", "Memos per day", "memos", &labels, &one("memos", "success", d.iter().map(|x| x.memos as f64).collect())))
            (charts::stacked_bars("chart-audio", "Audio transcribed per day", "minutes", &labels, &one("audio minutes", "a", d.iter().map(|x| (x.audio_minutes * 10.0).round() / 10.0).collect())))
            (charts::stacked_bars("chart-tokens", "Tokens per day", "tokens", &labels, &one("tokens", "b", d.iter().map(|x| x.tokens as f64).collect())))
        }
    }
}

/// The History page: filters, charts, the run list.
pub fn page(view: &View, all: &[RunResult], f: &Filter, now: DateTime<Utc>) -> Markup {
    let shown: Vec<RunResult> = all
        .iter()
        .rev()
        .filter(|r| f.status.as_deref().is_none_or(|s| r.status.as_str() == s))
        .take(f.limit)
        .cloned()
        .collect();
    super::layout::page(
        "History",
        Section::History,
        view,
        html! {
            form.filters method="get" action="/history" {
                div { label for="f-job" { "Job" }
                    select #f-job name="job" {
                        option value="" { "every job" }
                        @for j in jobs::JOBS { option value=(j.program) selected[f.job.is_some_and(|x| x.name == j.name)] { (j.program) } }
                    }
                }
                div { label for="f-status" { "Status" }
                    select #f-status name="status" {
                        option value="" { "any status" }
                        @for s in STATUSES { option value=(s.as_str()) selected[f.status.as_deref() == Some(s.as_str())] { (s.as_str()) } }
                    }
                }
                div { label for="f-days" { "Days charted" }
                    select #f-days name="days" {
                        @for n in [7usize, 14, 30, 90] { option value=(n) selected[f.days == n] { (n) } }
                    }
                }
                div { button type="submit" { "Show" } }
            }
            h2 { "The last " (f.days) " days" }
            (charts(all, f.days, now))
            h2 { "Runs" }
            @if shown.is_empty() { p.muted { "No runs yet. Runs appear here as the scheduler (or " code { "astra jobs run" } ") starts them." } }
            @else { (run_table(&shown)) }
        },
    )
}

/// One run: its result and its log lines.
pub fn run(view: &View, r: &RunResult, lines: &[LogLine]) -> Markup {
    let title = format!("Run of {}", program(r));
    super::layout::page(
        &title,
        Section::History,
        view,
        html! {
            dl.facts {
                dt { "status" } dd { (badge(r.status.as_str())) " " (r.message) }
                dt { "run id" } dd { code { (r.run_id) } }
                dt { "started" } dd { (time(&r.started_at)) }
                dt { "finished" } dd { (time(&r.finished_at)) }
                dt { "duration" } dd { (millis(r.duration_ms)) }
                dt { "found / done / failed / skipped" } dd { (r.stats.found) " / " (r.stats.processed) " / " (r.stats.failed) " / " (r.stats.skipped) }
                @if let Some(a) = r.stats.audio_seconds { dt { "audio" } dd { (format!("{:.1} min", a / 60.0)) } }
                @if let Some(t) = r.stats.tokens { dt { "tokens" } dd { (t.prompt) " prompt + " (t.completion) " completion" } }
                dt { "stages" } dd { (stages(r)) }
            }
            h2 { "Log lines" }
            @if lines.is_empty() { p.muted { "No log lines for this run (logs older than [logs] keep_days are pruned; a dry run writes none)." } }
            @else {
                div.table-wrap {
                    table.log {
                        thead { tr { th scope="col" { "time" } th scope="col" { "level" } th scope="col" { "message" } } }
                        tbody {
                            @for l in lines {
                                tr {
                                    td { (l.timestamp.get(11..23).unwrap_or(&l.timestamp)) }
                                    td { (l.level) }
                                    td { (l.message) @for (k, v) in &l.fields { " " span.muted { (k) "=" } (v) } }
                                }
                            }
                        }
                    }
                }
            }
            p { a href="/history" { "All runs" } }
        },
    )
}
