//! The `openai` summarizer: the day's entries, verbatim with their times, to any
//! OpenAI-compatible chat endpoint, answered in a strict JSON schema, validated, repaired once.
//!
//! Like the organizer: an answer that is still invalid after one repair request fails
//! the day with the model's text; no connection, 5xx and 429 are [`Transient`].
use super::model::{Day, DaySummary, Mood, Summarizer, Transient};
use crate::clients::openai::{ApiError, ChatMessage, ChatReply, OpenAiClient, truncate};
use crate::config::OrganizationConfig;
use crate::state::Tokens;
use anyhow::{Result, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Mutex;

/// The schema's name in the request.
pub const SCHEMA_NAME: &str = "day_summary";
/// The most themes and insights an answer may hold.
pub const MAX_ITEMS: usize = 5;
/// The most of a model's answer quoted in an error.
const ANSWER_IN_ERROR: usize = 500;

/// What the model is told, once per request.
pub(crate) const SYSTEM_PROMPT: &str = "\
You summarize one day of a person's journal, answering with JSON that matches the given \
schema exactly.

- summary: one to three sentences in the first person, as the writer would put it, on \
what the day was about. Use only what the entries say; never invent.
- mood: the day's overall mood, exactly one of great, good, okay, low, bad.
- themes: at most 5 short lowercase keywords or phrases (people, places, projects, \
activities), most salient first.
- insights: at most 5 key insights, realizations or decisions the writer expressed, one \
sentence each; an empty list when there are none.";

/// Summarises days with a chat model (`summary_provider = "openai"`).
pub struct OpenAiSummarizer {
    client: OpenAiClient,
    model: String,
    spent: Mutex<Tokens>,
}

impl OpenAiSummarizer {
    /// The summarizer for the journal's endpoint (see `Config::journal_llm`); OpenAI's
    /// own API without a key is a usage error.
    pub fn from_config(cfg: &OrganizationConfig) -> Result<OpenAiSummarizer> {
        let client = OpenAiClient::from_env(&cfg.base_url, &cfg.api_key_env, "journal")?;
        Ok(OpenAiSummarizer::new(client, &cfg.model))
    }

    /// The summarizer with a client built elsewhere (tests).
    pub fn new(client: OpenAiClient, model: &str) -> OpenAiSummarizer {
        OpenAiSummarizer {
            client,
            model: model.to_string(),
            spent: Mutex::new(Tokens::default()),
        }
    }

    fn ask(&self, messages: &[ChatMessage]) -> Result<ChatReply> {
        let reply = self
            .client
            .chat_json(&self.model, messages, SCHEMA_NAME, &schema())
            .map_err(|e| api_error(&e))?;
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        *spent = *spent
            + Tokens {
                prompt: reply.usage.prompt_tokens,
                completion: reply.usage.completion_tokens,
            };
        Ok(reply)
    }

    fn attribution(&self, day: &Day) -> String {
        format!(
            "Summary written by {} ({}) from the day's {} entries.",
            self.model,
            self.client.host(),
            day.entries.len()
        )
    }
}

impl Summarizer for OpenAiSummarizer {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn summarize(&self, day: &Day) -> Result<DaySummary> {
        let mut messages = vec![
            ChatMessage::system(SYSTEM_PROMPT),
            ChatMessage::user(user_message(day)),
        ];
        let first = self.ask(&messages)?;
        let why = match check_reply(&first) {
            Ok(a) => return Ok(a.into_summary(self.attribution(day))),
            Err(why) => why,
        };
        tracing::info!(day = %day.date, error = %why, "the model's summary does not match the schema; asking once more");
        messages.push(ChatMessage::assistant(answer_text(&first)));
        messages.push(ChatMessage::user(format!(
            "That answer is invalid: {why}. Answer again with the complete corrected JSON only."
        )));
        let second = self.ask(&messages)?;
        match check_reply(&second) {
            Ok(a) => Ok(a.into_summary(self.attribution(day))),
            Err(why) => Err(anyhow!(
                "the model's answer does not match the day_summary schema, even after one repair request ({why}); its answer: {}",
                truncate(&answer_text(&second), ANSWER_IN_ERROR)
            )),
        }
    }

    fn spent(&self) -> Option<Tokens> {
        let t = *self.spent.lock().unwrap_or_else(|p| p.into_inner());
        (t != Tokens::default()).then_some(t)
    }
}

/// Server trouble, rate limits and no connection pass by themselves; a refused request
/// (bad key, unknown model, request refused) needs someone to act.
fn api_error(e: &ApiError) -> anyhow::Error {
    let msg = format!("summarising with the chat model: {}", e.message);
    if e.transient {
        anyhow::Error::new(Transient(msg))
    } else {
        anyhow!(msg)
    }
}

/// The day for the model: its date, then each entry under its time, verbatim.
pub fn user_message(day: &Day) -> String {
    let mut out = format!(
        "Journal of {} (entries verbatim, each under the time it was written):\n",
        day.date.format("%A %Y-%m-%d")
    );
    for e in &day.entries {
        // A Notion heading ends in ` · <memo id>`: the time is what the model needs.
        let time = e.heading.split(" · ").next().unwrap_or(&e.heading).trim();
        out.push_str(&format!("\n### {time}\n{}\n", e.text.trim()));
    }
    out
}

/// The strict response schema: every property required, nothing else allowed.
pub fn schema() -> Value {
    let list = |what: &str| {
        json!({
            "type": "array",
            "items": {"type": "string"},
            "description": format!("at most {MAX_ITEMS} {what}"),
        })
    };
    json!({
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "mood": {"type": "string", "enum": Mood::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>()},
            "themes": list("short keywords or phrases"),
            "insights": list("one-sentence insights"),
        },
        "required": ["summary", "mood", "themes", "insights"],
        "additionalProperties": false,
    })
}

