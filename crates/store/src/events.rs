//! The event log: every write appends its domain events in its own transaction (a
//! transactional outbox), numbered so that a reader that continues after the last `seq` it saw
//! never skips an event, even when transactions commit out of order.
//!
//! **PostgreSQL.** A sequence would not do: transaction A takes 10, B takes 11, B commits first,
//! a reader sees 11 and later misses 10. Instead an event's `seq` is
//! `(pg_current_xact_id() << 12) + ordinal`: the writer's top-level transaction id, then the
//! event's position among that transaction's events (at most 4096 per transaction; more are
//! refused). A reader returns only events with `seq < (xmin << 12)`, where `xmin` is
//! `pg_snapshot_xmin(pg_current_snapshot())` of the very snapshot the statement reads its rows
//! with: every transaction below `xmin` has finished (its events are visible or gone for good),
//! and any transaction still running or yet to start has an id at or above `xmin`, so its
//! events will sort after everything already returned. Both expressions are SQL functions
//! (`concierge_event_seq`, `concierge_event_horizon`, migration `event_log_functions`), so the
//! statements using them are prepared. The log's order is transaction-id order, not commit
//! order; it is the same order for every reader. The price: a transaction left open anywhere in
//! the cluster holds readers back until it ends (later, never lost).
//!
//! **SQLite.** Writers are serialised (every write is `BEGIN IMMEDIATE`, see `tx.rs`), so
//! the rowid (`INTEGER PRIMARY KEY AUTOINCREMENT`) order is the commit order and every
//! committed event is readable at once.
//!
//! `head()` is the newest readable `seq`, or 0. Numbers grow but are not dense.

use crate::connection::DbConnection;
use crate::error::Error;
use crate::models::{to_db, EventRow, NewEventRow};
use crate::schema::events;
use crate::Store;
use async_trait::async_trait;
use chrono::Utc;
use concierge_domain::event::{EventKind, NewEvent, StoredEvent};
use concierge_domain::ports::EventLog;
use concierge_domain::{DomainError, MessageId, Result, TicketId};
use diesel::dsl::max;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

/// Bits of a PostgreSQL `seq` that number the events of one transaction (`concierge_event_seq`
/// multiplies by 2^12).
const ORDINAL_BITS: u32 = 12;
/// The most events one transaction may append on PostgreSQL.
pub const MAX_EVENTS_PER_TRANSACTION: i64 = 1 << ORDINAL_BITS;

/// Rows per INSERT, well below both backends' limits on bind parameters.
const INSERT_CHUNK: usize = 1000;

diesel::define_sql_function! {
    /// The readable horizon of the calling statement's snapshot, as a `seq` (PostgreSQL; the
    /// migration `event_log_functions` defines it). A function, not an SQL literal, so the
    /// reading statements are prepared once per connection.
    fn concierge_event_horizon() -> BigInt;
}

diesel::define_sql_function! {
    /// The `seq` of the current transaction's event number `ordinal`: the transaction's id
    /// (assigning one if it has none yet) times 2^12, plus `ordinal` (PostgreSQL; the migration
    /// `event_log_functions` defines it, failing rather than wrapping past 2^51).
    fn concierge_event_seq(ordinal: BigInt) -> BigInt;
}

/// Inserts `$rows` into `events` on the backend connection `$conn`: one row is a statement
/// diesel prepares once per connection, a batch is planned on every call. A macro because
/// each backend's row type differs.
macro_rules! insert_rows {
    ($conn:expr, $rows:expr) => {
        match $rows.as_slice() {
            [row] => {
                diesel::insert_into(events::table)
                    .values(row)
                    .execute($conn)?;
            }
            _ => {
                for chunk in $rows.chunks(INSERT_CHUNK) {
                    diesel::insert_into(events::table)
                        .values(chunk)
                        .execute($conn)?;
                }
            }
        }
    };
}

