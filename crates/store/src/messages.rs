//! [`MessageRepository`]: conversations. Every read joins the sender's name in the same query
//! (staff: the user's name; donor: the ticket's donor name), so lists make one query.

use crate::audit::Outbox;
use crate::connection::DbConnection;
use crate::error::{is_foreign_key_violation, is_unique_violation, Error};
use crate::message_rows::{convert, convert_one, insert, load, message_views};
use crate::models::{to_db, MessageRow, MessageView};
use crate::query::paged;
use crate::schema::{messages, tickets, users};
use crate::schema_attachments::attachments;
use crate::{events, tickets as ticket_rows, tx, Store};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use concierge_domain::attachment::{Attachment, NewAttachment};
use concierge_domain::audit::Record;
use concierge_domain::event::NewEvent;
use concierge_domain::message::{Message, MessageFilter, MessageType, NewMessage, Posted};
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::MessageRepository;
use concierge_domain::ticket::{Channel, Ticket};
use concierge_domain::{DomainError, MessageId, Result, TicketId, UserId};
use diesel::prelude::*;

fn by_client_id(
    conn: &mut DbConnection,
    ticket_id: TicketId,
    key: &str,
) -> Result<Option<Message>, Error> {
    let row = message_views!()
        .filter(messages::ticket_id.eq(ticket_id.0))
        .filter(messages::client_message_id.eq(key))
        .first::<MessageView>(conn)
        .optional()?;
    convert_one(conn, row)
}

fn post(
    conn: &mut DbConnection,
    outbox: &Outbox,
    message: &NewMessage,
    ticket: Option<&Ticket>,
    files: &[NewAttachment],
) -> Result<Posted, Error> {
    // A repeated `client_message_id` fails the unique index and comes back from `post_once`
    // as the first message; checking before would cost every post a query.
    // The versioned ticket save comes first, so it is this transaction's first write.
    let saved = match ticket {
        Some(ticket) if ticket.id != message.ticket_id => {
            return Err(
                DomainError::invalid("ticketId", "the message is for another ticket").into(),
            )
        }
        Some(ticket) => Some(ticket_rows::save(conn, ticket)?),
        // A missing ticket fails the insert's foreign key (see `post_once`).
        None => None,
    };
    let created_at = message.created_at;
    let mut message = insert(conn, message)?;
    if !files.is_empty() {
        message = crate::attachments::insert_all(conn, message, files, created_at)?;
    }
    let mut log = vec![NewEvent::new_message(&message)];
    if let Some(ticket) = &saved {
        log.push(NewEvent::ticket_updated(ticket));
    }
    events::append(conn, outbox, log)?;
    Ok(Posted::Created(message))
}

/// Posts idempotently: when a concurrent send with the same key wins the unique index, this
/// transaction rolls back (nothing of it is written) and the winner's message comes back. A
/// message for a ticket that does not exist fails the foreign key and is `NotFound`.
fn post_once(
    conn: &mut DbConnection,
    outbox: &Outbox,
    message: &NewMessage,
    ticket: Option<&Ticket>,
    files: &[NewAttachment],
) -> Result<Posted, Error> {
    match tx::write(conn, |conn| post(conn, outbox, message, ticket, files)) {
        Err(Error::Db(err)) if is_unique_violation(&err, "client_message_id") => {
            let key = message.client_message_id.as_deref().unwrap_or_default();
            match by_client_id(conn, message.ticket_id, key)? {
                Some(first) => Ok(Posted::Existing(first)),
                None => Err(Error::Db(err)),
            }
        }
        Err(Error::Db(err)) if is_foreign_key_violation(&err) => {
            if ticket_rows::load(conn, message.ticket_id)?.is_none() {
                return Err(DomainError::NotFound("ticket").into());
            }
            Err(Error::Db(err))
        }
        other => other,
    }
}

fn list(
    conn: &mut DbConnection,
    filter: MessageFilter,
    page: PageRequest,
) -> Result<Page<Message>, Error> {
    let mut query = paged!(message_views!(), messages::id, oldest_first, page);
    if let Some(ticket_id) = filter.ticket_id {
        query = query.filter(messages::ticket_id.eq(ticket_id.0));
    }
    if let Some(kind) = filter.message_type {
        query = query.filter(messages::message_type.eq(kind.as_str()));
    }
    if let Some(sender) = filter.sender_id {
        query = query.filter(messages::sender_user_id.eq(sender.0));
    }
    let rows = query.load(conn)?;
    let messages = convert(conn, rows)?;
    Ok(Page::from_rows(messages, &page, |m| m.id.0))
}

