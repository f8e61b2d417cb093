//! # concierge-ai
//!
//! Conversation analysis for Concierge: summaries of a ticket's conversation and QA verdicts
//! on single messages, behind the domain's
//! [`ConversationAnalyzer`] port.
//!
//! * [`LocalAnalyzer`] (`local`): no network. Extractive summaries, entity extraction
//!   (phones, emails, links, amounts, dates, order/reference numbers) and rule-based QA
//!   (Luhn-checked card numbers, emails, phones, abusive words, a sentiment lexicon).
//! * [`OpenAiAnalyzer`] (`openai`): any OpenAI-compatible Chat Completions API with strict
//!   JSON-schema outputs, validated before use; retries on 429/5xx; transcripts cut to a token
//!   budget, secrets redacted and card numbers masked before anything is sent.
//! * [`FallbackAnalyzer`] (`openai>local`): the remote analyzer, and the local one when it
//!   fails, with the failure recorded in `fallback_from`.
//!
//! The server calls [`analyzer_from_config`] with [`OpenAiConfig::from_env`] (or
//! [`OpenAiConfig::from_vars`]).

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

mod cards;
mod config;
mod entities;
mod error;
mod fallback;
mod local;
mod openai;
mod redact;
mod review;
mod sentences;
mod sentiment;
mod summary;

pub use cards::{find_cards, luhn_valid, mask_card, mask_cards, CardMatch};
pub use config::{AiConfigError, OpenAiConfig, DEFAULT_BASE_URL, DEFAULT_MODEL};
pub use entities::extract_entities;
pub use error::AiError;
pub use fallback::FallbackAnalyzer;
pub use local::LocalAnalyzer;
pub use openai::OpenAiAnalyzer;
pub use redact::{redact_secrets, sanitize_for_remote, REDACTED};
pub use review::review_text;
pub use sentiment::{abusive_words, sentiment, Sentiment, NEGATIVE_THRESHOLD};
pub use summary::summarize_transcript;

use concierge_domain::ports::ConversationAnalyzer;
use std::sync::Arc;

/// The analyzer to run: the local one alone when `openai` is `None` (neither
/// `OPENAI_API_KEY` nor `OPENAI_BASE_URL` set), else the remote one falling back on the local
/// one (`openai>local`). A remote client that cannot be built is logged and left out.
pub fn analyzer_from_config(openai: Option<OpenAiConfig>) -> Arc<dyn ConversationAnalyzer> {
    let local: Arc<dyn ConversationAnalyzer> = Arc::new(LocalAnalyzer::new());
    let Some(config) = openai else {
        return local;
    };
    match OpenAiAnalyzer::new(config) {
        Ok(remote) => Arc::new(FallbackAnalyzer::new(Arc::new(remote), local)),
        Err(error) => {
            tracing::error!(%error, "OpenAI analyzer unavailable; using the local analyzer");
            local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_openai_settings_only_the_local_analyzer_runs() {
        assert_eq!(analyzer_from_config(None).name(), "local");
    }

    #[test]
    fn with_openai_settings_the_local_analyzer_is_the_fallback() {
        let config = OpenAiConfig {
            base_url: "http://127.0.0.1:9/v1".into(),
            ..OpenAiConfig::default()
        };
        assert_eq!(analyzer_from_config(Some(config)).name(), "openai>local");
    }
}
