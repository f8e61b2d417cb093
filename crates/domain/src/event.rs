//! Domain events. Every change appends its events to the event log in the same transaction as
//! the change, so whatever reads the log (WebSocket rooms, push) sees exactly what was
//! committed, in the log's order.

use crate::actor::Actor;
use crate::call::{CallRequest, CallSession};
use crate::ids::{MessageId, TicketId};
use crate::message::Message;
use crate::qa::QaReview;
use crate::summary::Summary;
use crate::ticket::Ticket;
use chrono::{DateTime, Utc};
use serde_json::Value;

crate::wire_enum::wire_enum!(
    /// What happened. New capabilities add kinds, so matches outside this crate need a
    /// wildcard arm.
    #[non_exhaustive]
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

/// What an event carries: the object that changed, as the domain holds it. The log keeps it
/// as JSON written by the application's [`EventEncoder`]. Deliberately exhaustive: an
/// encoder must write every payload, so a new variant fails to compile until it does.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A ticket as it is after the change.
    Ticket(Ticket),
    /// A deleted ticket.
    TicketDeleted(TicketId),
    /// A message as it is after the change.
    Message(Message),
    /// A deleted message.
    MessageDeleted {
        /// Its ticket.
        ticket_id: TicketId,
        /// The message.
        message_id: MessageId,
    },
    /// A call request.
    CallRequest(CallRequest),
    /// A call session.
    CallSession(CallSession),
    /// A call session that was removed (a room that could not be set up).
    CallSessionDeleted(CallSession),
    /// A ticket's new summary.
    Summary(Summary),
    /// A QA review.
    QaReview(QaReview),
}

/// Writes a payload as the JSON the event log keeps, which is also what clients receive, so
/// the application that owns the API's shapes (the HTTP server) supplies it to the store.
///
/// What reads the log back relies on a few keys of that JSON: every payload's `id`; a
/// message's `ticketId`, `content`, `senderType` and `messageType`; a QA review's `messageId`;
/// a ticket's `status`, `title`, `description` and `assigneeId`; a call request's `status` and
/// `message`.
pub trait EventEncoder: Send + Sync + std::fmt::Debug {
    /// The payload as JSON.
    fn encode(&self, payload: &Payload) -> Value;
}

/// An event about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventKind,
    /// The ticket it concerns.
    pub ticket_id: Option<TicketId>,
    /// The changed object.
    pub payload: Payload,
}

/// An event as read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Its position in the log. Readers continue after the last `seq` they saw; the numbers
    /// grow but are not dense.
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// The ticket it concerns.
    pub ticket_id: Option<TicketId>,
    /// The payload as the [`EventEncoder`] wrote it.
    pub data: Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl Payload {
    /// The changed object's id.
    pub fn object_id(&self) -> i64 {
        match self {
            Payload::Ticket(t) => t.id.0,
            Payload::TicketDeleted(id) => id.0,
            Payload::Message(m) => m.id.0,
            Payload::MessageDeleted { message_id, .. } => message_id.0,
            Payload::CallRequest(r) => r.id.0,
            Payload::CallSession(s) | Payload::CallSessionDeleted(s) => s.id.0,
            Payload::Summary(s) => s.id,
            Payload::QaReview(r) => r.id,
        }
    }
}

impl NewEvent {
    fn of(kind: EventKind, ticket_id: TicketId, payload: Payload) -> Self {
        Self {
            kind,
            ticket_id: Some(ticket_id),
            payload,
        }
    }

    /// `ticket_created`.
    pub fn ticket_created(ticket: &Ticket) -> Self {
        Self::of(
            EventKind::TicketCreated,
            ticket.id,
            Payload::Ticket(ticket.clone()),
        )
    }

    /// `ticket_updated`.
    pub fn ticket_updated(ticket: &Ticket) -> Self {
        Self::of(
            EventKind::TicketUpdated,
            ticket.id,
            Payload::Ticket(ticket.clone()),
        )
    }

