//! The event log's payloads in the API's shapes, and what each viewer sees of them.

use super::{CallRequest, CallSession, Message, QaReview, Summary, Ticket};
use concierge_domain::event::{EventEncoder, EventKind, Payload, Viewer};
use serde_json::{json, Value};
use std::borrow::Cow;

/// Writes every event payload as the HTTP API shows the same object, so a client reads one
/// shape from both.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventWire;

fn to_value(value: impl serde::Serialize) -> Value {
    // The wire types serialise infallibly (no maps with non-string keys, no custom errors).
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl EventEncoder for EventWire {
    fn encode(&self, payload: &Payload) -> Value {
        match payload {
            Payload::Ticket(t) => to_value(Ticket::from(t)),
            Payload::TicketDeleted(id) => json!({ "id": id }),
            Payload::Message(m) => to_value(Message::from(m)),
            Payload::MessageDeleted {
                ticket_id,
                message_id,
            } => json!({ "id": message_id, "ticketId": ticket_id }),
            Payload::CallRequest(r) => to_value(CallRequest::from(r)),
            Payload::CallSession(s) => to_value(CallSession::from(s)),
            Payload::CallSessionDeleted(s) => {
                let mut data = to_value(CallSession::from(s));
                if let Some(fields) = data.as_object_mut() {
                    fields.insert("deleted".to_string(), json!(true));
                }
                data
            }
            Payload::Summary(s) => to_value(Summary::from(s)),
            Payload::QaReview(r) => to_value(QaReview::from(r)),
        }
    }
}

/// The keys of a ticket (or ticket detail) a donor never sees: what
/// [`Ticket::for_donor`](concierge_domain::ticket::Ticket::for_donor) clears, and the staff
/// summaries of a detail view.
const STAFF_ONLY_TICKET_KEYS: [&str; 9] = [
    "assigneeId",
    "creatorId",
    "resolvedById",
    "transferredFromId",
    "transferNote",
    "assignee",
    "creator",
    "resolvedBy",
    "transferredFrom",
];

/// `Ticket::for_donor` for a ticket already written as JSON (an event's payload): each
/// staff-only key present becomes `null`. Anything but an object is left alone.
pub fn redact_ticket_for_donor(data: &mut Value) {
    if let Some(map) = data.as_object_mut() {
        for key in STAFF_ONLY_TICKET_KEYS {
            if let Some(value) = map.get_mut(key) {
                *value = Value::Null;
            }
        }
    }
}

/// The payload of an event of `kind` as `viewer` may see it, or `None` when the viewer may not
/// receive it at all ([`Viewer::receives`]). Borrowed when nothing needs hiding.
pub fn view(viewer: Viewer, kind: EventKind, data: &Value) -> Option<Cow<'_, Value>> {
    if !viewer.receives(kind) {
        return None;
    }
    if viewer.sees_donor_face(kind) {
        let mut ticket = data.clone();
        redact_ticket_for_donor(&mut ticket);
        return Some(Cow::Owned(ticket));
    }
    Some(Cow::Borrowed(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use concierge_domain::attachment::Attachment;
    use concierge_domain::call::{CallMode, CallSessionId, CallSessionStatus};
    use concierge_domain::message::{Message as DomainMessage, MessageType, Sender};
    use concierge_domain::{MessageId, TicketId, UserId};

    #[test]
    fn donors_never_receive_summaries_or_qa_reviews() {
        let data = json!({"content": "staff-only text"});
        assert!(view(Viewer::Donor, EventKind::SummaryReady, &data).is_none());
        assert!(view(Viewer::Donor, EventKind::QaReviewUpdated, &data).is_none());
        assert!(view(Viewer::Staff, EventKind::SummaryReady, &data).is_some());
    }

    #[test]
    fn a_donor_sees_a_ticket_without_internal_notes_or_staff_ids() {
        let data = json!({"id": 1, "status": "TRANSFERRED", "transferNote": "VIP, careful",
            "assigneeId": 7, "creatorId": 3, "resolvedById": null, "transferredFromId": 2});
        let seen = view(Viewer::Donor, EventKind::TicketUpdated, &data).expect("donors see it");
        assert_eq!(
            *seen,
            json!({"id": 1, "status": "TRANSFERRED", "transferNote": null, "assigneeId": null,
                "creatorId": null, "resolvedById": null, "transferredFromId": null})
        );
        let staff = view(Viewer::Staff, EventKind::TicketUpdated, &data).expect("staff see it");
        assert_eq!(*staff, data);
        // A scrubbed payload without these keys gains none.
        let mut scrubbed = json!({"id": 1, "deleted": true});
        redact_ticket_for_donor(&mut scrubbed);
        assert_eq!(scrubbed, json!({"id": 1, "deleted": true}));
    }

    #[test]
    fn donors_see_their_conversation_as_it_is() {
        let data = json!({"id": 5, "content": "hello"});
        let seen = view(Viewer::Donor, EventKind::NewMessage, &data);
        assert!(matches!(seen, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn a_message_event_is_the_message_as_http_shows_it() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("a time");
        let message = DomainMessage {
            id: MessageId(4),
            ticket_id: TicketId(9),
            sender: Sender::Staff(UserId(2)),
            sender_profile: None,
            message_type: MessageType::Chat,
            content: "hello".into(),
            reply_to_id: None,
            attachments: vec![Attachment {
                id: 3,
                message_id: MessageId(4),
                file_name: "a.png".into(),
                content_type: "image/png".into(),
                size: 12,
                sha256: "00".into(),
                storage_key: "abc.png".into(),
                created_at: at,
            }],
            client_message_id: None,
            edited_at: None,
            created_at: at,
            updated_at: at,
        };
        let data = EventWire.encode(&Payload::Message(message.clone()));
        assert_eq!(data, to_value(Message::from(&message)));
        assert_eq!(data["senderType"], "STAFF");
        assert_eq!(data["isFromAdmin"], true);
        assert_eq!(
            data["attachments"][0],
            json!({"id": 3, "fileName": "a.png", "contentType": "image/png", "size": 12,
                "url": "/api/v1/uploads/messages/abc.png"})
        );
        assert!(data.get("sha256").is_none() && data["attachments"][0].get("sha256").is_none());
    }

    #[test]
    fn sessions_carry_room_name_and_duration_and_deleted_ones_say_so() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("a time");
        let session = concierge_domain::call::CallSession {
            id: CallSessionId(1),
            ticket_id: TicketId(2),
            room_id: "room-1".into(),
            mode: CallMode::Audio,
            status: CallSessionStatus::Ended,
            request_id: None,
            created_by_id: None,
            started_at: Some(at),
            ended_at: Some(at + Duration::seconds(65)),
            created_at: at,
            updated_at: at,
        };
        let data = EventWire.encode(&Payload::CallSession(session.clone()));
        assert_eq!(data["roomName"], "room-1");
        assert_eq!(data["roomId"], "room-1");
        assert_eq!(data["durationSeconds"], 65);
        assert_eq!(data["mode"], "AUDIO");
        assert!(data.get("deleted").is_none());
        let gone = EventWire.encode(&Payload::CallSessionDeleted(session));
        assert_eq!(gone["deleted"], true);
        let deleted = EventWire.encode(&Payload::MessageDeleted {
            ticket_id: TicketId(2),
            message_id: MessageId(7),
        });
        assert_eq!(deleted, json!({"id": 7, "ticketId": 2}));
    }
}
