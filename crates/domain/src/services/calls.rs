//! Calls: donors request them, admins accept, reject or start them, participants join and end
//! them. The video provider's room is created before the session is stored (and ended again
//! when storing fails), so no session ever names a room that does not exist; join tokens are
//! minted when asked for and never stored.

use super::Ports;
use crate::actor::Actor;
use crate::call::{
    notes, validate_note, CallError, CallMode, CallRequest, CallRequestId, CallSession,
    CallSessionStatus, NewCallRequest, NewCallSession,
};
use crate::error::{DomainError, Result};
use crate::ids::TicketId;
use crate::page::{Page, PageRequest};
use crate::ports::{CallRepository, VideoProvider};
use crate::ticket::{QueryMode, Ticket, TicketStatus};
use crate::video::{JoinToken, Participant};
use std::sync::Arc;

/// A participant's way into a session's room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGrant {
    /// The participant id the token was minted for (`staff-<id>` or `donor-<ticket id>`).
    pub participant_id: String,
    /// The token and its lifetime.
    pub token: JoinToken,
}

/// A session with the caller's join token (only while the session is open).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    /// The session.
    pub session: CallSession,
    /// The caller's token, for a session that has not ended.
    pub join: Option<JoinGrant>,
}

/// Call requests and sessions, on [`Ports::calls`].
#[derive(Clone)]
pub struct CallService {
    ports: Ports,
    calls: Arc<dyn CallRepository>,
    video: Arc<dyn VideoProvider>,
}

impl CallService {
    /// Builds the service, or `None` without [`Ports::calls`].
    pub fn new(ports: &Ports) -> Option<Self> {
        let group = ports.calls.as_ref()?;
        Some(Self {
            ports: ports.clone(),
            calls: group.calls.clone(),
            video: group.video.clone(),
        })
    }

    /// A request of this ticket; `NotFound` for another ticket's.
    async fn request_of(&self, ticket: &Ticket, id: CallRequestId) -> Result<CallRequest> {
        self.calls
            .get_request(id)
            .await?
            .filter(|r| r.ticket_id == ticket.id)
            .ok_or(DomainError::NotFound("call request"))
    }

    /// The session of a room and its ticket, if the actor is a participant (the ticket's donor
    /// or staff); `NotFound` otherwise.
    async fn session_of(&self, actor: &Actor, room: &str) -> Result<(CallSession, Ticket)> {
        crate::validate::lookup_name("roomName", room)?;
        let session = self
            .calls
            .session_by_room(room.to_string())
            .await?
            .ok_or(DomainError::NotFound("call"))?;
        let ticket = self
            .ports
            .readable_ticket(actor, session.ticket_id)
            .await
            .map_err(|e| match e {
                DomainError::NotFound(_) => DomainError::NotFound("call"),
                other => other,
            })?;
        Ok((session, ticket))
    }

    /// The donor of the ticket asks for a call (staff are told they may not).
    pub async fn request(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        mode: CallMode,
        message: Option<&str>,
    ) -> Result<CallRequest> {
        if !matches!(actor, Actor::Donor { .. }) {
            return Err(DomainError::Forbidden(
                "only the ticket's donor requests calls",
            ));
        }
        let ticket = self.ports.readable_ticket(actor, ticket_id).await?;
        let message = validate_note("message", message)?;
        if ticket.status() == TicketStatus::Closed {
            return Err(CallError::TicketClosed.into());
        }
        let request = NewCallRequest {
            ticket_id,
            mode,
            message,
            created_at: self.ports.clock.now(),
        };
        let note = notes::requested(&request);
        let (request, _) = self.calls.create_request(request, note).await?;
        Ok(request)
    }

    /// The donor withdraws a pending request.
    pub async fn cancel_request(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        request_id: CallRequestId,
    ) -> Result<CallRequest> {
        if !matches!(actor, Actor::Donor { .. }) {
            return Err(DomainError::Forbidden(
                "only the ticket's donor cancels its requests",
            ));
        }
        let ticket = self.ports.readable_ticket(actor, ticket_id).await?;
        let request = self.request_of(&ticket, request_id).await?;
        let now = self.ports.clock.now();
        let cancelled = request.cancel(now)?;
        let note = notes::decided(&cancelled, now);
        self.calls.decide_request(cancelled, note).await
    }

