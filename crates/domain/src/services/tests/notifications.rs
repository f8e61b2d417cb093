use super::*;
use crate::event::{EventKind, StoredEvent};
use crate::notification::{delivery_key, PushMessage, PushOutcome};
use crate::ports::{MockPushLedger, MockPushNotifier};
use crate::services::{DeliveryReport, Directory, NotificationService};
use serde_json::json;
use std::sync::Mutex;

fn donor_message(seq: i64) -> StoredEvent {
    StoredEvent {
        seq,
        kind: EventKind::NewMessage,
        ticket_id: Some(TicketId(1)),
        data: json!({"id": 9, "senderType": "DONOR", "messageType": "CHAT", "content": "help"}),
        created_at: now(),
    }
}

fn assigned_ticket() -> Ticket {
    let mut t = donor_ticket(1, "d-1", TicketStatus::InProgress);
    t.assignee_id = Some(UserId(7));
    t
}

fn users_with_token(token: &'static str) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users.expect_get().returning(move |id| {
        let mut u = user(id, Role::Admin);
        u.fcm_token = Some(token.to_string());
        Ok(Some(u))
    });
    users
}

fn tickets_returning(t: Ticket) -> MockTicketRepository {
    let mut tickets = MockTicketRepository::new();
    tickets.expect_get().returning(move |_| Ok(Some(t.clone())));
    tickets
}

fn service(
    tickets: MockTicketRepository,
    users: MockUserRepository,
    ledger: MockPushLedger,
    notifier: MockPushNotifier,
) -> NotificationService {
    NotificationService::new(
        Arc::new(tickets),
        Arc::new(users),
        Arc::new(ledger),
        Arc::new(notifier),
    )
}

/// The service for the assigned ticket, whose assignee's device has `token`.
fn to_assignee(
    token: &'static str,
    ledger: MockPushLedger,
    notifier: MockPushNotifier,
) -> NotificationService {
    service(
        tickets_returning(assigned_ticket()),
        users_with_token(token),
        ledger,
        notifier,
    )
}

/// A ledger that has sent nothing yet.
fn nothing_sent() -> MockPushLedger {
    let mut ledger = MockPushLedger::new();
    ledger.expect_was_sent().returning(|_| Ok(false));
    ledger
}

/// A notifier that delivers everything and keeps what it was given.
fn recording() -> (MockPushNotifier, Arc<Mutex<Vec<PushMessage>>>) {
    let sent: Arc<Mutex<Vec<PushMessage>>> = Arc::default();
    let seen = sent.clone();
    let mut notifier = MockPushNotifier::new();
    notifier.expect_send().returning(move |m| {
        seen.lock().unwrap().push(m);
        PushOutcome::Delivered
    });
    (notifier, sent)
}

#[tokio::test]
async fn a_donor_message_is_pushed_once_to_the_assignee_with_the_ticket_id() {
    let (notifier, sent) = recording();
    let mut ledger = nothing_sent();
    ledger
        .expect_record_sent()
        .withf(|key| key == &delivery_key(5, "admin-device"))
        .times(1)
        .returning(|_| Ok(()));
    let report = to_assignee("admin-device", ledger, notifier)
        .deliver(&donor_message(5))
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    assert!(report.is_done());
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].token, "admin-device");
    assert_eq!(sent[0].data.get("ticketId").map(String::as_str), Some("1"));
    assert_eq!(
        sent[0].data.get("event").map(String::as_str),
        Some("new_message")
    );
}

#[tokio::test]
async fn what_was_sent_before_a_restart_is_not_sent_again() {
    let mut notifier = MockPushNotifier::new();
    notifier.expect_send().never();
    let mut ledger = MockPushLedger::new();
    ledger.expect_was_sent().returning(|_| Ok(true));
    ledger.expect_record_sent().never();
    let report = to_assignee("admin-device", ledger, notifier)
        .deliver(&donor_message(5))
        .await
        .unwrap();
    assert_eq!((report.delivered, report.already_sent), (0, 1));
}

#[tokio::test]
async fn an_invalid_token_is_forgotten_and_not_retried() {
    let mut notifier = MockPushNotifier::new();
    notifier
        .expect_send()
        .times(1)
        .returning(|_| PushOutcome::InvalidToken);
    let mut ledger = nothing_sent();
    ledger
        .expect_forget_token()
        .withf(|t| t == "stale")
        .times(1)
        .returning(|_| Ok(()));
    ledger.expect_record_sent().times(1).returning(|_| Ok(()));
    let report = to_assignee("stale", ledger, notifier)
        .deliver(&donor_message(5))
        .await
        .unwrap();
    assert_eq!(report.invalid_tokens, 1);
    assert!(report.is_done());
}

