//! The conversation of a ticket: chat, system notes and threaded replies.

use crate::error::Result;
use crate::ids::{MessageId, TicketId, UserId};
use crate::validate;
use crate::wire_enum::wire_enum;
use chrono::{DateTime, Utc};

wire_enum!(
    /// What kind of entry a message is.
    MessageType, "messageType" {
        /// An ordinary message.
        Chat = "CHAT",
        /// A note written by the system (transfer, resolve, call events).
        System = "SYSTEM",
        /// A donor's first message, opening the query.
        Query = "QUERY",
        /// A donor asked for a call.
        CallRequest = "CALL_REQUEST",
        /// A call started.
        CallStarted = "CALL_STARTED",
        /// A call ended.
        CallEnded = "CALL_ENDED",
        /// Staff reminded the donor.
        Reminder = "REMINDER",
    }
);

wire_enum!(
    /// Which side wrote a message.
    SenderType, "senderType" {
        /// A staff user.
        Staff = "STAFF",
        /// The ticket's donor.
        Donor = "DONOR",
        /// The system.
        System = "SYSTEM",
    }
);

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A staff user.
    Staff(UserId),
    /// The ticket's donor.
    Donor,
    /// The system.
    System,
}

impl Sender {
    /// The wire name of the sender's side.
    pub fn kind(&self) -> SenderType {
        match self {
            Sender::Staff(_) => SenderType::Staff,
            Sender::Donor => SenderType::Donor,
            Sender::System => SenderType::System,
        }
    }

    /// The staff user, if a staff user wrote it.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Sender::Staff(id) => Some(*id),
            _ => None,
        }
    }
}

/// The name shown next to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderProfile {
    /// The staff user's id; `None` for a donor.
    pub id: Option<UserId>,
    /// The display name.
    pub name: String,
}

/// A message of a ticket's conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// The ticket it belongs to.
    pub ticket_id: TicketId,
    /// Who wrote it.
    pub sender: Sender,
    /// The sender's name, when known.
    pub sender_profile: Option<SenderProfile>,
    /// Its kind.
    pub message_type: MessageType,
    /// The text.
    pub content: String,
    /// The message this one answers (same ticket).
    pub reply_to_id: Option<MessageId>,
    /// Its files, oldest first.
    pub attachments: Vec<crate::attachment::Attachment>,
    /// The client's idempotency key.
    pub client_message_id: Option<String>,
    /// When the text was last edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Message {
    /// Staff, donor or system.
    pub fn sender_type(&self) -> SenderType {
        self.sender.kind()
    }

    /// The staff user's id, else `None`.
    pub fn sender_id(&self) -> Option<UserId> {
        self.sender.user_id()
    }

    /// Written by staff.
    pub fn is_from_staff(&self) -> bool {
        matches!(self.sender, Sender::Staff(_))
    }
}

/// A message about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Ticket.
    pub ticket_id: TicketId,
    /// Author.
    pub sender: Sender,
    /// Kind.
    pub message_type: MessageType,
    /// Text.
    pub content: String,
    /// Parent in a thread.
    pub reply_to_id: Option<MessageId>,
    /// Idempotency key.
    pub client_message_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl NewMessage {
    /// A SYSTEM note on a ticket.
    pub fn system(ticket_id: TicketId, content: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            ticket_id,
            sender: Sender::System,
            message_type: MessageType::System,
            content: content.into(),
            reply_to_id: None,
            client_message_id: None,
            created_at: now,
        }
    }
}

/// What a client sends to post a message.
#[derive(Debug, Clone, PartialEq)]
pub struct PostMessage {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The text.
    pub content: String,
    /// Parent message in the same ticket.
    pub reply_to_id: Option<MessageId>,
    /// Idempotency key: the same key on the same ticket returns the first message.
    pub client_message_id: Option<String>,
}

/// Filters for a conversation listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFilter {
    /// Only this ticket's messages.
    pub ticket_id: Option<TicketId>,
    /// Only this kind.
    pub message_type: Option<MessageType>,
    /// Only messages written by this staff user.
    pub sender_id: Option<UserId>,
}

/// The result of posting: a new message, or the one an earlier send with the same
/// `clientMessageId` created.
#[derive(Debug, Clone, PartialEq)]
pub enum Posted {
    /// Stored now.
    Created(Message),
    /// Stored before; nothing was written.
    Existing(Message),
}

impl Posted {
    /// The message either way.
    pub fn message(&self) -> &Message {
        match self {
            Posted::Created(m) | Posted::Existing(m) => m,
        }
    }

    /// Takes the message.
    pub fn into_message(self) -> Message {
        match self {
            Posted::Created(m) | Posted::Existing(m) => m,
        }
    }
}

/// The longest message text, in characters.
pub const MAX_CONTENT: usize = 10_000;
/// The longest `clientMessageId`.
pub const MAX_CLIENT_MESSAGE_ID: usize = 128;
/// The most replies a thread listing returns.
pub const MAX_THREAD: u32 = 500;

impl PostMessage {
    /// Checks and trims the text and the idempotency key.
    pub fn validated(mut self) -> Result<Self> {
        let mut e = vec![];
        self.content = validate::text(&mut e, "content", &self.content, 1, MAX_CONTENT);
        self.client_message_id = validate::optional_text(
            &mut e,
            "clientMessageId",
            self.client_message_id.as_deref(),
            MAX_CLIENT_MESSAGE_ID,
        );
        validate::finish(e, self)
    }
}

/// Checks an edited text.
pub fn validate_content(content: &str) -> Result<String> {
    let mut e = vec![];
    let content = validate::text(&mut e, "content", content, 1, MAX_CONTENT);
    validate::finish(e, content)
}
