//! A run's log lines: the JSON lines under `logs/` (or `LOG_FILE`) whose `run_id` is
//! the run's, oldest first.
use crate::paths::Paths;
use crate::run::result::RunResult;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// At most this many lines are shown for one run.
pub const MAX_LINES: usize = 2000;

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub timestamp: String,
    pub level: String,
    pub message: String,
    /// The other fields, as `key=value` text.
    pub fields: Vec<(String, String)>,
}

/// The files a run of `program` may have written to: its daily files from the days
/// the run spans (and the undated one), or `LOG_FILE`.
fn candidates(paths: &Paths, program: &str, run: &RunResult) -> Vec<PathBuf> {
    if let Some(f) = &paths.log_file {
        return vec![f.clone()];
    }
    let prefix = format!("{program}.log");
    let first = run.started_at.date_naive() - chrono::Duration::days(1);
    let last = run.finished_at.date_naive() + chrono::Duration::days(1);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&paths.logs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                return false;
            };
            let Some(rest) = name.strip_prefix(&prefix) else {
                return false;
            };
            match rest.strip_prefix('.') {
                None => rest.is_empty(),
                Some(date) => chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .is_ok_and(|d| d >= first && d <= last),
            }
        })
        .collect();
    out.sort();
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses one line if it belongs to `run_id`.
pub fn parse(line: &str, run_id: &str) -> Option<LogLine> {
    if !line.contains(run_id) {
        return None;
    }
    let mut obj: Map<String, Value> = serde_json::from_str(line).ok()?;
    if obj.get("run_id").and_then(Value::as_str) != Some(run_id) {
        return None;
    }
    let mut take = |k: &str| obj.remove(k).map(|v| text(&v)).unwrap_or_default();
    let timestamp = take("timestamp");
    let level = take("level");
    let message = take("message");
    for k in ["run_id", "job_name", "target"] {
        obj.remove(k);
    }
    Some(LogLine {
        timestamp,
        level,
        message,
        fields: obj.into_iter().map(|(k, v)| (k, text(&v))).collect(),
    })
}

/// The run's lines, oldest first, at most [`MAX_LINES`].
pub fn for_run(paths: &Paths, run: &RunResult) -> Vec<LogLine> {
    let program = crate::jobs::find(&run.job_name)
        .map(|j| j.program)
        .unwrap_or(run.job_name.as_str());
    let mut out = Vec::new();
    for f in candidates(paths, program, run) {
        let Ok(content) = std::fs::read_to_string(&f) else {
            continue;
        };
        out.extend(content.lines().filter_map(|l| parse(l, &run.run_id)));
        if out.len() >= MAX_LINES {
            out.truncate(MAX_LINES);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_other_runs_and_torn_lines_are_left_out() {
        let l = r#"{"timestamp":"2026-01-14T09:00:00.000Z","level":"INFO","job_name":"voiceMemo","run_id":"R1","target":"astra::x","message":"memo done","file":"a.wav","ms":12}"#;
        let got = parse(l, "R1").unwrap();
        assert_eq!(got.level, "INFO");
        assert_eq!(got.message, "memo done");
        assert_eq!(
            got.fields,
            vec![
                ("file".to_string(), "a.wav".to_string()),
                ("ms".to_string(), "12".to_string())
            ]
        );
        assert!(parse(l, "R2").is_none());
        assert!(parse(&l.replace("\"R1\"", "\"R10\""), "R1").is_none());
        assert!(parse(&l[..40], "R1").is_none());
    }
}
