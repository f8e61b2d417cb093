//! Posting, reading, editing and deleting messages.

use super::{Ports, WRITE_ATTEMPTS};
use crate::actor::Actor;
use crate::attachment::{Attachment, NewAttachment};
use crate::error::{DomainError, Result};
use crate::ids::{MessageId, TicketId, UserId};
use crate::message::{
    self, Message, MessageFilter, MessageType, NewMessage, PostMessage, Posted, Sender, MAX_THREAD,
};
use crate::page::{Page, PageRequest};
use crate::ticket::{Action, Ticket, TicketStatus, TransitionError};

/// Conversations.
///
/// Staff answer a donor query and its status follows (IN_PROGRESS becomes PENDING_REPLY); a
/// send repeated with the same `client_message_id` returns the first message.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> concierge_domain::Result<()> {
/// use concierge_domain::memory::MemoryStore;
/// use concierge_domain::message::{MessageFilter, PostMessage, Posted};
/// use concierge_domain::page::PageRequest;
/// use concierge_domain::ports::{MockPasswordHasher, SystemClock};
/// use concierge_domain::services::{ConversationService, TicketService};
/// use concierge_domain::ticket::{DonorQueryInput, TicketStatus};
/// use concierge_domain::user::Role;
/// use concierge_domain::{Actor, UserId};
/// use std::sync::Arc;
///
/// let store = Arc::new(MemoryStore::new());
/// // No logins here: the hasher is a mock that is never called.
/// let ports = store.ports(Arc::new(MockPasswordHasher::new()), Arc::new(SystemClock));
/// let tickets = TicketService::new(&ports);
/// let conversations = ConversationService::new(&ports);
///
/// let input = DonorQueryInput {
///     donor: "Dana".into(),
///     donor_id: "donor-42".into(),
///     message: Some("Where is my receipt?".into()),
///     ..Default::default()
/// };
/// let (query, _) = tickets.open_donor_query(input).await?;
///
/// let admin = Actor::Staff { user_id: UserId(1), role: Role::Admin };
/// let reply = PostMessage {
///     ticket_id: query.id,
///     content: "It is on its way.".into(),
///     reply_to_id: None,
///     client_message_id: Some("reply-1".into()),
/// };
/// let first = conversations.post(&admin, reply.clone()).await?;
/// assert!(matches!(first, Posted::Created(_)));
/// assert_eq!(tickets.get(&admin, query.id).await?.status(), TicketStatus::PendingReply);
///
/// // The same send again stores nothing new.
/// let again = conversations.post(&admin, reply).await?;
/// assert!(matches!(again, Posted::Existing(ref m) if m.id == first.message().id));
///
/// let filter = MessageFilter { ticket_id: Some(query.id), ..Default::default() };
/// let page = conversations.list(&admin, filter, PageRequest::default()).await?;
/// let texts: Vec<&str> = page.items.iter().map(|m| m.content.as_str()).collect();
/// assert_eq!(texts, ["Where is my receipt?", "It is on its way."]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ConversationService {
    ports: Ports,
}

impl ConversationService {
    /// Builds the service.
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// Posts a message as the actor (the ticket's donor, or staff). The ticket's status
    /// follows the lifecycle table; a repeated `clientMessageId` returns the first message.
    pub async fn post(&self, actor: &Actor, input: PostMessage) -> Result<Posted> {
        self.post_with_files(actor, input, Vec::new()).await
    }

    /// Posts a message with files whose bytes are already in the blob store (see
    /// [`AttachmentService`](super::AttachmentService)); the message, its attachment rows and
    /// its events are one transaction. On [`Posted::Existing`] the
    /// files were not used and their bytes are the caller's to remove.
    pub(crate) async fn post_with_files(
        &self,
        actor: &Actor,
        input: PostMessage,
        files: Vec<NewAttachment>,
    ) -> Result<Posted> {
        let input = input.validated()?;
        let sender = sender_of(actor)?;
        for _ in 0..WRITE_ATTEMPTS {
            let mut ticket = self.ports.readable_ticket(actor, input.ticket_id).await?;
            let now = self.ports.clock.now();
            let changed = match self.apply(&input, &sender, &mut ticket, now).await {
                Ok(changed) => changed,
                Err(err) => {
                    // A retry of a message that is already stored gets that message, whatever
                    // changed since (the store checks the key again when it writes).
                    if let Some(key) = &input.client_message_id {
                        if let Some(first) = self
                            .ports
                            .messages
                            .find_by_client_id(ticket.id, key.clone())
                            .await?
                        {
                            return Ok(Posted::Existing(first));
                        }
                    }
                    return Err(err);
                }
            };
            let message = NewMessage {
                ticket_id: ticket.id,
                sender: sender.clone(),
                message_type: MessageType::Chat,
                content: input.content.clone(),
                reply_to_id: input.reply_to_id,
                client_message_id: input.client_message_id.clone(),
                created_at: now,
            };
            let ticket = changed.then_some(ticket);
            let result = if files.is_empty() {
                self.ports.messages.post(message, ticket).await
            } else {
                self.ports
                    .messages
                    .post_with_files(message, ticket, files.clone())
                    .await
            };
            match result {
                Err(DomainError::ConcurrentUpdate) => continue,
                other => return other,
            }
        }
        Err(DomainError::ConcurrentUpdate)
    }