    /// A ticket's requests, newest first (admins).
    pub async fn requests(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> Result<Page<CallRequest>> {
        actor.admin()?;
        self.ports.readable_ticket(actor, ticket_id).await?;
        self.calls.list_requests(ticket_id, page).await
    }

    /// An admin rejects a pending request.
    pub async fn reject_request(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        request_id: CallRequestId,
        reason: Option<&str>,
    ) -> Result<CallRequest> {
        let me = actor.admin()?;
        let ticket = self.ports.readable_ticket(actor, ticket_id).await?;
        let reason = validate_note("reason", reason)?;
        let request = self.request_of(&ticket, request_id).await?;
        let now = self.ports.clock.now();
        let rejected = request.reject(me, reason, now)?;
        let note = notes::decided(&rejected, now);
        self.calls.decide_request(rejected, note).await
    }

    /// An admin accepts a request (the given one, or the newest pending one): the provider's
    /// room is created and the session stored with the accepted request. Returns the session
    /// and the admin's join token.
    pub async fn accept_request(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        request_id: Option<CallRequestId>,
    ) -> Result<(CallSession, JoinGrant)> {
        let me = actor.admin()?;
        let ticket = self.ports.readable_ticket(actor, ticket_id).await?;
        let request = match request_id {
            Some(id) => self.request_of(&ticket, id).await?,
            None => self
                .calls
                .newest_pending_request(ticket_id)
                .await?
                .ok_or(DomainError::NotFound("pending call request"))?,
        };
        let accepted = request.accept(me, self.ports.clock.now())?;
        self.open(actor, &ticket, accepted.mode, Some(accepted))
            .await
    }

    /// An admin starts a call on a ticket directly. Without a mode, a donor query's preferred
    /// mode is used when it is AUDIO, else VIDEO.
    pub async fn start(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        mode: Option<CallMode>,
    ) -> Result<(CallSession, JoinGrant)> {
        actor.admin()?;
        let ticket = self.ports.readable_ticket(actor, ticket_id).await?;
        let mode = mode.unwrap_or(match ticket.donor.as_ref().map(|d| d.query_mode) {
            Some(QueryMode::Audio) => CallMode::Audio,
            _ => CallMode::Video,
        });
        self.open(actor, &ticket, mode, None).await
    }

    /// Creates the provider's room, then stores the session; ends the room again when storing
    /// fails. A provider failure writes nothing.
    async fn open(
        &self,
        actor: &Actor,
        ticket: &Ticket,
        mode: CallMode,
        accepted: Option<CallRequest>,
    ) -> Result<(CallSession, JoinGrant)> {
        let (me, _) = actor.staff()?;
        if ticket.status() == TicketStatus::Closed {
            return Err(CallError::TicketClosed.into());
        }
        if self.calls.open_session(ticket.id).await?.is_some() {
            return Err(CallError::AlreadyOpen.into());
        }
        let participant = self.participant(actor, ticket).await?;
        let room = self.video.create_room().await?;
        let session = NewCallSession {
            ticket_id: ticket.id,
            room_id: room.room_id.clone(),
            mode,
            request_id: accepted.as_ref().map(|r| r.id),
            created_by_id: Some(me),
            created_at: self.ports.clock.now(),
        };
        let note = notes::started(&session);
        let stored = self.calls.start_session(session, accepted, note).await;
        let session = match stored {
            Ok((session, _)) => session,
            Err(err) => {
                // No session may name this room: end it (a failure here leaves a room that
                // expires at the provider, and is not the caller's problem).
                let _ = self.video.end_room(&room.room_id).await;
                return Err(err);
            }
        };
        let token = self.video.join_token(&session.room_id, &participant)?;
        Ok((
            session,
            JoinGrant {
                participant_id: participant.id,
                token,
            },
        ))
    }

    /// Who the actor is in a ticket's rooms.
    async fn participant(&self, actor: &Actor, ticket: &Ticket) -> Result<Participant> {
        match actor {
            Actor::Staff { user_id, .. } => {
                let name = self
                    .ports
                    .users
                    .get(*user_id)
                    .await?
                    .map(|u| u.name)
                    .unwrap_or_else(|| format!("Staff {user_id}"));
                Ok(Participant {
                    id: format!("staff-{user_id}"),
                    name,
                    is_host: true,
                })
            }
            Actor::Donor { .. } => Ok(Participant {
                id: format!("donor-{}", ticket.id),
                name: ticket
                    .donor
                    .as_ref()
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| "Donor".to_string()),
                is_host: false,
            }),
            Actor::System => Err(DomainError::Forbidden("the system does not join calls")),
        }
    }

    /// A ticket's sessions, newest first, each open one with a fresh join token for the caller
    /// (participants: the ticket's donor, staff).
    pub async fn sessions(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> Result<Page<SessionView>> {
        let ticket = self.ports.readable_ticket(actor, ticket_id).await?;
        let participant = self.participant(actor, &ticket).await?;
        let sessions = self.calls.list_sessions(ticket_id, page).await?;
        let mut items = Vec::with_capacity(sessions.items.len());
        for session in sessions.items {
            let join = if session.status.is_open() {
                Some(JoinGrant {
                    participant_id: participant.id.clone(),
                    token: self.video.join_token(&session.room_id, &participant)?,
                })
            } else {
                None
            };
            items.push(SessionView { session, join });
        }
        Ok(Page {
            items,
            next_cursor: sessions.next_cursor,
        })
    }

    /// A participant sets a session's status: `ACTIVE` (again `ACTIVE` changes nothing) or
    /// `ENDED` (as [`end`](Self::end)).
    pub async fn set_status(
        &self,
        actor: &Actor,
        room: &str,
        status: CallSessionStatus,
    ) -> Result<CallSession> {
        match status {
            CallSessionStatus::Ended => self.end(actor, room).await,
            CallSessionStatus::Active => {
                let (session, _) = self.session_of(actor, room).await?;
                if session.status == CallSessionStatus::Active {
                    return Ok(session);
                }
                let from = session.status;
                let active = session.activate(self.ports.clock.now())?;
                self.calls.update_session(active, from, None).await
            }
            CallSessionStatus::Created => {
                Err(DomainError::invalid("status", "must be ACTIVE or ENDED"))
            }
        }
    }

    /// A participant ends a session: the provider's room is ended first (a provider failure
    /// writes nothing), then the session is stored `ENDED` with a `CALL_ENDED` note.
    pub async fn end(&self, actor: &Actor, room: &str) -> Result<CallSession> {
        let (session, _) = self.session_of(actor, room).await?;
        let from = session.status;
        let ended = session.end(self.ports.clock.now())?;
        self.video.end_room(&ended.room_id).await?;
        let note = notes::ended(&ended, ended.updated_at);
        self.calls.update_session(ended, from, Some(note)).await
    }

    /// An admin deletes a room: an open session is ended first (provider room, `CALL_ENDED`
    /// note), then its record is removed.
    pub async fn delete(&self, actor: &Actor, room: &str) -> Result<()> {
        actor.admin()?;
        let (session, _) = self.session_of(actor, room).await?;
        let id = session.id;
        if session.status.is_open() {
            self.end(actor, room).await?;
        }
        self.calls.delete_session(id).await
    }
}
