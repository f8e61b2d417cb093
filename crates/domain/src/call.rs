//! Calls: a donor's request for an audio or video call, and the call sessions staff start.
//!
//! A [`CallRequest`] goes `PENDING -> ACCEPTED | REJECTED | CANCELLED`; a [`CallSession`] goes
//! `CREATED -> ACTIVE -> ENDED` (or straight from `CREATED` to `ENDED`). A ticket has at most
//! one session that is not `ENDED`. Every transition is a method that returns the changed value
//! or a typed [`CallError`], which the HTTP layer answers with 409.

use crate::error::{DomainError, Result};
use crate::ids::{TicketId, UserId};
use crate::message::{MessageType, NewMessage, Sender};
use crate::validate;
use crate::wire_enum::wire_enum;
use chrono::{DateTime, Utc};
use std::fmt;

macro_rules! call_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

call_id!(
    /// A call request's id.
    CallRequestId
);
call_id!(
    /// A call session's id.
    CallSessionId
);

wire_enum!(
    /// Audio only, or audio and video.
    CallMode, "mode" {
        /// Audio and video.
        Video = "VIDEO",
        /// Audio only.
        Audio = "AUDIO",
    }
);

impl CallMode {
    /// "video" or "audio", for conversation notes.
    pub fn noun(self) -> &'static str {
        match self {
            CallMode::Video => "video",
            CallMode::Audio => "audio",
        }
    }

    /// "a video" or "an audio", for conversation notes.
    pub fn with_article(self) -> &'static str {
        match self {
            CallMode::Video => "a video",
            CallMode::Audio => "an audio",
        }
    }
}

wire_enum!(
    /// Where a call request is.
    CallRequestStatus, "status" {
        /// Waiting for staff.
        Pending = "PENDING",
        /// Staff accepted it: a session was started for it.
        Accepted = "ACCEPTED",
        /// Staff declined it.
        Rejected = "REJECTED",
        /// The donor withdrew it.
        Cancelled = "CANCELLED",
    }
);

wire_enum!(
    /// Where a call session is.
    CallSessionStatus, "status" {
        /// The provider's room exists; nobody said the call began yet.
        Created = "CREATED",
        /// The call is under way.
        Active = "ACTIVE",
        /// Over; the provider's room was ended.
        Ended = "ENDED",
    }
);

impl CallSessionStatus {
    /// Whether the session still counts as the ticket's open call (`CREATED` or `ACTIVE`).
    pub fn is_open(self) -> bool {
        self != CallSessionStatus::Ended
    }
}

/// What was attempted on a call request, for [`CallError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    /// Accept it.
    Accept,
    /// Reject it.
    Reject,
    /// Withdraw it.
    Cancel,
}

impl fmt::Display for RequestAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestAction::Accept => "accept",
            RequestAction::Reject => "reject",
            RequestAction::Cancel => "cancel",
        })
    }
}

/// What was attempted on a call session, for [`CallError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAction {
    /// Mark it under way.
    Activate,
    /// End it.
    End,
}

impl fmt::Display for SessionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionAction::Activate => "activate",
            SessionAction::End => "end",
        })
    }
}

/// A call change the current state does not allow. Nothing was changed; HTTP answers 409.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request was already decided.
    #[error("cannot {action} a call request that is {from}")]
    Request {
        /// What was attempted.
        action: RequestAction,
        /// The request's status at the time.
        from: CallRequestStatus,
    },
    /// The session is not in a state that allows it.
    #[error("cannot {action} a call that is {from}")]
    Session {
        /// What was attempted.
        action: SessionAction,
        /// The session's status at the time.
        from: CallSessionStatus,
    },
    /// The ticket already has a call that has not ended.
    #[error("the ticket already has a call that has not ended")]
    AlreadyOpen,
    /// The ticket is closed: no calls any more.
    #[error("the ticket is closed")]
    TicketClosed,
}

impl From<CallError> for DomainError {
    fn from(err: CallError) -> Self {
        DomainError::Conflict(err.to_string())
    }
}

