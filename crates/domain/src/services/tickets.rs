//! Donor queries and tasks: opening, reading, listing and moving them through their lifecycle.

use super::{Ports, WRITE_ATTEMPTS};
use crate::actor::Actor;
use crate::error::{DomainError, Result};
use crate::ids::{TicketId, UserId};
use crate::message::{Message, MessageType, NewMessage, Sender};
use crate::page::{Page, PageRequest};
use crate::ticket::{
    Channel, DonorQueryInput, TaskInput, Ticket, TicketChanges, TicketFilter, TicketStatus,
};
use crate::validate;

/// Which tickets a list is for; each has its own permission.
#[derive(Debug, Clone, PartialEq)]
pub enum TicketList {
    /// One donor's queries: a donor's own (`None` means the caller's), or any donor's for staff,
    /// who must name one.
    Donor(Option<String>),
    /// Donor queries still being worked on, filtered: staff. A donor asking gets only its own.
    General(TicketFilter),
    /// Every donor query, filtered: admins.
    AllQueries(TicketFilter),
    /// Tasks, filtered: staff.
    Tasks(TicketFilter),
}

/// A staff member as shown next to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSummary {
    /// The user's id.
    pub id: UserId,
    /// The display name.
    pub name: String,
    /// The login name.
    pub username: String,
}

/// A ticket with the staff around it, for detail views.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: Ticket,
    /// Who works on it.
    pub assignee: Option<StaffSummary>,
    /// Who created it.
    pub creator: Option<StaffSummary>,
    /// Who resolved it.
    pub resolved_by: Option<StaffSummary>,
    /// The assignee before the last transfer.
    pub transferred_from: Option<StaffSummary>,
}

/// The longest transfer note.
pub const MAX_TRANSFER_NOTE: usize = 1000;

/// The SYSTEM message a donor query's transfer leaves in its conversation: no note, no names.
pub const TRANSFER_NOTICE: &str = "This query was transferred to another team member.";

/// Tickets and their lifecycle.
///
/// A donor opens a query; an admin accepts and resolves it; its donor closes it. (This example
/// and the ones on the other services run on the in-memory adapters of the `memory` feature.)
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> concierge_domain::Result<()> {
/// use concierge_domain::memory::MemoryStore;
/// use concierge_domain::ports::{MockPasswordHasher, SystemClock};
/// use concierge_domain::services::TicketService;
/// use concierge_domain::ticket::{DonorQueryInput, TicketStatus};
/// use concierge_domain::user::Role;
/// use concierge_domain::{Actor, DomainError, UserId};
/// use std::sync::Arc;
///
/// let store = Arc::new(MemoryStore::new());
/// // No logins here: the hasher is a mock that is never called.
/// let ports = store.ports(Arc::new(MockPasswordHasher::new()), Arc::new(SystemClock));
/// let tickets = TicketService::new(&ports);
///
/// let input = DonorQueryInput {
///     donor: "Dana".into(),
///     donor_id: "donor-42".into(),
///     message: Some("My receipt shows the wrong amount.".into()),
///     ..Default::default()
/// };
/// let (query, first_message) = tickets.open_donor_query(input).await?;
/// assert_eq!(query.status(), TicketStatus::InProgress);
/// assert!(first_message.is_some());
///
/// // Donor queries are managed by admins; an agent is refused.
/// let agent = Actor::Staff { user_id: UserId(7), role: Role::Agent };
/// assert!(matches!(tickets.accept(&agent, query.id).await, Err(DomainError::Forbidden(_))));
///
/// let admin = Actor::Staff { user_id: UserId(1), role: Role::Admin };
/// let accepted = tickets.accept(&admin, query.id).await?;
/// assert_eq!(accepted.assignee_id, Some(UserId(1)));
/// let resolved = tickets.resolve(&admin, query.id).await?;
/// assert_eq!(resolved.status(), TicketStatus::Resolved);
///
/// // The donor token names the query and its donor session.
/// let donor = Actor::Donor {
///     donor_id: "donor-42".into(),
///     ticket_id: query.id,
///     session: query.donor.and_then(|d| d.session).unwrap_or_default(),
///     identity_verified: false,
/// };
/// let closed = tickets.close(&donor, query.id).await?;
/// assert_eq!(closed.status(), TicketStatus::Closed);
/// assert_eq!(closed.assignee_id, None, "a donor never sees staff ids");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TicketService {
    ports: Ports,
}

