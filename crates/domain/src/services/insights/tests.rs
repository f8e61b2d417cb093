//! `InsightService` against mocks: who may summarise and review, what is stored.

use super::*;
use crate::analysis::{Flag, FlagKind, SummaryDraft, Verdict};
use crate::error::DomainError;
use crate::ids::MessageId;
use crate::message::MessageType;
use crate::page::Page;
use crate::ports::{MockConversationAnalyzer, MockQaReviewRepository, MockSummaryRepository};
use crate::qa::ReviewStatus;
use crate::qa::{Decision, QaReview, ReviewFilter};
use crate::services::tests::{
    admin, agent, donor, donor_ticket, message, messages_holding, mock_ports, now, tickets_holding,
    ADMIN_ID,
};
use crate::services::InsightPorts;
use crate::summary::{NewSummary, Summary, WriteSummary};
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