/// A donor's request for a call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// Its id.
    pub id: CallRequestId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Audio or video.
    pub mode: CallMode,
    /// The donor's note.
    pub message: Option<String>,
    /// Where it is.
    pub status: CallRequestStatus,
    /// The staff user who accepted or rejected it.
    pub decided_by_id: Option<UserId>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When it was decided or withdrawn.
    pub decided_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl CallRequest {
    fn decide(
        mut self,
        action: RequestAction,
        to: CallRequestStatus,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Self, CallError> {
        if self.status != CallRequestStatus::Pending {
            return Err(CallError::Request {
                action,
                from: self.status,
            });
        }
        self.status = to;
        self.decided_by_id = by;
        self.decided_at = Some(now);
        self.updated_at = now;
        Ok(self)
    }

    /// `PENDING -> ACCEPTED` by a staff user.
    pub fn accept(self, by: UserId, now: DateTime<Utc>) -> Result<Self, CallError> {
        self.decide(
            RequestAction::Accept,
            CallRequestStatus::Accepted,
            Some(by),
            now,
        )
    }

    /// `PENDING -> REJECTED` by a staff user, with an optional reason.
    pub fn reject(
        self,
        by: UserId,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Self, CallError> {
        let mut rejected = self.decide(
            RequestAction::Reject,
            CallRequestStatus::Rejected,
            Some(by),
            now,
        )?;
        rejected.reason = reason;
        Ok(rejected)
    }

    /// `PENDING -> CANCELLED` by the donor.
    pub fn cancel(self, now: DateTime<Utc>) -> Result<Self, CallError> {
        self.decide(
            RequestAction::Cancel,
            CallRequestStatus::Cancelled,
            None,
            now,
        )
    }
}

/// The longest note on a call request or reason for a rejection, in characters.
pub const MAX_CALL_NOTE: usize = 1000;

/// A request about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCallRequest {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Audio or video.
    pub mode: CallMode,
    /// The donor's note.
    pub message: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Checks an optional note or reason (trimmed; empty becomes `None`).
pub fn validate_note(field: &str, value: Option<&str>) -> Result<Option<String>> {
    let mut e = vec![];
    let value = validate::optional_text(&mut e, field, value, MAX_CALL_NOTE);
    validate::finish(e, value)
}

/// A call session: one provider room on a ticket. Serialises to the API's session object
/// (without any join token), which is also the payload of `call_started` and `call_ended`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSession {
    /// Its id.
    pub id: CallSessionId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The provider's room id (the API's `roomName`).
    pub room_id: String,
    /// Audio or video.
    pub mode: CallMode,
    /// Where it is.
    pub status: CallSessionStatus,
    /// The request it answers, when it was started by accepting one.
    pub request_id: Option<CallRequestId>,
    /// The staff user who started it.
    pub created_by_id: Option<UserId>,
    /// When it became `ACTIVE`.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// When the room was created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl CallSession {
    /// `CREATED -> ACTIVE`; records when the call began.
    pub fn activate(mut self, now: DateTime<Utc>) -> Result<Self, CallError> {
        if self.status != CallSessionStatus::Created {
            return Err(CallError::Session {
                action: SessionAction::Activate,
                from: self.status,
            });
        }
        self.status = CallSessionStatus::Active;
        self.started_at = Some(now);
        self.updated_at = now;
        Ok(self)
    }

    /// `CREATED | ACTIVE -> ENDED`; records when it ended.
    pub fn end(mut self, now: DateTime<Utc>) -> Result<Self, CallError> {
        if self.status == CallSessionStatus::Ended {
            return Err(CallError::Session {
                action: SessionAction::End,
                from: self.status,
            });
        }
        self.status = CallSessionStatus::Ended;
        self.ended_at = Some(now);
        self.updated_at = now;
        Ok(self)
    }

    /// How long the call lasted, in whole seconds: from when it became `ACTIVE` (or, if nobody
    /// said so, from when the room was created) to when it ended. `None` until it ends.
    pub fn duration_seconds(&self) -> Option<i64> {
        let ended = self.ended_at?;
        let began = self.started_at.unwrap_or(self.created_at);
        Some((ended - began).num_seconds().max(0))
    }
}

