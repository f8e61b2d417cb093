//! In-memory adapters (feature `memory`), for tests, examples and prototypes of services built
//! on this crate. Nothing is persisted and every call takes one lock; do not run a server on them.
//!
//! [`MemoryStore`] implements the storage ports ([`UserRepository`], [`TicketRepository`],
//! [`MessageRepository`], [`EventLog`]) on one shared state, keeping their contracts: a write
//! appends its events, a ticket saved from a stale version is a
//! [`ConcurrentUpdate`](DomainError::ConcurrentUpdate), a repeated `client_message_id` returns
//! the first message. Files are not supported (the ports' default answers).
//! [`MemoryStore::ports`] makes [`Ports`] of it. [`ManualClock`] is a [`Clock`] a test moves by
//! hand.

use crate::error::{DomainError, Result};
use crate::event::{EventEncoder, NewEvent, StoredEvent};
use crate::ids::{MessageId, TicketId, UserId};
use crate::message::{Message, MessageFilter, NewMessage, Posted, Sender};
use crate::page::{Page, PageRequest};
use crate::ports::{
    Clock, EventLog, MessageRepository, PasswordHasher, TicketRepository, UserRepository,
};
use crate::search::{snippet, AssigneeFilter, HitKind, Query};
use crate::services::Ports;
use crate::ticket::{Channel, NewTicket, StoredTicket, Ticket, TicketFilter};
use crate::user::{NewUser, User, UserChanges};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Users, tickets, messages and the event log, in memory. Clones share nothing: wrap one in an
/// `Arc` and hand it to every port.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<i64, (User, String)>,
    tickets: BTreeMap<i64, Ticket>,
    messages: BTreeMap<i64, Message>,
    events: Vec<StoredEvent>,
    last_id: i64,
    last_seq: i64,
    /// Writes event payloads; without one the log keeps `{"id": <the object's id>}`.
    encoder: Option<Arc<dyn EventEncoder>>,
    avatars: BTreeMap<i64, crate::attachment::Avatar>,
    blobs: BTreeMap<String, Vec<u8>>,
    followers: BTreeMap<String, Follower>,
}

/// A follower's row of the [`crate::ports::FollowerLedger`].
#[derive(Debug, Default)]
struct Follower {
    cursor: Option<i64>,
    leader: Option<(String, DateTime<Utc>)>,
}

impl Follower {
    fn led_by(&self, holder: &str) -> bool {
        self.leader
            .as_ref()
            .is_some_and(|(h, until)| h == holder && *until > Utc::now())
    }
}

impl State {
    fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    fn append(&mut self, event: NewEvent, now: DateTime<Utc>) {
        self.last_seq += 1;
        self.events.push(StoredEvent {
            seq: self.last_seq,
            kind: event.kind,
            ticket_id: event.ticket_id,
            data: match &self.encoder {
                Some(encoder) => encoder.encode(&event.payload),
                None => serde_json::json!({ "id": event.payload.object_id() }),
            },
            created_at: now,
        });
    }

    fn insert_message(&mut self, new: NewMessage) -> Message {
        let message = Message {
            id: MessageId(self.next_id()),
            ticket_id: new.ticket_id,
            sender: new.sender,
            sender_profile: None,
            message_type: new.message_type,
            content: new.content,
            reply_to_id: new.reply_to_id,
            attachments: Vec::new(),
            client_message_id: new.client_message_id,
            edited_at: None,
            created_at: new.created_at,
            updated_at: new.created_at,
        };
        self.messages.insert(message.id.0, message.clone());
        self.append(NewEvent::new_message(&message), message.created_at);
        message
    }

    /// Saves `ticket` if its stored version is still `ticket.version`; returns the saved copy.
    fn save_ticket(&mut self, ticket: Ticket) -> Result<Ticket> {
        let stored = self
            .tickets
            .get_mut(&ticket.id.0)
            .ok_or(DomainError::NotFound("ticket"))?;
        if stored.version() != ticket.version() {
            return Err(DomainError::ConcurrentUpdate);
        }
        let version = ticket.version() + 1;
        let ticket = ticket.with_version(version);
        *stored = ticket.clone();
        self.append(NewEvent::ticket_updated(&ticket), ticket.updated_at);
        Ok(ticket)
    }

