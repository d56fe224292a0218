//! The dashboard's CSS and JavaScript, compiled into the binary so it works offline.
//! The script only enhances: the live schedule preview. Every page works without it.
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const CSS_PATH: &str = "/assets/style.css";
pub const JS_PATH: &str = "/assets/app.js";

const CSS: &str = include_str!("assets/style.css");
const JS: &str = include_str!("assets/app.js");

/// The asset at `path`, or 404.
pub fn get(path: &str) -> Response {
    match path {
        "style.css" => ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response(),
        "app.js" => (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            JS,
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