    /// Checks, writing nothing, that the actor may post `input` now: the rules of
    /// [`post`](Self::post) (valid input, a readable ticket, a reply link into it, a status
    /// that takes the message). `Some(first)` when the ticket already holds a message under
    /// `clientMessageId`: that message is the answer to a repeated send.
    pub async fn check_post(&self, actor: &Actor, input: &PostMessage) -> Result<Option<Message>> {
        let input = input.clone().validated()?;
        let sender = sender_of(actor)?;
        let mut ticket = self.ports.readable_ticket(actor, input.ticket_id).await?;
        if let Some(key) = &input.client_message_id {
            if let Some(first) = self
                .ports
                .messages
                .find_by_client_id(ticket.id, key.clone())
                .await?
            {
                return Ok(Some(first));
            }
        }
        self.apply(&input, &sender, &mut ticket, self.ports.clock.now())
            .await?;
        Ok(None)
    }

    /// Checks the reply link and moves the ticket as the sender's message would; `true` when
    /// the ticket changed.
    async fn apply(
        &self,
        input: &PostMessage,
        sender: &Sender,
        ticket: &mut Ticket,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        if let Some(parent) = input.reply_to_id {
            let same_ticket = self
                .ports
                .messages
                .get(parent)
                .await?
                .is_some_and(|m| m.ticket_id == ticket.id);
            if !same_ticket {
                return Err(DomainError::invalid(
                    "replyToId",
                    "is not a message of this ticket",
                ));
            }
        }
        let changed = match sender {
            Sender::Donor => ticket.on_donor_message(now)?,
            _ => ticket.on_staff_message(now)?,
        };
        Ok(changed)
    }

    /// Posts as staff on the admin route: admins only.
    pub async fn post_as_admin(&self, actor: &Actor, input: PostMessage) -> Result<Posted> {
        actor.admin()?;
        self.post(actor, input).await
    }

    /// Lists messages, oldest first. A donor must name its own ticket; staff may list across
    /// tickets.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: MessageFilter,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        match filter.ticket_id {
            Some(ticket_id) => {
                let (ticket, page) = self
                    .ports
                    .messages
                    .list_in_ticket(ticket_id, filter, page)
                    .await?
                    .ok_or(DomainError::NotFound("ticket"))?;
                actor.check_read(&ticket)?;
                Ok(page)
            }
            None if actor.is_staff() => self.ports.messages.list(filter, page).await,
            None => Err(DomainError::invalid("queryId", "is required for a donor")),
        }
    }

    /// Lists messages for the admin view: admins only.
    pub async fn list_as_admin(
        &self,
        actor: &Actor,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        actor.admin()?;
        let filter = MessageFilter {
            ticket_id: Some(ticket_id),
            ..Default::default()
        };
        self.list(actor, filter, page).await
    }

    /// A message and its direct replies.
    pub async fn thread(&self, actor: &Actor, id: MessageId) -> Result<(Message, Vec<Message>)> {
        let root = self.readable_message(actor, id).await?.0;
        let replies = self.ports.messages.replies(id, MAX_THREAD).await?;
        Ok((root, replies))
    }

    /// Messages between two staff users: for either of them, or an admin.
    pub async fn between(
        &self,
        actor: &Actor,
        a: UserId,
        b: UserId,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        let (me, role) = actor.staff()?;
        if !(role.is_admin() || me == a || me == b) {
            return Err(DomainError::Forbidden("only its participants or an admin"));
        }
        self.ports.messages.between(a, b, page).await
    }

    /// Replaces a message's text. Only its sender, only CHAT and QUERY messages, not on a
    /// closed ticket.
    pub async fn edit(&self, actor: &Actor, id: MessageId, content: &str) -> Result<Message> {
        let content = message::validate_content(content)?;
        self.editable(actor, id).await?;
        self.ports
            .messages
            .edit(id, content, self.ports.clock.now())
            .await
    }

    /// Deletes a message: its sender (not on a closed ticket), or an admin (always, so personal
    /// data can be removed).
    pub async fn delete(&self, actor: &Actor, id: MessageId) -> Result<()> {
        let (message, ticket) = self.readable_message(actor, id).await?;
        if !actor.is_admin() {
            if !is_sender(actor, &message) {
                return Err(DomainError::Forbidden(
                    "only its sender or an admin may delete a message",
                ));
            }
            refuse_if_closed(&ticket)?;
        }
        let keys = self.ports.messages.delete(id).await?;
        super::attachments::remove_blobs(self.ports.blobs.as_ref(), keys).await;
        Ok(())
    }

    async fn readable_message(&self, actor: &Actor, id: MessageId) -> Result<(Message, Ticket)> {
        let message = self
            .ports
            .messages
            .get(id)
            .await?
            .ok_or(DomainError::NotFound("message"))?;
        let ticket = self
            .ports
            .readable_ticket(actor, message.ticket_id)
            .await
            .map_err(|e| match e {
                DomainError::NotFound(_) => DomainError::NotFound("message"),
                other => other,
            })?;
        Ok((message, ticket))
    }
}

