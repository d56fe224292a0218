//! The Jobs pages: each job's schedule in English, next runs, last status, overdue;
//! enable/disable, run now, the schedule editor with its preview; a launch's result;
//! what installing the schedules did.
use super::layout::{Section, View, badge, millis, notice, page, time};
use crate::jobs::JobInfo;
use crate::run::result::RunResult;
use crate::schedule::install::{Backend, Report};
use crate::ui::launch::{Launch, Outcome};
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{Markup, html};
use serde_json::Value;

/// A cron expression explained: what `astra schedule explain` says about it.
#[derive(Debug, Clone)]
pub struct Explained {
    pub expr: String,
    pub description: Option<String>,
    pub next_runs: Vec<String>,
    pub zone: String,
    pub error: Option<String>,
}

impl Explained {
    pub fn of(expr: &str) -> Explained {
        let zone = crate::schedule::local_zone();
        match crate::schedule::CronSchedule::parse(expr.trim()) {
            Ok(c) => Explained {
                expr: expr.to_string(),
                description: Some(c.describe()),
                next_runs: c
                    .next_n(&Utc::now().with_timezone(&zone), 5)
                    .iter()
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .collect(),
                zone: zone.name().to_string(),
                error: None,
            },
            Err(e) => Explained {
                expr: expr.to_string(),
                description: None,
                next_runs: Vec::new(),
                zone: zone.name().to_string(),
                error: Some(format!("{e:#}")),
            },
        }
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn when(v: &Value, k: &str) -> Markup {
    match s(v, k).and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        Some(t) => time(&t.with_timezone(&Utc)),
        None => html! { span.muted { "never" } },
    }
}

/// An RFC 3339 time in its own offset, readable: `Tue 1 Dec 22:15 (+01:00)`.
pub fn readable(t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.format("%a %-d %b %Y %H:%M (%:z)").to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn local_time(t: &str) -> Markup {
    html! { time datetime=(t) { (readable(t)) } }
}

/// Why an action's note says what it says.
fn notice_for(key: Option<&str>, view: &View) -> Markup {
    let install = html! {
        " The installed scheduler (cron, launchd or systemd) keeps what it had until the schedules are installed again, as "
        code { "astra schedule install" } " does: "
        form.inline method="post" action="/schedule/install" {
            (view.csrf_field())
            button.primary type="submit" { "Install the schedules" }
        }
    };
    match key {
        Some("enabled") => notice(
            "good",
            html! { "Enabled in config.toml (its comments are kept)." (install) },
        ),
        Some("disabled") => notice(
            "good",
            html! { "Disabled in config.toml (its comments are kept): its runs now end as " code { "disabled" } "." (install) },
        ),
        Some("schedule-saved") => notice(
            "good",
            html! { "Schedule saved to config.toml (its comments are kept)." (install) },
        ),
        Some("unchanged") => notice(
            "",
            html! { "Nothing changed: config.toml already said so." },
        ),
        _ => html! {},
    }
}

/// One job as a card: what it does, when it runs, how it last went, its buttons.
pub fn card(view: &View, st: &Value, back: &str) -> Markup {
    let program = s(st, "program").unwrap_or("");
    let enabled = st["enabled"] == true;
    let overdue = st["overdue"] == true;
    html! {
        article.card aria-labelledby=(format!("job-{program}")) {
            h2 #(format!("job-{program}")) { a href=(format!("/jobs/{program}")) { (program) } }
            p.muted { (s(st, "description").unwrap_or("")) }
            dl.facts {
                dt { "schedule" }
                dd { (s(st, "schedule_human").unwrap_or("(not a valid expression)")) " " code { (s(st, "schedule").unwrap_or("")) } }
                dt { "state" }
                dd {
                    @if enabled { (badge("enabled")) } @else { (badge("disabled")) }
                    @if overdue { " " (badge("overdue")) " " span.warn { "no scheduler started it when it was due: install the schedules" } }
                }
                dt { "last run" }
                dd { (when(st, "last_run")) @if let Some(ls) = s(st, "last_status") { " " (badge(ls)) } }
                @if let Some(e) = s(st, "last_error") { dt { "last error" } dd.error { (e) } }
                dt { "next runs" }
                dd {
                    @if !enabled { span.muted { "none while disabled" } }
                    @else {
                        ul.next-runs {
                            @for t in st["next_runs"].as_array().into_iter().flatten().take(3) {
                                li { (local_time(t.as_str().unwrap_or(""))) }
                            }
                        }
                    }
                }
                dt { "runs" }
                dd { (st["run_count"].as_u64().unwrap_or(0)) }
            }
            div.actions {
                form.inline method="post" action=(format!("/jobs/{program}/run")) {
                    (view.csrf_field())
                    button.primary type="submit" { "Run " (program) " now" }
                }
                @if enabled {
                    form.inline method="post" action=(format!("/jobs/{program}/disable")) {
                        (view.csrf_field())
                        input type="hidden" name="back" value=(back);
                        button type="submit" data-action="disable" { "Disable " (program) }
                    }
                } @else {
                    form.inline method="post" action=(format!("/jobs/{program}/enable")) {
                        (view.csrf_field())
                        input type="hidden" name="back" value=(back);
                        button type="submit" data-action="enable" { "Enable " (program) }
                    }
                }
                a.button href=(format!("/jobs/{program}#schedule")) { "Edit the schedule" }
            }
        }
    }
}

pub fn list(view: &View, statuses: &[Value], launches: &[Launch], notice: Option<&str>) -> Markup {
    page(
        "Jobs",
        Section::Jobs,
        view,
        html! {
            (notice_for(notice, view))
            div.cards { @for st in statuses { (card(view, st, "/jobs")) } }
            @if !launches.is_empty() {
                h2 { "Started from this dashboard" }
                ul { @for l in launches { li { a href=(format!("/launches/{}", l.id)) { (l.job.program) " at " (time(&l.started_at)) } " " (outcome_badge(&l.outcome)) } } }
            }
        },
    )
}

fn preview_block(p: Option<&Explained>) -> Markup {
    html! {
        div #schedule-preview aria-live="polite" {
            @if let Some(p) = p {
                @if let Some(e) = &p.error { p.error { (e) } }
                @if let Some(d) = &p.description {
                    p { (d) " (" (p.zone) ")" }
                    ul.next-runs { @for t in &p.next_runs { li { (local_time(t)) } } }
                }
            }
        }
    }
}

/// One job: the card, the schedule editor, its recent runs.
pub fn detail(
    view: &View,
    job: &JobInfo,
    st: &Value,
    runs: &[RunResult],
    notice: Option<&str>,
    preview: Option<&Explained>,
    error: Option<&str>,
) -> Markup {
    let current = preview
        .map(|p| p.expr.clone())
        .unwrap_or_else(|| s(st, "schedule").unwrap_or("").to_string());
    page(
        job.program,
        Section::Jobs,
        view,
        html! {
            (notice_for(notice, view))
            @if let Some(e) = error { (super::layout::notice("bad", html! { "Not saved: " (e) })) }
            (card(view, st, &format!("/jobs/{}", job.program)))
            section #schedule aria-labelledby="schedule-h" {
                h2 #schedule-h { "Schedule" }
                form method="post" action=(format!("/jobs/{}/schedule", job.program)) {
                    (view.csrf_field())
                    label for="schedule-expr" { "Cron expression (5 fields, 6 with seconds first, or @daily…)" }
                    input #schedule-expr.wide type="text" name="schedule" value=(current) data-explain="1" autocomplete="off" spellcheck="false" aria-describedby="schedule-preview";
                    div.actions {
                        button type="submit" formmethod="get" formaction=(format!("/jobs/{}", job.program)) data-preview="1" { "Preview" }
                        button.primary type="submit" { "Save to config.toml" }
                    }
                }
                (preview_block(preview))
                p.muted { "Saving writes " code { "[jobs." (job.name) "] schedule" } " in config.toml, keeping its comments, as " code { "astra jobs" } " does; then install the schedules so the scheduler uses it." }
            }
            @if !runs.is_empty() {
                section aria-labelledby="runs-h" {
                    h2 #runs-h { "Recent runs" }
                    (super::history::run_table(runs))
                    p { a href=(format!("/history?job={}", job.program)) { "All of " (job.program) "'s runs" } }
                }
            }
        },
    )
}