/// Appends `events` in the caller's open write transaction. Call it once, at the end of the
/// transaction, with every event of the change in order.
pub(crate) fn append(
    conn: &mut DbConnection,
    outbox: &crate::audit::Outbox,
    events: Vec<NewEvent>,
) -> Result<(), Error> {
    if events.is_empty() {
        return Ok(());
    }
    let now = to_db(Utc::now());
    let rows = events
        .into_iter()
        .map(|e| {
            Ok(NewEventRow {
                kind: e.kind.as_str().to_string(),
                ticket_id: e.ticket_id.map(|t| t.0),
                data: serde_json::to_string(&outbox.encoder.encode(&e.payload))
                    .map_err(DomainError::storage)?,
                created_at: now,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    match conn {
        // One event is the common case (see `insert_rows!`).
        DbConnection::Sqlite(c) => insert_rows!(c, rows),
        DbConnection::Postgresql(c) => {
            // One call per transaction (see above): its events are ordinals 0..n. A second
            // call in the same transaction would reuse them and fail on the primary key,
            // loudly, rather than number anything twice.
            if rows.len() > MAX_EVENTS_PER_TRANSACTION as usize {
                return Err(DomainError::storage(TooManyEvents(
                    "more than 4096 events in one transaction",
                ))
                .into());
            }
            let rows: Vec<_> = rows
                .into_iter()
                .zip(0i64..)
                .map(|(row, ordinal)| (events::seq.eq(concierge_event_seq(ordinal)), row))
                .collect();
            insert_rows!(c, rows);
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("event log: {0}")]
struct TooManyEvents(&'static str);

// ---- forgetting: what a delete removes from the log ----
//
// Deleting a message or a ticket is how personal data is removed, so the log must not keep
// it: in the delete's own transaction, every event of the deleted thing keeps its `seq`, kind
// and ticket but its payload becomes `{"id", "ticketId", "deleted": true}`. No replay, push or
// other reader of the log afterwards sees the text, the files' names or anything else of it.

/// The payload a forgotten event keeps.
fn forgotten(id: &serde_json::Value, ticket_id: TicketId) -> String {
    serde_json::json!({ "id": id, "ticketId": ticket_id, "deleted": true }).to_string()
}

/// Replaces the payloads of every event of a deleted ticket (its messages', calls' and
/// summaries' too), keeping each payload's `id`. One statement.
pub(crate) fn scrub_ticket(conn: &mut DbConnection, ticket_id: TicketId) -> Result<(), Error> {
    match conn {
        DbConnection::Postgresql(c) => {
            diesel::sql_query(
                "UPDATE events SET data = json_build_object('id', data::json -> 'id', \
                 'ticketId', ticket_id, 'deleted', true)::text WHERE ticket_id = $1",
            )
            .bind::<BigInt, _>(ticket_id.0)
            .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            diesel::sql_query(
                "UPDATE events SET data = json_object('id', json_extract(data, '$.id'), \
                 'ticketId', ticket_id, 'deleted', json('true')) WHERE ticket_id = ?",
            )
            .bind::<BigInt, _>(ticket_id.0)
            .execute(c)?;
        }
    }
    Ok(())
}

/// Replaces the payloads of a deleted message's `new_message` and `message_updated` events
/// (its text, every earlier version of it, its files' names) and of its QA reviews'
/// `qa_review_updated` events (their evidence quotes it). Returns every text the message events
/// held, so the caller can forget copies of them (a donor query's description).
pub(crate) fn scrub_message(
    conn: &mut DbConnection,
    ticket_id: TicketId,
    message_id: MessageId,
) -> Result<Vec<String>, Error> {
    let kinds = [
        EventKind::NewMessage.as_str(),
        EventKind::MessageUpdated.as_str(),
        EventKind::QaReviewUpdated.as_str(),
    ];
    let rows: Vec<(i64, String, String)> = events::table
        .filter(events::ticket_id.eq(ticket_id.0))
        .filter(events::kind.eq_any(kinds))
        .select((events::seq, events::kind, events::data))
        .load(conn)?;
    let mut seqs = vec![];
    let mut reviews = vec![];
    let mut texts = vec![];
    let of_message = |data: &serde_json::Value, key: &str| {
        data.get(key).and_then(|v| v.as_i64()) == Some(message_id.0)
    };
    for (seq, kind, data) in rows {
        let data = parse_data(seq, &data)?;
        if kind == EventKind::QaReviewUpdated.as_str() {
            if of_message(&data, "messageId") {
                let review = data.get("id").cloned().unwrap_or_default();
                reviews.push((seq, forgotten(&review, ticket_id)));
            }
            continue;
        }
        if !of_message(&data, "id") {
            continue;
        }
        seqs.push(seq);
        if let Some(text) = data.get("content").and_then(|v| v.as_str()) {
            if !texts.iter().any(|t| t == text) {
                texts.push(text.to_string());
            }
        }
    }
    let payload = forgotten(&serde_json::json!(message_id), ticket_id);
    for chunk in seqs.chunks(INSERT_CHUNK) {
        diesel::update(events::table.filter(events::seq.eq_any(chunk)))
            .set(events::data.eq(&payload))
            .execute(conn)?;
    }
    for (seq, payload) in reviews {
        diesel::update(events::table.find(seq))
            .set(events::data.eq(payload))
            .execute(conn)?;
    }
    Ok(texts)
}

/// Clears the `description` of a ticket's `ticket_created` and `ticket_updated` payloads
/// where it is one of `texts` (a donor query's description is a copy of its first message).
pub(crate) fn scrub_ticket_description(
    conn: &mut DbConnection,
    ticket_id: TicketId,
    texts: &[String],
) -> Result<(), Error> {
    if texts.is_empty() {
        return Ok(());
    }
    let kinds = [
        EventKind::TicketCreated.as_str(),
        EventKind::TicketUpdated.as_str(),
    ];
    let rows: Vec<(i64, String)> = events::table
        .filter(events::ticket_id.eq(ticket_id.0))
        .filter(events::kind.eq_any(kinds))
        .select((events::seq, events::data))
        .load(conn)?;
    for (seq, data) in rows {
        let mut data = parse_data(seq, &data)?;
        let Some(description) = data.get_mut("description") else {
            continue;
        };
        if !description
            .as_str()
            .is_some_and(|d| texts.iter().any(|t| t == d))
        {
            continue;
        }
        *description = serde_json::Value::Null;
        diesel::update(events::table.find(seq))
            .set(events::data.eq(data.to_string()))
            .execute(conn)?;
    }
    Ok(())
}

fn parse_data(seq: i64, data: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(data).map_err(|e| crate::error::corrupt(format!("event {seq} data: {e}")))
}

/// Events after `after`, oldest first, only those no reader can skip.
pub(crate) fn read_after(
    conn: &mut DbConnection,
    after: i64,
    ticket_id: Option<TicketId>,
    limit: u32,
) -> Result<Vec<StoredEvent>, Error> {
    let limit = i64::from(limit);
    let mut query = events::table
        .filter(events::seq.gt(after))
        .order(events::seq.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .into_boxed();
    if matches!(conn, DbConnection::Postgresql(_)) {
        query = query.filter(events::seq.lt(concierge_event_horizon()));
    }
    if let Some(t) = ticket_id {
        query = query.filter(events::ticket_id.eq(t.0));
    }
    let rows: Vec<EventRow> = query.load(conn)?;
    rows.into_iter().map(EventRow::into_event).collect()
}

/// The newest readable `seq`, or 0.
pub(crate) fn head(conn: &mut DbConnection) -> Result<i64, Error> {
    let newest: Option<i64> = match conn {
        DbConnection::Sqlite(c) => events::table.select(max(events::seq)).get_result(c)?,
        DbConnection::Postgresql(c) => events::table
            .filter(events::seq.lt(concierge_event_horizon()))
            .select(max(events::seq))
            .get_result(c)?,
    };
    Ok(newest.unwrap_or(0))
}

#[async_trait]
impl EventLog for Store {
    async fn read_after(
        &self,
        after: i64,
        ticket_id: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        self.run(move |conn| read_after(conn, after, ticket_id, limit))
            .await
    }

    async fn head(&self) -> Result<i64> {
        self.run(head).await
    }
}
