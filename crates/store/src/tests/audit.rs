use super::harness::{create, donor_ticket, store_test};
use crate::audit::{scope, RequestContext};
use concierge_domain::audit::{AuditActor, AuditFilter, AuditLog, Record, Verifier, AUDITOR};
use concierge_domain::page::PageRequest;
use concierge_domain::ports::FollowerLedger;
use concierge_domain::ports::TicketRepository;
use concierge_domain::TicketId;

/// Takes the auditor's lease for `holder`.
async fn lead(store: &crate::Store, holder: &str) -> bool {
    let until = chrono::Utc::now() + chrono::Duration::seconds(60);
    store
        .lease(AUDITOR.into(), holder.into(), until)
        .await
        .unwrap()
}

store_test!(only_the_leader_chains, |store| {
    store
        .record(Record::ticket_deleted(TicketId(1)))
        .await
        .unwrap();
    assert!(lead(&store, "a").await);
    assert!(!lead(&store, "b").await);
    assert_eq!(store.chain_pending("b".into(), 10).await.unwrap(), None);
    assert!(store.chained(0, None, None, 10).await.unwrap().is_empty());
    assert_eq!(store.chain_pending("a".into(), 10).await.unwrap(), Some(1));
    assert_eq!(store.chained(0, None, None, 10).await.unwrap().len(), 1);
});

store_test!(
    concurrent_auditors_chain_each_entry_once_in_order,
    |store| {
        // Writers, and two chaining passes at once under one lease (as in a hand-over): every
        // entry gets one place, with no gap.
        assert!(lead(&store, "a").await);
        let mut tasks = vec![];
        for n in 0..40 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .record(Record::ticket_deleted(TicketId(n)))
                    .await
                    .unwrap();
            }));
        }
        for _ in 0..2 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..20 {
                    // The loser of a race fails and tries again later, as the auditor does.
                    let _ = store.chain_pending("a".into(), 7).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        while store.chain_pending("a".into(), 100).await.unwrap() > Some(0) {}
        let chained = store.chained(0, None, None, 100).await.unwrap();
        assert_eq!(chained.len(), 40);
        let mut verifier = Verifier::default();
        assert!(chained.iter().all(|e| verifier.check(e)));
        assert!(verifier.finish().ok);
    }
);

store_test!(a_write_records_its_request_context, |store| {
    let context = RequestContext {
        actor: Some(AuditActor::donor("d-ctx")),
        ip: Some("192.0.2.7".into()),
        request_id: Some("req-7".into()),
    };
    let ticket = scope(context, create(&store, donor_ticket("d-ctx", "hello"))).await;
    let page = AuditLog::list(&store, AuditFilter::default(), PageRequest::default())
        .await
        .unwrap();
    let entry = &page.items[0];
    assert_eq!(entry.action, "ticket.created");
    assert_eq!(entry.ticket_id, Some(ticket.id));
    assert_eq!(entry.actor, AuditActor::donor("d-ctx"));
    assert_eq!(entry.ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(entry.request_id.as_deref(), Some("req-7"));
    assert_eq!(entry.seq, None, "not chained yet");
    // Deleting the ticket keeps its entry (no foreign key) and adds one.
    TicketRepository::delete(&store, ticket.id).await.unwrap();
    let filter = AuditFilter {
        ticket_id: Some(ticket.id),
        ..AuditFilter::default()
    };
    let page = AuditLog::list(&store, filter, PageRequest::default())
        .await
        .unwrap();
    let actions: Vec<&str> = page.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["ticket.deleted", "ticket.created"]);
});
