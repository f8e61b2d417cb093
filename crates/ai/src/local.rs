//! The offline analyzer: extractive summaries and rule-based QA verdicts, no network.

use crate::review::review_text;
use crate::summary::summarize_transcript;
use async_trait::async_trait;
use concierge_domain::analysis::{SummaryDraft, Transcript, TranscriptLine, Verdict};
use concierge_domain::ports::ConversationAnalyzer;
use concierge_domain::Result;

/// Summarises and reviews conversations with word lists and patterns, on this machine.
/// Always available; the stand-in when no remote model is configured or it fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalAnalyzer;

impl LocalAnalyzer {
    /// The local analyzer.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl ConversationAnalyzer for LocalAnalyzer {
    async fn summarize(&self, transcript: Transcript) -> Result<SummaryDraft> {
        Ok(summarize_transcript(&transcript))
    }

    async fn review(&self, message: TranscriptLine, _context: Transcript) -> Result<Verdict> {
        Ok(review_text(&message.text))
    }

    fn name(&self) -> String {
        "local".to_string()
    }
}
