//! Attachment and avatar rows. Messages get their attachments in one extra query per page
//! ([`fill`]). The bytes live in the domain's `BlobStore`, which this crate never calls: a
//! write that deletes rows returns their keys, and the domain service removes the bytes after
//! the commit.

use crate::connection::DbConnection;
use crate::error::Error;
use crate::models::{from_db, to_db};
use crate::schema::messages;
use crate::schema_attachments::{attachments, user_avatars};
use crate::Store;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use concierge_domain::attachment::{Attachment, Avatar, NewAttachment};
use concierge_domain::message::Message;
use concierge_domain::ports::AvatarRepository;
use concierge_domain::{DomainError, MessageId, Result, TicketId, UserId};
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = attachments)]
struct AttachmentRow {
    id: i64,
    message_id: i64,
    file_name: String,
    content_type: String,
    size: i64,
    sha256: String,
    storage_key: String,
    created_at: NaiveDateTime,
}

impl From<AttachmentRow> for Attachment {
    fn from(row: AttachmentRow) -> Self {
        Attachment {
            id: row.id,
            message_id: MessageId(row.message_id),
            file_name: row.file_name,
            content_type: row.content_type,
            size: row.size,
            sha256: row.sha256,
            storage_key: row.storage_key,
            created_at: from_db(row.created_at),
        }
    }
}

/// Loads the attachments of `messages` in one query and puts them in place, oldest first.
pub(crate) fn fill(conn: &mut DbConnection, messages: &mut [Message]) -> Result<(), Error> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id.0).collect();
    let rows: Vec<AttachmentRow> = attachments::table
        .filter(attachments::message_id.eq_any(ids))
        .order(attachments::id.asc())
        .select(AttachmentRow::as_select())
        .load(conn)?;
    let mut by_message: HashMap<i64, Vec<Attachment>> = HashMap::new();
    for row in rows {
        by_message
            .entry(row.message_id)
            .or_default()
            .push(row.into());
    }
    for message in messages {
        message.attachments = by_message.remove(&message.id.0).unwrap_or_default();
    }
    Ok(())
}

/// Inserts attachment rows for a message in the caller's transaction and returns the message
/// with all its attachments.
pub(crate) fn insert_all(
    conn: &mut DbConnection,
    mut message: Message,
    files: &[NewAttachment],
    now: DateTime<Utc>,
) -> Result<Message, Error> {
    let now = to_db(now);
    for file in files {
        diesel::insert_into(attachments::table)
            .values((
                attachments::message_id.eq(message.id.0),
                attachments::file_name.eq(&file.file_name),
                attachments::content_type.eq(&file.content_type),
                attachments::size.eq(file.size),
                attachments::sha256.eq(&file.sha256),
                attachments::storage_key.eq(&file.storage_key),
                attachments::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    fill(conn, std::slice::from_mut(&mut message))?;
    Ok(message)
}

/// The storage keys of a message's files.
pub(crate) fn keys_of_message(
    conn: &mut DbConnection,
    id: MessageId,
) -> Result<Vec<String>, Error> {
    Ok(attachments::table
        .filter(attachments::message_id.eq(id.0))
        .select(attachments::storage_key)
        .load(conn)?)
}

/// The storage keys of every file of a ticket's conversation.
pub(crate) fn keys_of_ticket(conn: &mut DbConnection, id: TicketId) -> Result<Vec<String>, Error> {
    Ok(attachments::table
        .filter(
            attachments::message_id.eq_any(
                messages::table
                    .filter(messages::ticket_id.eq(id.0))
                    .select(messages::id),
            ),
        )
        .select(attachments::storage_key)
        .load(conn)?)
}

/// The attachment stored under `key`, with its message's ticket.
pub(crate) fn by_key(
    conn: &mut DbConnection,
    key: &str,
) -> Result<Option<(Attachment, TicketId)>, Error> {
    Ok(attachments::table
        .inner_join(messages::table)
        .filter(attachments::storage_key.eq(key))
        .select((AttachmentRow::as_select(), messages::ticket_id))
        .first::<(AttachmentRow, i64)>(conn)
        .optional()?
        .map(|(row, ticket)| (row.into(), TicketId(ticket))))
}

fn set_avatar(
    conn: &mut DbConnection,
    user_id: UserId,
    avatar: &Avatar,
    now: DateTime<Utc>,
) -> Result<Option<String>, Error> {
    let exists = crate::schema::users::table
        .find(user_id.0)
        .select(crate::schema::users::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if !exists {
        return Err(DomainError::NotFound("user").into());
    }
    let old: Option<String> = user_avatars::table
        .find(user_id.0)
        .select(user_avatars::storage_key)
        .first(conn)
        .optional()?;
    diesel::delete(user_avatars::table.find(user_id.0)).execute(conn)?;
    diesel::insert_into(user_avatars::table)
        .values((
            user_avatars::user_id.eq(user_id.0),
            user_avatars::content_type.eq(&avatar.content_type),
            user_avatars::size.eq(avatar.size),
            user_avatars::sha256.eq(&avatar.sha256),
            user_avatars::storage_key.eq(&avatar.storage_key),
            user_avatars::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(old)
}

#[async_trait]
impl AvatarRepository for Store {
    async fn set_avatar(
        &self,
        user_id: UserId,
        avatar: Avatar,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        self.write(move |conn| set_avatar(conn, user_id, &avatar, now))
            .await
    }

    async fn avatar_by_key(&self, key: String) -> Result<Option<Avatar>> {
        self.run(move |conn| {
            Ok(user_avatars::table
                .filter(user_avatars::storage_key.eq(&key))
                .select((
                    user_avatars::storage_key,
                    user_avatars::content_type,
                    user_avatars::size,
                    user_avatars::sha256,
                ))
                .first::<(String, String, i64, String)>(conn)
                .optional()?
                .map(|(storage_key, content_type, size, sha256)| Avatar {
                    storage_key,
                    content_type,
                    size,
                    sha256,
                }))
        })
        .await
    }
}
