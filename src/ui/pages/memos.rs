//! The Memos pages: the list with status filters and search; one memo with its
//! transcript (and timestamps), organization, outputs, attempts, and retry.
use super::layout::{Section, View, badge, notice, page, time};
use crate::ui::memos::{Hit, MemoDetail, MemoRow, STATUSES};
use maud::{Markup, html};

/// What the list shows: memos, or search hits.
pub enum Listing {
    Rows(Vec<MemoRow>),
    Hits(Vec<Hit>),
}

pub fn href(row: &MemoRow) -> String {
    format!(
        "/memos/{}",
        serde_urlencoded::to_string([("", &row.id)])
            .map(|x| x.trim_start_matches('=').to_string())
            .unwrap_or_default()
    )
}

fn row_cells(r: &MemoRow) -> Markup {
    html! {
        td data-label="memo" { a href=(href(r)) { (r.title.as_deref().unwrap_or(&r.file)) } @if r.title.is_some() { br; span.muted { (r.file) } } }
        td data-label="recorded" { (r.recorded_at.as_deref().unwrap_or("—")) }
        td data-label="status" { (badge(&r.status)) }
        td.num data-label="attempts" { (r.attempts) }
        td data-label="next attempt" { @if let Some(t) = &r.next_attempt_at { (time(t)) } @else { "—" } }
        td data-label="reason" { (r.reason.as_deref().unwrap_or("")) }
    }
}

fn head(extra: &str) -> Markup {
    html! {
        thead { tr {
            th scope="col" { "memo" } th scope="col" { "recorded" } th scope="col" { "status" }
            th.num scope="col" { "attempts" } th scope="col" { "next attempt" } th scope="col" { "reason" }
            @if !extra.is_empty() { th scope="col" { (extra) } }
        } }
    }
}

/// The list page.
pub fn list(
    view: &View,
    listing: &Listing,
    status: Option<&str>,
    q: Option<&str>,
    note: Option<(&str, usize)>,
    source: &str,
) -> Markup {
    page(
        "Memos",
        Section::Memos,
        view,
        html! {
            @match note {
                Some(("queued", n)) => { (notice("good", html! { (n) " memo(s) queued: the next voice-memo run processes them (as " code { "astra memos retry" } " does)." })) },
                _ => {},
            }
            form.filters method="get" action="/memos" role="search" {
                div { label for="m-q" { "Search transcripts, titles and outputs" }
                    input #m-q type="search" name="q" value=(q.unwrap_or("")); }
                div { label for="m-status" { "Status" }
                    select #m-status name="status" {
                        option value="" { "any status" }
                        @for s in STATUSES { option value=(s) selected[status == Some(*s)] { (s) } }
                    }
                }
                div { button type="submit" { "Show" } }
            }
            nav aria-label="Status filters" {
                ul.legend {
                    li { a href="/memos" { "all" } }
                    @for s in STATUSES { li { a href=(format!("/memos?status={s}")) aria-current=[(status == Some(*s)).then_some("true")] { (s) } } }
                }
            }
            @if let Some(s) = status.filter(|s| *s != "completed") {
                form.inline method="post" action="/memos/retry" {
                    (view.csrf_field())
                    input type="hidden" name="status" value=(s);
                    button type="submit" { "Retry every " (s) " memo" }
                }
            }
            @match listing {
                Listing::Rows(rows) => {
                    @if rows.is_empty() { p.muted { "No memos here yet." } }
                    @else {
                        div.table-wrap { table.responsive {
                            (head(""))
                            tbody { @for r in rows { tr { (row_cells(r)) } } }
                        } }
                    }
                },
                Listing::Hits(hits) => {
                    p { (hits.len()) " found, best first." }
                    @if !hits.is_empty() {
                        div.table-wrap { table.responsive {
                            (head("where"))
                            tbody { @for h in hits { tr { (row_cells(&h.row)) td data-label="where" { (h.snippet) } } } }
                        } }
                    }
                },
            }
            p.muted { "From " (source) "." }
        },
    )
}

