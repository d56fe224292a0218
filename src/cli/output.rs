//! Printing: the `--json` envelope, or a table/card for people.
use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

/// The kind of artifact a command prints (the seed's `artifact_type`).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Artifact {
    Table,
    PresentationCard,
    Text,
}

/// Prints `{"data", "artifact_type", "title"}` on stdout.
pub fn json<T: Serialize>(data: &T, artifact: Artifact, title: &str) {
    let envelope = serde_json::json!({ "data": data, "artifact_type": artifact, "title": title });
    println!(
        "{}",
        serde_json::to_string_pretty(&envelope).unwrap_or_default()
    );
}

/// A table with a header row, sized to the terminal.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    for r in rows {
        t.add_row(r);
    }
    t.to_string()
}

/// A two-column card of label/value pairs.
pub fn card(title: &str, rows: Vec<(&str, String)>) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = format!("{title}\n");
    for (k, v) in rows {
        out.push_str(&format!("  {k:<width$}  {v}\n"));
    }
    out
}
