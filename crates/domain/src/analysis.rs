//! What a conversation analyzer reads and returns: transcripts, summary drafts, QA verdicts.

use crate::ids::{MessageId, TicketId};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Who spoke a line of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The donor.
    Donor,
    /// A staff member.
    Staff,
    /// The system (transfers, call notes).
    System,
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    /// The message.
    pub message_id: MessageId,
    /// Who wrote it.
    pub speaker: Speaker,
    /// The text.
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A ticket's conversation, oldest first, for an analyzer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The ticket's title.
    pub title: String,
    /// The messages.
    pub lines: Vec<TranscriptLine>,
}

/// What kind of thing an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityKind {
    /// A phone number.
    Phone,
    /// An email address.
    Email,
    /// A link.
    Url,
    /// An amount of money.
    Amount,
    /// A date.
    Date,
    /// An order, receipt or reference number.
    Reference,
}

impl EntityKind {
    /// Every kind.
    pub const ALL: [EntityKind; 6] = [
        EntityKind::Phone,
        EntityKind::Email,
        EntityKind::Url,
        EntityKind::Amount,
        EntityKind::Date,
        EntityKind::Reference,
    ];
}

/// A fact pulled out of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entity {
    /// Its kind.
    pub kind: EntityKind,
    /// The text as written.
    pub value: String,
}

/// An analyzer's summary of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryDraft {
    /// The summary text.
    pub content: String,
    /// The points that matter.
    pub key_points: Vec<String>,
    /// Facts mentioned.
    pub entities: Vec<Entity>,
    /// Where the ticket stands and what comes next.
    pub next_steps: Option<String>,
    /// Which analyzer made it: `local` or `openai`.
    pub analyzer: String,
    /// The model, for remote analyzers.
    pub model: Option<String>,
    /// When the preferred analyzer failed and another stood in: the one that failed, and why.
    pub fallback_from: Option<String>,
}

/// What a QA flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlagKind {
    /// A payment card number (passes the Luhn check).
    PiiCard,
    /// An email address.
    PiiEmail,
    /// A phone number.
    PiiPhone,
    /// Abusive language.
    Abusive,
    /// Clearly negative sentiment.
    NegativeSentiment,
}

impl FlagKind {
    /// Every kind.
    pub const ALL: [FlagKind; 5] = [
        FlagKind::PiiCard,
        FlagKind::PiiEmail,
        FlagKind::PiiPhone,
        FlagKind::Abusive,
        FlagKind::NegativeSentiment,
    ];
}

/// One finding, with the text that triggered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// What was found.
    pub kind: FlagKind,
    /// The span of text (a card number is masked but for its last four digits).
    pub evidence: String,
}

/// An analyzer's view of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Findings.
    pub flags: Vec<Flag>,
    /// Sentiment from -1 (very negative) to 1 (very positive).
    pub sentiment: f32,
    /// Which analyzer made it: `local` or `openai`.
    pub analyzer: String,
    /// When the preferred analyzer failed and another stood in.
    pub fallback_from: Option<String>,
}