fn between(
    conn: &mut DbConnection,
    a: UserId,
    b: UserId,
    page: PageRequest,
) -> Result<Page<Message>, Error> {
    let pair = tickets::creator_id
        .eq(a.0)
        .and(tickets::assignee_id.eq(b.0))
        .or(tickets::creator_id
            .eq(b.0)
            .and(tickets::assignee_id.eq(a.0)));
    let query = message_views!()
        .filter(tickets::channel.eq(Channel::Internal.as_str()))
        .filter(pair)
        .filter(messages::sender_user_id.eq_any([a.0, b.0]));
    let rows = paged!(query, messages::id, oldest_first, page).load(conn)?;
    let messages = convert(conn, rows)?;
    Ok(Page::from_rows(messages, &page, |m| m.id.0))
}

/// Sets a message's `updated_at` (and its text, marked edited, when given); `NotFound` when
/// there is no such message.
fn touch(
    conn: &mut DbConnection,
    id: MessageId,
    content: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let at = to_db(now);
    let n = match content {
        Some(content) => diesel::update(messages::table.find(id.0))
            .set((
                messages::content.eq(content),
                messages::edited_at.eq(Some(at)),
                messages::updated_at.eq(at),
            ))
            .execute(conn)?,
        None => diesel::update(messages::table.find(id.0))
            .set(messages::updated_at.eq(at))
            .execute(conn)?,
    };
    if n == 0 {
        return Err(DomainError::NotFound("message").into());
    }
    Ok(())
}

/// Reads a message back after a write in this transaction and appends `message_updated`.
fn updated(conn: &mut DbConnection, outbox: &Outbox, id: MessageId) -> Result<Message, Error> {
    let message = load(conn, id)?.ok_or(Error::Domain(DomainError::NotFound("message")))?;
    events::append(conn, outbox, vec![NewEvent::message_updated(&message)])?;
    Ok(message)
}

fn edit(
    conn: &mut DbConnection,
    outbox: &Outbox,
    id: MessageId,
    content: &str,
    now: DateTime<Utc>,
) -> Result<Message, Error> {
    touch(conn, id, Some(content), now)?;
    let message = updated(conn, outbox, id)?;
    outbox.record(conn, Record::message_edited(message.ticket_id, id))?;
    Ok(message)
}

/// Deletes a message; returns its files' keys (the caller removes their bytes after the
/// commit). In the same
/// transaction its events lose their payloads, and a donor query whose description is a copy
/// of the deleted first message loses that too (the ticket, and its events' payloads).
fn delete(conn: &mut DbConnection, outbox: &Outbox, id: MessageId) -> Result<Vec<String>, Error> {
    let (ticket_id, message_type, content): (i64, String, String) = messages::table
        .find(id.0)
        .select((
            messages::ticket_id,
            messages::message_type,
            messages::content,
        ))
        .first(conn)
        .optional()?
        .ok_or(Error::Domain(DomainError::NotFound("message")))?;
    let ticket_id = TicketId(ticket_id);
    let keys = crate::attachments::keys_of_message(conn, id)?;
    // Replies keep their text and lose the link (ON DELETE SET NULL); attachment rows go
    // with it (ON DELETE CASCADE).
    diesel::delete(messages::table.find(id.0)).execute(conn)?;
    let mut texts = events::scrub_message(conn, ticket_id, id)?;
    outbox.record(conn, Record::message_deleted(ticket_id, id))?;
    let mut log = vec![NewEvent::message_deleted(ticket_id, id)];
    if message_type == MessageType::Query.as_str() {
        if !texts.contains(&content) {
            texts.push(content);
        }
        if let Some(ticket) = ticket_rows::forget_description(conn, ticket_id, &texts)? {
            log.push(NewEvent::ticket_updated(&ticket));
        }
        events::scrub_ticket_description(conn, ticket_id, &texts)?;
    }
    events::append(conn, outbox, log)?;
    Ok(keys)
}

/// Adds files to a message (and replaces its text when given) and appends `message_updated`.
fn add_files(
    conn: &mut DbConnection,
    outbox: &Outbox,
    id: MessageId,
    content: Option<&str>,
    files: &[NewAttachment],
    max_files: usize,
    now: DateTime<Utc>,
) -> Result<Message, Error> {
    touch(conn, id, content, now)?;
    // The update above locks the message's row (PostgreSQL) or the database (SQLite), so the
    // count read here cannot change before this transaction ends.
    let message = load(conn, id)?.ok_or(Error::Domain(DomainError::NotFound("message")))?;
    if message.attachments.len() + files.len() > max_files {
        return Err(DomainError::Conflict(format!(
            "a message carries at most {max_files} files; this one has {}",
            message.attachments.len()
        ))
        .into());
    }
    let message = crate::attachments::insert_all(conn, message, files, now)?;
    events::append(conn, outbox, vec![NewEvent::message_updated(&message)])?;
    Ok(message)
}

