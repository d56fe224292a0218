//! The page around every page: head, navigation, main, footer; and the small pieces
//! every page uses (status badges, the hidden CSRF field, times).
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// Which section a page belongs to (marked in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Jobs,
    History,
    Memos,
    Alerts,
}

const NAV: &[(Section, &str, &str)] = &[
    (Section::Overview, "/", "Overview"),
    (Section::Jobs, "/jobs", "Jobs"),
    (Section::History, "/history", "History"),
    (Section::Memos, "/memos", "Memos"),
    (Section::Alerts, "/alerts", "Alerts"),
];

/// What every page needs to render its forms.
#[derive(Debug, Clone)]
pub struct View {
    pub csrf: String,
}

impl View {
    /// The hidden field every POST form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// A form with one button that POSTs to `action`.
    pub fn button(&self, action: &str, label: &str, class: &str) -> Markup {
        html! {
            form.inline method="post" action=(action) {
                (self.csrf_field())
                button.(class) type="submit" { (label) }
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            title { (title) " · astra" }
            link rel="stylesheet" href=(super::super::assets::CSS_PATH);
            link rel="icon" href="data:,";
            script src=(super::super::assets::JS_PATH) defer {}
        }
    }
}

/// A whole page in the dashboard's frame.
pub fn page(title: &str, section: Section, view: &View, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body data-csrf=(view.csrf) {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/" { "astra" }
                    nav aria-label="Sections" {
                        ul {
                            @for (s, href, label) in NAV {
                                li {
                                    @if *s == section {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
                footer {
                    "astra " (env!("CARGO_PKG_VERSION")) " · this dashboard listens on this machine only; stop it with Ctrl-C in its terminal"
                }
            }
        }
    }
}

/// A page outside the frame (the token page).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main #main { (body) } }
        }
    }
}

/// A run or memo status as a coloured word (the word itself carries the meaning).
pub fn badge(status: &str) -> Markup {
    let class = match status {
        "success" | "completed" | "ok" | "sent" | "installed" | "enabled" => "good",
        "partial" | "retrying" | "waiting" | "pending" | "queued" | "running" | "overdue" => "warn",
        "failed" | "interrupted" | "error" => "bad",
        _ => "neutral",
    };
    html! { span.badge.(class) { (status) } }
}

/// A time as `2026-01-14 09:30 UTC` inside a `<time>` element.
pub fn time(t: &DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M UTC")) } }
}

/// Milliseconds as `4.2 s` or `120 ms`.
pub fn millis(ms: u64) -> String {
    if ms >= 1000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

/// A notice above a page's content (after an action).
pub fn notice(kind: &str, body: Markup) -> Markup {
    html! { div.notice.(kind) role="status" { (body) } }
}

/// Text known to be safe markup (the charts' SVG, built by this crate).
pub fn raw(s: String) -> Markup {
    PreEscaped(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_section_is_marked_and_text_is_escaped() {
        let v = View { csrf: "c1".into() };
        let p = page("Jobs <1>", Section::Jobs, &v, html! { p { "<script>" } }).into_string();
        assert!(
            p.contains(r#"<a href="/jobs" aria-current="page">Jobs</a>"#),
            "{p}"
        );
        assert!(p.contains("Jobs &lt;1&gt;"));
        assert!(p.contains("&lt;script&gt;"));
        assert!(!p.contains("<script>"));
        let b = v.button("/x", "Go", "primary").into_string();
        assert!(
            b.contains(r#"method="post""#) && b.contains(r#"name="csrf" value="c1""#),
            "{b}"
        );
    }
}
