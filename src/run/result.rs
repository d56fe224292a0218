//! The run result: printed by `--json`, appended (without `items`) to history.jsonl.
use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Success,
    /// Some items failed.
    Partial,
    Failed,
    /// Another run of the job holds its lock.
    Skipped,
    Paused,
    Disabled,
    /// A run that died; recorded by the next run.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Success => "success",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
            RunStatus::Paused => "paused",
            RunStatus::Disabled => "disabled",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// New or due items the run found.
    pub found: u64,
    /// Items that reached the end (completed or discarded).
    pub processed: u64,
    pub failed: u64,
    /// Items left for a later run (still syncing, waiting for their backoff).
    pub skipped: u64,
    pub discarded: u64,
    /// Seconds of audio transcribed in this run (absent when none was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_seconds: Option<f64>,
    /// Tokens remote models used in this run (absent when none were).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<crate::state::Tokens>,
    /// What the run cost in US dollars, from `models` and the `[costs]` price table
    /// (absent when it transcribed and asked nothing; 0 with local providers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Audio and tokens by remote model, every request counted (failed repairs too).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub models: std::collections::BTreeMap<String, crate::costs::ModelUsage>,
    /// Of `found`: items tried before (not new).
    #[serde(skip_serializing_if = "is_zero")]
    pub retried: u64,
    /// Of `failed`: items that will be tried again (status `retrying`).
    #[serde(skip_serializing_if = "is_zero")]
    pub retrying: u64,
    /// Of `skipped`: files still settling (being written or synced).
    #[serde(skip_serializing_if = "is_zero")]
    pub settling: u64,
    /// A history line that stands for this many runs with nothing to do (one day's,
    /// folded by the daily upkeep); 0 for an ordinary line.
    #[serde(skip_serializing_if = "is_zero")]
    pub idle_runs: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Stats {
    /// The counts in the items' own words: `3 new, 1 retried, 2 done, 1 retrying,
    /// 0 failed, 1 discarded, 1 waiting (settling: …)`. Zero counts other than new,
    /// done and failed are left out.
    pub fn summary(&self, settle_hint: &str) -> String {
        let new = self.found.saturating_sub(self.retried);
        let mut line = format!("{new} new");
        if self.retried > 0 {
            line.push_str(&format!(", {} retried", self.retried));
        }
        let done = self.processed.saturating_sub(self.discarded);
        line.push_str(&format!(", {done} done"));
        if self.retrying > 0 {
            line.push_str(&format!(", {} retrying", self.retrying));
        }
        line.push_str(&format!(
            ", {} failed",
            self.failed.saturating_sub(self.retrying)
        ));
        if self.discarded > 0 {
            line.push_str(&format!(", {} discarded", self.discarded));
        }
        if self.skipped > 0 {
            line.push_str(&format!(", {} waiting", self.skipped));
            let backoff = self.skipped.saturating_sub(self.settling);
            match (self.settling, backoff) {
                (0, _) => line.push_str(" (until their retry time)"),
                (n, 0) => line.push_str(&format!(" ({n} settling: {settle_hint})")),
                (n, b) => line.push_str(&format!(
                    " ({n} settling: {settle_hint}; {b} until their retry time)"
                )),
            }
        }
        line
    }

    /// Takes what this process's models used since the last run ([`crate::costs::meter`])
    /// and prices it.
    pub fn add_usage(&mut self, costs: &crate::costs::CostsConfig) {
        let used = crate::costs::meter::take();
        if !used.is_empty() {
            let (p, c) = used.values().fold((0, 0), |(p, c), u| {
                (p + u.prompt_tokens, c + u.completion_tokens)
            });
            if p + c > 0 {
                self.tokens = Some(crate::state::Tokens {
                    prompt: p,
                    completion: c,
                });
            }
            self.models = used;
        }
        if !self.models.is_empty() || self.audio_seconds.is_some() {
            self.cost_usd = Some(crate::costs::cost_usd(costs, &self.models));
        }
    }
}

/// Milliseconds spent in one stage (summed over items).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTiming {
    #[serde(default)]
    pub ms: u64,
}

/// Stage timings in pipeline order, serialized as a JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stages(pub Vec<(String, StageTiming)>);

impl Stages {
    /// Adds `ms` to `stage`, keeping first-seen order.
    pub fn add(&mut self, stage: &str, ms: u64) {
        match self.0.iter_mut().find(|(s, _)| s == stage) {
            Some((_, t)) => t.ms += ms,
            None => self.0.push((stage.to_string(), StageTiming { ms })),
        }
    }
    pub fn get(&self, stage: &str) -> Option<u64> {
        self.0.iter().find(|(s, _)| s == stage).map(|(_, t)| t.ms)
    }
}

impl Serialize for Stages {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Stages {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(StagesVisitor)
    }
}

/// Reads the stages in the order they were written (pipeline order).
struct StagesVisitor;

impl<'de> serde::de::Visitor<'de> for StagesVisitor {
    type Value = Stages;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map of stage name to {\"ms\": …}")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Stages, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, StageTiming>()? {
            out.push((k, v));
        }
        Ok(Stages(out))
    }
}

/// One item's line in the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    pub id: String,
    pub file: String,
    pub status: String,
    pub error: Option<String>,
    pub outputs: crate::state::Outputs,
}

/// The result of one run (the contract's shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub job_name: String,
    pub run_id: String,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub message: String,
    #[serde(default)]
    pub stats: Stats,
    #[serde(default)]
    pub stages: Stages,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<ItemResult>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_uses_the_items_words() {
        let s = Stats {
            found: 3,
            retried: 1,
            processed: 2,
            discarded: 1,
            failed: 1,
            retrying: 1,
            skipped: 1,
            settling: 1,
            ..Stats::default()
        };
        assert_eq!(
            s.summary("still being written"),
            "2 new, 1 retried, 1 done, 1 retrying, 0 failed, 1 discarded, 1 waiting (1 settling: still being written)"
        );
        let s = Stats {
            found: 1,
            processed: 1,
            ..Stats::default()
        };
        assert_eq!(s.summary(""), "1 new, 1 done, 0 failed");
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            !json.contains("retrying"),
            "zero extras are left out: {json}"
        );
    }

    #[test]
    fn stages_keep_pipeline_order_through_json() {
        let mut s = Stages::default();
        for (k, ms) in [
            ("watch", 1),
            ("transcribe", 30),
            ("organize", 2),
            ("sync", 5),
            ("archive", 3),
        ] {
            s.add(k, ms);
        }
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"watch":{"ms":1},"transcribe":{"ms":30},"organize":{"ms":2},"sync":{"ms":5},"archive":{"ms":3}}"#
        );
        let back: Stages = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
}