fn clock(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Where an output is: a Notion page is a link; a piece in the vault (`Todos.md#…`,
/// `Notes/x.md`) is its full path, with a link that opens it in Obsidian.
fn link(kind: &str, location: &str, vault: Option<&std::path::Path>) -> Markup {
    if location.starts_with("https://") || location.starts_with("http://") {
        return html! { a href=(location) rel="noreferrer noopener" target="_blank" { (location) } };
    }
    let file = location.split('#').next().unwrap_or(location);
    match vault.filter(|_| !std::path::Path::new(file).is_absolute() && kind != "audio") {
        Some(v) => {
            let abs = v.join(file);
            let href = format!(
                "obsidian://open?{}",
                serde_urlencoded::to_string([("path", abs.display().to_string())])
                    .unwrap_or_default()
            );
            html! { code { (abs.display()) } " " a href=(href) { "open in Obsidian" } }
        }
        None => html! { code { (location) } },
    }
}

/// One memo.
pub fn detail(
    view: &View,
    m: &MemoDetail,
    note: Option<&str>,
    vault: Option<&std::path::Path>,
) -> Markup {
    let r = &m.row;
    let title = r.title.clone().unwrap_or_else(|| r.file.clone());
    let runs = m.attempts.iter().any(|a| a.run_id.is_some());
    page(
        &title,
        Section::Memos,
        view,
        html! {
            @match note {
                Some("queued") => { (notice("good", html! { "Queued: the next voice-memo run processes it again." })) },
                Some("not-queued") => { (notice("warn", html! { "Not queued: a completed memo is not processed again." })) },
                _ => {},
            }
            dl.facts {
                dt { "file" } dd { code { (r.file) } }
                dt { "id" } dd { code { (r.id) } }
                dt { "recorded" } dd { (r.recorded_at.as_deref().unwrap_or("—")) }
                dt { "status" } dd { (badge(&r.status)) @if let Some(x) = &r.reason { " " span { (x) } } }
                dt { "attempts" } dd { (r.attempts) }
                @if let Some(t) = &r.next_attempt_at { dt { "next attempt" } dd { (time(t)) } }
                @if let Some(a) = m.audio_seconds { dt { "length" } dd { (clock(a)) } }
            }
            @if r.status != "completed" {
                form method="post" action=(format!("{}/retry", href(r))) {
                    (view.csrf_field())
                    button.primary type="submit" data-action="retry" { "Retry this memo" }
                }
            }
            section aria-labelledby="t-h" {
                h2 #t-h { "Transcript" }
                @if !m.segments.is_empty() {
                    ol.segments {
                        @for s in &m.segments { li { span.ts { (clock(s.start)) } span { (s.text) } } }
                    }
                } @else if let Some(t) = &m.transcript {
                    div.transcript { (t) }
                } @else { p.muted { "No transcript yet." } }
            }
            @if let Some(o) = &m.organization {
                section aria-labelledby="o-h" {
                    h2 #o-h { "Organization" }
                    @if let Some(s) = o["summary"].as_str() { p { (s) } }
                    @for (key, label) in [("todos", "TODOs"), ("notes", "Notes"), ("journal", "Journal")] {
                        @if let Some(list) = o[key].as_array().filter(|l| !l.is_empty()) {
                            h3 { (label) }
                            ul {
                                @for it in list {
                                    li {
                                        (it["title"].as_str().or(it["content"].as_str()).unwrap_or(""))
                                        @for extra in ["priority", "due", "category", "mood"] {
                                            @if let Some(v) = it[extra].as_str() { " " span.badge.neutral { (extra) ": " (v) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    details { summary { "The organization as JSON" } pre.log { (serde_json::to_string_pretty(o).unwrap_or_default()) } }
                }
            }
            section aria-labelledby="out-h" {
                h2 #out-h { "Outputs" }
                @if m.outputs.is_empty() { p.muted { "Nothing written yet." } }
                @else { ul { @for o in &m.outputs { li { (o.kind) ": " (link(&o.kind, &o.location, vault)) } } } }
            }
            section aria-labelledby="a-h" {
                h2 #a-h { "Attempts" }
                @if m.attempts.is_empty() { p.muted { "None yet." } }
                @else {
                    div.table-wrap { table.responsive {
                        thead { tr { th scope="col" { "when" } @if runs { th scope="col" { "run" } } th scope="col" { "stage" } th scope="col" { "outcome" } th scope="col" { "error" } } }
                        tbody { @for a in &m.attempts { tr {
                            td data-label="when" { @if let Some(t) = &a.at { (time(t)) } @else { "—" } }
                            @if runs { td data-label="run" { @if let Some(id) = &a.run_id { a href=(format!("/history/{id}")) { (id) } } @else { "—" } } }
                            td data-label="stage" { (a.stage.as_deref().unwrap_or("—")) }
                            td data-label="outcome" { (badge(&a.outcome)) }
                            td data-label="error" { (a.error.as_deref().unwrap_or("")) }
                        } } }
                    } }
                }
            }
            p { a href="/memos" { "All memos" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::memos::{OutputLink, Segment};

    #[test]
    fn a_memo_shows_its_timed_transcript_and_links_its_outputs() {
        let m = MemoDetail {
            row: MemoRow {
                id: "abc123".into(),
                file: "a b.m4a".into(),
                status: "failed".into(),
                ..MemoRow::default()
            },
            transcript: Some("hello there".into()),
            segments: vec![
                Segment {
                    start: 0.0,
                    text: "hello".into(),
                },
                Segment {
                    start: 65.5,
                    text: "there <b>".into(),
                },
            ],
            outputs: vec![
                OutputLink {
                    kind: "note".into(),
                    label: "Notes/x.md".into(),
                    location: "Notes/x.md".into(),
                },
                OutputLink {
                    kind: "todo".into(),
                    label: "p".into(),
                    location: "https://www.notion.so/p-1".into(),
                },
            ],
            ..MemoDetail::default()
        };
        let view = View { csrf: "c".into() };
        let html = detail(&view, &m, None, Some(std::path::Path::new("/v"))).into_string();
        assert!(html.contains("0:01:05"), "{html}");
        assert!(html.contains("there &lt;b&gt;"));
        assert!(html.contains("<code>/v/Notes/x.md</code>"), "{html}");
        assert!(
            html.contains("obsidian://open?path=%2Fv%2FNotes%2Fx.md"),
            "{html}"
        );
        assert!(html.contains(r#"href="https://www.notion.so/p-1""#));
        assert!(html.contains(r#"action="/memos/abc123/retry""#), "{html}");
    }
}