/// Removes one attachment row and appends `message_updated`; returns the message and the
/// removed file's key.
fn remove_file(
    conn: &mut DbConnection,
    outbox: &Outbox,
    id: MessageId,
    attachment_id: i64,
    now: DateTime<Utc>,
) -> Result<(Message, String), Error> {
    let key: String = attachments::table
        .filter(attachments::id.eq(attachment_id))
        .filter(attachments::message_id.eq(id.0))
        .select(attachments::storage_key)
        .first(conn)
        .optional()?
        .ok_or(Error::Domain(DomainError::NotFound("attachment")))?;
    diesel::delete(attachments::table.find(attachment_id)).execute(conn)?;
    touch(conn, id, None, now)?;
    let message = updated(conn, outbox, id)?;
    let record = Record::attachment_deleted(message.ticket_id, id, attachment_id);
    outbox.record(conn, record)?;
    Ok((message, key))
}

#[async_trait]
impl MessageRepository for Store {
    async fn post(&self, message: NewMessage, ticket: Option<Ticket>) -> Result<Posted> {
        let outbox = self.outbox();
        let posted = self
            .run_writing(move |conn| post_once(conn, &outbox, &message, ticket.as_ref(), &[]))
            .await?;
        if matches!(posted, Posted::Created(_)) {
            self.wake();
        }
        Ok(posted)
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>> {
        self.run(move |conn| load(conn, id)).await
    }

    async fn find_by_client_id(
        &self,
        ticket_id: TicketId,
        client_message_id: String,
    ) -> Result<Option<Message>> {
        self.run(move |conn| by_client_id(conn, ticket_id, &client_message_id))
            .await
    }

    async fn list(&self, filter: MessageFilter, page: PageRequest) -> Result<Page<Message>> {
        self.run(move |conn| list(conn, filter, page)).await
    }

    async fn list_in_ticket(
        &self,
        ticket_id: TicketId,
        filter: MessageFilter,
        page: PageRequest,
    ) -> Result<Option<(Ticket, Page<Message>)>> {
        let filter = MessageFilter {
            ticket_id: Some(ticket_id),
            ..filter
        };
        self.run(move |conn| match ticket_rows::load(conn, ticket_id)? {
            Some(ticket) => Ok(Some((ticket, list(conn, filter, page)?))),
            None => Ok(None),
        })
        .await
    }

    async fn replies(&self, id: MessageId, limit: u32) -> Result<Vec<Message>> {
        self.run(move |conn| {
            let rows = message_views!()
                .filter(messages::reply_to_id.eq(id.0))
                .order(messages::id.asc())
                .limit(i64::from(limit))
                .load(conn)?;
            convert(conn, rows)
        })
        .await
    }

    async fn between(&self, a: UserId, b: UserId, page: PageRequest) -> Result<Page<Message>> {
        self.run(move |conn| between(conn, a, b, page)).await
    }

    async fn edit(&self, id: MessageId, content: String, now: DateTime<Utc>) -> Result<Message> {
        self.write_logged(move |conn, outbox| edit(conn, outbox, id, &content, now))
            .await
    }

    async fn delete(&self, id: MessageId) -> Result<Vec<String>> {
        self.write_logged(move |conn, outbox| delete(conn, outbox, id))
            .await
    }

    async fn post_with_files(
        &self,
        message: NewMessage,
        ticket: Option<Ticket>,
        files: Vec<NewAttachment>,
    ) -> Result<Posted> {
        let outbox = self.outbox();
        let posted = self
            .run_writing(move |conn| post_once(conn, &outbox, &message, ticket.as_ref(), &files))
            .await?;
        if matches!(posted, Posted::Created(_)) {
            self.wake();
        }
        Ok(posted)
    }

    async fn add_files(
        &self,
        id: MessageId,
        content: Option<String>,
        files: Vec<NewAttachment>,
        max_files: usize,
        now: DateTime<Utc>,
    ) -> Result<Message> {
        self.write_logged(move |conn, outbox| {
            add_files(conn, outbox, id, content.as_deref(), &files, max_files, now)
        })
        .await
    }

    async fn remove_file(
        &self,
        id: MessageId,
        attachment_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(Message, String)> {
        self.write_logged(move |conn, outbox| remove_file(conn, outbox, id, attachment_id, now))
            .await
    }

    async fn file_by_key(&self, key: String) -> Result<Option<(Attachment, TicketId)>> {
        self.run(move |conn| crate::attachments::by_key(conn, &key))
            .await
    }
}