fn outcome_badge(o: &Outcome) -> Markup {
    match o {
        Outcome::Running => badge("running"),
        Outcome::NotStarted(_) => badge("failed"),
        Outcome::Done {
            result: Some(r), ..
        } => badge(r.status.as_str()),
        Outcome::Done { .. } => badge("failed"),
    }
}

/// A launch: running (the page refreshes itself, no script needed) or its result.
pub fn launch(view: &View, l: &Launch) -> Markup {
    let running = matches!(l.outcome, Outcome::Running);
    let title = format!("Run of {}", l.job.program);
    let body = html! {
        @if running {
            // Refreshed by the browser until the run ends.
            meta http-equiv="refresh" content="1";
            p role="status" { (badge("running")) " " (l.job.program) " started at " (time(&l.started_at)) ". This page refreshes until it ends." }
        }
        @match &l.outcome {
            Outcome::Running => {},
            Outcome::NotStarted(e) => { (notice("bad", html! { (e) })) },
            Outcome::Done { result, code, stderr_tail } => {
                @match result {
                    Some(r) => {
                        p role="status" { (badge(r.status.as_str())) " " (r.message) }
                        @if r.status == crate::run::result::RunStatus::Skipped {
                            (notice("warn", html! { "Skipped: another run of " (l.job.program) " holds its lock (the scheduler is running it right now). Nothing was done; try again when it has finished." }))
                        }
                        dl.facts {
                            dt { "exit code" } dd { (code.map(|c| c.to_string()).unwrap_or_else(|| "killed by a signal".into())) }
                            dt { "duration" } dd { (millis(r.duration_ms)) }
                            dt { "found / done / failed" } dd { (r.stats.found) " / " (r.stats.processed) " / " (r.stats.failed) }
                            dt { "run id" } dd { a href=(format!("/history/{}", r.run_id)) { (r.run_id) } }
                        }
                    }
                    None => {
                        (notice("bad", html! { (l.job.program) " ended without a result (exit code " (code.map(|c| c.to_string()).unwrap_or_else(|| "none".into())) ")." }))
                    }
                }
                @if !stderr_tail.is_empty() {
                    details { summary { "What it printed" } pre.log { (stderr_tail) } }
                }
            }
        }
        p { a href="/jobs" { "Back to the jobs" } }
    };
    let mut markup = page(&title, Section::Jobs, view, body).into_string();
    if running {
        // The refresh belongs in the head; move it there.
        let tag = r#"<meta http-equiv="refresh" content="1">"#;
        markup = markup
            .replacen(tag, "", 1)
            .replacen("</head>", &format!("{tag}</head>"), 1);
    }
    maud::PreEscaped(markup)
}