/// A session about to be stored (its room already exists at the provider).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCallSession {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The provider's room id.
    pub room_id: String,
    /// Audio or video.
    pub mode: CallMode,
    /// The request it answers.
    pub request_id: Option<CallRequestId>,
    /// The staff user who started it.
    pub created_by_id: Option<UserId>,
    /// When the room was created.
    pub created_at: DateTime<Utc>,
}

/// `1h 02m 05s`, `3m 07s`, `12s`.
pub fn format_duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m {s:02}s"),
    }
}

/// The conversation notes calls leave (SYSTEM-sent, typed `CALL_*` or `SYSTEM`).
pub mod notes {
    use super::*;

    fn note(
        ticket_id: TicketId,
        message_type: MessageType,
        content: String,
        now: DateTime<Utc>,
    ) -> NewMessage {
        NewMessage {
            message_type,
            ..NewMessage::system(ticket_id, content, now)
        }
    }

    /// `CALL_REQUEST`: the donor asked for a call.
    pub fn requested(request: &NewCallRequest) -> NewMessage {
        let mut text = format!("The donor requested {} call", request.mode.with_article());
        if let Some(message) = &request.message {
            text.push_str(": ");
            text.push_str(message);
        }
        note(
            request.ticket_id,
            MessageType::CallRequest,
            text,
            request.created_at,
        )
    }

    /// `SYSTEM`: a request was rejected or withdrawn.
    pub fn decided(request: &CallRequest, now: DateTime<Utc>) -> NewMessage {
        let noun = request.mode.noun();
        let text = match (request.status, &request.reason) {
            (CallRequestStatus::Rejected, Some(reason)) => {
                format!("The {noun} call request was declined: {reason}")
            }
            (CallRequestStatus::Rejected, None) => {
                format!("The {noun} call request was declined")
            }
            (CallRequestStatus::Cancelled, _) => {
                format!("The donor withdrew the {noun} call request")
            }
            _ => format!("The {noun} call request was accepted"),
        };
        note(request.ticket_id, MessageType::System, text, now)
    }

    /// `CALL_STARTED`: a session's room was created.
    pub fn started(session: &NewCallSession) -> NewMessage {
        note(
            session.ticket_id,
            MessageType::CallStarted,
            {
                let mut text = format!("{} call started", session.mode.with_article());
                text[..1].make_ascii_uppercase();
                text
            },
            session.created_at,
        )
    }

    /// `CALL_ENDED`, with the duration.
    pub fn ended(session: &CallSession, now: DateTime<Utc>) -> NewMessage {
        let duration = format_duration(session.duration_seconds().unwrap_or(0));
        note(
            session.ticket_id,
            MessageType::CallEnded,
            format!("The {} call ended after {duration}", session.mode.noun()),
            now,
        )
    }

    /// Whether a message was written by [`Sender::System`] (for tests).
    pub fn is_system(message: &NewMessage) -> bool {
        message.sender == Sender::System
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
            .single()
            .expect("a valid date")
    }

    fn request(status: CallRequestStatus) -> CallRequest {
        CallRequest {
            id: CallRequestId(1),
            ticket_id: TicketId(7),
            mode: CallMode::Video,
            message: None,
            status,
            decided_by_id: None,
            reason: None,
            decided_at: None,
            created_at: t0(),
            updated_at: t0(),
        }
    }

    fn session(status: CallSessionStatus) -> CallSession {
        CallSession {
            id: CallSessionId(1),
            ticket_id: TicketId(7),
            room_id: "room-1".into(),
            mode: CallMode::Audio,
            status,
            request_id: None,
            created_by_id: Some(UserId(2)),
            started_at: None,
            ended_at: None,
            created_at: t0(),
            updated_at: t0(),
        }
    }

