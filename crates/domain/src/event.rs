//! Domain events. Every change appends its events to the event log in the same transaction as
//! the change, so whatever reads the log (WebSocket rooms, push) sees exactly what was
//! committed, in the log's order.

use crate::actor::Actor;
use crate::ids::{MessageId, TicketId};
use crate::message::Message;
use crate::ticket::Ticket;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;

crate::ticket::wire_enum!(
    /// What happened.
    EventKind, "event" {
        /// A ticket was opened.
        TicketCreated = "ticket_created",
        /// A ticket's fields or status changed (accept, transfer, resolve, close, edit).
        TicketUpdated = "ticket_updated",
        /// A ticket was deleted with its conversation.
        TicketDeleted = "ticket_deleted",
        /// A message was posted.
        NewMessage = "new_message",
        /// A message was edited.
        MessageUpdated = "message_updated",
        /// A message was deleted.
        MessageDeleted = "message_deleted",
        /// A donor asked for a call.
        CallRequested = "call_requested",
        /// A call request was accepted, rejected or cancelled.
        CallRequestUpdated = "call_request_updated",
        /// A call session started (room created).
        CallStarted = "call_started",
        /// A call session ended.
        CallEnded = "call_ended",
        /// A ticket's summary was (re)generated or written.
        SummaryReady = "summary_ready",
        /// A QA review was created or decided.
        QaReviewUpdated = "qa_review_updated",
    }
);

/// An event about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventKind,
    /// The ticket it concerns.
    pub ticket_id: Option<TicketId>,
    /// The payload clients receive: the changed object as the HTTP API shows it.
    pub data: Value,
}

/// An event as read back from the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// Its position in the log. Readers continue after the last `seq` they saw; the numbers
    /// grow but are not dense.
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// The ticket it concerns.
    pub ticket_id: Option<TicketId>,
    /// The payload.
    pub data: Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

fn to_value(value: &impl Serialize) -> Value {
    // Domain types serialise infallibly (no maps with non-string keys, no custom errors).
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl NewEvent {
    /// Any event whose payload is `data` as the API shows it.
    pub fn new(kind: EventKind, ticket_id: Option<TicketId>, data: &impl Serialize) -> Self {
        Self {
            kind,
            ticket_id,
            data: to_value(data),
        }
    }

    /// `ticket_created`.
    pub fn ticket_created(ticket: &Ticket) -> Self {
        Self {
            kind: EventKind::TicketCreated,
            ticket_id: Some(ticket.id),
            data: to_value(ticket),
        }
    }

    /// `ticket_updated`.
    pub fn ticket_updated(ticket: &Ticket) -> Self {
        Self {
            kind: EventKind::TicketUpdated,
            ticket_id: Some(ticket.id),
            data: to_value(ticket),
        }
    }

    /// `ticket_deleted`.
    pub fn ticket_deleted(ticket_id: TicketId) -> Self {
        Self {
            kind: EventKind::TicketDeleted,
            ticket_id: Some(ticket_id),
            data: json!({ "id": ticket_id }),
        }
    }

    /// `new_message`.
    pub fn new_message(message: &Message) -> Self {
        Self {
            kind: EventKind::NewMessage,
            ticket_id: Some(message.ticket_id),
            data: to_value(message),
        }
    }

    /// `message_updated`.
    pub fn message_updated(message: &Message) -> Self {
        Self {
            kind: EventKind::MessageUpdated,
            ticket_id: Some(message.ticket_id),
            data: to_value(message),
        }
    }

    /// `message_deleted`.
    pub fn message_deleted(ticket_id: TicketId, message_id: MessageId) -> Self {
        Self {
            kind: EventKind::MessageDeleted,
            ticket_id: Some(ticket_id),
            data: json!({ "id": message_id, "ticketId": ticket_id }),
        }
    }
}

/// Who an event is shown to. Every channel that carries events — live WebSocket delivery, a
/// `join` replay, push, and webhooks later — asks [`Viewer::view`], so the rule lives here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Viewer {
    /// Any staff user: sees every event whole.
    Staff,
    /// The donor of the event's ticket: sees the conversation and the ticket's public face,
    /// never staff-only events (summaries, QA reviews), internal notes or staff identifiers.
    Donor,
}

impl EventKind {
    /// Whether the donor of the event's ticket may receive events of this kind at all.
    pub fn reaches_donors(self) -> bool {
        !matches!(self, EventKind::SummaryReady | EventKind::QaReviewUpdated)
    }
}

impl Viewer {
    /// How `actor` sees events; `None` for an actor that receives none (the system itself).
    pub fn of(actor: &Actor) -> Option<Self> {
        match actor {
            Actor::Staff { .. } => Some(Viewer::Staff),
            Actor::Donor { .. } => Some(Viewer::Donor),
            Actor::System => None,
        }
    }

    /// The payload of an event of `kind` as this viewer may see it, or `None` when the viewer
    /// may not receive the event at all. Borrowed when nothing needs hiding.
    pub fn view<'a>(self, kind: EventKind, data: &'a Value) -> Option<Cow<'a, Value>> {
        match self {
            Viewer::Staff => Some(Cow::Borrowed(data)),
            Viewer::Donor if !kind.reaches_donors() => None,
            Viewer::Donor => match kind {
                EventKind::TicketCreated | EventKind::TicketUpdated => {
                    let mut ticket = data.clone();
                    crate::ticket::redact_ticket_json_for_donor(&mut ticket);
                    Some(Cow::Owned(ticket))
                }
                _ => Some(Cow::Borrowed(data)),
            },
        }
    }

    /// Whether this viewer's payload of `kind` can differ from the staff one.
    pub fn differs(self, kind: EventKind) -> bool {
        self == Viewer::Donor
            && (!kind.reaches_donors()
                || matches!(kind, EventKind::TicketCreated | EventKind::TicketUpdated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn donors_never_receive_summaries_or_qa_reviews() {
        let data = json!({"content": "staff-only text"});
        assert!(Viewer::Donor.view(EventKind::SummaryReady, &data).is_none());
        assert!(Viewer::Donor
            .view(EventKind::QaReviewUpdated, &data)
            .is_none());
        assert!(Viewer::Staff.view(EventKind::SummaryReady, &data).is_some());
    }

    #[test]
    fn a_donor_sees_a_ticket_without_internal_notes_or_staff_ids() {
        let data = json!({"id": 1, "status": "TRANSFERRED", "transferNote": "VIP, careful",
            "assigneeId": 7, "creatorId": 3, "resolvedById": null, "transferredFromId": 2});
        let seen = Viewer::Donor
            .view(EventKind::TicketUpdated, &data)
            .expect("donors see ticket updates");
        assert_eq!(
            *seen,
            json!({"id": 1, "status": "TRANSFERRED", "transferNote": null, "assigneeId": null,
                "creatorId": null, "resolvedById": null, "transferredFromId": null})
        );
        let staff = Viewer::Staff
            .view(EventKind::TicketUpdated, &data)
            .expect("staff see everything");
        assert_eq!(*staff, data);
    }

    #[test]
    fn donors_see_their_conversation_as_it_is() {
        let data = json!({"id": 5, "content": "hello"});
        let seen = Viewer::Donor.view(EventKind::NewMessage, &data);
        assert!(matches!(seen, Some(Cow::Borrowed(_))));
        assert!(!Viewer::Donor.differs(EventKind::NewMessage));
        assert!(Viewer::Donor.differs(EventKind::TicketUpdated));
        assert!(Viewer::Donor.differs(EventKind::SummaryReady));
    }
}
