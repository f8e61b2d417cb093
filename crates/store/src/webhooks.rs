//! [`WebhookStore`]: webhook endpoints, their cursors in the event log and their delivery
//! logs. The dispatcher's writes check its lease in the same transaction (the follower
//! `webhooks`), so a holder that lost the lease writes nothing.

use crate::connection::DbConnection;
use crate::error::{corrupt, Error};
use crate::models::{from_db, to_db};
use crate::query::{first_row, page_of, paged};
use crate::schema_webhooks::{webhook_deliveries, webhooks};
use crate::{events, Store};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::WebhookStore;
use concierge_domain::webhook::{
    AttemptRecord, Delivery, DeliveryStatus, EventSelection, NewDelivery, NewWebhook, Webhook,
    WebhookChanges,
};
use concierge_domain::{DomainError, Result};
use diesel::prelude::*;

/// The follower whose lease guards the dispatcher's writes.
pub const FOLLOWER: &str = "webhooks";

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
struct WebhookRow {
    id: i64,
    url: String,
    events: String,
    description: Option<String>,
    active: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<NaiveDateTime>,
    cursor: i64,
    failing_since: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// The events column: `*` or names separated by commas.
fn events_text(events: &EventSelection) -> String {
    events.names().join(",")
}

impl WebhookRow {
    fn into_webhook(self) -> Result<Webhook, Error> {
        let names: Vec<String> = self.events.split(',').map(str::to_string).collect();
        let events = EventSelection::parse(&names)
            .map_err(|_| corrupt(format!("webhooks.events of {}: {:?}", self.id, self.events)))?;
        Ok(Webhook {
            id: self.id,
            url: self.url,
            events,
            description: self.description,
            active: self.active,
            secret: self.secret,
            previous_secret: self.previous_secret,
            previous_secret_until: self.previous_secret_until.map(from_db),
            cursor: self.cursor,
            failing_since: self.failing_since.map(from_db),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    seq: i64,
    event: String,
    body: String,
    attempt: i32,
    status: String,
    response_status: Option<i32>,
    error: Option<String>,
    duration_ms: Option<i64>,
    next_attempt_at: Option<NaiveDateTime>,
    give_up_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery, Error> {
        Ok(Delivery {
            id: self.id,
            webhook_id: self.webhook_id,
            seq: self.seq,
            event: self.event,
            attempt: u32::try_from(self.attempt).unwrap_or(0),
            status: self
                .status
                .parse()
                .map_err(|_| corrupt(format!("webhook delivery status {:?}", self.status)))?,
            response_status: self.response_status.and_then(|s| u16::try_from(s).ok()),
            error: self.error,
            duration_ms: self.duration_ms,
            next_attempt_at: self.next_attempt_at.map(from_db),
            give_up_at: from_db(self.give_up_at),
            body: self.body,
            created_at: from_db(self.created_at),
        })
    }
}

fn load(conn: &mut DbConnection, id: i64) -> Result<Option<Webhook>, Error> {
    let query = webhooks::table.find(id).select(WebhookRow::as_select());
    first_row(conn, query, WebhookRow::into_webhook)
}

fn found(webhook: Option<Webhook>) -> Result<Webhook, Error> {
    webhook.ok_or(Error::Domain(DomainError::NotFound("webhook")))
}

/// Whether `holder` leads the webhook dispatcher, checked (and, inside a write transaction,
/// locked on PostgreSQL) in the caller's transaction.
fn leads(conn: &mut DbConnection, holder: &str) -> Result<bool, Error> {
    crate::followers::holds(conn, FOLLOWER, holder)
}

/// The column values [`WebhookChanges`] sets; `None` leaves a column alone.
#[derive(AsChangeset)]
#[diesel(table_name = webhooks)]
struct WebhookChangeset {
    url: Option<String>,
    events: Option<String>,
    active: Option<bool>,
    description: Option<Option<String>>,
    updated_at: NaiveDateTime,
}

#[async_trait]
impl WebhookStore for Store {
    async fn create(&self, new: NewWebhook) -> Result<Webhook> {
        let now = to_db(new.now);
        self.write(move |conn| {
            let cursor = events::head(conn)?;
            let id: i64 = diesel::insert_into(webhooks::table)
                .values((
                    webhooks::url.eq(&new.url),
                    webhooks::events.eq(events_text(&new.events)),
                    webhooks::description.eq(&new.description),
                    webhooks::active.eq(true),
                    webhooks::secret.eq(&new.secret),
                    webhooks::cursor.eq(cursor),
                    webhooks::created_at.eq(now),
                    webhooks::updated_at.eq(now),
                ))
                .returning(webhooks::id)
                .get_result(conn)?;
            found(load(conn, id)?)
        })
        .await
    }

    async fn get(&self, id: i64) -> Result<Option<Webhook>> {
        self.run(move |conn| load(conn, id)).await
    }

    async fn list(&self, page: PageRequest) -> Result<Page<Webhook>> {
        self.run(move |conn| {
            let query = paged!(
                webhooks::table.select(WebhookRow::as_select()),
                webhooks::id,
                oldest_first,
                page
            );
            page_of(query.load(conn)?, &page, WebhookRow::into_webhook, |w| w.id)
        })
        .await
    }

    async fn active(&self) -> Result<Vec<Webhook>> {
        self.run(|conn| {
            let rows: Vec<WebhookRow> = webhooks::table
                .filter(webhooks::active.eq(true))
                .order(webhooks::id)
                .select(WebhookRow::as_select())
                .load(conn)?;
            rows.into_iter().map(WebhookRow::into_webhook).collect()
        })
        .await
    }

    async fn update(
        &self,
        id: i64,
        changes: WebhookChanges,
        now: DateTime<Utc>,
    ) -> Result<Webhook> {
        let changeset = WebhookChangeset {
            url: changes.url,
            events: changes.events.as_ref().map(events_text),
            active: changes.active,
            description: changes.description,
            updated_at: to_db(now),
        };
        let switched_on = changes.active == Some(true);
        self.write(move |conn| {
            let n = diesel::update(webhooks::table.find(id))
                .set(&changeset)
                .execute(conn)?;
            if n == 0 {
                return Err(Error::Domain(DomainError::NotFound("webhook")));
            }
            if switched_on {
                diesel::update(webhooks::table.find(id))
                    .set(webhooks::failing_since.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
            }
            found(load(conn, id)?)
        })
        .await
    }

    async fn delete(&self, id: i64) -> Result<()> {
        self.write(move |conn| {
            diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
                .execute(conn)?;
            match diesel::delete(webhooks::table.find(id)).execute(conn)? {
                0 => Err(Error::Domain(DomainError::NotFound("webhook"))),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn rotate(
        &self,
        id: i64,
        secret: String,
        old_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Webhook> {
        self.write(move |conn| {
            let old = found(load(conn, id)?)?;
            diesel::update(webhooks::table.find(id))
                .set((
                    webhooks::secret.eq(&secret),
                    webhooks::previous_secret.eq(Some(&old.secret)),
                    webhooks::previous_secret_until.eq(Some(to_db(old_until))),
                    webhooks::updated_at.eq(to_db(now)),
                ))
                .execute(conn)?;
            found(load(conn, id)?)
        })
        .await
    }

    async fn deliveries(&self, webhook_id: i64, page: PageRequest) -> Result<Page<Delivery>> {
        self.run(move |conn| {
            let query = paged!(
                webhook_deliveries::table
                    .filter(webhook_deliveries::webhook_id.eq(webhook_id))
                    .select(DeliveryRow::as_select()),
                webhook_deliveries::id,
                newest_first,
                page
            );
            page_of(query.load(conn)?, &page, DeliveryRow::into_delivery, |d| {
                d.id
            })
        })
        .await
    }

    async fn retry(
        &self,
        webhook_id: i64,
        delivery_id: i64,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<Delivery> {
        self.write(move |conn| {
            let target = webhook_deliveries::table
                .find(delivery_id)
                .filter(webhook_deliveries::webhook_id.eq(webhook_id));
            let n = diesel::update(target)
                .set((
                    webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                    webhook_deliveries::next_attempt_at.eq(Some(to_db(now))),
                    webhook_deliveries::give_up_at.eq(to_db(give_up_at)),
                ))
                .execute(conn)?;
            if n == 0 {
                return Err(Error::Domain(DomainError::NotFound("delivery")));
            }
            let query = webhook_deliveries::table
                .find(delivery_id)
                .select(DeliveryRow::as_select());
            first_row(conn, query, DeliveryRow::into_delivery)?
                .ok_or(Error::Domain(DomainError::NotFound("delivery")))
        })
        .await
    }

    async fn next_pending(&self, webhook_id: i64) -> Result<Option<Delivery>> {
        self.run(move |conn| {
            let query = webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(webhook_id))
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                .order(webhook_deliveries::seq)
                .select(DeliveryRow::as_select());
            first_row(conn, query, DeliveryRow::into_delivery)
        })
        .await
    }

    async fn queue(
        &self,
        holder: String,
        webhook_id: i64,
        cursor: i64,
        deliveries: Vec<NewDelivery>,
    ) -> Result<bool> {
        self.write(move |conn| {
            if !leads(conn, &holder)? {
                return Ok(false);
            }
            // Only forward: a cursor never moves back, so a batch read twice is queued once.
            let moved = diesel::update(
                webhooks::table
                    .find(webhook_id)
                    .filter(webhooks::cursor.lt(cursor)),
            )
            .set(webhooks::cursor.eq(cursor))
            .execute(conn)?;
            if moved == 0 {
                return Ok(true);
            }
            for d in &deliveries {
                let at = to_db(d.next_attempt_at);
                diesel::insert_into(webhook_deliveries::table)
                    .values((
                        webhook_deliveries::webhook_id.eq(webhook_id),
                        webhook_deliveries::seq.eq(d.seq),
                        webhook_deliveries::event.eq(&d.event),
                        webhook_deliveries::body.eq(&d.body),
                        webhook_deliveries::attempt.eq(0),
                        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                        webhook_deliveries::next_attempt_at.eq(Some(at)),
                        webhook_deliveries::give_up_at.eq(to_db(d.give_up_at)),
                        webhook_deliveries::created_at.eq(at),
                    ))
                    .execute(conn)?;
            }
            Ok(true)
        })
        .await
    }

    async fn record(&self, holder: String, attempt: AttemptRecord) -> Result<bool> {
        self.write(move |conn| {
            if !leads(conn, &holder)? {
                return Ok(false);
            }
            let result = &attempt.result;
            let duration = i64::try_from(result.duration.as_millis()).unwrap_or(i64::MAX);
            let error = result
                .error
                .as_deref()
                .map(|e| e.replace('\0', "").chars().take(500).collect::<String>());
            diesel::update(webhook_deliveries::table.find(attempt.delivery_id))
                .set((
                    webhook_deliveries::attempt.eq(webhook_deliveries::attempt + 1),
                    webhook_deliveries::status.eq(attempt.status.as_str()),
                    webhook_deliveries::response_status.eq(result.response_status.map(i32::from)),
                    webhook_deliveries::error.eq(error),
                    webhook_deliveries::duration_ms.eq(Some(duration)),
                    webhook_deliveries::next_attempt_at.eq(attempt.next_attempt_at.map(to_db)),
                ))
                .execute(conn)?;
            let endpoint = webhooks::table.find(attempt.webhook_id);
            if result.delivered() {
                diesel::update(endpoint)
                    .set(webhooks::failing_since.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
            } else {
                diesel::update(endpoint.filter(webhooks::failing_since.is_null()))
                    .set(webhooks::failing_since.eq(Some(to_db(attempt.at))))
                    .execute(conn)?;
                if attempt.disable {
                    diesel::update(endpoint)
                        .set((
                            webhooks::active.eq(false),
                            webhooks::updated_at.eq(to_db(attempt.at)),
                        ))
                        .execute(conn)?;
                }
            }
            Ok(true)
        })
        .await
    }
}
