//! Message rows read with their sender's name and attachments, and inserted: the piece
//! [`crate::messages`] and [`crate::tickets`] share (a leaf: it calls neither).

use crate::connection::DbConnection;
use crate::error::Error;
use crate::models::{into_message, MessageRow, MessageView, NewMessageRow};
use crate::schema::{messages, tickets, users};
use concierge_domain::message::{Message, NewMessage};
use concierge_domain::MessageId;
use diesel::prelude::*;

/// Messages with their sender's names, unfiltered and unordered.
macro_rules! message_views {
    () => {
        messages::table
            .inner_join(tickets::table)
            .left_join(users::table)
            .select((
                MessageRow::as_select(),
                users::name.nullable(),
                tickets::donor_name,
            ))
    };
}
pub(crate) use message_views;

/// Converts rows and loads their attachments (one query for all of them).
pub(crate) fn convert(
    conn: &mut DbConnection,
    rows: Vec<MessageView>,
) -> Result<Vec<Message>, Error> {
    let mut messages = rows
        .into_iter()
        .map(into_message)
        .collect::<Result<Vec<_>, Error>>()?;
    crate::attachments::fill(conn, &mut messages)?;
    Ok(messages)
}

pub(crate) fn convert_one(
    conn: &mut DbConnection,
    row: Option<MessageView>,
) -> Result<Option<Message>, Error> {
    Ok(convert(conn, row.into_iter().collect())?.pop())
}

pub(crate) fn load(conn: &mut DbConnection, id: MessageId) -> Result<Option<Message>, Error> {
    let row = message_views!()
        .filter(messages::id.eq(id.0))
        .first::<MessageView>(conn)
        .optional()?;
    convert_one(conn, row)
}

/// Inserts a message in the caller's transaction and reads it back with its sender's name.
pub(crate) fn insert(conn: &mut DbConnection, message: &NewMessage) -> Result<Message, Error> {
    let id: i64 = diesel::insert_into(messages::table)
        .values(&NewMessageRow::from(message))
        .returning(messages::id)
        .get_result(conn)?;
    // Read back with the sender's name; a message this young has no attachments yet, so the
    // attachments query is skipped (callers adding files attach them afterwards).
    let row = message_views!()
        .filter(messages::id.eq(id))
        .first::<MessageView>(conn)?;
    into_message(row)
}
