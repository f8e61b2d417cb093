//! Summaries: the current one of a ticket, a hand-written one, one the analyzer writes.

use super::InsightService;
use crate::actor::Actor;
use crate::error::{DomainError, Result};
use crate::ids::TicketId;
use crate::summary::{NewSummary, Summary, WriteSummary};

impl InsightService {
    /// The ticket's current summary (`NotFound` when it has none).
    pub async fn summary(&self, actor: &Actor, ticket_id: TicketId) -> Result<Summary> {
        self.current_summary(actor, ticket_id)
            .await?
            .ok_or(DomainError::NotFound("summary"))
    }

    /// The ticket's current summary, if any.
    pub async fn current_summary(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
    ) -> Result<Option<Summary>> {
        self.staff_ticket(actor, ticket_id).await?;
        self.summaries.current(ticket_id).await
    }

    /// Writes a summary by hand, replacing the current one (analyzer `manual`).
    pub async fn write_summary(&self, actor: &Actor, input: WriteSummary) -> Result<Summary> {
        actor.staff()?;
        let input = input.validated()?;
        let ticket = self.staff_ticket(actor, input.ticket_id).await?;
        self.summaries
            .replace(NewSummary {
                ticket_id: ticket.id,
                draft: input.into_draft(),
                created_at: self.ports.clock.now(),
            })
            .await
    }

    /// Reads the conversation, asks the analyzer for a summary and stores it as the current
    /// one (with `summary_ready`). Waits for the analyzer; the server runs it in the
    /// background when asked to.
    pub async fn generate_summary(&self, actor: &Actor, ticket_id: TicketId) -> Result<Summary> {
        let ticket = self.staff_ticket(actor, ticket_id).await?;
        let transcript = self.transcript(&ticket).await?;
        if transcript.lines.is_empty() {
            return Err(DomainError::Conflict(
                "the ticket has no messages to summarise".into(),
            ));
        }
        let draft = self.analyzer.summarize(transcript).await?;
        self.summaries
            .replace(NewSummary {
                ticket_id: ticket.id,
                draft,
                created_at: self.ports.clock.now(),
            })
            .await
    }
}