impl TicketService {
    /// Builds the service.
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// Opens a donor query (no login needed). Its first message, if any, is stored with it in
    /// one transaction, as a QUERY message.
    pub async fn open_donor_query(
        &self,
        input: DonorQueryInput,
    ) -> Result<(Ticket, Option<Message>)> {
        let now = self.ports.clock.now();
        let (ticket, first) = input.into_new_ticket(now)?;
        let first = first.map(|content| NewMessage {
            ticket_id: TicketId(0),
            sender: Sender::Donor,
            message_type: MessageType::Query,
            content,
            reply_to_id: None,
            client_message_id: None,
            created_at: now,
        });
        let (ticket, first) = self.ports.tickets.create(ticket, first).await?;
        // Whoever opened it holds its donor token.
        Ok((ticket.for_donor(), first))
    }

    /// Opens a task (staff). An assignee must be an active staff user.
    pub async fn open_task(&self, actor: &Actor, input: TaskInput) -> Result<Ticket> {
        let (me, _) = actor.staff()?;
        if let Some(assignee) = input.assigned_to_id {
            self.active_staff(assignee, "assignedToId").await?;
        }
        let ticket = input.into_new_ticket(me, self.ports.clock.now())?;
        let (ticket, _) = self.ports.tickets.create(ticket, None).await?;
        Ok(ticket)
    }

    /// One ticket the actor may read, as it may see it ([`Actor::shown`]); `NotFound`
    /// otherwise.
    pub async fn get(&self, actor: &Actor, id: TicketId) -> Result<Ticket> {
        Ok(actor.shown(self.ports.readable_ticket(actor, id).await?))
    }

    /// One ticket with the staff around it (assignee, creator, resolver, previous assignee).
    /// Staff only: it names staff users, which a donor token never learns.
    pub async fn detail(&self, actor: &Actor, id: TicketId) -> Result<TicketDetail> {
        actor.staff()?;
        let ticket = self.ports.readable_ticket(actor, id).await?;
        let mut ids: Vec<UserId> = [
            ticket.assignee_id,
            ticket.creator_id,
            ticket.resolved_by_id,
            ticket.transferred_from_id,
        ]
        .into_iter()
        .flatten()
        .collect();
        ids.sort();
        ids.dedup();
        let mut people = std::collections::HashMap::new();
        for id in ids {
            if let Some(user) = self.ports.users.get(id).await? {
                people.insert(
                    id,
                    StaffSummary {
                        id,
                        name: user.name,
                        username: user.username,
                    },
                );
            }
        }
        let find = |id: Option<UserId>| id.and_then(|id| people.get(&id).cloned());
        Ok(TicketDetail {
            assignee: find(ticket.assignee_id),
            creator: find(ticket.creator_id),
            resolved_by: find(ticket.resolved_by_id),
            transferred_from: find(ticket.transferred_from_id),
            ticket,
        })
    }

    /// [`detail`](Self::detail) for the admin view: admins only.
    pub async fn detail_for_admin(&self, actor: &Actor, id: TicketId) -> Result<TicketDetail> {
        actor.admin()?;
        self.detail(actor, id).await
    }

    /// One ticket of the given channel (a task id on the donor-query routes is `NotFound`).
    pub async fn get_in(&self, actor: &Actor, id: TicketId, channel: Channel) -> Result<Ticket> {
        let ticket = self.get(actor, id).await?;
        if ticket.channel == channel {
            Ok(ticket)
        } else {
            Err(DomainError::NotFound("ticket"))
        }
    }

