//! QA reviews: the analyzer's verdict on one message, stored as PENDING, and the admins'
//! decisions on it.

use super::{line, InsightService};
use crate::actor::Actor;
use crate::error::{DomainError, Result};
use crate::ids::MessageId;
use crate::page::{Page, PageRequest};
use crate::qa::{already_decided, Decision, NewQaReview, QaReview, ReviewDecision, ReviewFilter};

impl InsightService {
    /// Asks the analyzer about one message and stores its verdict as a PENDING review (with
    /// `qa_review_updated`). A message that already has a review gets that review back and
    /// `false`; a new review comes with `true`.
    pub async fn request_review(
        &self,
        actor: &Actor,
        message_id: MessageId,
    ) -> Result<(QaReview, bool)> {
        actor.staff()?;
        let message = self
            .ports
            .messages
            .get(message_id)
            .await?
            .ok_or(DomainError::NotFound("message"))?;
        if let Some(existing) = self.reviews.find_by_message(message_id).await? {
            return Ok((existing, false));
        }
        let ticket = self.staff_ticket(actor, message.ticket_id).await?;
        let context = self.transcript(&ticket).await?;
        let verdict = self.analyzer.review(line(&message), context).await?;
        let created = self
            .reviews
            .create(NewQaReview {
                message_id,
                ticket_id: ticket.id,
                verdict,
                created_at: self.ports.clock.now(),
            })
            .await;
        match created {
            Ok(review) => Ok((review, true)),
            // Two requests raced: the first one's review stands.
            Err(DomainError::Conflict(_)) => self
                .reviews
                .find_by_message(message_id)
                .await?
                .map(|r| (r, false))
                .ok_or(DomainError::NotFound("message")),
            Err(other) => Err(other),
        }
    }

    /// One review.
    pub async fn review(&self, actor: &Actor, id: i64) -> Result<QaReview> {
        actor.staff()?;
        self.reviews
            .get(id)
            .await?
            .ok_or(DomainError::NotFound("review"))
    }

    /// An admin approves or rejects a PENDING review (`Conflict` once it is decided).
    pub async fn decide(&self, actor: &Actor, id: i64, decision: Decision) -> Result<QaReview> {
        let reviewer_id = actor.admin()?;
        let decision = decision.validated()?;
        let review = self
            .reviews
            .get(id)
            .await?
            .ok_or(DomainError::NotFound("review"))?;
        if review.status != crate::qa::ReviewStatus::Pending {
            return Err(already_decided(review.status));
        }
        self.reviews
            .decide(ReviewDecision {
                review_id: id,
                status: decision.status,
                feedback: decision.feedback,
                reviewer_id,
                decided_at: self.ports.clock.now(),
            })
            .await
    }

    /// Reviews, newest first. With a ticket in the filter, that ticket must exist.
    pub async fn reviews(
        &self,
        actor: &Actor,
        filter: ReviewFilter,
        page: PageRequest,
    ) -> Result<Page<QaReview>> {
        actor.staff()?;
        if let Some(ticket_id) = filter.ticket_id {
            self.staff_ticket(actor, ticket_id).await?;
        }
        self.reviews.list(filter, page).await
    }
}
