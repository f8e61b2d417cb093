//! Search hits.

use super::names::TicketStatusName;
use chrono::{DateTime, Utc};
use concierge_domain::search::{self as domain, HitKind};
use concierge_domain::ticket::TicketStatus;
use concierge_domain::{MessageId, TicketId};
use serde::Serialize;
use utoipa::ToSchema;

/// What a hit is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchHitKind {
    /// A ticket: its title or description matched.
    Ticket,
    /// A message: its text or its files' names matched.
    Message,
}

/// A ticket or message matching a search. Nothing in it is HTML.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    kind: SearchHitKind,
    #[schema(value_type = i64)]
    ticket_id: TicketId,
    /// The message, for a message hit.
    #[schema(value_type = Option<i64>)]
    message_id: Option<MessageId>,
    /// The ticket's title.
    title: String,
    /// The ticket's status.
    #[schema(value_type = TicketStatusName)]
    status: TicketStatus,
    /// Plain text around the best match (at most about 200 characters).
    snippet: String,
    /// `[start, end)` character offsets into `snippet` of the matched words.
    #[schema(value_type = Vec<Vec<i64>>)]
    highlights: Vec<[usize; 2]>,
    created_at: DateTime<Utc>,
}

impl From<domain::SearchHit> for SearchHit {
    fn from(h: domain::SearchHit) -> Self {
        Self {
            kind: match h.kind {
                HitKind::Ticket => SearchHitKind::Ticket,
                HitKind::Message => SearchHitKind::Message,
            },
            ticket_id: h.ticket_id,
            message_id: h.message_id,
            title: h.title,
            status: h.status,
            snippet: h.snippet,
            highlights: h.highlights.into_iter().map(|(a, b)| [a, b]).collect(),
            created_at: h.created_at,
        }
    }
}