    #[test]
    fn pending_requests_can_be_decided_once() {
        use CallRequestStatus::*;
        let now = t0() + Duration::minutes(1);
        let accepted = request(Pending).accept(UserId(2), now).expect("accept");
        assert_eq!(
            (accepted.status, accepted.decided_by_id, accepted.decided_at),
            (Accepted, Some(UserId(2)), Some(now))
        );
        let rejected = request(Pending)
            .reject(UserId(2), Some("busy".into()), now)
            .expect("reject");
        assert_eq!(rejected.status, Rejected);
        assert_eq!(rejected.reason.as_deref(), Some("busy"));
        let cancelled = request(Pending).cancel(now).expect("cancel");
        assert_eq!(
            (cancelled.status, cancelled.decided_by_id),
            (Cancelled, None)
        );

        for from in [Accepted, Rejected, Cancelled] {
            let err = |action| CallError::Request { action, from };
            assert_eq!(
                request(from).accept(UserId(2), now),
                Err(err(RequestAction::Accept))
            );
            assert_eq!(
                request(from).reject(UserId(2), None, now),
                Err(err(RequestAction::Reject))
            );
            assert_eq!(request(from).cancel(now), Err(err(RequestAction::Cancel)));
        }
    }

    #[test]
    fn sessions_go_created_active_ended() {
        use CallSessionStatus::*;
        let start = t0() + Duration::seconds(5);
        let stop = start + Duration::seconds(185);
        let active = session(Created).activate(start).expect("activate");
        assert_eq!((active.status, active.started_at), (Active, Some(start)));
        let ended = active.end(stop).expect("end");
        assert_eq!((ended.status, ended.ended_at), (Ended, Some(stop)));
        assert_eq!(ended.duration_seconds(), Some(185));
        // Ending a room nobody marked active counts from its creation.
        let quick = session(Created).end(stop).expect("end");
        assert_eq!(quick.duration_seconds(), Some(190));

        for from in [Active, Ended] {
            assert_eq!(
                session(from).activate(start),
                Err(CallError::Session {
                    action: SessionAction::Activate,
                    from
                })
            );
        }
        assert_eq!(
            session(Ended).end(stop),
            Err(CallError::Session {
                action: SessionAction::End,
                from: Ended
            })
        );
        assert!(Created.is_open() && Active.is_open() && !Ended.is_open());
    }

    #[test]
    fn errors_are_conflicts_and_ended_sessions_know_their_duration() {
        let err: DomainError = CallError::AlreadyOpen.into();
        assert!(matches!(err, DomainError::Conflict(_)));
        let ended = session(CallSessionStatus::Created)
            .end(t0() + Duration::seconds(65))
            .expect("end");
        assert_eq!(ended.duration_seconds(), Some(65));
        assert_eq!(ended.status, CallSessionStatus::Ended);
    }

    #[test]
    fn durations_read_well_and_notes_are_typed() {
        assert_eq!(format_duration(12), "12s");
        assert_eq!(format_duration(187), "3m 07s");
        assert_eq!(format_duration(3725), "1h 02m 05s");
        let new = NewCallRequest {
            ticket_id: TicketId(7),
            mode: CallMode::Video,
            message: Some("my screen is black".into()),
            created_at: t0(),
        };
        let note = notes::requested(&new);
        assert_eq!(note.message_type, MessageType::CallRequest);
        assert!(notes::is_system(&note));
        assert_eq!(
            note.content,
            "The donor requested a video call: my screen is black"
        );
        let ended = session(CallSessionStatus::Created)
            .end(t0() + Duration::seconds(187))
            .expect("end");
        let note = notes::ended(&ended, t0());
        assert_eq!(note.message_type, MessageType::CallEnded);
        assert_eq!(note.content, "The audio call ended after 3m 07s");
    }

    #[test]
    fn notes_are_validated() {
        assert_eq!(validate_note("message", Some("  ")).expect("ok"), None);
        assert_eq!(
            validate_note("message", Some(" hi ")).expect("ok"),
            Some("hi".into())
        );
        assert!(validate_note("reason", Some(&"x".repeat(MAX_CALL_NOTE + 1))).is_err());
    }
}
