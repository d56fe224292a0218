//! Alerts: tell the user when a job goes from healthy to failing (a failed or
//! interrupted run, or a memo dead-lettered) and when it recovers — not on every
//! failed run. Re-alerts while broken are throttled; the throttle state lives in
//! state.json (`jobs._alerts`) because every run is a new process.
//!
//! Also health-check pings (healthchecks.io style): `/start`, success, `/fail` with
//! the tail of the run's log. Nothing here can fail a job: errors are logged.
pub mod channels;

use crate::config::{AlertsConfig, Config};
use crate::jobs::JobInfo;
use crate::paths::Paths;
use crate::run::result::{RunResult, RunStatus};
use crate::state::StateStore;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The state.json section holding every job's alert state.
pub const SECTION: &str = "_alerts";

/// One job's health as the alerts last saw it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Health {
    pub failing: bool,
    /// When it started failing.
    pub since: Option<DateTime<Utc>>,
    pub last_alert_at: Option<DateTime<Utc>>,
    /// Failing runs since `since`.
    #[serde(default)]
    pub failing_runs: u64,
}

/// What to say, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Failing,
    StillFailing,
    Resolved,
}

/// Whether this run shows the job broken (`Some(true)`), healthy (`Some(false)`), or
/// says nothing either way (skipped, paused, a partial run whose memos will retry).
pub fn verdict(result: &RunResult) -> Option<bool> {
    let dead_letter = result.items.iter().flatten().any(|i| i.status == "failed");
    match result.status {
        RunStatus::Failed | RunStatus::Interrupted => Some(true),
        RunStatus::Partial if dead_letter => Some(true),
        RunStatus::Success => Some(false),
        _ => None,
    }
}

/// The state machine: the new health and the event to send.
pub fn transition(
    health: &Health,
    broken: Option<bool>,
    now: DateTime<Utc>,
    throttle_minutes: u64,
) -> (Health, Option<Event>) {
    let mut h = health.clone();
    match (health.failing, broken) {
        (false, Some(true)) => {
            h = Health {
                failing: true,
                since: Some(now),
                last_alert_at: Some(now),
                failing_runs: 1,
            };
            (h, Some(Event::Failing))
        }
        (true, Some(true)) => {
            h.failing_runs += 1;
            let due = health
                .last_alert_at
                .is_none_or(|t| now - t >= chrono::Duration::minutes(throttle_minutes as i64));
            if due {
                h.last_alert_at = Some(now);
                (h, Some(Event::StillFailing))
            } else {
                (h, None)
            }
        }
        (true, Some(false)) => (Health::default(), Some(Event::Resolved)),
        _ => (h, None),
    }
}

/// The alert text: job, run, what failed, how long, and where to look.
pub fn message(job: &JobInfo, result: &RunResult, event: &Event, health: &Health) -> String {
    let secs = result.duration_ms as f64 / 1000.0;
    let mut text = match event {
        Event::Failing => format!("🔴 astra: {} is failing", job.program),
        Event::StillFailing => format!(
            "🔴 astra: {} is still failing ({} failing runs)",
            job.program, health.failing_runs
        ),
        Event::Resolved => format!("✅ astra: {} recovered", job.program),
    };
    text.push_str(&format!(
        "\nRun {} — {} in {secs:.1}s: {}",
        result.run_id,
        result.status.as_str(),
        result.message
    ));
    if *event != Event::Resolved {
        for item in result
            .items
            .iter()
            .flatten()
            .filter(|i| i.error.is_some())
            .take(10)
        {
            text.push_str(&format!(
                "\n• {} ({}): {}",
                item.file,
                item.status,
                item.error.as_deref().unwrap_or("")
            ));
        }
    }
    text.push_str(&format!(
        "\nLook closer: astra jobs show {}   ·   astra failed list",
        job.program
    ));
    text
}

/// Sends a job's alerts and pings for its runs.
pub struct Alerter {
    cfg: AlertsConfig,
    state: StateStore,
    job: &'static JobInfo,
}

impl Alerter {
    pub fn new(config: &Config, paths: &Paths, job: &'static JobInfo) -> Alerter {
        Alerter {
            cfg: config.alerts.clone(),
            state: StateStore::new(&paths.state),
            job,
        }
    }

    /// healthchecks.io `/start`, with the run id.
    pub fn ping_start(&self, run_id: &str) {
        if let Some(url) = channels::env_url(&self.cfg.healthcheck_url_env) {
            channels::ping(&format!("{}/start", url.trim_end_matches('/')), run_id);
        }
    }

    /// The success or `/fail` ping, then any state-change alert.
    pub fn after_run(&self, result: &RunResult) {
        let broken = verdict(result);
        if let Some(url) = channels::env_url(&self.cfg.healthcheck_url_env) {
            let url = url.trim_end_matches('/').to_string();
            match broken {
                Some(true) => {
                    channels::ping(&format!("{url}/fail"), &crate::logging::recent(10 * 1024))
                }
                Some(false) => channels::ping(&url, &result.message),
                None if result.status == RunStatus::Partial => {
                    channels::ping(&url, &result.message)
                }
                None => {}
            }
        }
        let sinks = channels::configured(&self.cfg);
        if sinks.is_empty() || broken.is_none() {
            return;
        }
        let now = Utc::now();
        let throttle = self.cfg.throttle_minutes;
        let job = self.job.name;
        let decided = self
            .state
            .update_job(SECTION, |all: &mut BTreeMap<String, Health>| {
                let current = all.get(job).cloned().unwrap_or_default();
                let (next, event) = transition(&current, broken, now, throttle);
                all.insert(job.to_string(), next.clone());
                (next, event)
            });
        match decided {
            Ok((health, Some(event))) => {
                let text = message(self.job, result, &event, &health);
                channels::send_all(&sinks, &self.cfg, &text, self.job, result, &event);
            }
            Ok((_, None)) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "alerts: could not read or save the alert state")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-14T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::minutes(min)
    }

    #[test]
    fn alerts_on_changes_and_throttles_repeats() {
        let h = Health::default();
        let (h, e) = transition(&h, Some(false), at(0), 60);
        assert_eq!(e, None, "healthy stays quiet");
        let (h, e) = transition(&h, Some(true), at(5), 60);
        assert_eq!(e, Some(Event::Failing));
        let (h, e) = transition(&h, Some(true), at(10), 60);
        assert_eq!(e, None, "throttled");
        let (h, e) = transition(&h, None, at(15), 60);
        assert_eq!(e, None, "a skipped run says nothing");
        let (h, e) = transition(&h, Some(true), at(70), 60);
        assert_eq!(e, Some(Event::StillFailing));
        assert_eq!(h.failing_runs, 3);
        let (h, e) = transition(&h, Some(false), at(75), 60);
        assert_eq!(e, Some(Event::Resolved));
        assert_eq!(h, Health::default());
    }
}
