//! Summaries and QA reviews.

use crate::tests::harness::{chat, create, donor_ticket, kinds, staff, store_test, ticket_events};
use chrono::Utc;
use concierge_domain::analysis::{Entity, EntityKind, Flag, FlagKind, SummaryDraft, Verdict};
use concierge_domain::message::Sender;
use concierge_domain::page::PageRequest;
use concierge_domain::ports::{
    MessageRepository, QaReviewRepository, SummaryRepository, TicketRepository,
};
use concierge_domain::qa::{NewQaReview, ReviewDecision, ReviewFilter, ReviewStatus};
use concierge_domain::summary::NewSummary;
use concierge_domain::{DomainError, MessageId, TicketId};

fn draft(content: &str) -> SummaryDraft {
    SummaryDraft {
        content: content.into(),
        key_points: vec!["card lost".into(), "refund sent".into()],
        entities: vec![Entity {
            kind: EntityKind::Email,
            value: "ann@example.org".into(),
        }],
        next_steps: Some("close the ticket".into()),
        analyzer: "local".into(),
        model: None,
        fallback_from: Some("openai: schema mismatch".into()),
    }
}

fn summary(ticket: TicketId, content: &str) -> NewSummary {
    NewSummary {
        ticket_id: ticket,
        draft: draft(content),
        created_at: Utc::now(),
    }
}

fn review(ticket: TicketId, message: MessageId) -> NewQaReview {
    NewQaReview {
        message_id: message,
        ticket_id: ticket,
        verdict: Verdict {
            flags: vec![Flag {
                kind: FlagKind::PiiCard,
                evidence: "**** **** **** 1111".into(),
            }],
            sentiment: -0.25,
            analyzer: "local".into(),
            fallback_from: None,
        },
        created_at: Utc::now(),
    }
}

store_test!(summaries_replace_and_announce_themselves, |store| {
    let t = create(&store, donor_ticket("d-1", "Lost card")).await;
    assert_eq!(
        SummaryRepository::current(&store, t.id).await.unwrap(),
        None
    );
    let first = store.replace(summary(t.id, "first")).await.unwrap();
    assert_eq!(first.key_points.len(), 2);
    assert_eq!(first.entities[0].kind, EntityKind::Email);
    assert_eq!(
        first.fallback_from.as_deref(),
        Some("openai: schema mismatch")
    );
    let second = store.replace(summary(t.id, "second")).await.unwrap();
    let current = SummaryRepository::current(&store, t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current, second);
    assert_eq!(current.content, "second");
    let events = ticket_events(&store, t.id).await;
    let ready: Vec<_> = events
        .iter()
        .filter(|e| e.kind.as_str() == "summary_ready")
        .collect();
    assert_eq!(ready.len(), 2);
    assert_eq!(ready[1].data["content"], "second");
    assert_eq!(ready[1].data["entities"][0]["kind"], "EMAIL");
    assert!(matches!(
        store.replace(summary(TicketId(999_999), "x")).await,
        Err(DomainError::NotFound("ticket"))
    ));
});

store_test!(concurrent_summaries_leave_one_current, |store| {
    let t = create(&store, donor_ticket("d-1", "Busy")).await;
    let writers = (0..6).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.replace(summary(t.id, &format!("v{i}"))).await })
    });
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    assert!(SummaryRepository::current(&store, t.id)
        .await
        .unwrap()
        .is_some());
});

