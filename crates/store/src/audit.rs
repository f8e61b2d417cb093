//! The audit trail's table (docs/audit.md). A write records its entries through its
//! [`Outbox`] in its own transaction, with the actor, IP and request id of the request it runs
//! for: the server opens a [`RequestContext`] per request ([`scope`]) and names the caller once
//! it is known ([`set_actor`]); the store reads the context on the async side, before the work
//! moves to a blocking thread. Writes outside any request (background jobs) are the system's.
//! Entries are inserted unchained; [`AuditLog::chain_pending`] numbers and hashes them.

use crate::connection::DbConnection;
use crate::error::{corrupt, Error};
use crate::models::{from_db, to_db};
use crate::query::{page_of, paged};
use crate::schema::audit_entries;
use crate::Store;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use concierge_domain::audit::{
    self, ActorKind, AuditActor, AuditFilter, AuditLog, Entry, Record, Target, AUDITOR, GENESIS,
};
use concierge_domain::event::EventEncoder;
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::{Result, TicketId};
use diesel::prelude::*;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// Who and where a request comes from, for the entries its writes record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestContext {
    /// The caller, once authenticated.
    pub actor: Option<AuditActor>,
    /// The caller's IP.
    pub ip: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
}

tokio::task_local! {
    static REQUEST: Arc<Mutex<RequestContext>>;
}

/// Runs `work` (a request) with `context` as the context of every entry its writes record.
pub async fn scope<F: Future>(context: RequestContext, work: F) -> F::Output {
    REQUEST.scope(Arc::new(Mutex::new(context)), work).await
}

/// Names the caller of the running request (nothing outside a [`scope`]).
pub fn set_actor(actor: AuditActor) {
    let _ =
        REQUEST.try_with(|c| c.lock().unwrap_or_else(PoisonError::into_inner).actor = Some(actor));
}

/// The running request's context; the default outside a request.
fn current() -> RequestContext {
    REQUEST
        .try_with(|c| c.lock().unwrap_or_else(PoisonError::into_inner).clone())
        .unwrap_or_default()
}

/// What a write transaction appends with: the event encoder, and the audit context (`None`
/// when the trail is off).
pub(crate) struct Outbox {
    pub(crate) encoder: Arc<dyn EventEncoder>,
    audit: Option<RequestContext>,
}

impl Outbox {
    /// For a write made now, on the async side of the call (the context is task-local).
    pub(crate) fn new(encoder: Arc<dyn EventEncoder>, audit_on: bool) -> Self {
        Self {
            encoder,
            audit: audit_on.then(current),
        }
    }

    /// Whether entries are recorded (a write that needs extra reads for them checks first).
    pub(crate) fn auditing(&self) -> bool {
        self.audit.is_some()
    }

    /// Records an entry in the caller's open transaction.
    pub(crate) fn record(&self, conn: &mut DbConnection, record: Record) -> Result<(), Error> {
        self.record_or(conn, record, None)
    }

    /// Like [`record`](Self::record), naming `actor` when the request has no caller (a donor
    /// opening a query, someone signing up).
    pub(crate) fn record_or(
        &self,
        conn: &mut DbConnection,
        record: Record,
        actor: Option<AuditActor>,
    ) -> Result<(), Error> {
        match &self.audit {
            Some(context) => insert(conn, context, record, actor),
            None => Ok(()),
        }
    }
}

/// The columns an entry is written with.
#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_entries)]
struct EntryFields {
    at: NaiveDateTime,
    actor_kind: String,
    actor_id: Option<String>,
    actor_role: Option<String>,
    action: String,
    target_kind: String,
    target_id: Option<String>,
    ticket_id: Option<i64>,
    ip: Option<String>,
    request_id: Option<String>,
    changes: Option<String>,
}

/// A stored entry: its fields, and what the auditor adds.
#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_entries)]
struct EntryRow {
    id: i64,
    seq: Option<i64>,
    #[diesel(embed)]
    fields: EntryFields,
    prev_hash: Option<String>,
    hash: Option<String>,
}

