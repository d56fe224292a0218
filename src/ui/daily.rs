//! History per day, for the charts: runs by status, duration percentiles, memos,
//! audio minutes and tokens. Days are the local calendar's, oldest first.
use crate::run::result::{RunResult, RunStatus};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// Statuses in the order they are stacked.
pub const STATUSES: &[RunStatus] = &[
    RunStatus::Success,
    RunStatus::Partial,
    RunStatus::Failed,
    RunStatus::Interrupted,
    RunStatus::Skipped,
    RunStatus::Paused,
    RunStatus::Disabled,
];

/// One day's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Day {
    pub date: Option<NaiveDate>,
    /// Runs per status, in [`STATUSES`] order.
    pub runs: Vec<u64>,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// Memos that reached the end (voice-memo runs' `processed`).
    pub memos: u64,
    pub audio_minutes: f64,
    pub tokens: u64,
}

/// Whether a run did work (its duration says something about the job).
pub fn worked(r: &RunResult) -> bool {
    !matches!(
        r.status,
        RunStatus::Skipped | RunStatus::Paused | RunStatus::Disabled
    )
}

/// The last `days` days up to `now` in `zone`, each with the runs that started on it.
pub fn days<Tz: TimeZone>(
    runs: &[RunResult],
    days: usize,
    now: DateTime<Utc>,
    zone: &Tz,
) -> Vec<Day> {
    let today = now.with_timezone(zone).date_naive();
    let first = today - Duration::days(days.saturating_sub(1) as i64);
    let mut out: Vec<Day> = (0..days)
        .map(|i| Day {
            date: Some(first + Duration::days(i as i64)),
            runs: vec![0; STATUSES.len()],
            ..Day::default()
        })
        .collect();
    let mut durations: Vec<Vec<u64>> = vec![Vec::new(); days];
    for r in runs {
        let d = r.started_at.with_timezone(zone).date_naive();
        let Ok(i) = usize::try_from((d - first).num_days()) else {
            continue;
        };
        let Some(day) = out.get_mut(i) else { continue };
        if let Some(k) = STATUSES.iter().position(|s| *s == r.status) {
            day.runs[k] += 1;
        }
        if worked(r) {
            durations[i].push(r.duration_ms);
        }
        if r.job_name == crate::jobs::VOICE_MEMO.name {
            day.memos += r.stats.processed;
        }
        day.audio_minutes += r.stats.audio_seconds.unwrap_or(0.0) / 60.0;
        day.tokens += r.stats.tokens.map(|t| t.prompt + t.completion).unwrap_or(0);
    }
    for (day, mut d) in out.iter_mut().zip(durations) {
        d.sort_unstable();
        day.p50_ms = crate::cli::jobs::percentile(&d, 50.0);
        day.p95_ms = crate::cli::jobs::percentile(&d, 95.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::result::{Stages, Stats};

    fn run(job: &str, status: RunStatus, at: &str, ms: u64, processed: u64) -> RunResult {
        let t = DateTime::parse_from_rfc3339(at)
            .unwrap()
            .with_timezone(&Utc);
        RunResult {
            job_name: job.into(),
            run_id: "r".into(),
            status,
            started_at: t,
            finished_at: t,
            duration_ms: ms,
            message: String::new(),
            stats: Stats {
                processed,
                audio_seconds: Some(90.0),
                tokens: Some(crate::state::Tokens {
                    prompt: 10,
                    completion: 5,
                }),
                ..Stats::default()
            },
            stages: Stages::default(),
            items: None,
        }
    }

    #[test]
    fn runs_fall_on_their_local_day() {
        let zone = chrono_tz::Europe::Paris;
        let now = DateTime::parse_from_rfc3339("2026-01-14T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let runs = vec![
            run(
                "voiceMemo",
                RunStatus::Success,
                "2026-01-14T08:00:00Z",
                1000,
                2,
            ),
            run(
                "voiceMemo",
                RunStatus::Failed,
                "2026-01-14T09:00:00Z",
                3000,
                0,
            ),
            run(
                "voiceMemo",
                RunStatus::Skipped,
                "2026-01-14T09:00:01Z",
                5,
                0,
            ),
            // 23:30 UTC on the 12th is the 13th in Paris.
            run(
                "journalProcessing",
                RunStatus::Success,
                "2026-01-12T23:30:00Z",
                200,
                7,
            ),
            run(
                "voiceMemo",
                RunStatus::Success,
                "2025-12-01T08:00:00Z",
                1,
                1,
            ),
        ];
        let d = days(&runs, 3, now, &zone);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].date.unwrap().to_string(), "2026-01-12");
        assert_eq!(d[1].runs[0], 1, "the journal run on the 13th");
        assert_eq!(d[1].memos, 0, "journal runs process days, not memos");
        assert_eq!(d[2].runs[..5], [1, 0, 1, 0, 1]);
        assert_eq!(d[2].memos, 2);
        assert_eq!(
            (d[2].p50_ms, d[2].p95_ms),
            (Some(1000), Some(3000)),
            "the skipped run is not timed"
        );
        assert_eq!(d[2].audio_minutes, 4.5);
        assert_eq!(d[2].tokens, 45);
        assert_eq!(
            d[0],
            Day {
                date: d[0].date,
                runs: vec![0; 7],
                ..Day::default()
            }
        );
    }
}
