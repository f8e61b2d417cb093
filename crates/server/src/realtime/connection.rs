//! One WebSocket connection: authentication, joins with replay, sends, relays, pings,
//! backpressure and shutdown.

use super::hub::{rooms_of, Kick, Membership, Outbound, Room, Signal, StaffSession};
use super::limits::Sender;
use super::protocol::{self, ClientFrame, Presence, ServerFrame};
use super::RealtimeConfig;
use crate::auth::{session_for_token, TokenSession};
use crate::problem::{problem_value, ApiError};
use crate::state::AppState;
use actix_web::web;
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use bytestring::ByteString;
use concierge_domain::event::{EventKind, StoredEvent, Viewer};
use concierge_domain::message::PostMessage;
use concierge_domain::{Actor, DomainError, MessageId, TicketId};
use governor::DefaultDirectRateLimiter;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

/// Invalid frames tolerated before the connection is closed with 1008.
const MAX_INVALID_FRAMES: u32 = 10;
/// Events read from the log per replay query.
const REPLAY_BATCH: u32 = 500;
/// The longest `fileName` and `uploadId` relayed, in characters.
const MAX_RELAYED_TEXT: usize = 255;

/// Why a connection ends.
enum End {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The client closed: answer with its close frame (RFC 6455 §5.5.1).
    Echo(Option<CloseReason>),
    /// The peer is gone or the socket failed: nothing more to say.
    Gone,
}

/// What a connection has sent of a joined ticket's room: every event of the ticket with a
/// `seq` in `(from, to]`.
#[derive(Debug, Clone, Copy)]
struct Sent {
    from: i64,
    to: i64,
}

impl Sent {
    fn contains(&self, seq: i64) -> bool {
        self.from < seq && seq <= self.to
    }
}

struct Authed {
    actor: Actor,
    viewer: Viewer,
    sender: Sender,
    presence: Presence,
    membership: Membership,
    queue: mpsc::Receiver<Outbound>,
    signal: Arc<Signal>,
    /// Joined tickets and what has been sent of each.
    joined: HashMap<TicketId, Sent>,
    /// The hub's head when the connection entered its own rooms (staff room, user room):
    /// every later event of those rooms has been or will be delivered live.
    entered: i64,
    /// The `seq` of the last event delivered live, from any room.
    delivered: i64,
    /// A donor's ticket room holds its live events until the donor joins (with its `since`) or
    /// this moment passes, so a resuming donor gets each event once, in order.
    held_until: Option<Instant>,
    /// Typing and upload progress allowed to this connection.
    relays: DefaultDirectRateLimiter,
}

struct Connection {
    state: web::Data<AppState>,
    session: Session,
    config: RealtimeConfig,
    authed: Option<Authed>,
    invalid: u32,
}

/// Serves one upgraded socket until it closes. `header_actor` is set when the upgrade request
/// carried a valid bearer token.
pub async fn serve(
    state: web::Data<AppState>,
    session: Session,
    stream: MessageStream,
    header_session: Option<TokenSession>,
) {
    let config = state.config.realtime.clone();
    let mut stream = stream.max_frame_size(config.max_frame_bytes);
    let mut shutdown = state.shutdown.clone();
    let mut conn = Connection {
        state,
        session,
        config,
        authed: None,
        invalid: 0,
    };
    let end = async {
        if let Some(token) = header_session {
            conn.authenticate(token).await?;
        }
        conn.run(&mut stream, &mut shutdown).await
    }
    .await;
    // Leave every room first, so nothing more is queued for this connection.
    drop(conn.authed.take());
    let idle_timeout = conn.config.idle_timeout;
    let Connection { session, .. } = conn;
    if let Err(End::Echo(reason)) = end {
        let _ = tokio::time::timeout(Duration::from_secs(1), session.close(reason)).await;
        return;
    }
    if let Err(End::Close(code, reason)) = end {
        // A too-slow client's outgoing buffer is full: its close frame goes out once it reads
        // again, so wait for room up to the idle timeout. Others take the frame at once.
        let wait = if code == protocol::CLOSE_TOO_SLOW {
            idle_timeout
        } else {
            Duration::from_secs(1)
        };
        let reason = CloseReason {
            code: CloseCode::from(code),
            description: Some(reason.to_string()),
        };
        let _ = tokio::time::timeout(wait, session.close(Some(reason))).await;
    }
}

