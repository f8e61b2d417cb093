//! Domain events. Every change appends its events to the event log in the same transaction as
//! the change, so whatever reads the log (WebSocket rooms, push) sees exactly what was
//! committed, in the log's order.

use crate::ids::{MessageId, TicketId};
use crate::message::Message;
use crate::ticket::Ticket;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

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
