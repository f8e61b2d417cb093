//! Messages and their files.

use super::names::{MessageTypeName, SenderTypeName};
use chrono::{DateTime, Utc};
use concierge_domain::attachment as domain_files;
use concierge_domain::message::{self as domain, MessageType, SenderType};
use concierge_domain::{MessageId, TicketId, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// Where the bytes of a message's file are served.
pub fn attachment_url(storage_key: &str) -> String {
    format!("/api/v1/uploads/messages/{storage_key}")
}

/// Where a staff user's avatar is served.
pub fn avatar_url(storage_key: &str) -> String {
    format!("/api/v1/uploads/avatars/{storage_key}")
}

/// A file of a message.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    id: i64,
    file_name: String,
    content_type: String,
    size: i64,
    /// Where to download it (with the caller's token).
    url: String,
}

impl From<&domain_files::Attachment> for Attachment {
    fn from(a: &domain_files::Attachment) -> Self {
        Self {
            id: a.id,
            file_name: a.file_name.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            url: attachment_url(&a.storage_key),
        }
    }
}

/// The name shown next to a message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SenderProfile {
    /// The staff user's id; `null` for a donor.
    #[schema(value_type = Option<i64>)]
    id: Option<UserId>,
    name: String,
}

/// A message of a ticket's conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[schema(value_type = i64)]
    id: MessageId,
    #[schema(value_type = i64)]
    ticket_id: TicketId,
    #[schema(value_type = SenderTypeName)]
    sender_type: SenderType,
    /// The staff user who wrote it, else `null`.
    #[schema(value_type = Option<i64>)]
    sender_id: Option<UserId>,
    sender: Option<SenderProfile>,
    /// Written by staff.
    is_from_admin: bool,
    content: String,
    #[schema(value_type = MessageTypeName)]
    message_type: MessageType,
    #[schema(value_type = Option<i64>)]
    reply_to_id: Option<MessageId>,
    attachments: Vec<Attachment>,
    client_message_id: Option<String>,
    edited_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&domain::Message> for Message {
    fn from(m: &domain::Message) -> Self {
        Self {
            id: m.id,
            ticket_id: m.ticket_id,
            sender_type: m.sender_type(),
            sender_id: m.sender_id(),
            sender: m.sender_profile.as_ref().map(|p| SenderProfile {
                id: p.id,
                name: p.name.clone(),
            }),
            is_from_admin: m.is_from_staff(),
            content: m.content.clone(),
            message_type: m.message_type,
            reply_to_id: m.reply_to_id,
            attachments: m.attachments.iter().map(Attachment::from).collect(),
            client_message_id: m.client_message_id.clone(),
            edited_at: m.edited_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

from_owned!(domain::Message => Message);
