//! The `gemini` summarizer: the day's entries, verbatim with their times, to Gemini
//! under a `responseSchema` (the contract's day_summary schema in Gemini's dialect),
//! validated on receipt, repaired once. The prompt is the `openai` summarizer's.
use super::model::{Day, DaySummary, Summarizer, Transient};
use super::openai::{SYSTEM_PROMPT, schema, user_message, validate};
use crate::clients::gemini::{self, AskError, GeminiClient};
use crate::clients::openai::truncate;
use crate::config::OrganizationConfig;
use crate::state::Tokens;
use anyhow::{Result, anyhow};
use std::sync::Mutex;

/// The most of a model's answer quoted in an error.
const ANSWER_IN_ERROR: usize = 500;

/// Summarises days with Gemini (`summary_provider = "gemini"`).
pub struct GeminiSummarizer {
    client: GeminiClient,
    model: String,
    spent: Mutex<Tokens>,
}

impl GeminiSummarizer {
    /// The summarizer for `Config::journal_gemini`; no key is a usage error.
    pub fn from_config(cfg: &OrganizationConfig) -> Result<GeminiSummarizer> {
        let client = GeminiClient::from_env(&cfg.base_url, &cfg.api_key_env, "journal")?;
        Ok(GeminiSummarizer::new(client, &cfg.model))
    }

    pub fn new(client: GeminiClient, model: &str) -> GeminiSummarizer {
        GeminiSummarizer {
            client,
            model: model.to_string(),
            spent: Mutex::new(Tokens::default()),
        }
    }

    fn add(&self, u: gemini::Usage) {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        *spent = *spent
            + Tokens {
                prompt: u.prompt_tokens,
                completion: u.completion_tokens,
            };
    }
}

impl Summarizer for GeminiSummarizer {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn summarize(&self, day: &Day) -> Result<DaySummary> {
        let asked = gemini::ask_json(
            &self.client,
            &self.model,
            SYSTEM_PROMPT,
            &user_message(day),
            &schema(),
            &validate,
        );
        match asked {
            Ok((v, u)) => {
                self.add(u);
                Ok(DaySummary {
                    summary: v.summary,
                    mood: v.mood,
                    themes: v.themes,
                    insights: v.insights,
                    attribution: format!(
                        "Summary written by {} (Gemini) from the day's {} entries.",
                        self.model,
                        day.entries.len()
                    ),
                })
            }
            Err(AskError::Api(e)) => {
                let msg = format!("summarising with Gemini: {}", e.message);
                if e.is_transient() {
                    Err(anyhow::Error::new(Transient(msg)))
                } else {
                    Err(anyhow!(msg))
                }
            }
            Err(AskError::Blocked(why)) => Err(anyhow!("summarising {}: {why}", day.date)),
            Err(AskError::Invalid { why, text, usage }) => {
                self.add(usage);
                Err(anyhow!(
                    "Gemini's answer does not match the day_summary schema, even after one repair request ({why}); its answer: {}",
                    truncate(&text, ANSWER_IN_ERROR)
                ))
            }
        }
    }

    fn spent(&self) -> Option<Tokens> {
        let t = *self.spent.lock().unwrap_or_else(|p| p.into_inner());
        (t != Tokens::default()).then_some(t)
    }
}
