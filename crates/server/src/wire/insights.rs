//! Summaries and QA reviews.

use super::names::{EntityKindName, FlagKindName, ReviewStatusName};
use chrono::{DateTime, Utc};
use concierge_domain::analysis::{self as analysis, EntityKind, FlagKind};
use concierge_domain::qa::{self as domain_qa, ReviewStatus};
use concierge_domain::summary as domain_summary;
use concierge_domain::{MessageId, TicketId, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// A fact a summary mentions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entity {
    #[schema(value_type = EntityKindName)]
    kind: EntityKind,
    value: String,
}

impl From<&analysis::Entity> for Entity {
    fn from(e: &analysis::Entity) -> Self {
        Self {
            kind: e.kind,
            value: e.value.clone(),
        }
    }
}

/// A ticket's current summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    id: i64,
    #[schema(value_type = i64)]
    ticket_id: TicketId,
    content: String,
    key_points: Vec<String>,
    entities: Vec<Entity>,
    next_steps: Option<String>,
    /// `local`, `openai`, or `manual`.
    analyzer: String,
    model: Option<String>,
    fallback_from: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<&domain_summary::Summary> for Summary {
    fn from(s: &domain_summary::Summary) -> Self {
        Self {
            id: s.id,
            ticket_id: s.ticket_id,
            content: s.content.clone(),
            key_points: s.key_points.clone(),
            entities: s.entities.iter().map(Entity::from).collect(),
            next_steps: s.next_steps.clone(),
            analyzer: s.analyzer.clone(),
            model: s.model.clone(),
            fallback_from: s.fallback_from.clone(),
            created_at: s.created_at,
        }
    }
}

/// One finding of a QA review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Flag {
    #[schema(value_type = FlagKindName)]
    kind: FlagKind,
    evidence: String,
}

/// What the analyzer found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verdict {
    flags: Vec<Flag>,
    /// -1..1.
    sentiment: f32,
}

/// A QA review of one message.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QaReview {
    id: i64,
    #[schema(value_type = i64)]
    message_id: MessageId,
    #[schema(value_type = i64)]
    ticket_id: TicketId,
    #[schema(value_type = ReviewStatusName)]
    status: ReviewStatus,
    feedback: Option<String>,
    verdict: Verdict,
    analyzer: String,
    fallback_from: Option<String>,
    #[schema(value_type = Option<i64>)]
    reviewer_id: Option<UserId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&domain_qa::QaReview> for QaReview {
    fn from(r: &domain_qa::QaReview) -> Self {
        Self {
            id: r.id,
            message_id: r.message_id,
            ticket_id: r.ticket_id,
            status: r.status,
            feedback: r.feedback.clone(),
            verdict: Verdict {
                flags: r
                    .flags
                    .iter()
                    .map(|f| Flag {
                        kind: f.kind,
                        evidence: f.evidence.clone(),
                    })
                    .collect(),
                sentiment: r.sentiment,
            },
            analyzer: r.analyzer.clone(),
            fallback_from: r.fallback_from.clone(),
            reviewer_id: r.reviewer_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

from_owned!(domain_summary::Summary => Summary, domain_qa::QaReview => QaReview);