fn sender_of(actor: &Actor) -> Result<Sender> {
    match actor {
        Actor::Donor { .. } => Ok(Sender::Donor),
        Actor::Staff { user_id, .. } => Ok(Sender::Staff(*user_id)),
        Actor::System => Err(DomainError::Forbidden("the system does not chat")),
    }
}

fn is_sender(actor: &Actor, message: &Message) -> bool {
    match (actor, &message.sender) {
        (Actor::Staff { user_id, .. }, Sender::Staff(sender)) => user_id == sender,
        (Actor::Donor { .. }, Sender::Donor) => true,
        _ => false,
    }
}

fn refuse_if_closed(ticket: &Ticket) -> Result<()> {
    if ticket.status() == TicketStatus::Closed {
        Err(TransitionError {
            action: Action::Edit,
            from: ticket.status(),
        }
        .into())
    } else {
        Ok(())
    }
}

/// Files in messages.
impl ConversationService {
    /// Checks that the actor may add files to a message (as for an edit: its sender, a CHAT or
    /// QUERY message, not on a closed ticket) and returns it, so a route can refuse before it
    /// takes any bytes.
    pub(crate) async fn attachable(&self, actor: &Actor, id: MessageId) -> Result<Message> {
        self.editable(actor, id).await
    }

    /// The message, if the actor may change it: its sender, a CHAT or QUERY message, not on a
    /// closed ticket.
    async fn editable(&self, actor: &Actor, id: MessageId) -> Result<Message> {
        let (message, ticket) = self.readable_message(actor, id).await?;
        // The kind first: a SYSTEM note has no sender who could pass the check below, and it is
        // not editable by anyone (409), not merely by this caller (403).
        if !matches!(message.message_type, MessageType::Chat | MessageType::Query) {
            return Err(DomainError::Conflict(format!(
                "a {} message cannot be edited",
                message.message_type
            )));
        }
        if !is_sender(actor, &message) {
            return Err(DomainError::Forbidden("only its sender may edit a message"));
        }
        refuse_if_closed(&ticket)?;
        Ok(message)
    }

    /// Adds files (bytes already stored, see
    /// [`AttachmentService`](super::AttachmentService)) to a message, and replaces its text when `content`
    /// is given; the message may then carry at most `max_files`. The same rules as
    /// [`edit`](Self::edit).
    pub(crate) async fn add_files(
        &self,
        actor: &Actor,
        id: MessageId,
        content: Option<&str>,
        files: Vec<NewAttachment>,
        max_files: usize,
    ) -> Result<Message> {
        let content = content.map(message::validate_content).transpose()?;
        self.attachable(actor, id).await?;
        if files.is_empty() {
            return match content {
                Some(content) => {
                    self.ports
                        .messages
                        .edit(id, content, self.ports.clock.now())
                        .await
                }
                None => Err(DomainError::invalid(
                    "files",
                    "content or files are required",
                )),
            };
        }
        self.ports
            .messages
            .add_files(id, content, files, max_files, self.ports.clock.now())
            .await
    }

    /// Removes one file of a message: its sender (not on a closed ticket), or an admin.
    pub async fn remove_file(
        &self,
        actor: &Actor,
        id: MessageId,
        attachment_id: i64,
    ) -> Result<Message> {
        let (message, ticket) = self.readable_message(actor, id).await?;
        if !actor.is_admin() {
            if !is_sender(actor, &message) {
                return Err(DomainError::Forbidden(
                    "only its sender or an admin may remove a file",
                ));
            }
            refuse_if_closed(&ticket)?;
        }
        if !message.attachments.iter().any(|a| a.id == attachment_id) {
            return Err(DomainError::NotFound("attachment"));
        }
        let (message, key) = self
            .ports
            .messages
            .remove_file(id, attachment_id, self.ports.clock.now())
            .await?;
        super::attachments::remove_blobs(self.ports.blobs.as_ref(), vec![key]).await;
        Ok(message)
    }

    /// The attachment stored under `key`, for whoever may read its ticket; `NotFound` for
    /// anyone else (another donor never learns the file exists).
    pub(crate) async fn file(&self, actor: &Actor, key: &str) -> Result<Attachment> {
        crate::validate::lookup_name("filename", key)?;
        let (attachment, ticket_id) = self
            .ports
            .messages
            .file_by_key(key.to_string())
            .await?
            .ok_or(DomainError::NotFound("file"))?;
        match self.ports.readable_ticket(actor, ticket_id).await {
            Ok(_) => Ok(attachment),
            Err(DomainError::NotFound(_) | DomainError::Forbidden(_)) => {
                Err(DomainError::NotFound("file"))
            }
            Err(other) => Err(other),
        }
    }
}
