//! QA reviews: an analyzer's verdict on one message, and a person's decision about it.

use crate::analysis::{Flag, FlagKind, Verdict};
use crate::error::{DomainError, Result};
use crate::ids::{MessageId, TicketId, UserId};
use crate::validate;
use crate::wire_enum::wire_enum;
use chrono::{DateTime, Utc};

/// The longest reviewer feedback, in characters.
pub const MAX_FEEDBACK: usize = 4_000;

wire_enum!(
    /// Where a review stands.
    ReviewStatus, "status" {
        /// Waiting for an admin.
        Pending = "PENDING",
        /// An admin agreed with the findings.
        Approved = "APPROVED",
        /// An admin rejected the findings.
        Rejected = "REJECTED",
    }
);

/// A QA review of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct QaReview {
    /// Its id.
    pub id: i64,
    /// The message reviewed.
    pub message_id: MessageId,
    /// Its ticket.
    pub ticket_id: TicketId,
    /// The human decision.
    pub status: ReviewStatus,
    /// The reviewer's feedback.
    pub feedback: Option<String>,
    /// The analyzer's findings.
    pub flags: Vec<Flag>,
    /// The analyzer's sentiment, -1..1.
    pub sentiment: f32,
    /// Which analyzer gave the verdict.
    pub analyzer: String,
    /// When the preferred analyzer failed and another stood in.
    pub fallback_from: Option<String>,
    /// The admin who decided.
    pub reviewer_id: Option<UserId>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A review about to be stored (PENDING).
#[derive(Debug, Clone, PartialEq)]
pub struct NewQaReview {
    /// The message.
    pub message_id: MessageId,
    /// Its ticket.
    pub ticket_id: TicketId,
    /// The analyzer's verdict.
    pub verdict: Verdict,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// An admin's decision on a PENDING review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// APPROVED or REJECTED.
    pub status: ReviewStatus,
    /// Optional feedback.
    pub feedback: Option<String>,
}

impl Decision {
    /// Checks the decision: the status must be APPROVED or REJECTED.
    pub fn validated(self) -> Result<Self> {
        let mut errors = Vec::new();
        if self.status == ReviewStatus::Pending {
            errors.push(crate::FieldError::new(
                "status",
                "must be APPROVED or REJECTED",
            ));
        }
        let feedback = validate::optional_text(
            &mut errors,
            "feedback",
            self.feedback.as_deref(),
            MAX_FEEDBACK,
        );
        validate::finish(
            errors,
            Self {
                status: self.status,
                feedback,
            },
        )
    }
}

/// A decision as the store applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDecision {
    /// The review.
    pub review_id: i64,
    /// APPROVED or REJECTED.
    pub status: ReviewStatus,
    /// Feedback.
    pub feedback: Option<String>,
    /// The admin deciding.
    pub reviewer_id: UserId,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// Which reviews to list (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewFilter {
    /// Only this ticket's.
    pub ticket_id: Option<TicketId>,
    /// Only in this state.
    pub status: Option<ReviewStatus>,
}

/// Every flag kind, for adapters reading stored names back.
pub const FLAG_KINDS: [FlagKind; 5] = [
    FlagKind::PiiCard,
    FlagKind::PiiEmail,
    FlagKind::PiiPhone,
    FlagKind::Abusive,
    FlagKind::NegativeSentiment,
];

/// The wire and storage name of a flag kind (`PII_CARD`, ...).
pub fn flag_kind_name(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::PiiCard => "PII_CARD",
        FlagKind::PiiEmail => "PII_EMAIL",
        FlagKind::PiiPhone => "PII_PHONE",
        FlagKind::Abusive => "ABUSIVE",
        FlagKind::NegativeSentiment => "NEGATIVE_SENTIMENT",
    }
}

/// The flag kind with this wire name.
pub fn flag_kind_from_name(name: &str) -> Option<FlagKind> {
    FLAG_KINDS
        .iter()
        .copied()
        .find(|k| flag_kind_name(*k) == name)
}

/// `Conflict` for a decision on a review that is no longer PENDING.
pub fn already_decided(status: ReviewStatus) -> DomainError {
    DomainError::Conflict(format!("the review is already {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_kind_names_match_the_wire() {
        for kind in FLAG_KINDS {
            assert_eq!(serde_json::to_value(kind).unwrap(), flag_kind_name(kind));
            assert_eq!(flag_kind_from_name(flag_kind_name(kind)), Some(kind));
        }
    }

    #[test]
    fn a_decision_is_approved_or_rejected() {
        let pending = Decision {
            status: ReviewStatus::Pending,
            feedback: None,
        };
        assert!(pending.validated().is_err());
        let ok = Decision {
            status: ReviewStatus::Approved,
            feedback: Some("  ".into()),
        }
        .validated()
        .unwrap();
        assert_eq!(ok.feedback, None);
    }
}
