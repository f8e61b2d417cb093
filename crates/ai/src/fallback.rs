//! An analyzer that asks a preferred analyzer first and another when it fails, recording in
//! the result which one failed and why.

use crate::sentences::shorten;
use async_trait::async_trait;
use concierge_domain::analysis::{SummaryDraft, Transcript, TranscriptLine, Verdict};
use concierge_domain::ports::ConversationAnalyzer;
use concierge_domain::{DomainError, Result};
use std::sync::Arc;

/// The longest failure reason kept in `fallback_from`.
const MAX_REASON: usize = 160;

/// Tries `primary`; on any error answers with `fallback` and sets `fallback_from` to
/// `"<primary>: <short reason>"` (for example `openai: timed out`).
#[derive(Clone)]
pub struct FallbackAnalyzer {
    primary: Arc<dyn ConversationAnalyzer>,
    fallback: Arc<dyn ConversationAnalyzer>,
}

impl FallbackAnalyzer {
    /// `primary`, then `fallback` when it fails.
    pub fn new(
        primary: Arc<dyn ConversationAnalyzer>,
        fallback: Arc<dyn ConversationAnalyzer>,
    ) -> Self {
        Self { primary, fallback }
    }

    fn reason(&self, error: &DomainError) -> String {
        format!(
            "{}: {}",
            self.primary.name(),
            shorten(&error.to_string(), MAX_REASON)
        )
    }
}

impl std::fmt::Debug for FallbackAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackAnalyzer")
            .field("primary", &self.primary.name())
            .field("fallback", &self.fallback.name())
            .finish()
    }
}

/// Puts `reason` before a reason the fallback already recorded (chains of fallbacks).
fn record(reason: String, earlier: Option<String>) -> Option<String> {
    Some(match earlier {
        Some(earlier) => format!("{reason}; {earlier}"),
        None => reason,
    })
}

#[async_trait]
impl ConversationAnalyzer for FallbackAnalyzer {
    async fn summarize(&self, transcript: Transcript) -> Result<SummaryDraft> {
        match self.primary.summarize(transcript.clone()).await {
            Ok(draft) => Ok(draft),
            Err(error) => {
                let reason = self.reason(&error);
                tracing::warn!(%reason, fallback = %self.fallback.name(), "summary: falling back");
                let mut draft = self.fallback.summarize(transcript).await?;
                draft.fallback_from = record(reason, draft.fallback_from.take());
                Ok(draft)
            }
        }
    }

    async fn review(&self, message: TranscriptLine, context: Transcript) -> Result<Verdict> {
        match self.primary.review(message.clone(), context.clone()).await {
            Ok(verdict) => Ok(verdict),
            Err(error) => {
                let reason = self.reason(&error);
                tracing::warn!(%reason, fallback = %self.fallback.name(), "review: falling back");
                let mut verdict = self.fallback.review(message, context).await?;
                verdict.fallback_from = record(reason, verdict.fallback_from.take());
                Ok(verdict)
            }
        }
    }

    fn name(&self) -> String {
        format!("{}>{}", self.primary.name(), self.fallback.name())
    }
}
