//! Push notifications as the domain sees them: one message to one device, and the rules of who
//! is told about which event.

use crate::event::{EventKind, StoredEvent};
use crate::ids::UserId;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// A notification for one device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The device's registration token.
    pub token: String,
    /// The notification's title.
    pub title: String,
    /// The notification's text.
    pub body: String,
    /// Key/value data for the app (ticket id, event kind, ...). Values are strings, as FCM wants.
    pub data: BTreeMap<String, String>,
}

/// What became of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The push service accepted it.
    Delivered,
    /// The token is no longer valid (uninstalled app, unknown token): forget it.
    InvalidToken,
    /// A temporary failure (rate limit, outage): try again, not before `after` when given.
    RetryLater {
        /// The service's `Retry-After`, if it sent one.
        after: Option<Duration>,
    },
    /// A permanent failure for this message; give up and log `reason`.
    Rejected {
        /// What the service said.
        reason: String,
    },
}

/// Who a notification is for, before tokens are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// The ticket's donor (its query's push token).
    Donor,
    /// The ticket's assignee; the admins when it has none.
    Assignee,
    /// A named staff user.
    User(UserId),
    /// Every active admin with a push token.
    Admins,
}

/// What to send for one event, to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The notification's title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// Who gets it.
    pub recipients: Vec<Recipient>,
}

/// The longest notification text, in characters.
const MAX_BODY: usize = 120;

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(MAX_BODY).collect();
    if text.chars().count() > MAX_BODY {
        short.push('…');
    }
    short
}

/// The push rules: which events notify whom. `None` for events nobody is told about.
///
/// * a new message: the other side — a donor's message goes to the assignee (the admins when
///   there is none), a staff message or a reminder to the donor;
/// * a ticket resolved or closed: the donor; transferred: the new assignee;
/// * a call requested: the admins; a call request accepted: the donor.
///
/// A donor is never told of an event it may not receive ([`EventKind::reaches_donors`]).
pub fn plan(event: &StoredEvent) -> Option<Plan> {
    let mut plan = rules(event)?;
    if !event.kind.reaches_donors() {
        plan.recipients.retain(|r| *r != Recipient::Donor);
    }
    (!plan.recipients.is_empty()).then_some(plan)
}

fn rules(event: &StoredEvent) -> Option<Plan> {
    let data = &event.data;
    let text = |key: &str| data.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    match event.kind {
        EventKind::NewMessage => {
            let content = shorten(text("content"));
            match (text("senderType"), text("messageType")) {
                (_, "REMINDER") => Some(Plan {
                    title: "We are waiting for your reply".into(),
                    body: content,
                    recipients: vec![Recipient::Donor],
                }),
                ("DONOR", _) => Some(Plan {
                    title: "New message from a donor".into(),
                    body: content,
                    recipients: vec![Recipient::Assignee],
                }),
                ("STAFF", "CHAT") => Some(Plan {
                    title: "New reply to your query".into(),
                    body: content,
                    recipients: vec![Recipient::Donor],
                }),
                _ => None,
            }
        }
        EventKind::TicketUpdated => match text("status") {
            "RESOLVED" => Some(Plan {
                title: "Your query was resolved".into(),
                body: shorten(text("title")),
                recipients: vec![Recipient::Donor],
            }),
            "CLOSED" => Some(Plan {
                title: "Your query was closed".into(),
                body: shorten(text("title")),
                recipients: vec![Recipient::Donor],
            }),
            "TRANSFERRED" => {
                let to = data.get("assigneeId").and_then(|v| v.as_i64())?;
                Some(Plan {
                    title: "A ticket was transferred to you".into(),
                    body: shorten(text("title")),
                    recipients: vec![Recipient::User(UserId(to))],
                })
            }
            _ => None,
        },
        EventKind::CallRequested => Some(Plan {
            title: "A donor asks for a call".into(),
            body: shorten(text("message")),
            recipients: vec![Recipient::Admins],
        }),
        EventKind::CallRequestUpdated if text("status") == "ACCEPTED" => Some(Plan {
            title: "Your call request was accepted".into(),
            body: "Join the call from the app.".into(),
            recipients: vec![Recipient::Donor],
        }),
        _ => None,
    }
}

