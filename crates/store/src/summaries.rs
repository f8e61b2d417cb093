//! [`SummaryRepository`]: summaries, one current per ticket. Key points and entities are
//! stored as JSON text; every write appends `summary_ready` in its own transaction; the rows go
//! with their ticket (`ON DELETE CASCADE`).

use crate::audit::Outbox;
use crate::connection::DbConnection;
use crate::error::{corrupt, Error};
use crate::json_text::{json_list, tagged_list, to_json};
use crate::models::{from_db, to_db};
use crate::query::first_row;
use crate::schema::tickets;
use crate::schema_insights::summaries;
use crate::{events, Store};
use async_trait::async_trait;
use chrono::NaiveDateTime;
use concierge_domain::analysis::Entity;
use concierge_domain::event::NewEvent;
use concierge_domain::ports::SummaryRepository;
use concierge_domain::summary::{entity_kind_from_name, entity_kind_name, NewSummary, Summary};
use concierge_domain::{DomainError, Result, TicketId};
use diesel::prelude::*;
use serde_json::{json, Value};

/// How often a summary write that lost a race for the ticket's one row is tried again.
const REPLACE_ATTEMPTS: usize = 3;

/// A stored summary: its id and the columns an insert writes.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = summaries)]
struct SummaryRow {
    id: i64,
    #[diesel(embed)]
    fields: SummaryFields,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = summaries)]
struct SummaryFields {
    ticket_id: i64,
    content: String,
    key_points: String,
    entities: String,
    next_steps: Option<String>,
    analyzer: String,
    model: Option<String>,
    fallback_from: Option<String>,
    created_at: NaiveDateTime,
}

/// `[{kind, value}]` as stored, back into entities.
fn entities_from(text: &str) -> Result<Vec<Entity>, Error> {
    Ok(
        tagged_list(text, "entities", "entity", "value", entity_kind_from_name)?
            .into_iter()
            .map(|(kind, value)| Entity { kind, value })
            .collect(),
    )
}

impl SummaryRow {
    fn into_summary(self) -> Result<Summary, Error> {
        let SummaryRow { id, fields: f } = self;
        let key_points = json_list(&f.key_points, "key points")?
            .into_iter()
            .map(|p| match p {
                Value::String(s) => Ok(s),
                other => Err(corrupt(format!("key point {other}"))),
            })
            .collect::<Result<_, _>>()?;
        Ok(Summary {
            id,
            ticket_id: TicketId(f.ticket_id),
            content: f.content,
            key_points,
            entities: entities_from(&f.entities)?,
            next_steps: f.next_steps,
            analyzer: f.analyzer,
            model: f.model,
            fallback_from: f.fallback_from,
            created_at: from_db(f.created_at),
        })
    }
}

fn current_summary(conn: &mut DbConnection, ticket_id: TicketId) -> Result<Option<Summary>, Error> {
    let query = summaries::table
        .filter(summaries::ticket_id.eq(ticket_id.0))
        .select(SummaryRow::as_select());
    first_row(conn, query, SummaryRow::into_summary)
}

fn replace_summary(
    conn: &mut DbConnection,
    outbox: &Outbox,
    summary: &NewSummary,
) -> Result<Summary, Error> {
    let ticket_id = summary.ticket_id.0;
    let exists = tickets::table
        .filter(tickets::id.eq(ticket_id))
        .count()
        .get_result::<i64>(conn)?;
    if exists == 0 {
        return Err(DomainError::NotFound("ticket").into());
    }
    let draft = &summary.draft;
    let entities: Vec<Value> = draft
        .entities
        .iter()
        .map(|e| json!({"kind": entity_kind_name(e.kind), "value": e.value}))
        .collect();
    let row = SummaryFields {
        ticket_id,
        content: draft.content.clone(),
        key_points: to_json(&json!(draft.key_points))?,
        entities: to_json(&Value::Array(entities))?,
        next_steps: draft.next_steps.clone(),
        analyzer: draft.analyzer.clone(),
        model: draft.model.clone(),
        fallback_from: draft.fallback_from.clone(),
        created_at: to_db(summary.created_at),
    };
    diesel::delete(summaries::table.filter(summaries::ticket_id.eq(ticket_id))).execute(conn)?;
    diesel::insert_into(summaries::table)
        .values(&row)
        .execute(conn)?;
    let stored = current_summary(conn, summary.ticket_id)?
        .ok_or(Error::Domain(DomainError::NotFound("summary")))?;
    events::append(conn, outbox, vec![NewEvent::summary_ready(&stored)])?;
    Ok(stored)
}

#[async_trait]
impl SummaryRepository for Store {
    async fn replace(&self, summary: NewSummary) -> Result<Summary> {
        for _ in 1..REPLACE_ATTEMPTS {
            let attempt = summary.clone();
            match self
                .write_logged(move |conn, outbox| replace_summary(conn, outbox, &attempt))
                .await
            {
                // Another writer inserted the ticket's row between our delete and insert.
                Err(DomainError::Conflict(_)) => continue,
                other => return other,
            }
        }
        self.write_logged(move |conn, outbox| replace_summary(conn, outbox, &summary))
            .await
    }

    async fn current(&self, ticket_id: TicketId) -> Result<Option<Summary>> {
        self.run(move |conn| current_summary(conn, ticket_id)).await
    }
}
