//! The analyzer that asks an OpenAI-compatible Chat Completions API (OpenAI, Ollama, vLLM,
//! llama.cpp server) with strict JSON-schema structured outputs, and checks the answer against
//! the schema before using it.

mod client;
mod prompt;
mod retry;
mod schema;

use crate::config::OpenAiConfig;
use crate::error::AiError;
use async_trait::async_trait;
use client::{Answer, ChatClient};
use concierge_domain::analysis::{SummaryDraft, Transcript, TranscriptLine, Verdict};
use concierge_domain::ports::ConversationAnalyzer;
use concierge_domain::Result;
use serde_json::{json, Value};

/// Summaries and QA verdicts from a remote model. Errors (network, status, a reply that does
/// not match the schema) are `DomainError::Unavailable`; wrap it in a
/// [`FallbackAnalyzer`](crate::FallbackAnalyzer) to fall back on the local analyzer.
#[derive(Debug, Clone)]
pub struct OpenAiAnalyzer {
    client: ChatClient,
}

impl OpenAiAnalyzer {
    /// An analyzer for the configured endpoint. Fails only when the HTTP client cannot be
    /// built (no TLS backend).
    pub fn new(config: OpenAiConfig) -> Result<Self, AiError> {
        Ok(Self {
            client: ChatClient::new(config)?,
        })
    }

    /// The configured model.
    pub fn model(&self) -> &str {
        &self.client.config().model
    }

    /// Asks for `request` (written within the token budget) under `instructions`, the answer
    /// in `format`, and checks it with `parse`; also names the model that answered.
    async fn ask<T>(
        &self,
        instructions: &str,
        request: impl FnOnce(usize) -> String,
        format: Value,
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<(T, String), AiError> {
        let body = json!({
            "model": self.model(),
            "messages": [
                { "role": "system", "content": instructions },
                { "role": "user", "content": request(self.client.config().token_budget) }
            ],
            "response_format": format
        });
        let answer: Answer = self.client.complete(&body).await?;
        let checked = parse(&answer.content).map_err(AiError::InvalidReply)?;
        Ok((
            checked,
            answer.model.unwrap_or_else(|| self.model().to_string()),
        ))
    }
}

#[async_trait]
impl ConversationAnalyzer for OpenAiAnalyzer {
    async fn summarize(&self, transcript: Transcript) -> Result<SummaryDraft> {
        let (checked, model) = self
            .ask(
                prompt::SUMMARY_INSTRUCTIONS,
                |budget| prompt::summary_request(&transcript, budget),
                schema::summary_format(),
                schema::parse_summary,
            )
            .await?;
        Ok(SummaryDraft {
            content: checked.content,
            key_points: checked.key_points,
            entities: checked.entities,
            next_steps: checked.next_steps,
            analyzer: "openai".to_string(),
            model: Some(model),
            fallback_from: None,
        })
    }

    async fn review(&self, message: TranscriptLine, context: Transcript) -> Result<Verdict> {
        let (checked, _model) = self
            .ask(
                prompt::REVIEW_INSTRUCTIONS,
                |budget| prompt::review_request(&message, &context, budget),
                schema::review_format(),
                schema::parse_review,
            )
            .await?;
        Ok(Verdict {
            flags: checked.flags,
            sentiment: checked.sentiment,
            analyzer: "openai".to_string(),
            fallback_from: None,
        })
    }

    fn name(&self) -> String {
        "openai".to_string()
    }
}