    /// A list of tickets, newest first. A filter's search query lists the tickets that it finds
    /// (the ticket or one of its messages), with `assignee:me` resolved to the caller.
    pub async fn list(
        &self,
        actor: &Actor,
        list: TicketList,
        page: PageRequest,
    ) -> Result<Page<Ticket>> {
        // A donor's lists stay within its donor session (see `Actor::Donor`).
        let session = actor.donor_session_scope().map(str::to_string);
        let filter = match list {
            TicketList::Donor(donor_id) => {
                let donor_id = match (donor_id, actor) {
                    (Some(id), _) => id,
                    (None, Actor::Donor { donor_id, .. }) => donor_id.clone(),
                    (None, _) => return Err(DomainError::invalid("donorId", "is required")),
                };
                validate::storable_text("donorId", &donor_id)?;
                if !actor.can_list_donor(&donor_id) {
                    return Err(DomainError::Forbidden("a donor sees only its own queries"));
                }
                TicketFilter {
                    channel: Some(Channel::Donor),
                    donor_id: Some(donor_id),
                    donor_session: session,
                    ..Default::default()
                }
            }
            TicketList::General(mut filter) => {
                match actor {
                    Actor::Donor { donor_id, .. } => {
                        filter.donor_id = Some(donor_id.clone());
                        filter.donor_session = session;
                    }
                    _ => {
                        actor.staff()?;
                    }
                }
                if filter.statuses.is_empty() {
                    filter.statuses = TicketStatus::ACTIVE.to_vec();
                }
                TicketFilter {
                    channel: Some(Channel::Donor),
                    ..filter
                }
            }
            TicketList::AllQueries(filter) => {
                actor.admin()?;
                TicketFilter {
                    channel: Some(Channel::Donor),
                    ..filter
                }
            }
            TicketList::Tasks(filter) => {
                actor.staff()?;
                TicketFilter {
                    channel: Some(Channel::Internal),
                    ..filter
                }
            }
        };
        let mut filter = filter.validated()?;
        if let Some(query) = filter.search.as_mut() {
            query.filters.resolve_for(actor)?;
        }
        let mut page = self.ports.tickets.list(filter, page).await?;
        if actor.is_donor() {
            page.items = page.items.into_iter().map(|t| actor.shown(t)).collect();
        }
        Ok(page)
    }

    /// Assigns the ticket to the caller.
    pub async fn accept(&self, actor: &Actor, id: TicketId) -> Result<Ticket> {
        self.change(actor, id, |ticket, me, now| {
            ticket.accept(me, now)?;
            Ok(None)
        })
        .await
    }

    /// Hands the ticket to another active staff user, with a note in the conversation.
    pub async fn transfer(
        &self,
        actor: &Actor,
        id: TicketId,
        to: UserId,
        note: Option<&str>,
    ) -> Result<Ticket> {
        let mut e = vec![];
        let note = validate::optional_text(&mut e, "note", note, MAX_TRANSFER_NOTE);
        validate::finish(e, ())?;
        self.check_may_manage(actor, id).await?;
        let target = self.active_staff(to, "toUserId").await?;
        self.change(actor, id, |ticket, _, now| {
            ticket.transfer(to, note.clone(), now)?;
            // A donor query's conversation is its donor's: the note and who took it over are
            // internal (they stay on the ticket, for staff). A task's is staff's alone.
            let text = match (ticket.channel, &note) {
                (Channel::Donor, _) => TRANSFER_NOTICE.to_string(),
                (Channel::Internal, Some(note)) => {
                    format!("Transferred to {}: {note}", target.name)
                }
                (Channel::Internal, None) => format!("Transferred to {}", target.name),
            };
            Ok(Some(NewMessage::system(ticket.id, text, now)))
        })
        .await
    }

    /// Marks the ticket resolved by the caller, with a note in the conversation.
    pub async fn resolve(&self, actor: &Actor, id: TicketId) -> Result<Ticket> {
        self.change(actor, id, |ticket, me, now| {
            ticket.resolve(me, now)?;
            Ok(Some(NewMessage::system(ticket.id, "Ticket resolved", now)))
        })
        .await
    }

    /// Closes the ticket: its donor may, and so may whoever manages it.
    pub async fn close(&self, actor: &Actor, id: TicketId) -> Result<Ticket> {
        for _ in 0..WRITE_ATTEMPTS {
            let mut ticket = self.ports.readable_ticket(actor, id).await?;
            let text = match actor {
                Actor::Donor { .. } => "Closed by the donor",
                _ => {
                    actor.check_manage(&ticket)?;
                    "Ticket closed"
                }
            };
            let now = self.ports.clock.now();
            ticket.close(now)?;
            let note = NewMessage::system(ticket.id, text, now);
            match self.ports.tickets.update(ticket, Some(note)).await {
                Err(DomainError::ConcurrentUpdate) => continue,
                other => return other.map(|t| actor.shown(t)),
            }
        }
        Err(DomainError::ConcurrentUpdate)
    }