    /// `ticket_deleted`.
    pub fn ticket_deleted(ticket_id: TicketId) -> Self {
        Self::of(
            EventKind::TicketDeleted,
            ticket_id,
            Payload::TicketDeleted(ticket_id),
        )
    }

    /// `new_message`.
    pub fn new_message(message: &Message) -> Self {
        let payload = Payload::Message(message.clone());
        Self::of(EventKind::NewMessage, message.ticket_id, payload)
    }

    /// `message_updated`.
    pub fn message_updated(message: &Message) -> Self {
        let payload = Payload::Message(message.clone());
        Self::of(EventKind::MessageUpdated, message.ticket_id, payload)
    }

    /// `message_deleted`.
    pub fn message_deleted(ticket_id: TicketId, message_id: MessageId) -> Self {
        let payload = Payload::MessageDeleted {
            ticket_id,
            message_id,
        };
        Self::of(EventKind::MessageDeleted, ticket_id, payload)
    }

    /// `call_requested` or `call_request_updated` (`kind`).
    pub fn call_request(kind: EventKind, request: &CallRequest) -> Self {
        Self::of(
            kind,
            request.ticket_id,
            Payload::CallRequest(request.clone()),
        )
    }

    /// `call_started` or `call_ended` (`kind`).
    pub fn call_session(kind: EventKind, session: &CallSession) -> Self {
        Self::of(
            kind,
            session.ticket_id,
            Payload::CallSession(session.clone()),
        )
    }

    /// `summary_ready`.
    pub fn summary_ready(summary: &Summary) -> Self {
        let payload = Payload::Summary(summary.clone());
        Self::of(EventKind::SummaryReady, summary.ticket_id, payload)
    }

    /// `qa_review_updated`.
    pub fn qa_review_updated(review: &QaReview) -> Self {
        let payload = Payload::QaReview(review.clone());
        Self::of(EventKind::QaReviewUpdated, review.ticket_id, payload)
    }
}

/// Who an event is shown to. Every channel that carries events — live WebSocket delivery, a
/// `join` replay, push, and webhooks later — asks the viewer, so the rule lives here once.
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

    /// Whether this viewer receives events of `kind` at all.
    pub fn receives(self, kind: EventKind) -> bool {
        self == Viewer::Staff || kind.reaches_donors()
    }

    /// Whether this viewer sees a ticket event's payload as [`Ticket::for_donor`] shows it.
    pub fn sees_donor_face(self, kind: EventKind) -> bool {
        self == Viewer::Donor && matches!(kind, EventKind::TicketCreated | EventKind::TicketUpdated)
    }

    /// Whether this viewer's payload of `kind` can differ from the staff one.
    pub fn differs(self, kind: EventKind) -> bool {
        !self.receives(kind) || self.sees_donor_face(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn donors_never_receive_summaries_or_qa_reviews() {
        assert!(!Viewer::Donor.receives(EventKind::SummaryReady));
        assert!(!Viewer::Donor.receives(EventKind::QaReviewUpdated));
        assert!(Viewer::Staff.receives(EventKind::SummaryReady));
        assert!(Viewer::Donor.receives(EventKind::NewMessage));
    }

    #[test]
    fn donors_see_the_donor_face_of_ticket_events_only() {
        assert!(Viewer::Donor.sees_donor_face(EventKind::TicketUpdated));
        assert!(Viewer::Donor.sees_donor_face(EventKind::TicketCreated));
        assert!(!Viewer::Staff.sees_donor_face(EventKind::TicketUpdated));
        assert!(!Viewer::Donor.sees_donor_face(EventKind::NewMessage));
        assert!(!Viewer::Donor.differs(EventKind::NewMessage));
        assert!(Viewer::Donor.differs(EventKind::TicketUpdated));
        assert!(Viewer::Donor.differs(EventKind::SummaryReady));
        assert!(!Viewer::Staff.differs(EventKind::SummaryReady));
    }
}
