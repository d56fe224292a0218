//! Rendering: pure functions from data to HTML (maud, checked at compile time). Every
//! action is a plain form; the pages work without JavaScript.
pub mod alerts;
pub mod history;
pub mod jobs;
pub mod layout;
pub mod memos;
pub mod overview;

use axum::http::StatusCode;
use layout::{Section, View};
use maud::{Markup, html};

/// An error page: what went wrong, in the words of the error.
pub fn error(view: &View, status: StatusCode, msg: &str) -> Markup {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "Not done",
        _ => "Something went wrong",
    };
    layout::page(
        title,
        Section::Overview,
        view,
        html! {
            p.error role="alert" { (msg) }
            p { a href="/" { "Back to the overview" } }
        },
    )
}
