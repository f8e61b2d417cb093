//! Conversation summaries: one current summary per ticket, written by an analyzer or by hand.

use crate::analysis::{Entity, EntityKind, SummaryDraft};
use crate::error::Result;
use crate::ids::TicketId;
use crate::validate;
use chrono::{DateTime, Utc};

/// The `analyzer` of a summary written by hand.
pub const MANUAL_ANALYZER: &str = "manual";
/// The longest summary text, in characters.
pub const MAX_CONTENT: usize = 20_000;
/// The most key points a summary keeps.
pub const MAX_KEY_POINTS: usize = 50;
/// The longest key point, in characters.
pub const MAX_KEY_POINT: usize = 1_000;

/// A ticket's current summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Its id.
    pub id: i64,
    /// The ticket it summarises.
    pub ticket_id: TicketId,
    /// The summary text.
    pub content: String,
    /// The points that matter.
    pub key_points: Vec<String>,
    /// Facts mentioned (`{kind, value}`).
    pub entities: Vec<Entity>,
    /// Where the ticket stands and what comes next.
    pub next_steps: Option<String>,
    /// Which analyzer made it: `local`, `openai`, or `manual` for a summary written by hand.
    pub analyzer: String,
    /// The model, for remote analyzers.
    pub model: Option<String>,
    /// When the preferred analyzer failed and another stood in: the one that failed, and why.
    pub fallback_from: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A summary about to replace a ticket's current one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSummary {
    /// The ticket.
    pub ticket_id: TicketId,
    /// What the analyzer (or a person) wrote.
    pub draft: SummaryDraft,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A summary written by hand (`POST /summaries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The text.
    pub content: String,
    /// Optional key points.
    pub key_points: Vec<String>,
}

impl WriteSummary {
    /// Trims and checks the fields.
    pub fn validated(self) -> Result<Self> {
        let mut errors = Vec::new();
        let content = validate::text(&mut errors, "content", &self.content, 1, MAX_CONTENT);
        if self.key_points.len() > MAX_KEY_POINTS {
            errors.push(crate::FieldError::new(
                "keyPoints",
                format!("must hold at most {MAX_KEY_POINTS} points"),
            ));
        }
        let key_points = self
            .key_points
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| validate::text(&mut errors, "keyPoints", p, 1, MAX_KEY_POINT))
            .collect();
        validate::finish(
            errors,
            Self {
                ticket_id: self.ticket_id,
                content,
                key_points,
            },
        )
    }

    /// The draft a hand-written summary stores: analyzer `manual`, no entities.
    pub fn into_draft(self) -> SummaryDraft {
        SummaryDraft {
            content: self.content,
            key_points: self.key_points,
            entities: Vec::new(),
            next_steps: None,
            analyzer: MANUAL_ANALYZER.to_string(),
            model: None,
            fallback_from: None,
        }
    }
}

/// Every entity kind, for adapters reading stored names back.
pub const ENTITY_KINDS: [EntityKind; 6] = [
    EntityKind::Phone,
    EntityKind::Email,
    EntityKind::Url,
    EntityKind::Amount,
    EntityKind::Date,
    EntityKind::Reference,
];

/// The wire and storage name of an entity kind (`PHONE`, `EMAIL`, ...).
pub fn entity_kind_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Phone => "PHONE",
        EntityKind::Email => "EMAIL",
        EntityKind::Url => "URL",
        EntityKind::Amount => "AMOUNT",
        EntityKind::Date => "DATE",
        EntityKind::Reference => "REFERENCE",
    }
}

/// The entity kind with this wire name.
pub fn entity_kind_from_name(name: &str) -> Option<EntityKind> {
    ENTITY_KINDS
        .iter()
        .copied()
        .find(|k| entity_kind_name(*k) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_kind_names_match_the_wire() {
        for kind in ENTITY_KINDS {
            let wire = serde_json::to_value(kind).unwrap();
            assert_eq!(wire, entity_kind_name(kind));
            assert_eq!(entity_kind_from_name(entity_kind_name(kind)), Some(kind));
        }
        assert_eq!(entity_kind_from_name("NOPE"), None);
    }

    #[test]
    fn hand_written_summaries_are_checked() {
        let ok = WriteSummary {
            ticket_id: TicketId(1),
            content: "  Refund sent  ".into(),
            key_points: vec!["a".into(), " ".into()],
        }
        .validated()
        .unwrap();
        assert_eq!(ok.content, "Refund sent");
        assert_eq!(ok.key_points, vec!["a".to_string()]);
        assert_eq!(ok.into_draft().analyzer, MANUAL_ANALYZER);
        let empty = WriteSummary {
            ticket_id: TicketId(1),
            content: " ".into(),
            key_points: vec![],
        };
        assert!(empty.validated().is_err());
    }
}