#[tokio::test]
async fn a_temporary_failure_is_left_for_a_retry_with_the_services_wait() {
    let mut notifier = MockPushNotifier::new();
    notifier
        .expect_send()
        .returning(|_| PushOutcome::RetryLater {
            after: Some(std::time::Duration::from_secs(7)),
        });
    let mut ledger = nothing_sent();
    ledger.expect_record_sent().never();
    let report = to_assignee("admin-device", ledger, notifier)
        .deliver(&donor_message(5))
        .await
        .unwrap();
    assert_eq!(report.retry, Some(Some(std::time::Duration::from_secs(7))));
}

#[tokio::test]
async fn an_unassigned_ticket_notifies_the_admins_and_a_staff_reply_the_donor() {
    let (notifier, sent) = recording();
    let mut ledger = nothing_sent();
    ledger.expect_record_sent().returning(|_| Ok(()));
    ledger
        .expect_admin_tokens()
        .returning(|| Ok(vec!["a1".into(), "a2".into()]));
    let mut unassigned = donor_ticket(1, "d-1", TicketStatus::InProgress);
    unassigned.donor.as_mut().unwrap().fcm_token = Some("donor-phone".into());
    let svc = service(
        tickets_returning(unassigned),
        MockUserRepository::new(),
        ledger,
        notifier,
    );
    svc.deliver(&donor_message(5)).await.unwrap();
    let staff_reply = StoredEvent {
        data: json!({"id": 10, "senderType": "STAFF", "messageType": "CHAT", "content": "hi"}),
        ..donor_message(6)
    };
    svc.deliver(&staff_reply).await.unwrap();
    let tokens: Vec<String> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.token.clone())
        .collect();
    assert_eq!(tokens, ["a1", "a2", "donor-phone"]);
}

#[tokio::test]
async fn events_nobody_is_told_about_touch_nothing() {
    let note = StoredEvent {
        data: json!({"senderType": "SYSTEM", "messageType": "SYSTEM", "content": "Ticket resolved"}),
        ..donor_message(5)
    };
    let report = service(
        MockTicketRepository::new(),
        MockUserRepository::new(),
        MockPushLedger::new(),
        MockPushNotifier::new(),
    )
    .deliver(&note)
    .await
    .unwrap();
    assert_eq!(report, Default::default());
}

#[tokio::test]
async fn a_batch_reads_each_ticket_and_the_admins_tokens_once() {
    let (notifier, sent) = recording();
    let mut ledger = nothing_sent();
    ledger.expect_record_sent().returning(|_| Ok(()));
    ledger
        .expect_admin_tokens()
        .times(1)
        .returning(|| Ok(vec!["a1".into()]));
    let mut tickets = MockTicketRepository::new();
    tickets
        .expect_get()
        .times(1)
        .returning(|id| Ok(Some(donor_ticket(id.0, "d-1", TicketStatus::InProgress))));
    let svc = service(tickets, MockUserRepository::new(), ledger, notifier);
    let mut directory = Directory::default();
    for seq in 5..8 {
        svc.deliver_in(&donor_message(seq), &mut directory)
            .await
            .unwrap();
    }
    let sent: Vec<(i64, String)> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|m| (m.data["seq"].parse().unwrap(), m.token.clone()))
        .collect();
    assert_eq!(sent, [(5, "a1".into()), (6, "a1".into()), (7, "a1".into())]);
}

#[tokio::test]
async fn a_token_refused_as_invalid_is_skipped_for_the_rest_of_the_batch() {
    let mut notifier = MockPushNotifier::new();
    notifier
        .expect_send()
        .times(1)
        .returning(|_| PushOutcome::InvalidToken);
    let mut ledger = nothing_sent();
    ledger.expect_record_sent().returning(|_| Ok(()));
    ledger.expect_forget_token().times(1).returning(|_| Ok(()));
    let svc = to_assignee("stale", ledger, notifier);
    let mut directory = Directory::default();
    let first = svc
        .deliver_in(&donor_message(5), &mut directory)
        .await
        .unwrap();
    let second = svc
        .deliver_in(&donor_message(6), &mut directory)
        .await
        .unwrap();
    assert_eq!((first.invalid_tokens, second.invalid_tokens), (1, 0));
    assert_eq!(second, DeliveryReport::default());
}