    /// Changes fields and, through the state machine, the status.
    pub async fn update(
        &self,
        actor: &Actor,
        id: TicketId,
        changes: TicketChanges,
    ) -> Result<Ticket> {
        let changes = changes.validated()?;
        if let Some(Some(assignee)) = changes.assignee_id {
            self.check_may_manage(actor, id).await?;
            self.active_staff(assignee, "assignedToId").await?;
        }
        self.change(actor, id, |ticket, me, now| {
            ticket.apply(changes.clone(), me, now)?;
            Ok(None)
        })
        .await
    }

    /// Sets (or with `None` clears) the push token of a donor query's donor: its donor, or an
    /// admin.
    pub async fn set_donor_push_token(
        &self,
        actor: &Actor,
        id: TicketId,
        token: Option<&str>,
    ) -> Result<Ticket> {
        let mut e = vec![];
        let token =
            validate::optional_text(&mut e, "fcmToken", token, crate::ticket::MAX_PUSH_TOKEN);
        validate::finish(e, ())?;
        for _ in 0..WRITE_ATTEMPTS {
            let mut ticket = self.ports.readable_ticket(actor, id).await?;
            if ticket.channel != Channel::Donor {
                return Err(DomainError::NotFound("ticket"));
            }
            if !matches!(actor, Actor::Donor { .. }) {
                actor.admin()?;
            }
            if let Some(donor) = ticket.donor.as_mut() {
                donor.fcm_token = token.clone();
            }
            ticket.updated_at = self.ports.clock.now();
            match self.ports.tickets.update(ticket, None).await {
                Err(DomainError::ConcurrentUpdate) => continue,
                other => return other.map(|t| actor.shown(t)),
            }
        }
        Err(DomainError::ConcurrentUpdate)
    }

    /// Reminds the donor of an open query: a REMINDER message from the caller (push follows
    /// from its event). Admins only.
    pub async fn remind(&self, actor: &Actor, id: TicketId) -> Result<Message> {
        let me = actor.admin()?;
        let ticket = self.get_in(actor, id, Channel::Donor).await?;
        if ticket.status() == TicketStatus::Closed {
            return Err(crate::ticket::TransitionError {
                action: crate::ticket::Action::Edit,
                from: ticket.status(),
            }
            .into());
        }
        let message = NewMessage {
            ticket_id: ticket.id,
            sender: Sender::Staff(me),
            message_type: MessageType::Reminder,
            content: "We are waiting for your reply.".to_string(),
            reply_to_id: None,
            client_message_id: None,
            created_at: self.ports.clock.now(),
        };
        let posted = self.ports.messages.post(message, None).await?;
        Ok(posted.into_message())
    }

    /// Deletes a ticket with its whole conversation. Admins only. Its files' bytes are removed
    /// once the delete has committed.
    pub async fn delete(&self, actor: &Actor, id: TicketId) -> Result<()> {
        actor.admin()?;
        self.ports.readable_ticket(actor, id).await?;
        let keys = self.ports.tickets.delete(id).await?;
        super::attachments::remove_blobs(self.ports.blobs.as_ref(), keys).await;
        Ok(())
    }

    /// Loads a ticket the actor may manage, applies `f`, and saves it with the note `f`
    /// returns; retries when another writer changed the ticket in between.
    async fn change<F>(&self, actor: &Actor, id: TicketId, f: F) -> Result<Ticket>
    where
        F: Fn(&mut Ticket, UserId, chrono::DateTime<chrono::Utc>) -> Result<Option<NewMessage>>
            + Send
            + Sync,
    {
        for _ in 0..WRITE_ATTEMPTS {
            let mut ticket = self.ports.readable_ticket(actor, id).await?;
            let me = actor.check_manage(&ticket)?;
            let note = f(&mut ticket, me, self.ports.clock.now())?;
            match self.ports.tickets.update(ticket, note).await {
                Err(DomainError::ConcurrentUpdate) => continue,
                other => return other,
            }
        }
        Err(DomainError::ConcurrentUpdate)
    }

    /// Refuses an actor that may not manage the ticket before anything else is looked up, so
    /// a refused caller cannot probe which user ids are active staff.
    async fn check_may_manage(&self, actor: &Actor, id: TicketId) -> Result<()> {
        let ticket = self.ports.readable_ticket(actor, id).await?;
        actor.check_manage(&ticket).map(|_| ())
    }

    async fn active_staff(&self, id: UserId, field: &str) -> Result<crate::user::User> {
        match self.ports.users.get(id).await? {
            Some(user) if user.is_active => Ok(user),
            _ => Err(DomainError::invalid(field, "is not an active staff user")),
        }
    }
}
