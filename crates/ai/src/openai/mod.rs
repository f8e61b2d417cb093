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

    fn body(&self, instructions: &str, request: String, format: Value) -> Value {
        json!({
            "model": self.model(),
            "messages": [
                { "role": "system", "content": instructions },
                { "role": "user", "content": request }
            ],
            "response_format": format
        })
    }

    async fn ask(&self, body: Value) -> Result<Answer, AiError> {
        self.client.complete(&body).await
    }
}

#[async_trait]
impl ConversationAnalyzer for OpenAiAnalyzer {
    async fn summarize(&self, transcript: Transcript) -> Result<SummaryDraft> {
        let budget = self.client.config().token_budget;
        let body = self.body(
            prompt::SUMMARY_INSTRUCTIONS,
            prompt::summary_request(&transcript, budget),
            schema::summary_format(),
        );
        let answer = self.ask(body).await?;
        let checked = schema::parse_summary(&answer.content).map_err(AiError::InvalidReply)?;
        Ok(SummaryDraft {
            content: checked.content,
            key_points: checked.key_points,
            entities: checked.entities,
            next_steps: checked.next_steps,
            analyzer: "openai".to_string(),
            model: Some(answer.model.unwrap_or_else(|| self.model().to_string())),
            fallback_from: None,
        })
    }

    async fn review(&self, message: TranscriptLine, context: Transcript) -> Result<Verdict> {
        let budget = self.client.config().token_budget;
        let body = self.body(
            prompt::REVIEW_INSTRUCTIONS,
            prompt::review_request(&message, &context, budget),
            schema::review_format(),
        );
        let answer = self.ask(body).await?;
        let checked = schema::parse_review(&answer.content).map_err(AiError::InvalidReply)?;
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