impl EntryRow {
    fn into_entry(self) -> Result<Entry, Error> {
        let id = self.id;
        let bad = |what: &str| corrupt(format!("audit entry {id} {what}"));
        let f = self.fields;
        let kind = f
            .actor_kind
            .parse::<ActorKind>()
            .map_err(|_| bad("actor kind"))?;
        let changes = match &f.changes {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| bad("changes"))?),
            None => None,
        };
        Ok(Entry {
            id,
            seq: self.seq,
            at: from_db(f.at),
            actor: AuditActor {
                kind,
                id: f.actor_id,
                role: f.actor_role,
            },
            action: f.action,
            target: Target {
                kind: f.target_kind,
                id: f.target_id,
            },
            ticket_id: f.ticket_id.map(TicketId),
            ip: f.ip,
            request_id: f.request_id,
            changes,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

fn insert(
    conn: &mut DbConnection,
    context: &RequestContext,
    record: Record,
    fallback: Option<AuditActor>,
) -> Result<(), Error> {
    let actor = record
        .actor
        .or_else(|| context.actor.clone())
        // Only a request has a caller to stand in for; outside one the system acts.
        .or(fallback.filter(|_| context.request_id.is_some()))
        .unwrap_or_else(AuditActor::system);
    let changes = match &record.changes {
        Some(c) => Some(serde_json::to_string(c).map_err(concierge_domain::DomainError::storage)?),
        None => None,
    };
    diesel::insert_into(audit_entries::table)
        .values(EntryFields {
            at: to_db(audit::now()),
            actor_kind: actor.kind.as_str().to_string(),
            actor_id: actor.id,
            actor_role: actor.role,
            action: record.action,
            target_kind: record.target.kind,
            target_id: record.target.id,
            ticket_id: record.ticket_id.map(|t| t.0),
            ip: context.ip.clone(),
            request_id: context.request_id.clone(),
            changes,
        })
        .execute(conn)?;
    Ok(())
}

fn list(
    conn: &mut DbConnection,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Page<Entry>, Error> {
    let query = audit_entries::table.select(EntryRow::as_select());
    let mut query = paged!(query, audit_entries::id, newest_first, page);
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_entries::actor_id.eq(actor));
    }
    if let Some(ticket) = filter.ticket_id {
        query = query.filter(audit_entries::ticket_id.eq(ticket.0));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_entries::action.eq(action));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_entries::at.ge(to_db(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_entries::at.lt(to_db(to)));
    }
    let rows: Vec<EntryRow> = query.load(conn)?;
    page_of(rows, &page, EntryRow::into_entry, |e| e.id)
}

fn chained(
    conn: &mut DbConnection,
    after: i64,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: u32,
) -> Result<Vec<Entry>, Error> {
    let mut query = audit_entries::table
        .filter(audit_entries::seq.gt(after))
        .order(audit_entries::seq.asc())
        .limit(i64::from(limit))
        .select(EntryRow::as_select())
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(audit_entries::at.ge(to_db(from)));
    }
    if let Some(to) = to {
        query = query.filter(audit_entries::at.lt(to_db(to)));
    }
    let rows: Vec<EntryRow> = query.load(conn)?;
    rows.into_iter().map(EntryRow::into_entry).collect()
}

/// Numbers and hashes up to `limit` pending entries after the newest chained one, while
/// `holder` leads the auditor.
fn chain_pending(
    conn: &mut DbConnection,
    holder: &str,
    limit: u32,
) -> Result<Option<usize>, Error> {
    if !crate::followers::holds(conn, AUDITOR, holder)? {
        return Ok(None);
    }
    let last: Option<(Option<i64>, Option<String>)> = audit_entries::table
        .filter(audit_entries::seq.is_not_null())
        .order(audit_entries::seq.desc())
        .select((audit_entries::seq, audit_entries::hash))
        .first(conn)
        .optional()?;
    let (mut seq, mut prev) = match last {
        Some((Some(seq), hash)) => (seq, hash.unwrap_or_default()),
        _ => (0, GENESIS.to_string()),
    };
    let rows: Vec<EntryRow> = audit_entries::table
        .filter(audit_entries::seq.is_null())
        .order(audit_entries::id.asc())
        .limit(i64::from(limit))
        .select(EntryRow::as_select())
        .load(conn)?;
    let count = rows.len();
    for row in rows {
        let mut entry = row.into_entry()?;
        seq += 1;
        entry.chain(seq, &prev);
        let n = diesel::update(
            audit_entries::table
                .find(entry.id)
                .filter(audit_entries::seq.is_null()),
        )
        .set((
            audit_entries::seq.eq(seq),
            audit_entries::prev_hash.eq(&entry.prev_hash),
            audit_entries::hash.eq(&entry.hash),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(concierge_domain::DomainError::ConcurrentUpdate.into());
        }
        prev = entry.hash.unwrap_or_default();
    }
    Ok(Some(count))
}

#[async_trait]
impl AuditLog for Store {
    async fn record(&self, record: Record) -> Result<()> {
        let outbox = self.outbox();
        self.write(move |conn| outbox.record(conn, record)).await
    }

    async fn list(&self, filter: AuditFilter, page: PageRequest) -> Result<Page<Entry>> {
        self.run(move |conn| list(conn, filter, page)).await
    }

    async fn chained(
        &self,
        after: i64,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<Entry>> {
        self.run(move |conn| chained(conn, after, from, to, limit))
            .await
    }

    async fn chain_pending(&self, holder: String, limit: u32) -> Result<Option<usize>> {
        self.write(move |conn| chain_pending(conn, &holder, limit))
            .await
    }
}