    fn by_client_id(&self, ticket_id: TicketId, key: &str) -> Option<&Message> {
        self.messages
            .values()
            .find(|m| m.ticket_id == ticket_id && m.client_message_id.as_deref() == Some(key))
    }
}

impl MemoryStore {
    /// An empty store whose event log keeps only each changed object's id.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose event log keeps payloads as `encoder` writes them (an
    /// application's API shapes).
    pub fn with_encoder(encoder: Arc<dyn EventEncoder>) -> Self {
        let store = Self::default();
        store.state().encoder = Some(encoder);
        store
    }

    /// [`Ports`] on this store (users, tickets, messages, events, avatars, blobs) with this
    /// hasher and clock. The store keeps no calls, summaries or push state, so those groups are
    /// `None`.
    pub fn ports(
        self: &Arc<Self>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Ports {
        Ports {
            users: self.clone(),
            tickets: self.clone(),
            messages: self.clone(),
            events: self.clone(),
            hasher,
            avatars: self.clone(),
            blobs: self.clone(),
            clock,
            calls: None,
            insights: None,
            push: None,
            search: None,
            sla: None,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave the maps half-written in a way a test
        // would care about, so a poisoned lock is used as it is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads up to `limit + 1` items after the cursor from `items` (already in the list's order).
fn page_of<T: Clone>(
    items: impl Iterator<Item = T>,
    page: &PageRequest,
    key: impl Fn(&T) -> i64,
    ascending: bool,
) -> Page<T> {
    let rows = items
        .filter(|item| match page.after {
            None => true,
            Some(after) if ascending => key(item) > after,
            Some(after) => key(item) < after,
        })
        .take(page.limit as usize + 1)
        .collect();
    Page::from_rows(rows, page, key)
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn create(&self, user: NewUser) -> Result<User> {
        let mut state = self.state();
        let taken = state.users.values().any(|(u, _)| {
            u.username == user.username || (user.email.is_some() && u.email == user.email)
        });
        if taken {
            return Err(DomainError::Conflict(
                "the username or email is taken".into(),
            ));
        }
        let created = User {
            id: UserId(state.next_id()),
            username: user.username,
            email: user.email,
            name: user.name,
            role: user.role,
            is_active: true,
            token_version: 0,
            fcm_token: None,
            created_at: user.created_at,
            updated_at: user.created_at,
        };
        state
            .users
            .insert(created.id.0, (created.clone(), user.password_hash));
        Ok(created)
    }

    async fn get(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.state().users.get(&id.0).map(|(u, _)| u.clone()))
    }

    async fn find_for_login(&self, login: &str) -> Result<Option<(User, String)>> {
        Ok(self
            .state()
            .users
            .values()
            .find(|(u, _)| u.username == login || u.email.as_deref() == Some(login))
            .cloned())
    }

    async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
        Ok(self.state().users.get(&id.0).map(|(_, h)| h.clone()))
    }

    async fn update(&self, id: UserId, changes: UserChanges, now: DateTime<Utc>) -> Result<User> {
        let mut state = self.state();
        if let Some(Some(email)) = &changes.email {
            let taken = state
                .users
                .values()
                .any(|(u, _)| u.id != id && u.email.as_ref() == Some(email));
            if taken {
                return Err(DomainError::Conflict("the email is taken".into()));
            }
        }
        let (user, _) = state
            .users
            .get_mut(&id.0)
            .ok_or(DomainError::NotFound("user"))?;
        if let Some(name) = changes.name {
            user.name = name;
        }
        if let Some(email) = changes.email {
            user.email = email;
        }
        if let Some(role) = changes.role {
            user.role = role;
        }
        if let Some(active) = changes.is_active {
            user.is_active = active;
        }
        user.updated_at = now;
        Ok(user.clone())
    }

    async fn set_password(&self, id: UserId, hash: String, now: DateTime<Utc>) -> Result<User> {
        let mut state = self.state();
        let (user, stored) = state
            .users
            .get_mut(&id.0)
            .ok_or(DomainError::NotFound("user"))?;
        *stored = hash;
        user.token_version += 1;
        user.updated_at = now;
        Ok(user.clone())
    }

    async fn set_push_token(&self, id: UserId, token: Option<String>) -> Result<()> {
        let mut state = self.state();
        let (user, _) = state
            .users
            .get_mut(&id.0)
            .ok_or(DomainError::NotFound("user"))?;
        user.fcm_token = token;
        Ok(())
    }

    async fn list(&self, page: PageRequest) -> Result<Page<User>> {
        let state = self.state();
        let users = state.users.values().map(|(u, _)| u.clone());
        Ok(page_of(users, &page, |u| u.id.0, true))
    }

    async fn count(&self) -> Result<i64> {
        Ok(i64::try_from(self.state().users.len()).unwrap_or(i64::MAX))
    }
}

fn matches_ticket(state: &State, filter: &TicketFilter, ticket: &Ticket) -> bool {
    let donor = ticket.donor.as_ref();
    filter.channel.is_none_or(|c| c == ticket.channel)
        && (filter.statuses.is_empty() || filter.statuses.contains(&ticket.status()))
        && filter.priority.is_none_or(|p| p == ticket.priority)
        && filter
            .assignee_id
            .is_none_or(|a| Some(a) == ticket.assignee_id)
        && filter
            .donor_id
            .as_ref()
            .is_none_or(|id| donor.is_some_and(|d| &d.donor_id == id))
        && filter
            .donor_session
            .as_ref()
            .is_none_or(|s| donor.is_some_and(|d| d.session.as_ref() == Some(s)))
        && filter
            .search
            .as_ref()
            .is_none_or(|q| search_finds(state, q, ticket))
        && filter.created_from.is_none_or(|t| ticket.created_at >= t)
        && filter.created_to.is_none_or(|t| ticket.created_at <= t)
}

/// Whether `query` finds `ticket` or one of its messages (docs/search.md), with the domain's
/// rough word matcher ([`snippet::contains`]) standing in for a full-text index.
fn search_finds(state: &State, query: &Query, ticket: &Ticket) -> bool {
    let f = &query.filters;
    let assignee = match &f.assignee {
        None | Some(AssigneeFilter::Me) => true,
        Some(AssigneeFilter::Nobody) => ticket.assignee_id.is_none(),
        Some(AssigneeFilter::Id(id)) => ticket.assignee_id == Some(*id),
        Some(AssigneeFilter::Username(name)) => ticket
            .assignee_id
            .and_then(|id| state.users.get(&id.0))
            .is_some_and(|(user, _)| &user.username == name),
    };
    let ticket_passes = assignee
        && (f.statuses.is_empty() || f.statuses.contains(&ticket.status()))
        && (f.priorities.is_empty() || f.priorities.contains(&ticket.priority))
        && (f.channels.is_empty() || f.channels.contains(&ticket.channel))
        && f.donor_id
            .as_ref()
            .is_none_or(|id| ticket.donor.as_ref().is_some_and(|d| &d.donor_id == id));
    let hit = |text: &str, at: DateTime<Utc>| {
        f.created_after.is_none_or(|t| at > t)
            && f.created_before.is_none_or(|t| at < t)
            && query.include.iter().all(|t| snippet::contains(text, t))
            && !query.exclude.iter().any(|t| snippet::contains(text, t))
    };
    let own = || {
        let text = format!(
            "{} {}",
            ticket.title,
            ticket.description.as_deref().unwrap_or("")
        );
        hit(&text, ticket.created_at)
    };
    let messages = || {
        state
            .messages
            .values()
            .filter(|m| m.ticket_id == ticket.id)
            .any(|m| {
                let names: Vec<&str> = m.attachments.iter().map(|a| a.file_name.as_str()).collect();
                hit(&format!("{} {}", m.content, names.join(" ")), m.created_at)
            })
    };
    ticket_passes
        && ((f.kind != Some(HitKind::Message) && own())
            || (f.kind != Some(HitKind::Ticket) && messages()))
}

#[async_trait]
impl TicketRepository for MemoryStore {
    async fn create(
        &self,
        ticket: NewTicket,
        first_message: Option<NewMessage>,
    ) -> Result<(Ticket, Option<Message>)> {
        let mut state = self.state();
        let id = TicketId(state.next_id());
        let mut donor = ticket.donor.clone();
        if let Some(donor) = donor.as_mut() {
            // A query that joins no session starts its own (named after it, not random).
            donor.session.get_or_insert_with(|| format!("session-{id}"));
        }
        let created = Ticket::restore(StoredTicket {
            id,
            channel: ticket.channel(),
            title: ticket.title,
            description: ticket.description,
            status: ticket.status,
            priority: ticket.priority,
            donor,
            assignee_id: ticket.assignee_id,
            creator_id: ticket.creator_id,
            resolved_by_id: None,
            resolved_at: None,
            transferred_from_id: None,
            transfer_note: None,
            closed_at: None,
            version: 1,
            created_at: ticket.created_at,
            updated_at: ticket.created_at,
        });
        state.tickets.insert(created.id.0, created.clone());
        state.append(NewEvent::ticket_created(&created), created.created_at);
        let first = first_message.map(|m| {
            state.insert_message(NewMessage {
                ticket_id: created.id,
                ..m
            })
        });
        Ok((created, first))
    }

    async fn get(&self, id: TicketId) -> Result<Option<Ticket>> {
        Ok(self.state().tickets.get(&id.0).cloned())
    }

    async fn list(&self, filter: TicketFilter, page: PageRequest) -> Result<Page<Ticket>> {
        let state = self.state();
        let tickets = state
            .tickets
            .values()
            .rev()
            .filter(|t| matches_ticket(&state, &filter, t))
            .cloned();
        Ok(page_of(tickets, &page, |t| t.id.0, false))
    }

    async fn update(&self, ticket: Ticket, note: Option<NewMessage>) -> Result<Ticket> {
        let mut state = self.state();
        let saved = state.save_ticket(ticket)?;
        if let Some(note) = note {
            state.insert_message(note);
        }
        Ok(saved)
    }

    async fn delete(&self, id: TicketId) -> Result<Vec<String>> {
        let mut state = self.state();
        let ticket = state
            .tickets
            .remove(&id.0)
            .ok_or(DomainError::NotFound("ticket"))?;
        let keys = state
            .messages
            .values()
            .filter(|m| m.ticket_id == id)
            .flat_map(|m| m.attachments.iter().map(|a| a.storage_key.clone()))
            .collect();
        state.messages.retain(|_, m| m.ticket_id != id);
        state.append(NewEvent::ticket_deleted(id), ticket.updated_at);
        Ok(keys)
    }
}

fn matches_message(filter: &MessageFilter, message: &Message) -> bool {
    filter.ticket_id.is_none_or(|t| t == message.ticket_id)
        && filter
            .message_type
            .is_none_or(|k| k == message.message_type)
        && filter
            .sender_id
            .is_none_or(|s| message.sender == Sender::Staff(s))
}

#[async_trait]
impl MessageRepository for MemoryStore {
    async fn post(&self, message: NewMessage, ticket: Option<Ticket>) -> Result<Posted> {
        let mut state = self.state();
        if !state.tickets.contains_key(&message.ticket_id.0) {
            return Err(DomainError::NotFound("ticket"));
        }
        if let Some(key) = &message.client_message_id {
            if let Some(first) = state.by_client_id(message.ticket_id, key) {
                return Ok(Posted::Existing(first.clone()));
            }
        }
        if let Some(ticket) = ticket {
            state.save_ticket(ticket)?;
        }
        Ok(Posted::Created(state.insert_message(message)))
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>> {
        Ok(self.state().messages.get(&id.0).cloned())
    }

    async fn find_by_client_id(
        &self,
        ticket_id: TicketId,
        client_message_id: String,
    ) -> Result<Option<Message>> {
        Ok(self
            .state()
            .by_client_id(ticket_id, &client_message_id)
            .cloned())
    }

    async fn list(&self, filter: MessageFilter, page: PageRequest) -> Result<Page<Message>> {
        let state = self.state();
        let messages = state
            .messages
            .values()
            .filter(|m| matches_message(&filter, m))
            .cloned();
        Ok(page_of(messages, &page, |m| m.id.0, true))
    }

    async fn list_in_ticket(
        &self,
        ticket_id: TicketId,
        filter: MessageFilter,
        page: PageRequest,
    ) -> Result<Option<(Ticket, Page<Message>)>> {
        let Some(ticket) = self.state().tickets.get(&ticket_id.0).cloned() else {
            return Ok(None);
        };
        let filter = MessageFilter {
            ticket_id: Some(ticket_id),
            ..filter
        };
        let page = MessageRepository::list(self, filter, page).await?;
        Ok(Some((ticket, page)))
    }

    async fn replies(&self, id: MessageId, limit: u32) -> Result<Vec<Message>> {
        Ok(self
            .state()
            .messages
            .values()
            .filter(|m| m.reply_to_id == Some(id))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn between(&self, a: UserId, b: UserId, page: PageRequest) -> Result<Page<Message>> {
        let state = self.state();
        let shared = |t: &Ticket| {
            t.channel == Channel::Internal
                && ((t.creator_id == Some(a) && t.assignee_id == Some(b))
                    || (t.creator_id == Some(b) && t.assignee_id == Some(a)))
        };
        let messages = state
            .messages
            .values()
            .filter(|m| {
                let by_either = m.sender == Sender::Staff(a) || m.sender == Sender::Staff(b);
                by_either && state.tickets.get(&m.ticket_id.0).is_some_and(shared)
            })
            .cloned();
        Ok(page_of(messages, &page, |m| m.id.0, true))
    }

    async fn edit(&self, id: MessageId, content: String, now: DateTime<Utc>) -> Result<Message> {
        let mut state = self.state();
        let message = state
            .messages
            .get_mut(&id.0)
            .ok_or(DomainError::NotFound("message"))?;
        message.content = content;
        message.edited_at = Some(now);
        message.updated_at = now;
        let edited = message.clone();
        state.append(NewEvent::message_updated(&edited), now);
        Ok(edited)
    }

    async fn delete(&self, id: MessageId) -> Result<Vec<String>> {
        let mut state = self.state();
        let message = state
            .messages
            .remove(&id.0)
            .ok_or(DomainError::NotFound("message"))?;
        for reply in state.messages.values_mut() {
            if reply.reply_to_id == Some(id) {
                reply.reply_to_id = None;
            }
        }
        state.append(
            NewEvent::message_deleted(message.ticket_id, id),
            message.updated_at,
        );
        Ok(message
            .attachments
            .into_iter()
            .map(|a| a.storage_key)
            .collect())
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn read_after(
        &self,
        after: i64,
        ticket_id: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        Ok(self
            .state()
            .events
            .iter()
            .filter(|e| e.seq > after && ticket_id.is_none_or(|t| e.ticket_id == Some(t)))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn head(&self) -> Result<i64> {
        Ok(self.state().events.last().map_or(0, |e| e.seq))
    }
}

#[async_trait]
impl crate::ports::FollowerLedger for MemoryStore {
    async fn cursor(&self, follower: String) -> Result<Option<i64>> {
        Ok(self.state().followers.get(&follower).and_then(|f| f.cursor))
    }

    async fn advance(&self, follower: String, holder: String, seq: i64) -> Result<bool> {
        let mut state = self.state();
        match state.followers.get_mut(&follower) {
            Some(row) if row.led_by(&holder) => {
                row.cursor = Some(seq);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn lease(&self, follower: String, holder: String, until: DateTime<Utc>) -> Result<bool> {
        let mut state = self.state();
        let row = state.followers.entry(follower).or_default();
        let free = row
            .leader
            .as_ref()
            .is_none_or(|(h, ends)| *h == holder || *ends < Utc::now());
        if free {
            row.leader = Some((holder, until));
        }
        Ok(free)
    }

    async fn release(&self, follower: String, holder: String) -> Result<()> {
        if let Some(row) = self.state().followers.get_mut(&follower) {
            if row.leader.as_ref().is_some_and(|(h, _)| *h == holder) {
                row.leader = None;
            }
        }
        Ok(())
    }
}

/// A [`Clock`] that stands still until it is moved.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl crate::ports::AvatarRepository for MemoryStore {
    async fn set_avatar(
        &self,
        user_id: UserId,
        avatar: crate::attachment::Avatar,
        _now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let mut state = self.state();
        if !state.users.contains_key(&user_id.0) {
            return Err(DomainError::NotFound("user"));
        }
        Ok(state
            .avatars
            .insert(user_id.0, avatar)
            .map(|old| old.storage_key))
    }

    async fn avatar_by_key(&self, key: String) -> Result<Option<crate::attachment::Avatar>> {
        Ok(self
            .state()
            .avatars
            .values()
            .find(|a| a.storage_key == key)
            .cloned())
    }
}

/// Blobs kept whole in memory (unlike a real store, which streams): enough for tests.
#[async_trait]
impl crate::ports::BlobStore for MemoryStore {
    async fn put(
        &self,
        spec: crate::attachment::BlobSpec,
        mut body: crate::attachment::ByteStream,
    ) -> Result<String> {
        use futures_util::StreamExt as _;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| DomainError::Unavailable(e.to_string()))?;
            bytes.extend_from_slice(&chunk);
        }
        let mut state = self.state();
        let key = format!("blob-{}.{}", state.next_id(), spec.extension);
        state.blobs.insert(key.clone(), bytes);
        Ok(key)
    }

    async fn get(&self, key: String) -> Result<Option<crate::attachment::BlobContent>> {
        let Some(bytes) = self.state().blobs.get(&key).cloned() else {
            return Ok(None);
        };
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let body = futures_util::StreamExt::boxed(futures_util::stream::iter([Ok(
            bytes::Bytes::from(bytes),
        )]));
        Ok(Some(crate::attachment::BlobContent { size, body }))
    }

    async fn delete(&self, key: String) -> Result<()> {
        self.state().blobs.remove(&key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::message::MessageType;
    use crate::ticket::{DonorQueryInput, TicketStatus};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    async fn query(store: &MemoryStore, donor_id: &str) -> Ticket {
        let input = DonorQueryInput {
            donor: "Dana".into(),
            donor_id: donor_id.into(),
            ..Default::default()
        };
        let (new, _) = input.into_new_ticket(now()).expect("valid input");
        TicketRepository::create(store, new, None)
            .await
            .expect("created")
            .0
    }

    fn chat(ticket_id: TicketId, text: &str, key: Option<&str>) -> NewMessage {
        NewMessage {
            ticket_id,
            sender: Sender::Donor,
            message_type: MessageType::Chat,
            content: text.into(),
            reply_to_id: None,
            client_message_id: key.map(str::to_string),
            created_at: now(),
        }
    }

    #[tokio::test]
    async fn a_save_from_a_stale_version_is_a_concurrent_update_and_changes_nothing() {
        let store = MemoryStore::new();
        let ticket = query(&store, "d-1").await;
        let mut first = ticket.clone();
        first.title = "first writer".into();
        TicketRepository::update(&store, first, None)
            .await
            .expect("saved");
        let mut second = ticket;
        second.title = "second writer".into();
        let late = TicketRepository::update(&store, second.clone(), None).await;
        assert!(matches!(late, Err(DomainError::ConcurrentUpdate)));
        let stored = TicketRepository::get(&store, second.id)
            .await
            .expect("read");
        assert_eq!(stored.map(|t| t.title), Some("first writer".to_string()));
    }

    #[tokio::test]
    async fn a_repeated_client_message_id_returns_the_first_message_and_writes_nothing() {
        let store = MemoryStore::new();
        let ticket = query(&store, "d-1").await;
        let first = store
            .post(chat(ticket.id, "hello", Some("k-1")), None)
            .await
            .expect("posted");
        let head = store.head().await.expect("head");
        let again = store
            .post(chat(ticket.id, "hello again", Some("k-1")), None)
            .await
            .expect("posted");
        assert_eq!(again, Posted::Existing(first.into_message()));
        assert_eq!(store.head().await.expect("head"), head);
    }

    async fn listed(store: &MemoryStore, q: &str) -> Vec<TicketId> {
        let filter = TicketFilter {
            search: Some(Query::parse(q).expect("a query")),
            ..Default::default()
        };
        let page = TicketRepository::list(store, filter, PageRequest::first(10))
            .await
            .expect("listed");
        page.items.iter().map(|t| t.id).collect()
    }

    #[tokio::test]
    async fn a_list_query_finds_a_ticket_through_its_messages() {
        let store = MemoryStore::new();
        let a = query(&store, "d-1").await;
        let b = query(&store, "d-2").await;
        store
            .post(chat(a.id, "We refunded the payment", None), None)
            .await
            .expect("posted");
        store
            .post(chat(b.id, "a test refund", None), None)
            .await
            .expect("posted");
        assert_eq!(listed(&store, "refunds").await, [b.id, a.id]);
        assert_eq!(listed(&store, "refund -test").await, [a.id]);
        assert_eq!(listed(&store, "dana type:ticket").await, [b.id, a.id]);
        assert!(listed(&store, "dana type:message").await.is_empty());
    }

    #[tokio::test]
    async fn ticket_lists_are_newest_first_and_continue_after_the_cursor() {
        let store = MemoryStore::new();
        let mut ids = vec![];
        for donor in ["d-1", "d-2", "d-3"] {
            ids.push(query(&store, donor).await.id);
        }
        let page = PageRequest::first(2);
        let first = TicketRepository::list(&store, TicketFilter::default(), page)
            .await
            .expect("listed");
        let newest: Vec<_> = ids.iter().rev().take(2).copied().collect();
        assert_eq!(first.items.iter().map(|t| t.id).collect::<Vec<_>>(), newest);
        let cursor = first.next_cursor.as_deref();
        let next = PageRequest::parse(Some(2), cursor).expect("cursor");
        let rest = TicketRepository::list(&store, TicketFilter::default(), next)
            .await
            .expect("listed");
        assert_eq!(
            rest.items.iter().map(|t| t.id).collect::<Vec<_>>(),
            ids[..1]
        );
        assert!(!rest.has_more());
    }

    #[tokio::test]
    async fn every_write_appends_its_events_in_order() {
        let store = MemoryStore::new();
        let mut ticket = query(&store, "d-1").await;
        ticket.close(now()).expect("closable");
        let note = NewMessage::system(ticket.id, "Ticket closed", now());
        let closed = TicketRepository::update(&store, ticket, Some(note))
            .await
            .expect("saved");
        assert_eq!(closed.status(), TicketStatus::Closed);
        let events = store.read_after(0, None, 10).await.expect("read");
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        let expected = [
            EventKind::TicketCreated,
            EventKind::TicketUpdated,
            EventKind::NewMessage,
        ];
        assert_eq!(kinds, expected);
        let after_first = store.read_after(1, None, 10).await.expect("read");
        assert_eq!(after_first.len(), 2);
    }

    #[tokio::test]
    async fn deleting_a_message_keeps_its_replies_without_the_link() {
        let store = MemoryStore::new();
        let ticket = query(&store, "d-1").await;
        let parent = store
            .post(chat(ticket.id, "question", None), None)
            .await
            .expect("posted")
            .into_message();
        let reply = NewMessage {
            reply_to_id: Some(parent.id),
            ..chat(ticket.id, "answer", None)
        };
        let reply = store
            .post(reply, None)
            .await
            .expect("posted")
            .into_message();
        MessageRepository::delete(&store, parent.id)
            .await
            .expect("deleted");
        let kept = MessageRepository::get(&store, reply.id)
            .await
            .expect("read")
            .expect("still there");
        assert_eq!((kept.content.as_str(), kept.reply_to_id), ("answer", None));
    }

    #[tokio::test]
    async fn a_follower_moves_only_under_its_own_unexpired_lease() {
        use crate::ports::FollowerLedger;
        let store = MemoryStore::default();
        let soon = Utc::now() + chrono::Duration::seconds(30);
        assert!(store.lease("sla".into(), "a".into(), soon).await.unwrap());
        assert!(!store.lease("sla".into(), "b".into(), soon).await.unwrap());
        assert!(!store.advance("sla".into(), "b".into(), 4).await.unwrap());
        assert!(store.advance("sla".into(), "a".into(), 4).await.unwrap());
        assert_eq!(store.cursor("sla".into()).await.unwrap(), Some(4));
        assert_eq!(store.cursor("push".into()).await.unwrap(), None);
        store.release("sla".into(), "a".into()).await.unwrap();
        assert!(store.lease("sla".into(), "b".into(), soon).await.unwrap());
        assert!(!store.advance("sla".into(), "a".into(), 9).await.unwrap());
    }
}
