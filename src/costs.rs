//! What a run costs: the audio minutes and tokens each model used in this process
//! (the [`meter`], fed by the clients on every answer that reports usage, failed
//! repairs included), priced with `[costs]` over the defaults below.
//!
//! Prices are USD, as the providers list them for their standard tier; a model not in
//! the table (a local server's, a command's) costs 0. `[costs]` entries replace the
//! fields they name: `"whisper-1" = { per_audio_minute = 0.006 }`.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One model's prices; a field not given is the default's (or 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelPrice {
    pub per_audio_minute: Option<f64>,
    pub per_million_input: Option<f64>,
    pub per_million_output: Option<f64>,
}

/// `[costs]`: model name → its prices.
pub type CostsConfig = BTreeMap<String, ModelPrice>;

/// (model, per audio minute, per million input tokens, per million output tokens).
/// OpenAI's transcription models by the minute; the chat models by the token
/// (Gemini's text-input prices, prompts up to 200k tokens).
pub const DEFAULT_PRICES: &[(&str, f64, f64, f64)] = &[
    ("whisper-1", 0.006, 0.0, 0.0),
    ("gpt-4o-transcribe", 0.006, 0.0, 0.0),
    ("gpt-4o-mini-transcribe", 0.003, 0.0, 0.0),
    ("gpt-4o-mini", 0.0, 0.15, 0.60),
    ("gemini-2.5-flash", 0.0, 0.30, 2.50),
    ("gemini-2.5-flash-lite", 0.0, 0.10, 0.40),
    ("gemini-2.5-pro", 0.0, 1.25, 10.00),
    ("gemini-3-flash-preview", 0.0, 0.50, 3.00),
];

/// The prices in effect for `model`: (per audio minute, per million in, per million out).
pub fn price(costs: &CostsConfig, model: &str) -> (f64, f64, f64) {
    let d = DEFAULT_PRICES
        .iter()
        .find(|(m, ..)| *m == model)
        .map(|(_, a, i, o)| (*a, *i, *o))
        .unwrap_or((0.0, 0.0, 0.0));
    match costs.get(model) {
        Some(p) => (
            p.per_audio_minute.unwrap_or(d.0),
            p.per_million_input.unwrap_or(d.1),
            p.per_million_output.unwrap_or(d.2),
        ),
        None => d,
    }
}

/// A price below zero or not a number is a config error naming the model and key.
pub fn validate(costs: &CostsConfig, path: &std::path::Path) -> anyhow::Result<()> {
    for (model, p) in costs {
        for (key, v) in [
            ("per_audio_minute", p.per_audio_minute),
            ("per_million_input", p.per_million_input),
            ("per_million_output", p.per_million_output),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(crate::exit::usage(format!(
                    "{}: [costs] \"{model}\".{key} = {v}: a price is a number of US dollars, 0 or more",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// What one model used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub audio_seconds: f64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub prompt_tokens: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub completion_tokens: u64,
    /// Requests that reported this usage.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub requests: u64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

/// The cost of `usage` in USD, rounded to a millionth of a dollar.
pub fn cost_usd(costs: &CostsConfig, usage: &BTreeMap<String, ModelUsage>) -> f64 {
    let total = usage.iter().fold(0.0, |sum, (model, u)| {
        let (a, i, o) = price(costs, model);
        sum + u.audio_seconds / 60.0 * a
            + u.prompt_tokens as f64 / 1e6 * i
            + u.completion_tokens as f64 / 1e6 * o
    });
    // `+ 0.0`: never a negative zero in the JSON.
    (total * 1e6).round() / 1e6 + 0.0
}

/// What this process's models used since the meter was last read.
pub mod meter {
    use super::*;

    static USED: Mutex<BTreeMap<String, ModelUsage>> = Mutex::new(BTreeMap::new());

    fn with(model: &str, f: impl FnOnce(&mut ModelUsage)) {
        if model.is_empty() {
            return;
        }
        if let Ok(mut m) = USED.lock() {
            f(m.entry(model.to_string()).or_default());
        }
    }

    /// Tokens one answer reported (whatever became of the answer).
    pub fn tokens(model: &str, prompt: u64, completion: u64) {
        with(model, |u| {
            u.prompt_tokens += prompt;
            u.completion_tokens += completion;
            u.requests += 1;
        });
    }

    /// Seconds of audio a model transcribed.
    pub fn audio(model: &str, seconds: f64) {
        with(model, |u| {
            u.audio_seconds += seconds;
            u.requests += 1;
        });
    }

    /// What was used since the last call (each run of a `--watch` session reads its own).
    pub fn take() -> BTreeMap<String, ModelUsage> {
        USED.lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_come_from_the_table_with_the_configs_fields_over_the_defaults() {
        let mut costs = CostsConfig::new();
        let mut usage = BTreeMap::new();
        usage.insert(
            "whisper-1".to_string(),
            ModelUsage {
                audio_seconds: 90.0,
                ..ModelUsage::default()
            },
        );
        usage.insert(
            "gpt-4o-mini".to_string(),
            ModelUsage {
                prompt_tokens: 1_000_000,
                completion_tokens: 500_000,
                ..ModelUsage::default()
            },
        );
        usage.insert(
            "llama3".to_string(),
            ModelUsage {
                prompt_tokens: 5_000_000,
                ..ModelUsage::default()
            },
        );
        // 1.5 min × 0.006 + 0.15 + 0.5 × 0.60; the local model is free.
        assert_eq!(cost_usd(&costs, &usage), 0.459);
        costs.insert(
            "gpt-4o-mini".into(),
            ModelPrice {
                per_million_output: Some(1.0),
                ..ModelPrice::default()
            },
        );
        costs.insert(
            "llama3".into(),
            ModelPrice {
                per_million_input: Some(0.01),
                ..ModelPrice::default()
            },
        );
        assert_eq!(cost_usd(&costs, &usage), 0.709); // 0.009 + 0.15 + 0.5 + 0.05
        assert_eq!(price(&costs, "gpt-4o-mini"), (0.0, 0.15, 1.0));
    }

    #[test]
    fn the_config_takes_a_price_table_and_refuses_a_negative_price() {
        let p = std::path::Path::new("c.toml");
        let cfg = crate::config::Config::parse(
            "[costs]\n\"whisper-1\" = { per_audio_minute = 0.004 }\n\"my-model\" = { per_million_input = 1, per_million_output = 2.5 }\n",
            p,
        )
        .unwrap();
        assert_eq!(price(&cfg.costs, "whisper-1"), (0.004, 0.0, 0.0));
        assert_eq!(price(&cfg.costs, "my-model"), (0.0, 1.0, 2.5));
        let e = crate::config::Config::parse("[costs]\nx = { per_million_input = -1 }\n", p)
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("[costs] \"x\".per_million_input"),
            "{e:#}"
        );
        let e = crate::config::Config::parse("[costs]\nx = { per_minute = 1 }\n", p).unwrap_err();
        assert!(format!("{e:#}").contains("per_audio_minute"), "{e:#}");
    }

    #[test]
    fn every_default_has_a_price() {
        for (m, a, i, o) in DEFAULT_PRICES {
            assert!(a + i + o > 0.0, "{m}");
        }
    }
}
