//! Summaries and QA reviews: reading a ticket's conversation into a transcript, asking the
//! [`ConversationAnalyzer`], storing what it says, and the admins' decisions on reviews.
//!
//! Every use case is for staff (a donor is `Forbidden`); deciding a review is for admins.

use super::Ports;
use crate::actor::Actor;
use crate::analysis::{Speaker, Transcript, TranscriptLine};
use crate::error::{DomainError, Result};
use crate::ids::{MessageId, TicketId};
use crate::message::{Message, MessageFilter, Sender};
use crate::page::{Page, PageRequest, MAX_LIMIT};
use crate::ports::{ConversationAnalyzer, QaReviewRepository, SummaryRepository};
use crate::qa::{already_decided, Decision, NewQaReview, QaReview, ReviewDecision, ReviewFilter};
use crate::summary::{NewSummary, Summary, WriteSummary};
use crate::ticket::Ticket;
use std::sync::Arc;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Flag, FlagKind, SummaryDraft, Verdict};
    use crate::message::MessageType;
    use crate::ports::{MockConversationAnalyzer, MockQaReviewRepository, MockSummaryRepository};
    use crate::qa::ReviewStatus;
    use crate::services::tests::{
        admin, agent, donor, donor_ticket, message, messages_holding, mock_ports, now,
        tickets_holding, ADMIN_ID,
    };
    use crate::services::InsightPorts;
    use crate::ticket::TicketStatus;
    use crate::UserId;

    fn draft() -> SummaryDraft {
        SummaryDraft {
            content: "The donor asked for a receipt; it was sent.".into(),
            key_points: vec!["receipt sent".into()],
            entities: vec![],
            next_steps: None,
            analyzer: "local".into(),
            model: None,
            fallback_from: None,
        }
    }

    fn stored(new: NewSummary) -> Summary {
        Summary {
            id: 1,
            ticket_id: new.ticket_id,
            content: new.draft.content,
            key_points: new.draft.key_points,
            entities: new.draft.entities,
            next_steps: new.draft.next_steps,
            analyzer: new.draft.analyzer,
            model: new.draft.model,
            fallback_from: new.draft.fallback_from,
            created_at: new.created_at,
        }
    }

    fn review(id: i64, status: ReviewStatus) -> QaReview {
        QaReview {
            id,
            message_id: MessageId(5),
            ticket_id: TicketId(1),
            status,
            feedback: None,
            flags: vec![Flag {
                kind: FlagKind::PiiCard,
                evidence: "**** **** **** 1111".into(),
            }],
            sentiment: 0.0,
            analyzer: "local".into(),
            fallback_from: None,
            reviewer_id: None,
            created_at: now(),
            updated_at: now(),
        }
    }

    struct Parts {
        summaries: MockSummaryRepository,
        reviews: MockQaReviewRepository,
        analyzer: MockConversationAnalyzer,
    }

    fn parts() -> Parts {
        Parts {
            summaries: MockSummaryRepository::new(),
            reviews: MockQaReviewRepository::new(),
            analyzer: MockConversationAnalyzer::new(),
        }
    }

    fn service(parts: Parts, messages: Vec<Message>) -> InsightService {
        let mut repo = messages_holding(messages.clone());
        repo.expect_list().returning(move |filter, page| {
            let rows: Vec<Message> = messages
                .iter()
                .filter(|m| Some(m.ticket_id) == filter.ticket_id)
                .filter(|m| page.after.is_none_or(|after| m.id.0 > after))
                .cloned()
                .collect();
            Ok(Page::from_rows(rows, &page, |m| m.id.0))
        });
        InsightService::new(&Ports {
            tickets: Arc::new(tickets_holding(vec![donor_ticket(
                1,
                "donor-a",
                TicketStatus::InProgress,
            )])),
            messages: Arc::new(repo),
            insights: Some(InsightPorts {
                summaries: Arc::new(parts.summaries),
                reviews: Arc::new(parts.reviews),
                analyzer: Arc::new(parts.analyzer),
            }),
            ..mock_ports()
        })
        .expect("the insight ports are set")
    }

    fn conversation() -> Vec<Message> {
        vec![
            message(5, 1, Sender::Donor, MessageType::Chat),
            message(6, 1, Sender::Staff(UserId(10)), MessageType::Chat),
            message(7, 1, Sender::System, MessageType::System),
        ]
    }

    #[tokio::test]
    async fn generating_reads_the_conversation_and_stores_the_draft() {
        let mut p = parts();
        p.analyzer
            .expect_summarize()
            .withf(|t| {
                t.ticket_id == TicketId(1)
                    && t.lines.iter().map(|l| l.speaker).collect::<Vec<_>>()
                        == vec![Speaker::Donor, Speaker::Staff, Speaker::System]
            })
            .times(1)
            .returning(|_| Ok(draft()));
        p.summaries
            .expect_replace()
            .withf(|s| s.ticket_id == TicketId(1) && s.draft.analyzer == "local")
            .times(1)
            .returning(|s| Ok(stored(s)));
        let summary = service(p, conversation())
            .generate_summary(&agent(), TicketId(1))
            .await
            .unwrap();
        assert_eq!(summary.key_points, vec!["receipt sent".to_string()]);
        assert_eq!(summary.created_at, now());
    }

    #[tokio::test]
    async fn donors_may_not_summarise_or_review() {
        let mut p = parts();
        p.summaries.expect_replace().never();
        p.reviews.expect_create().never();
        p.analyzer.expect_summarize().never();
        let svc = service(p, conversation());
        let donor = donor("donor-a", 1);
        assert!(matches!(
            svc.generate_summary(&donor, TicketId(1)).await,
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            svc.summary(&donor, TicketId(1)).await,
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            svc.request_review(&donor, MessageId(5)).await,
            Err(DomainError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn unknown_tickets_are_not_found_and_an_empty_one_has_nothing_to_summarise() {
        let mut p = parts();
        p.analyzer.expect_summarize().never();
        p.summaries.expect_replace().never();
        p.summaries.expect_current().never();
        let svc = service(p, vec![]);
        assert!(matches!(
            svc.generate_summary(&agent(), TicketId(99)).await,
            Err(DomainError::NotFound("ticket"))
        ));
        assert!(matches!(
            svc.summary(&agent(), TicketId(99)).await,
            Err(DomainError::NotFound("ticket"))
        ));
        assert!(matches!(
            svc.generate_summary(&agent(), TicketId(1)).await,
            Err(DomainError::Conflict(_))
        ));
    }

    #[tokio::test]
    async fn a_hand_written_summary_replaces_the_current_one() {
        let mut p = parts();
        p.summaries
            .expect_replace()
            .withf(|s| s.draft.analyzer == "manual" && s.draft.content == "Sorted")
            .times(1)
            .returning(|s| Ok(stored(s)));
        let svc = service(p, vec![]);
        let input = WriteSummary {
            ticket_id: TicketId(1),
            content: " Sorted ".into(),
            key_points: vec![],
        };
        assert_eq!(
            svc.write_summary(&agent(), input).await.unwrap().analyzer,
            "manual"
        );
        let empty = WriteSummary {
            ticket_id: TicketId(1),
            content: "".into(),
            key_points: vec![],
        };
        assert!(matches!(
            svc.write_summary(&agent(), empty).await,
            Err(DomainError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn a_review_stores_the_verdict_as_pending() {
        let mut p = parts();
        p.reviews.expect_find_by_message().returning(|_| Ok(None));
        p.analyzer
            .expect_review()
            .withf(|m, ctx| m.message_id == MessageId(5) && ctx.lines.len() == 3)
            .times(1)
            .returning(|_, _| {
                Ok(Verdict {
                    flags: vec![Flag {
                        kind: FlagKind::PiiCard,
                        evidence: "**** 1111".into(),
                    }],
                    sentiment: 0.0,
                    analyzer: "local".into(),
                    fallback_from: None,
                })
            });
        p.reviews
            .expect_create()
            .withf(|r| r.ticket_id == TicketId(1) && r.verdict.flags.len() == 1)
            .times(1)
            .returning(|_| Ok(review(3, ReviewStatus::Pending)));
        let (got, created) = service(p, conversation())
            .request_review(&agent(), MessageId(5))
            .await
            .unwrap();
        assert!(created);
        assert_eq!(got.status, ReviewStatus::Pending);
    }

    #[tokio::test]
    async fn a_second_request_returns_the_existing_review() {
        let mut p = parts();
        p.reviews
            .expect_find_by_message()
            .returning(|_| Ok(Some(review(3, ReviewStatus::Approved))));
        p.analyzer.expect_review().never();
        p.reviews.expect_create().never();
        let (got, created) = service(p, conversation())
            .request_review(&agent(), MessageId(5))
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(got.id, 3);
    }

    #[tokio::test]
    async fn only_admins_decide_and_only_once() {
        let mut p = parts();
        p.reviews.expect_get().returning(|id| {
            Ok(match id {
                3 => Some(review(3, ReviewStatus::Pending)),
                4 => Some(review(4, ReviewStatus::Approved)),
                _ => None,
            })
        });
        p.reviews
            .expect_decide()
            .withf(|d| {
                d.review_id == 3
                    && d.reviewer_id == ADMIN_ID
                    && d.status == ReviewStatus::Approved
                    && d.feedback.as_deref() == Some("real card")
            })
            .times(1)
            .returning(|d| {
                Ok(QaReview {
                    status: d.status,
                    reviewer_id: Some(d.reviewer_id),
                    feedback: d.feedback,
                    ..review(3, ReviewStatus::Pending)
                })
            });
        let svc = service(p, vec![]);
        let approve = || Decision {
            status: ReviewStatus::Approved,
            feedback: Some("real card".into()),
        };
        assert!(matches!(
            svc.decide(&agent(), 3, approve()).await,
            Err(DomainError::Forbidden(_))
        ));
        let decided = svc.decide(&admin(), 3, approve()).await.unwrap();
        assert_eq!(decided.reviewer_id, Some(ADMIN_ID));
        assert!(matches!(
            svc.decide(&admin(), 4, approve()).await,
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            svc.decide(&admin(), 9, approve()).await,
            Err(DomainError::NotFound(_))
        ));
        let pending = Decision {
            status: ReviewStatus::Pending,
            feedback: None,
        };
        assert!(matches!(
            svc.decide(&admin(), 3, pending).await,
            Err(DomainError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn listing_reviews_of_a_missing_ticket_is_not_found() {
        let mut p = parts();
        p.reviews
            .expect_list()
            .withf(|f, _| f.status == Some(ReviewStatus::Pending))
            .times(1)
            .returning(|_, _| Ok(Page::from_rows(vec![], &PageRequest::default(), |_| 0)));
        let svc = service(p, vec![]);
        let missing = ReviewFilter {
            ticket_id: Some(TicketId(99)),
            status: None,
        };
        assert!(matches!(
            svc.reviews(&agent(), missing, PageRequest::default()).await,
            Err(DomainError::NotFound(_))
        ));
        let pending = ReviewFilter {
            ticket_id: Some(TicketId(1)),
            status: Some(ReviewStatus::Pending),
        };
        assert!(svc
            .reviews(&agent(), pending, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty());
    }
}