impl Connection {
    async fn run(
        &mut self,
        stream: &mut MessageStream,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), End> {
        let auth_deadline = Instant::now() + self.config.auth_timeout;
        let mut last_heard = Instant::now();
        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.tick().await;
        loop {
            if *shutdown.borrow() {
                return Err(End::Close(protocol::CLOSE_GOING_AWAY, "server going away"));
            }
            let signal = self.authed.as_ref().map(|a| a.signal.clone());
            let kicked = async move {
                match signal {
                    Some(s) => s.wait().await,
                    None => std::future::pending().await,
                }
            };
            let held_until = self.authed.as_ref().and_then(|a| a.held_until);
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    return Err(End::Close(protocol::CLOSE_GOING_AWAY, "server going away"));
                }
                kick = kicked => {
                    return Err(match kick {
                        Kick::TooSlow => End::Close(protocol::CLOSE_TOO_SLOW, "too slow: reconnect and join with since"),
                        Kick::Revoked => End::Close(protocol::CLOSE_UNAUTHENTICATED, "session revoked"),
                    });
                }
                _ = sleep_until(held_until.unwrap_or(auth_deadline)), if held_until.is_some() => {
                    if let Some(a) = self.authed.as_mut() {
                        a.held_until = None;
                    }
                }
                message = stream.recv() => {
                    last_heard = Instant::now();
                    match message {
                        None => return Err(End::Gone),
                        Some(Err(_)) => return Err(End::Close(protocol::CLOSE_POLICY, "frame refused")),
                        Some(Ok(message)) => self.on_message(message).await?,
                    }
                }
                outbound = recv(&mut self.authed) => {
                    match outbound {
                        Some(item) => self.deliver(item).await?,
                        None => return Err(End::Gone),
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > self.config.idle_timeout {
                        return Err(End::Gone);
                    }
                    self.ping().await?;
                }
                _ = sleep_until(auth_deadline), if self.authed.is_none() => {
                    return Err(End::Close(protocol::CLOSE_UNAUTHENTICATED, "not authenticated in time"));
                }
            }
        }
    }

    async fn on_message(&mut self, message: Message) -> Result<(), End> {
        match message {
            Message::Text(text) => match serde_json::from_str::<ClientFrame>(&text) {
                Ok(frame) => self.on_frame(frame).await,
                Err(err) => {
                    self.refuse(ApiError::BadRequest(format!("unreadable frame: {err}")))
                        .await
                }
            },
            Message::Ping(bytes) => self.session.pong(&bytes).await.map_err(|_| End::Gone),
            Message::Pong(_) => Ok(()),
            Message::Close(reason) => Err(End::Echo(reason)),
            Message::Binary(_) | Message::Continuation(_) => Err(End::Close(
                protocol::CLOSE_POLICY,
                "only single JSON text frames are accepted",
            )),
            Message::Nop => Ok(()),
        }
    }

    async fn on_frame(&mut self, frame: ClientFrame) -> Result<(), End> {
        if let ClientFrame::Auth { token } = frame {
            if self.authed.is_some() {
                return self
                    .refuse(ApiError::BadRequest("already authenticated".into()))
                    .await;
            }
            return match session_for_token(&self.state, &token).await {
                Ok(session) => self.authenticate(session).await,
                Err(_) => Err(End::Close(protocol::CLOSE_UNAUTHENTICATED, "token refused")),
            };
        }
        if self.authed.is_none() {
            return self
                .refuse(ApiError::Unauthorized("authenticate first"))
                .await;
        }
        match frame {
            ClientFrame::Auth { .. } => Ok(()),
            ClientFrame::Join { ticket_id, since } => self.join(TicketId(ticket_id), since).await,
            ClientFrame::Leave { ticket_id } => {
                if let Some(a) = self.authed.as_mut() {
                    a.joined.remove(&TicketId(ticket_id));
                    a.membership.leave(Room::Ticket(TicketId(ticket_id)));
                }
                let text = ServerFrame::Left { ticket_id }.to_text();
                self.send_raw(text).await
            }
            ClientFrame::SendMessage {
                request_id,
                ticket_id,
                content,
                reply_to_id,
                client_message_id,
            } => {
                let allowed = self
                    .authed
                    .as_ref()
                    .is_some_and(|a| self.state.socket_limits.message(a.sender));
                if !allowed {
                    let frame = ServerFrame::Reply {
                        request_id: request_id.as_deref(),
                        ok: false,
                        data: None,
                        error: Some(problem_value(&ApiError::TooManyRequests(1))),
                    }
                    .to_text();
                    return self.send_raw(frame).await;
                }
                let input = PostMessage {
                    ticket_id: TicketId(ticket_id),
                    content,
                    reply_to_id: reply_to_id.map(MessageId),
                    client_message_id,
                };
                let actor = self.actor().clone();
                let result = self.state.services.conversations.post(&actor, input).await;
                let frame = match result {
                    Ok(posted) => ServerFrame::Reply {
                        request_id: request_id.as_deref(),
                        ok: true,
                        data: serde_json::to_value(crate::wire::Message::from(posted.message()))
                            .ok(),
                        error: None,
                    }
                    .to_text(),
                    Err(err) => ServerFrame::Reply {
                        request_id: request_id.as_deref(),
                        ok: false,
                        data: None,
                        error: Some(problem_value(&ApiError::from(err))),
                    }
                    .to_text(),
                };
                self.send_raw(frame).await
            }
            ClientFrame::Typing {
                ticket_id,
                is_typing,
            } => {
                let Some(a) = &self.authed else { return Ok(()) };
                let text = ServerFrame::UserTyping {
                    ticket_id,
                    user: &a.presence,
                    is_typing,
                }
                .to_text();
                self.relay(TicketId(ticket_id), text).await
            }
            ClientFrame::UploadProgress {
                ticket_id,
                upload_id,
                file_name,
                percent,
            } => {
                if file_name.chars().count() > MAX_RELAYED_TEXT
                    || upload_id.chars().count() > MAX_RELAYED_TEXT
                {
                    return self
                        .refuse(DomainError::invalid("fileName", "at most 255 characters").into())
                        .await;
                }
                let Some(a) = &self.authed else { return Ok(()) };
                let text = ServerFrame::FileUploadProgress {
                    ticket_id,
                    user: &a.presence,
                    upload_id: &upload_id,
                    file_name: &file_name,
                    percent: percent.clamp(0.0, 100.0),
                }
                .to_text();
                self.relay(TicketId(ticket_id), text).await
            }
        }
    }

    fn actor(&self) -> &Actor {
        match &self.authed {
            Some(a) => &a.actor,
            None => &Actor::System,
        }
    }

    /// Relays to a joined ticket's room; refuses when the ticket is not joined or the
    /// connection relays too often.
    async fn relay(&mut self, ticket: TicketId, text: String) -> Result<(), End> {
        let joined = self
            .authed
            .as_ref()
            .is_some_and(|a| a.joined.contains_key(&ticket));
        if !joined {
            return self
                .refuse(DomainError::invalid("ticketId", "join the ticket first").into())
                .await;
        }
        let allowed = self
            .authed
            .as_ref()
            .is_some_and(|a| a.relays.check().is_ok());
        if !allowed {
            return self.refuse(ApiError::TooManyRequests(1)).await;
        }
        if let Some(a) = &self.authed {
            a.membership.relay(Room::Ticket(ticket), text);
        }
        Ok(())
    }

    async fn authenticate(&mut self, token: TokenSession) -> Result<(), End> {
        let TokenSession {
            actor,
            token_version,
        } = token;
        let refused = || End::Close(protocol::CLOSE_UNAUTHENTICATED, "token refused");
        let services = &self.state.services;
        let (presence, rooms, donor_ticket, session) = match &actor {
            Actor::Staff { user_id, role } => {
                let user = services.accounts.me(&actor).await.map_err(|_| refused())?;
                let presence = Presence {
                    id: Some(user_id.0),
                    name: user.name,
                    role: role.as_str().to_string(),
                };
                let session = token_version.map(|token_version| StaffSession {
                    user_id: *user_id,
                    token_version,
                    role: *role,
                });
                (
                    presence,
                    vec![Room::User(*user_id), Room::Staff],
                    None,
                    session,
                )
            }
            Actor::Donor { ticket_id, .. } => {
                let ticket = services
                    .tickets
                    .get(&actor, *ticket_id)
                    .await
                    .map_err(|_| refused())?;
                let name = ticket.donor.map(|d| d.name).unwrap_or_default();
                let presence = Presence {
                    id: None,
                    name,
                    role: "DONOR".to_string(),
                };
                (
                    presence,
                    vec![Room::Ticket(*ticket_id)],
                    Some(*ticket_id),
                    None,
                )
            }
            Actor::System => return Err(refused()),
        };
        let (Some(viewer), Some(sender)) = (Viewer::of(&actor), Sender::of(&actor)) else {
            return Err(refused());
        };
        let (membership, queue, signal) = self.state.hub.connect(viewer, session);
        let mut joined = HashMap::new();
        let mut entered = 0;
        for room in rooms {
            let head = membership.enter(room);
            entered = head;
            if let Room::Ticket(ticket) = room {
                joined.insert(
                    ticket,
                    Sent {
                        from: head,
                        to: head,
                    },
                );
            }
        }
        let (user_id, role) = match &actor {
            Actor::Staff { user_id, role } => (Some(user_id.0), role.as_str()),
            _ => (None, "DONOR"),
        };
        let ready = ServerFrame::Ready {
            user_id,
            role,
            ticket_id: donor_ticket.map(|t| t.0),
        }
        .to_text();
        self.authed = Some(Authed {
            actor,
            viewer,
            sender,
            presence,
            membership,
            queue,
            signal,
            joined,
            entered,
            delivered: entered,
            held_until: donor_ticket.map(|_| Instant::now() + self.config.join_grace),
            relays: self.state.socket_limits.relays(),
        });
        self.send_raw(ready).await
    }

    /// Joins a ticket's room: checks the actor may read it, enters the room (so nothing new is
    /// missed), replays the log after `since`, then answers `joined`. Whatever the connection
    /// was already sent — live in this room or in its staff and user rooms — is not sent again,
    /// and live events queued meanwhile that the replay already sent are dropped by `deliver`.
    async fn join(&mut self, ticket: TicketId, since: Option<i64>) -> Result<(), End> {
        let actor = self.actor().clone();
        if let Err(err) = self.state.services.tickets.get(&actor, ticket).await {
            return self.refuse(err.into()).await;
        }
        let Some(a) = self.authed.as_mut() else {
            return Ok(());
        };
        let head = a.membership.enter(Room::Ticket(ticket));
        // A donor's own room was held for this join: nothing of it was sent yet.
        let held = a.held_until.take().is_some();
        let existing = a.joined.get(&ticket).copied();
        let before = existing.filter(|_| !held);
        let mut sent = match (existing, since.map(|s| s.max(0))) {
            (Some(sent), None) => sent,
            (None, None) => Sent {
                from: head,
                to: head,
            },
            (Some(sent), Some(since)) if !held && since <= sent.to => Sent {
                from: sent.from.min(since),
                to: sent.to,
            },
            (_, Some(since)) => Sent {
                from: since,
                to: since,
            },
        };
        // Events of the staff and user rooms up to `delivered` have reached the client; later
        // ones are still queued and come after the replay (which then sends them first).
        let (viewer, sender, entered, delivered) = (a.viewer, a.sender, a.entered, a.delivered);
        let own_room = match &a.actor {
            Actor::Staff { user_id, .. } => Some(Room::User(*user_id)),
            _ => None,
        };
        let skip = |event: &StoredEvent| {
            before.is_some_and(|b| b.contains(event.seq))
                || (entered < event.seq && event.seq <= delivered && reached_live(own_room, event))
        };
        let mut replay = vec![];
        if let Some(since) = since {
            let mut last = since.max(0);
            loop {
                let batch = self
                    .state
                    .services
                    .events
                    .read_after(last, Some(ticket), REPLAY_BATCH)
                    .await;
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(err) => return self.refuse(err.into()).await,
                };
                let done = (batch.len() as u32) < REPLAY_BATCH;
                // Every event read counts, sent or skipped: reading is the cost to bound.
                self.state.socket_limits.replay(sender, batch.len()).await;
                for event in batch {
                    last = event.seq;
                    if !skip(&event) {
                        replay.push(event);
                    }
                }
                for event in replay.drain(..) {
                    if let Some(data) = crate::wire::events::view(viewer, event.kind, &event.data) {
                        let text = ServerFrame::Event {
                            seq: event.seq,
                            ticket_id: event.ticket_id.map(|t| t.0),
                            event: event.kind.as_str(),
                            data: &data,
                        }
                        .to_text();
                        self.send_raw(text).await?;
                    }
                }
                sent.to = sent.to.max(last);
                if done {
                    break;
                }
            }
        }
        if let Some(a) = self.authed.as_mut() {
            a.joined.insert(ticket, sent);
        }
        let joined = ServerFrame::Joined {
            ticket_id: ticket.0,
            seq: sent.to,
        }
        .to_text();
        self.send_raw(joined).await
    }

    async fn deliver(&mut self, item: Outbound) -> Result<(), End> {
        match item {
            Outbound::Relay(frame) => self.send_raw(frame).await,
            Outbound::Event {
                seq,
                ticket_id,
                kind,
                frame,
            } => {
                let mut own_ticket_gone = false;
                if let Some(a) = self.authed.as_mut() {
                    a.delivered = a.delivered.max(seq);
                }
                if let (Some(ticket), Some(a)) = (ticket_id, self.authed.as_mut()) {
                    if let Some(sent) = a.joined.get_mut(&ticket) {
                        if seq <= sent.to {
                            return Ok(());
                        }
                        sent.to = seq;
                    }
                    own_ticket_gone = kind == EventKind::TicketDeleted
                        && matches!(&a.actor, Actor::Donor { ticket_id, .. } if *ticket_id == ticket);
                }
                self.send_raw(frame).await?;
                if own_ticket_gone {
                    return Err(End::Close(
                        protocol::CLOSE_UNAUTHENTICATED,
                        "the ticket was deleted",
                    ));
                }
                Ok(())
            }
        }
    }

    async fn refuse(&mut self, err: ApiError) -> Result<(), End> {
        self.invalid += 1;
        if self.invalid > MAX_INVALID_FRAMES {
            return Err(End::Close(
                protocol::CLOSE_POLICY,
                "too many invalid frames",
            ));
        }
        let text = ServerFrame::Error {
            error: problem_value(&err),
        }
        .to_text();
        self.send_raw(text).await
    }

    /// Sends a text frame, giving up on a client that does not take it in time.
    async fn send_raw(&mut self, text: impl Into<ByteString>) -> Result<(), End> {
        in_time(tokio::time::timeout(self.config.send_timeout, self.session.text(text)).await)
    }

    /// Sends a ping, giving up on a client that does not take it in time.
    async fn ping(&mut self) -> Result<(), End> {
        in_time(tokio::time::timeout(self.config.send_timeout, self.session.ping(b"")).await)
    }
}

/// What a send that had `send_timeout` to finish came to.
fn in_time(
    sent: Result<Result<(), actix_ws::Closed>, tokio::time::error::Elapsed>,
) -> Result<(), End> {
    match sent {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        Err(_) => Err(End::Close(
            protocol::CLOSE_TOO_SLOW,
            "too slow: reconnect and join with since",
        )),
    }
}

/// Whether a staff connection whose own room is `own_room` was sent `event` live through its
/// staff or user room (rooms it has been in since it authenticated). Donors have neither.
fn reached_live(own_room: Option<Room>, event: &StoredEvent) -> bool {
    own_room.is_some()
        && rooms_of(event)
            .iter()
            .any(|room| *room == Room::Staff || Some(*room) == own_room)
}

/// The next queued frame; nothing while unauthenticated or while a donor's room is held.
async fn recv(authed: &mut Option<Authed>) -> Option<Outbound> {
    match authed {
        Some(a) if a.held_until.is_none() => a.queue.recv().await,
        _ => std::future::pending().await,
    }
}
