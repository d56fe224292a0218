//! The `openai` organizer: chat completions on any OpenAI-compatible server, asked for
//! the contract's organization JSON with a strict schema, validated, repaired once.
//!
//! The transcript goes to the model verbatim, with the recording time (for due dates)
//! and the note categories; an answer still invalid after one repair fails the memo.
use super::{DEFAULT_CATEGORIES, Organization, OrganizeInput, Organized, Organizer, Usage};
use crate::clients::openai::{ApiError, ChatMessage, ChatReply, OpenAiClient, truncate};
use crate::config::OrganizationConfig;
use crate::voice_memo::error::ItemError;
use serde_json::{Value, json};

/// The schema's name in the request.
const SCHEMA_NAME: &str = "organization";
/// The most of a model's answer quoted in an error.
const ANSWER_IN_ERROR: usize = 500;

/// What the model is told, once per request.
pub(crate) const SYSTEM_PROMPT: &str = "\
You organize a transcribed voice memo into TODOs, notes and journal entries, answering \
with JSON that matches the given schema exactly.

Rules:
- If the memo's first word is \"todo\" or \"to-do\", everything in it is todos; \"note\": \
everything is one or more notes; \"journal\": everything is journal. Drop that first word.
- Otherwise sort each part: things to do become todos, ideas and information become notes, \
feelings and accounts of the day become journal entries.
- Each todo is one separate actionable item with a short imperative title (\"Call the \
dentist\") and a description (may be empty). priority: \"asap\" for urgent, today or right \
now; \"soon\" for tomorrow, this week or a named weekday; \"eventually\" for later, \
sometime or next week and beyond. due: a date YYYY-MM-DD resolved against the recording \
time when the memo names a day (\"tomorrow\", \"by Friday\", \"on the 15th\"), else null.
- Each note has a title, its content in full, a category that is exactly one of the \
allowed categories (\"general\" when none fits and it is allowed), and lowercase tags \
(may be empty).
- A journal entry's content is the speaker's own words cleaned up: filler words (um, uh, \
like, you know) removed, grammar fixed, split into paragraphs with blank lines. Never \
summarize, shorten or rephrase it in the third person. mood: one word (e.g. good, tired, \
anxious) or null.
- title: a short title for the whole memo; summary: one or two sentences.
- discard: true only for silence, noise or fewer than two real words; then all lists are empty.
- Never invent content that is not in the transcript.";

/// Organizes memos with a chat model.
pub struct OpenAiOrganizer {
    client: OpenAiClient,
    model: String,
}

impl OpenAiOrganizer {
    /// The organizer for `[organization]`; OpenAI's own API without a key is an error.
    pub fn from_config(cfg: &OrganizationConfig) -> anyhow::Result<OpenAiOrganizer> {
        let client = OpenAiClient::from_env(&cfg.base_url, &cfg.api_key_env, "organization")?;
        Ok(OpenAiOrganizer::new(client, &cfg.model))
    }

    /// The organizer with a client built elsewhere (tests, a shared client).
    pub fn new(client: OpenAiClient, model: &str) -> OpenAiOrganizer {
        OpenAiOrganizer {
            client,
            model: model.to_string(),
        }
    }

    fn ask(&self, messages: &[ChatMessage], schema: &Value) -> Result<ChatReply, ItemError> {
        self.client
            .chat_json(&self.model, messages, SCHEMA_NAME, schema)
            .map_err(|e| item_error(&e))
    }
}

impl Organizer for OpenAiOrganizer {
    fn organize(&self, input: &OrganizeInput<'_>) -> Result<Organized, ItemError> {
        let categories = categories_of(input);
        let input = &OrganizeInput {
            categories: &categories,
            ..input.clone()
        };
        let schema = schema(input.categories);
        let mut messages = vec![
            ChatMessage::system(SYSTEM_PROMPT),
            ChatMessage::user(user_message(input)),
        ];
        let first = self.ask(&messages, &schema)?;
        let mut usage = add(Usage::default(), &first);
        let why = match check_reply(&first, input.categories) {
            Ok(org) => return Ok(Organized { org, usage }),
            Err(why) => why,
        };
        tracing::info!(error = %why, "the model's answer does not match the schema; asking once more");
        messages.push(ChatMessage::assistant(answer_text(&first)));
        messages.push(ChatMessage::user(format!(
            "That answer is invalid: {why}. Answer again with the complete corrected JSON only."
        )));
        let second = self.ask(&messages, &schema)?;
        usage = add(usage, &second);
        match check_reply(&second, input.categories) {
            Ok(org) => Ok(Organized { org, usage }),
            Err(why) => Err(ItemError::permanent(format!(
                "the model's answer does not match the organization schema, even after one repair request ({why}; \
                 {} prompt + {} completion tokens spent); its answer: {}",
                usage.prompt_tokens,
                usage.completion_tokens,
                truncate(&answer_text(&second), ANSWER_IN_ERROR)
            ))),
        }
    }
}

/// The allowed categories: a schema `enum` may not be empty, so a Notes database
/// without options gets the default ones.
pub(crate) fn categories_of(input: &OrganizeInput<'_>) -> Vec<String> {
    if input.categories.is_empty() {
        DEFAULT_CATEGORIES.iter().map(|c| c.to_string()).collect()
    } else {
        input.categories.to_vec()
    }
}

fn add(u: Usage, r: &ChatReply) -> Usage {
    Usage {
        prompt_tokens: u.prompt_tokens + r.usage.prompt_tokens,
        completion_tokens: u.completion_tokens + r.usage.completion_tokens,
    }
}

/// The answer as the model gave it (or its refusal).
fn answer_text(r: &ChatReply) -> String {
    match &r.refusal {
        Some(refusal) if r.content.trim().is_empty() => format!("(refused) {refusal}"),
        _ => r.content.clone(),
    }
}

/// A refused request (400: context too long, schema refused) will not change on a
/// retry; keys, missing models and server trouble can be fixed meanwhile.
fn item_error(e: &ApiError) -> ItemError {
    let msg = format!("organizing: {}", e.message);
    match e.status {
        _ if e.out_of_quota => ItemError::deferred(msg),
        Some(400 | 413 | 422) => ItemError::permanent(msg),
        _ => ItemError::transient(msg),
    }
}

/// The memo for the model: when it was recorded, the categories, the transcript.
pub(crate) fn user_message(input: &OrganizeInput<'_>) -> String {
    let at = input.recorded_at;
    format!(
        "Recorded: {} (time zone UTC{}); resolve relative days against this date.\n\
         Allowed note categories: {}.\n\nTranscript (verbatim):\n{}",
        at.format("%A %Y-%m-%d %H:%M"),
        at.format("%:z"),
        input
            .categories
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        input.transcript
    )
}

/// A strict-mode object: every property required, nothing else allowed.
fn object(properties: Value) -> Value {
    let required: Vec<Value> = properties
        .as_object()
        .map(|o| o.keys().map(|k| Value::String(k.clone())).collect())
        .unwrap_or_default();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The contract's organization schema, `category` limited to `categories`.
pub fn schema(categories: &[String]) -> Value {
    let todo = object(json!({
        "title": {"type": "string"},
        "description": {"type": "string"},
        "priority": {"type": "string", "enum": ["asap", "soon", "eventually"]},
        "due": {"type": ["string", "null"], "description": "YYYY-MM-DD, or null"},
    }));
    let note = object(json!({
        "title": {"type": "string"},
        "content": {"type": "string"},
        "category": {"type": "string", "enum": categories},
        "tags": {"type": "array", "items": {"type": "string"}},
    }));
    let entry = object(json!({
        "content": {"type": "string"},
        "mood": {"type": ["string", "null"]},
    }));
    object(json!({
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "discard": {"type": "boolean"},
        "todos": {"type": "array", "items": todo},
        "notes": {"type": "array", "items": note},
        "journal": {"type": "array", "items": entry},
    }))
}

fn check_reply(r: &ChatReply, categories: &[String]) -> Result<Organization, String> {
    if r.content.trim().is_empty() {
        return Err(match &r.refusal {
            Some(refusal) => format!("the model refused: {refusal}"),
            None => "the answer is empty".into(),
        });
    }
    let cut_off = r.finish_reason.as_deref() == Some("length");
    validate(&r.content, categories).map_err(|e| {
        if cut_off {
            format!("{e} (the answer was cut off at the token limit)")
        } else {
            e
        }
    })
}

/// Parses and checks an answer: the schema's shape, then what a schema cannot say.
pub fn validate(content: &str, categories: &[String]) -> Result<Organization, String> {
    let json = strip_fences(content);
    let org: Organization =
        serde_json::from_str(json).map_err(|e| format!("not the organization JSON: {e}"))?;
    if org.discard {
        return Ok(org);
    }
    if org.title.trim().is_empty() {
        return Err("`title` is empty".into());
    }
    for (i, t) in org.todos.iter().enumerate() {
        if t.title.trim().is_empty() {
            return Err(format!("todos[{i}].title is empty"));
        }
    }
    for (i, n) in org.notes.iter().enumerate() {
        if n.title.trim().is_empty() {
            return Err(format!("notes[{i}].title is empty"));
        }
        if !categories.iter().any(|c| c == &n.category) {
            return Err(format!(
                "notes[{i}].category \"{}\" is not one of {}",
                n.category,
                categories.join(", ")
            ));
        }
    }
    for (i, j) in org.journal.iter().enumerate() {
        if j.content.trim().is_empty() {
            return Err(format!("journal[{i}].content is empty"));
        }
    }
    Ok(org)
}

/// Local models sometimes wrap JSON in a Markdown code fence despite the schema.
fn strip_fences(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.strip_suffix("```"))
        .map_or(t, str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice_memo::organize::{DEFAULT_CATEGORIES, Priority};

    fn cats() -> Vec<String> {
        DEFAULT_CATEGORIES.iter().map(|c| c.to_string()).collect()
    }

    const GOOD: &str = r#"{"title":"Dentist","summary":"A call.","discard":false,
        "todos":[{"title":"Call the dentist","description":"","priority":"soon","due":"2025-01-08"}],
        "notes":[{"title":"Q3","content":"Plan.","category":"project idea","tags":[]}],
        "journal":[{"content":"Felt good.","mood":null}]}"#;

    #[test]
    fn a_valid_answer_parses() {
        let org = validate(GOOD, &cats()).unwrap();
        assert_eq!(org.todos[0].priority, Priority::Soon);
        assert_eq!(org.todos[0].due.unwrap().to_string(), "2025-01-08");
        assert_eq!(org.journal[0].mood, None);
        assert!(validate(&format!("```json\n{GOOD}\n```"), &cats()).is_ok());
    }

    #[test]
    fn invalid_answers_say_what_is_wrong() {
        let e = validate(&GOOD.replace("project idea", "recipes"), &cats()).unwrap_err();
        assert!(
            e.contains("notes[0].category \"recipes\" is not one of"),
            "{e}"
        );
        let e = validate(&GOOD.replace("2025-01-08", "next friday"), &cats()).unwrap_err();
        assert!(e.contains("not the organization JSON"), "{e}");
        let e = validate(&GOOD.replace("\"discard\":false,", ""), &cats()).unwrap_err();
        assert!(e.contains("missing field `discard`"), "{e}");
        let e = validate(
            &GOOD.replace("\"mood\":null", "\"mood\":null,\"x\":1"),
            &cats(),
        )
        .unwrap_err();
        assert!(e.contains("unknown field `x`"), "{e}");
        let e = validate(&GOOD.replace("Call the dentist", " "), &cats()).unwrap_err();
        assert!(e.contains("todos[0].title is empty"), "{e}");
        let e = validate(&GOOD.replace("\"soon\"", "\"urgent\""), &cats()).unwrap_err();
        assert!(e.contains("unknown variant `urgent`"), "{e}");
    }

    /// Every object strict: all properties required, no others allowed.
    fn assert_strict(v: &Value, at: &str) {
        if v["type"] == "object" {
            let props: Vec<&String> = v["properties"].as_object().unwrap().keys().collect();
            let req: Vec<&str> = v["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            assert_eq!(props.len(), req.len(), "{at}");
            assert_eq!(v["additionalProperties"], false, "{at}");
            for (k, p) in v["properties"].as_object().unwrap() {
                assert_strict(p, &format!("{at}.{k}"));
            }
        }
        if let Some(items) = v.get("items") {
            assert_strict(items, &format!("{at}[]"));
        }
    }

    #[test]
    fn the_schema_is_strict_and_limits_categories() {
        let s = schema(&cats());
        assert_strict(&s, "$");
        assert_eq!(
            s["properties"]["notes"]["items"]["properties"]["category"]["enum"],
            json!(["project idea", "feature idea", "research item", "general"])
        );
        assert_eq!(
            s["properties"]["todos"]["items"]["properties"]["due"]["type"],
            json!(["string", "null"])
        );
    }

    #[test]
    fn the_prompt_carries_the_time_weekday_categories_and_transcript() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-01-07T09:30:00+01:00").unwrap();
        let c = cats();
        let m = user_message(&OrganizeInput {
            transcript: "um remind me to call mom",
            recorded_at: at,
            categories: &c,
        });
        assert!(m.contains("Tuesday 2025-01-07 09:30"), "{m}");
        assert!(m.contains("UTC+01:00"), "{m}");
        assert!(m.contains("\"feature idea\""), "{m}");
        assert!(m.ends_with("um remind me to call mom"), "{m}");
    }
}