/// The answer as the schema shapes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    summary: String,
    mood: String,
    themes: Vec<String>,
    insights: Vec<String>,
}

/// A checked answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub summary: String,
    pub mood: Mood,
    pub themes: Vec<String>,
    pub insights: Vec<String>,
}

impl Valid {
    fn into_summary(self, attribution: String) -> DaySummary {
        DaySummary {
            summary: self.summary,
            mood: self.mood,
            themes: self.themes,
            insights: self.insights,
            attribution,
        }
    }
}

fn check_reply(r: &ChatReply) -> Result<Valid, String> {
    if r.content.trim().is_empty() {
        return Err(match &r.refusal {
            Some(refusal) => format!("the model refused: {refusal}"),
            None => "the answer is empty".into(),
        });
    }
    let cut_off = r.finish_reason.as_deref() == Some("length");
    validate(&r.content).map_err(|e| {
        if cut_off {
            format!("{e} (the answer was cut off at the token limit)")
        } else {
            e
        }
    })
}

/// Parses and checks an answer: the schema's shape, then what the schema cannot say.
pub fn validate(content: &str) -> Result<Valid, String> {
    let a: Answer = serde_json::from_str(strip_fences(content))
        .map_err(|e| format!("not the day_summary JSON: {e}"))?;
    let summary = a.summary.split_whitespace().collect::<Vec<_>>().join(" ");
    if summary.is_empty() {
        return Err("`summary` is empty".into());
    }
    let mood = Mood::parse(&a.mood).ok_or_else(|| {
        format!(
            "`mood` \"{}\" is not one of great, good, okay, low, bad",
            a.mood
        )
    })?;
    let themes = items("themes", a.themes)?;
    let insights = items("insights", a.insights)?;
    Ok(Valid {
        summary,
        mood,
        themes,
        insights,
    })
}

/// A list of at most [`MAX_ITEMS`] non-empty one-line strings.
fn items(name: &str, list: Vec<String>) -> Result<Vec<String>, String> {
    if list.len() > MAX_ITEMS {
        return Err(format!(
            "`{name}` has {} items, at most {MAX_ITEMS} are allowed",
            list.len()
        ));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
            if s.is_empty() {
                Err(format!("{name}[{i}] is empty"))
            } else {
                Ok(s)
            }
        })
        .collect()
}

/// Local models sometimes wrap JSON in a Markdown code fence despite the schema.
fn strip_fences(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.strip_suffix("```"))
        .map_or(t, str::trim)
}

/// The answer as the model gave it (or its refusal).
fn answer_text(r: &ChatReply) -> String {
    match &r.refusal {
        Some(refusal) if r.content.trim().is_empty() => format!("(refused) {refusal}"),
        _ => r.content.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::model::Entry;

    const GOOD: &str = r#"{"summary":"A run, then lunch with Sam.","mood":"good","themes":["run","sam"],"insights":["I should run more."]}"#;

    #[test]
    fn a_valid_answer_parses() {
        let v = validate(GOOD).unwrap();
        assert_eq!(v.mood, Mood::Good);
        assert_eq!(v.themes, ["run", "sam"]);
        assert!(validate(&format!("```json\n{GOOD}\n```")).is_ok());
    }

    #[test]
    fn invalid_answers_say_what_is_wrong() {
        let e = validate(&GOOD.replace("\"good\"", "\"sunny\"")).unwrap_err();
        assert!(e.contains("`mood` \"sunny\" is not one of"), "{e}");
        let e =
            validate(&GOOD.replace("[\"run\",\"sam\"]", "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]"))
                .unwrap_err();
        assert!(e.contains("`themes` has 6 items"), "{e}");
        let e = validate(&GOOD.replace("\"mood\":\"good\",", "")).unwrap_err();
        assert!(e.contains("missing field `mood`"), "{e}");
        let e = validate(&GOOD.replace("A run, then lunch with Sam.", " ")).unwrap_err();
        assert!(e.contains("`summary` is empty"), "{e}");
        let e = validate(&GOOD.replace("}", ",\"x\":1}")).unwrap_err();
        assert!(e.contains("unknown field `x`"), "{e}");
    }

    #[test]
    fn the_prompt_has_each_entry_verbatim_under_its_time() {
        let day = Day {
            date: "2026-01-14".parse().unwrap(),
            entries: vec![
                Entry {
                    heading: "8:05 AM · 0123456789ab".into(),
                    text: "Went for a run, um, before work.".into(),
                },
                Entry {
                    heading: "1:54 PM".into(),
                    text: "Lunch with Sam.".into(),
                },
            ],
            processed: false,
            stored: None,
        };
        let m = user_message(&day);
        assert!(m.starts_with("Journal of Wednesday 2026-01-14"), "{m}");
        assert!(
            m.contains("\n### 8:05 AM\nWent for a run, um, before work.\n"),
            "{m}"
        );
        assert!(m.contains("\n### 1:54 PM\nLunch with Sam.\n"), "{m}");
    }

    #[test]
    fn the_schema_is_strict() {
        let s = schema();
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"].as_array().unwrap().len(), 4);
        assert_eq!(s["properties"]["mood"]["enum"][4], "bad");
    }
}
