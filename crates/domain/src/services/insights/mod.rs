//! Summaries and QA reviews: reading a ticket's conversation into a transcript, asking the
//! [`ConversationAnalyzer`], storing what it says, and the admins' decisions on reviews.
//!
//! Every use case is for staff (a donor is `Forbidden`); deciding a review is for admins.//! The shared part (the service, its ticket check, the transcript) is here; summaries are in
//! `summaries`, QA reviews in `reviews`.

use super::Ports;
use crate::actor::Actor;
use crate::analysis::{Speaker, Transcript, TranscriptLine};
use crate::error::Result;
use crate::ids::TicketId;
use crate::message::{Message, MessageFilter, Sender};
use crate::page::{PageRequest, MAX_LIMIT};
use crate::ports::{ConversationAnalyzer, QaReviewRepository, SummaryRepository};
use crate::ticket::Ticket;
use std::sync::Arc;

mod reviews;
mod summaries;
#[cfg(test)]
mod tests;

/// The most messages read into one transcript (the analyzers cut further to their budgets).
pub const MAX_TRANSCRIPT_MESSAGES: usize = 5_000;

/// Summaries and QA reviews.
#[derive(Clone)]
pub struct InsightService {
    ports: Ports,
    summaries: Arc<dyn SummaryRepository>,
    reviews: Arc<dyn QaReviewRepository>,
    analyzer: Arc<dyn ConversationAnalyzer>,
}

fn speaker(sender: &Sender) -> Speaker {
    match sender {
        Sender::Donor => Speaker::Donor,
        Sender::Staff(_) => Speaker::Staff,
        Sender::System => Speaker::System,
    }
}

/// A message as a transcript line: who spoke, the text, when. Nothing else of the message (no
/// ids of people, no client keys) goes to an analyzer.
fn line(message: &Message) -> TranscriptLine {
    TranscriptLine {
        message_id: message.id,
        speaker: speaker(&message.sender),
        text: message.content.clone(),
        at: message.created_at,
    }
}

impl InsightService {
    /// Builds the service, or `None` without [`Ports::insights`].
    pub fn new(ports: &Ports) -> Option<Self> {
        let group = ports.insights.as_ref()?;
        Some(Self {
            ports: ports.clone(),
            summaries: group.summaries.clone(),
            reviews: group.reviews.clone(),
            analyzer: group.analyzer.clone(),
        })
    }

    /// The analyzer's name (`local`, `openai>local`), for health reports.
    pub fn analyzer_name(&self) -> String {
        self.analyzer.name()
    }

    /// The ticket, for staff (and the server itself, for automatic summaries): `Forbidden` for
    /// anyone else, `NotFound` when it does not exist.
    pub async fn staff_ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket> {
        if !matches!(actor, Actor::System) {
            actor.staff()?;
        }
        self.ports.readable_ticket(actor, id).await
    }

    /// The ticket's conversation, oldest first, as an analyzer reads it.
    async fn transcript(&self, ticket: &Ticket) -> Result<Transcript> {
        let filter = MessageFilter {
            ticket_id: Some(ticket.id),
            ..Default::default()
        };
        let mut lines = Vec::new();
        let mut page = PageRequest::first(MAX_LIMIT);
        loop {
            let got = self.ports.messages.list(filter.clone(), page).await?;
            lines.extend(got.items.iter().map(line));
            match got.items.last() {
                Some(last) if got.has_more() && lines.len() < MAX_TRANSCRIPT_MESSAGES => {
                    page.after = Some(last.id.0);
                }
                _ => break,
            }
        }
        lines.truncate(MAX_TRANSCRIPT_MESSAGES);
        Ok(Transcript {
            ticket_id: ticket.id,
            title: ticket.title.clone(),
            lines,
        })
    }
}