/// A stable key for one (event, device) pair, so a restarted dispatcher does not resend what
/// it sent. The token itself is not stored in the key, only a 64-bit FNV-1a fingerprint.
pub fn delivery_key(seq: i64, token: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in token.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{seq}:{hash:016x}")
}

/// A notification waiting for another attempt after a temporary failure: the push dispatcher's
/// retry queue holds one per event and device, so a failing device never holds up the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPush {
    /// Its [`delivery_key`].
    pub key: String,
    /// The event's `seq`.
    pub seq: i64,
    /// What to send, to which device.
    pub message: PushMessage,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not to be tried again before this.
    pub next_attempt_at: DateTime<Utc>,
    /// Given up on when it would still be failing past this.
    pub give_up_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: EventKind, data: serde_json::Value) -> StoredEvent {
        StoredEvent {
            seq: 7,
            kind,
            ticket_id: Some(crate::TicketId(1)),
            data,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn messages_go_to_the_other_side() {
        let donor = event(
            EventKind::NewMessage,
            json!({"senderType": "DONOR", "messageType": "CHAT", "content": "hi"}),
        );
        assert_eq!(plan(&donor).unwrap().recipients, vec![Recipient::Assignee]);
        let staff = event(
            EventKind::NewMessage,
            json!({"senderType": "STAFF", "messageType": "CHAT", "content": "hello"}),
        );
        assert_eq!(plan(&staff).unwrap().recipients, vec![Recipient::Donor]);
        let note = event(
            EventKind::NewMessage,
            json!({"senderType": "SYSTEM", "messageType": "SYSTEM", "content": "Ticket resolved"}),
        );
        assert_eq!(plan(&note), None);
        let reminder = event(
            EventKind::NewMessage,
            json!({"senderType": "STAFF", "messageType": "REMINDER", "content": "?"}),
        );
        assert_eq!(plan(&reminder).unwrap().recipients, vec![Recipient::Donor]);
    }

    #[test]
    fn status_changes_and_transfers_and_calls() {
        let resolved = event(EventKind::TicketUpdated, json!({"status": "RESOLVED"}));
        assert_eq!(plan(&resolved).unwrap().recipients, vec![Recipient::Donor]);
        let moved = event(
            EventKind::TicketUpdated,
            json!({"status": "TRANSFERRED", "assigneeId": 5}),
        );
        assert_eq!(
            plan(&moved).unwrap().recipients,
            vec![Recipient::User(UserId(5))]
        );
        // Status flips caused by messages are covered by the message's own notification.
        let flip = event(EventKind::TicketUpdated, json!({"status": "PENDING_REPLY"}));
        assert_eq!(plan(&flip), None);
        let call = event(EventKind::CallRequested, json!({"message": "please call"}));
        assert_eq!(plan(&call).unwrap().recipients, vec![Recipient::Admins]);
        let accepted = event(EventKind::CallRequestUpdated, json!({"status": "ACCEPTED"}));
        assert_eq!(plan(&accepted).unwrap().recipients, vec![Recipient::Donor]);
        let rejected = event(EventKind::CallRequestUpdated, json!({"status": "REJECTED"}));
        assert_eq!(plan(&rejected), None);
    }

    #[test]
    fn long_texts_are_shortened_and_keys_are_stable() {
        let long = event(
            EventKind::NewMessage,
            json!({"senderType": "DONOR", "messageType": "CHAT", "content": "x".repeat(500)}),
        );
        assert_eq!(plan(&long).unwrap().body.chars().count(), MAX_BODY + 1);
        assert_eq!(delivery_key(7, "tok"), delivery_key(7, "tok"));
        assert_ne!(delivery_key(7, "tok"), delivery_key(8, "tok"));
        assert_ne!(delivery_key(7, "tok"), delivery_key(7, "tok2"));
        assert!(!delivery_key(7, "secret-token").contains("secret"));
    }
}