/// What installing the schedules did (or why it could not).
pub fn installed(
    view: &View,
    backend: Backend,
    outcome: Result<(Vec<crate::schedule::Entry>, Report), String>,
) -> Markup {
    page(
        "Install the schedules",
        Section::Jobs,
        view,
        html! {
            @match outcome {
                Ok((entries, report)) => {
                    (notice("good", html! { (backend.name()) ": installed, as " code { "astra schedule install" } " does." }))
                    ul {
                        @for e in &entries { li { (e.program) ": " code { (e.schedule.expr()) } " (" (e.schedule.describe()) ")" } }
                        @for w in &report.written { li { "wrote " (w) } }
                        @for r in &report.removed { li { "removed " (r) } }
                    }
                    @if report.written.is_empty() && report.removed.is_empty() { p { "Nothing to change: the scheduler already had these." } }
                }
                Err(e) => { (notice("bad", html! { "Not installed: " (e) })) }
            }
            p { a href="/jobs" { "Back to the jobs" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The job card as rendered: what it says and which forms it carries.
    #[test]
    fn a_job_card_snapshot() {
        let st = serde_json::json!({
            "name": "voiceMemo", "program": "voice-memo",
            "description": "Voice memos into TODOs, notes and journal entries",
            "schedule": "*/5 * * * *", "schedule_human": "Every 5 minutes",
            "enabled": true, "overdue": true,
            "last_run": "2026-01-14T09:00:00Z", "last_status": "failed",
            "last_error": "1 memo failed: a.wav <bad>",
            "next_runs": ["2026-01-14T10:05:00+01:00", "2026-01-14T10:10:00+01:00"],
            "run_count": 12,
        });
        let view = View {
            csrf: "CSRF".into(),
        };
        let html = card(&view, &st, "/jobs").into_string();
        let pretty = html.replace("><", ">\n<");
        insta::assert_snapshot!(pretty);
    }
}
