//! The `gemini` organizer: the contract's organization JSON from Gemini under a
//! `responseSchema` (the contract's schema in Gemini's dialect), validated against the
//! contract's own rules on receipt, repaired once, else the memo fails with the
//! model's text. The prompt is the `openai` organizer's.
use super::openai::{SYSTEM_PROMPT, categories_of, schema, user_message, validate};
use super::{OrganizeInput, Organized, Organizer, Usage};
use crate::clients::gemini::{self, AskError, Fault, GeminiClient};
use crate::clients::openai::truncate;
use crate::config::OrganizationConfig;
use crate::voice_memo::error::ItemError;

/// The most of a model's answer quoted in an error.
const ANSWER_IN_ERROR: usize = 500;

/// Organizes memos with Gemini.
pub struct GeminiOrganizer {
    client: GeminiClient,
    model: String,
}

impl GeminiOrganizer {
    /// The organizer for `[organization]`; no key is a usage error.
    pub fn from_config(cfg: &OrganizationConfig) -> anyhow::Result<GeminiOrganizer> {
        let client = GeminiClient::from_env(&cfg.base_url, &cfg.api_key_env, "organization")?;
        Ok(GeminiOrganizer::new(client, &cfg.model))
    }

    pub fn new(client: GeminiClient, model: &str) -> GeminiOrganizer {
        GeminiOrganizer {
            client,
            model: model.to_string(),
        }
    }
}

impl Organizer for GeminiOrganizer {
    fn organize(&self, input: &OrganizeInput<'_>) -> Result<Organized, ItemError> {
        let categories = categories_of(input);
        let input = &OrganizeInput {
            categories: &categories,
            ..input.clone()
        };
        let check = |text: &str| validate(text, &categories);
        let asked = gemini::ask_json(
            &self.client,
            &self.model,
            SYSTEM_PROMPT,
            &user_message(input),
            &schema(&categories),
            &check,
        );
        match asked {
            Ok((org, u)) => Ok(Organized {
                org,
                usage: usage_of(u),
            }),
            Err(AskError::Api(e)) => {
                let msg = format!("organizing: {}", e.message);
                Err(match e.fault {
                    Fault::Request => ItemError::permanent(msg),
                    Fault::Transient | Fault::Setup => ItemError::transient(msg),
                })
            }
            Err(AskError::Blocked(why)) => Err(ItemError::permanent(format!("organizing: {why}"))),
            Err(AskError::Invalid { why, text, usage }) => Err(ItemError::permanent(format!(
                "Gemini's answer does not match the organization schema, even after one repair request ({why}; \
                 {} prompt + {} output tokens spent); its answer: {}",
                usage.prompt_tokens,
                usage.completion_tokens,
                truncate(&text, ANSWER_IN_ERROR)
            ))),
        }
    }
}

fn usage_of(u: gemini::Usage) -> Usage {
    Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_contract_schema_becomes_geminis_dialect() {
        let cats: Vec<String> = super::super::DEFAULT_CATEGORIES
            .iter()
            .map(|c| c.to_string())
            .collect();
        let g = gemini::to_gemini_schema(&schema(&cats));
        let text = g.to_string();
        assert!(!text.contains("additionalProperties"), "{text}");
        assert!(!text.contains("\"null\""), "{text}");
        let due = &g["properties"]["todos"]["items"]["properties"]["due"];
        assert_eq!(due["nullable"], true);
        assert_eq!(due["type"], "STRING");
        assert_eq!(
            g["properties"]["notes"]["items"]["properties"]["category"]["enum"],
            json!(cats)
        );
        assert_eq!(g["propertyOrdering"].as_array().unwrap().len(), 6);
    }
}
