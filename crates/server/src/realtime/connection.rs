//! One WebSocket connection: authentication, joins with replay, sends, relays, pings,
//! backpressure and shutdown.

use super::hub::{Membership, Outbound, Overflow, Room};
use super::protocol::{self, ClientFrame, Presence, ServerFrame};
use super::RealtimeConfig;
use crate::auth::actor_for_token;
use crate::problem::{problem_value, ApiError};
use crate::state::AppState;
use actix_web::web;
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use bytestring::ByteString;
use concierge_domain::message::PostMessage;
use concierge_domain::{Actor, DomainError, MessageId, TicketId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

/// Invalid frames tolerated before the connection is closed with 1008.
const MAX_INVALID_FRAMES: u32 = 10;
/// Events read from the log per replay query.
const REPLAY_BATCH: u32 = 500;

/// Why a connection ends.
enum End {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The peer is gone or the socket failed: nothing more to say.
    Gone,
}

struct Authed {
    actor: Actor,
    presence: Presence,
    membership: Membership,
    queue: mpsc::Receiver<Outbound>,
    overflow: Arc<Overflow>,
    /// Joined tickets and the last `seq` sent for each.
    joined: HashMap<TicketId, i64>,
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
    header_actor: Option<Actor>,
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
        if let Some(actor) = header_actor {
            conn.authenticate(actor).await?;
        }
        conn.run(&mut stream, &mut shutdown).await
    }
    .await;
    // Leave every room first, so nothing more is queued for this connection.
    drop(conn.authed.take());
    let idle_timeout = conn.config.idle_timeout;
    let Connection { session, .. } = conn;
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
            let overflow = self.authed.as_ref().map(|a| a.overflow.clone());
            let overflowed = async move {
                match overflow {
                    Some(o) => o.wait().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    return Err(End::Close(protocol::CLOSE_GOING_AWAY, "server going away"));
                }
                _ = overflowed => {
                    return Err(End::Close(protocol::CLOSE_TOO_SLOW, "too slow: reconnect and join with since"));
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
            Message::Close(_) => Err(End::Gone),
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
            return match actor_for_token(&self.state, &token).await {
                Ok(actor) => self.authenticate(actor).await,
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
                        data: serde_json::to_value(posted.message()).ok(),
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

    /// Relays to a joined ticket's room; refuses when the ticket is not joined.
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
        if let Some(a) = &self.authed {
            a.membership.relay(Room::Ticket(ticket), text);
        }
        Ok(())
    }

    async fn authenticate(&mut self, actor: Actor) -> Result<(), End> {
        let services = &self.state.services;
        let (presence, rooms, donor_ticket) = match &actor {
            Actor::Staff { user_id, role } => {
                let user =
                    services.accounts.me(&actor).await.map_err(|_| {
                        End::Close(protocol::CLOSE_UNAUTHENTICATED, "token refused")
                    })?;
                let presence = Presence {
                    id: Some(user_id.0),
                    name: user.name,
                    role: role.as_str().to_string(),
                };
                (presence, vec![Room::User(*user_id), Room::Staff], None)
            }
            Actor::Donor { ticket_id, .. } => {
                let ticket = services
                    .tickets
                    .get(&actor, *ticket_id)
                    .await
                    .map_err(|_| End::Close(protocol::CLOSE_UNAUTHENTICATED, "token refused"))?;
                let name = ticket.donor.map(|d| d.name).unwrap_or_default();
                let presence = Presence {
                    id: None,
                    name,
                    role: "DONOR".to_string(),
                };
                (presence, vec![Room::Ticket(*ticket_id)], Some(*ticket_id))
            }
            Actor::System => {
                return Err(End::Close(protocol::CLOSE_UNAUTHENTICATED, "token refused"));
            }
        };
        let (membership, queue, overflow) = self.state.hub.connect();
        let mut joined = HashMap::new();
        for room in rooms {
            let head = membership.enter(room);
            if let Room::Ticket(ticket) = room {
                joined.insert(ticket, head);
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
            presence,
            membership,
            queue,
            overflow,
            joined,
        });
        self.send_raw(ready).await
    }

    /// Joins a ticket's room: checks the actor may read it, enters the room (so nothing new is
    /// missed), replays the log after `since`, then answers `joined`. Live events queued
    /// meanwhile that the replay already sent are dropped by `deliver`.
    async fn join(&mut self, ticket: TicketId, since: Option<i64>) -> Result<(), End> {
        let actor = self.actor().clone();
        if let Err(err) = self.state.services.tickets.get(&actor, ticket).await {
            return self.refuse(err.into()).await;
        }
        let Some(a) = self.authed.as_mut() else {
            return Ok(());
        };
        let head = a.membership.enter(Room::Ticket(ticket));
        let mut last = match since {
            Some(since) => since.max(0),
            None => head,
        };
        a.joined.insert(ticket, last);
        if since.is_some() {
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
                for event in batch {
                    let text = ServerFrame::Event {
                        seq: event.seq,
                        ticket_id: event.ticket_id.map(|t| t.0),
                        event: event.kind.as_str(),
                        data: &event.data,
                    }
                    .to_text();
                    self.send_raw(text).await?;
                    last = event.seq;
                }
                if done {
                    break;
                }
            }
            if let Some(a) = self.authed.as_mut() {
                a.joined.insert(ticket, last);
            }
        }
        let joined = ServerFrame::Joined {
            ticket_id: ticket.0,
            seq: last,
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
                frame,
            } => {
                if let (Some(ticket), Some(a)) = (ticket_id, self.authed.as_mut()) {
                    if let Some(last) = a.joined.get_mut(&ticket) {
                        if seq <= *last {
                            return Ok(());
                        }
                        *last = seq;
                    }
                }
                self.send_raw(frame).await
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

async fn recv(authed: &mut Option<Authed>) -> Option<Outbound> {
    match authed {
        Some(a) => a.queue.recv().await,
        None => std::future::pending().await,
    }
}
