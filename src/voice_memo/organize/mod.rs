//! Organization: a transcript becomes TODOs, notes and journal entries.
//!
//! The output shape is the contract's organization JSON; every organizer (the offline
//! `rules` one, the `openai` chat model) produces exactly this.
pub mod gemini;
pub mod openai;
pub mod rules;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// The default select options of the Notes database's `category`.
pub const DEFAULT_CATEGORIES: [&str; 4] =
    ["project idea", "feature idea", "research item", "general"];

/// What an organizer produces for one memo (the contract's organization JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub title: String,
    pub summary: String,
    pub discard: bool,
    pub todos: Vec<Todo>,
    pub notes: Vec<Note>,
    pub journal: Vec<JournalEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Urgent: today, right now.
    Asap,
    /// Tomorrow, this week, by Friday.
    Soon,
    /// Later, sometime, next week.
    Eventually,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Asap => "asap",
            Priority::Soon => "soon",
            Priority::Eventually => "eventually",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Todo {
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub due: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub title: String,
    pub content: String,
    pub category: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    pub content: String,
    pub mood: Option<String>,
}

/// What an organizer is given besides the transcript.
#[derive(Debug, Clone)]
pub struct OrganizeInput<'a> {
    /// The transcript, verbatim.
    pub transcript: &'a str,
    /// When the memo was recorded (local time): due dates resolve against it.
    pub recorded_at: DateTime<FixedOffset>,
    /// The Notes database's categories; a note's `category` is one of these.
    pub categories: &'a [String],
}

/// Tokens a remote model used for one memo (zero for offline organizers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// An organization and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Organized {
    pub org: Organization,
    pub usage: Usage,
}

/// One organizer implementation (chosen by `organization.provider`).
pub trait Organizer: Send + Sync {
    /// `Err` classifies the failure: transient (network, rate limit) or permanent.
    fn organize(
        &self,
        input: &OrganizeInput<'_>,
    ) -> Result<Organized, crate::voice_memo::error::ItemError>;
}