store_test!(reviews_are_decided_once_and_listed_by_status, |store| {
    let admin = staff(&store, "ann", "Ann Admin").await;
    let t = create(&store, donor_ticket("d-1", "Card")).await;
    let other = create(&store, donor_ticket("d-2", "Other")).await;
    let mut ids = Vec::new();
    for (ticket, text) in [(t.id, "4111 1111 1111 1111"), (t.id, "hi"), (other.id, "x")] {
        let m = store
            .post(chat(ticket, Sender::Donor, text), None)
            .await
            .unwrap();
        ids.push((ticket, m.message().id));
    }
    let first = QaReviewRepository::create(&store, review(ids[0].0, ids[0].1))
        .await
        .unwrap();
    assert_eq!(first.status, ReviewStatus::Pending);
    assert_eq!(first.flags[0].kind, FlagKind::PiiCard);
    assert!((first.sentiment + 0.25).abs() < 1e-6);
    assert!(matches!(
        QaReviewRepository::create(&store, review(ids[0].0, ids[0].1)).await,
        Err(DomainError::Conflict(_))
    ));
    // The message must belong to the ticket named.
    assert!(matches!(
        QaReviewRepository::create(&store, review(other.id, ids[0].1)).await,
        Err(DomainError::NotFound("message"))
    ));
    let second = QaReviewRepository::create(&store, review(ids[1].0, ids[1].1))
        .await
        .unwrap();
    let third = QaReviewRepository::create(&store, review(ids[2].0, ids[2].1))
        .await
        .unwrap();
    assert_eq!(
        store.find_by_message(ids[1].1).await.unwrap().map(|r| r.id),
        Some(second.id)
    );

    let decision = |id, status| ReviewDecision {
        review_id: id,
        status,
        feedback: Some("confirmed".into()),
        reviewer_id: admin.id,
        decided_at: Utc::now(),
    };
    let approved = store
        .decide(decision(first.id, ReviewStatus::Approved))
        .await
        .unwrap();
    assert_eq!(approved.status, ReviewStatus::Approved);
    assert_eq!(approved.reviewer_id, Some(admin.id));
    assert_eq!(approved.feedback.as_deref(), Some("confirmed"));
    assert!(matches!(
        store
            .decide(decision(first.id, ReviewStatus::Rejected))
            .await,
        Err(DomainError::Conflict(_))
    ));
    assert!(matches!(
        store
            .decide(decision(999_999, ReviewStatus::Rejected))
            .await,
        Err(DomainError::NotFound(_))
    ));

    let list = |ticket_id, status, page| {
        let store = store.clone();
        async move {
            QaReviewRepository::list(&store, ReviewFilter { ticket_id, status }, page)
                .await
                .unwrap()
        }
    };
    let all = list(None, None, PageRequest::first(2)).await;
    assert_eq!(
        all.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![third.id, second.id]
    );
    let rest = list(
        None,
        None,
        PageRequest::parse(Some(2), all.next_cursor.as_deref()).unwrap(),
    )
    .await;
    assert_eq!(
        rest.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![first.id]
    );
    assert!(!rest.has_more());
    let pending = list(None, Some(ReviewStatus::Pending), PageRequest::first(10)).await;
    assert_eq!(pending.items.len(), 2);
    let of_ticket = list(
        Some(t.id),
        Some(ReviewStatus::Pending),
        PageRequest::first(10),
    )
    .await;
    assert_eq!(
        of_ticket.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second.id]
    );

    let events = ticket_events(&store, t.id).await;
    let qa = kinds(&events)
        .into_iter()
        .filter(|k| *k == "qa_review_updated")
        .count();
    assert_eq!(qa, 3); // two created, one decided
    let last = events
        .iter()
        .rev()
        .find(|e| e.kind.as_str() == "qa_review_updated")
        .unwrap();
    assert_eq!(last.data["status"], "APPROVED");
    assert_eq!(last.data["verdict"]["flags"][0]["kind"], "PII_CARD");
});

store_test!(deleting_a_ticket_removes_its_summary_and_reviews, |store| {
    let t = create(&store, donor_ticket("d-1", "Gone soon")).await;
    let m = store
        .post(chat(t.id, Sender::Donor, "hi"), None)
        .await
        .unwrap();
    store.replace(summary(t.id, "s")).await.unwrap();
    let r = QaReviewRepository::create(&store, review(t.id, m.message().id))
        .await
        .unwrap();
    TicketRepository::delete(&store, t.id).await.unwrap();
    assert_eq!(
        SummaryRepository::current(&store, t.id).await.unwrap(),
        None
    );
    assert_eq!(QaReviewRepository::get(&store, r.id).await.unwrap(), None);
});
