//! [`PushLedger`]: the push dispatcher's retry queue and sent notifications; its cursor and
//! lease are the `push` row of the followers' ledger (`crate::followers`), and the queue is
//! written only by that lease's holder, checked in the same transaction.

use crate::error::Error;
use crate::followers::holds;
use crate::models::{from_db, to_db};
use crate::query::insert_unless_taken;
use crate::schema::{tickets, users};
use crate::schema_push::{push_deliveries, push_retries};
use crate::Store;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use concierge_domain::notification::{PendingPush, PushMessage};
use concierge_domain::ports::{PushLedger, PUSH_FOLLOWER};
use concierge_domain::{DomainError, Result};
use diesel::prelude::*;

type RetryRow = (
    String,
    i64,
    String,
    String,
    String,
    String,
    i32,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
);

fn from_row(row: RetryRow) -> Result<PendingPush, Error> {
    let (key, seq, token, title, body, data, attempts, next_attempt_at, give_up_at) = row;
    let data = serde_json::from_str(&data)
        .map_err(|e| crate::error::corrupt(format!("push_retries.data of {key}: {e}")))?;
    Ok(PendingPush {
        key,
        seq,
        message: PushMessage {
            token,
            title,
            body,
            data,
        },
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: from_db(next_attempt_at),
        give_up_at: from_db(give_up_at),
    })
}

fn queue(conn: &mut crate::DbConnection, retry: &PendingPush) -> Result<(), Error> {
    let data = serde_json::to_string(&retry.message.data).map_err(DomainError::storage)?;
    let attempts = i32::try_from(retry.attempts).unwrap_or(i32::MAX);
    insert_unless_taken(conn, |c| {
        diesel::insert_into(push_retries::table)
            .values((
                push_retries::key.eq(&retry.key),
                push_retries::seq.eq(retry.seq),
                push_retries::token.eq(&retry.message.token),
                push_retries::title.eq(&retry.message.title),
                push_retries::body.eq(&retry.message.body),
                push_retries::data.eq(&data),
                push_retries::attempts.eq(attempts),
                push_retries::next_attempt_at.eq(to_db(retry.next_attempt_at)),
                push_retries::give_up_at.eq(to_db(retry.give_up_at)),
            ))
            .execute(c)
    })
    .map(|_| ())
}

#[async_trait]
impl PushLedger for Store {
    async fn save_progress(
        &self,
        holder: String,
        seq: i64,
        retries: Vec<PendingPush>,
    ) -> Result<bool> {
        self.write(move |conn| {
            if !crate::followers::advance(conn, PUSH_FOLLOWER, &holder, seq)? {
                return Ok(false);
            }
            for retry in &retries {
                queue(conn, retry)?;
            }
            Ok(true)
        })
        .await
    }

    async fn retries_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PendingPush>> {
        let now = to_db(now);
        self.run(move |conn| {
            let rows: Vec<RetryRow> = push_retries::table
                .filter(push_retries::next_attempt_at.le(now))
                .order((push_retries::next_attempt_at, push_retries::key))
                .limit(i64::from(limit))
                .select((
                    push_retries::key,
                    push_retries::seq,
                    push_retries::token,
                    push_retries::title,
                    push_retries::body,
                    push_retries::data,
                    push_retries::attempts,
                    push_retries::next_attempt_at,
                    push_retries::give_up_at,
                ))
                .load(conn)?;
            rows.into_iter().map(from_row).collect()
        })
        .await
    }

    async fn next_retry(&self) -> Result<Option<DateTime<Utc>>> {
        self.run(|conn| {
            let next: Option<chrono::NaiveDateTime> = push_retries::table
                .select(diesel::dsl::min(push_retries::next_attempt_at))
                .first(conn)?;
            Ok(next.map(from_db))
        })
        .await
    }

    async fn retry_later(
        &self,
        holder: String,
        key: String,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        let at = to_db(at);
        self.write(move |conn| {
            if !holds(conn, PUSH_FOLLOWER, &holder)? {
                return Ok(false);
            }
            diesel::update(push_retries::table.find(&key))
                .set((
                    push_retries::attempts.eq(attempts),
                    push_retries::next_attempt_at.eq(at),
                ))
                .execute(conn)?;
            Ok(true)
        })
        .await
    }

    async fn retry_done(&self, holder: String, key: String) -> Result<bool> {
        self.write(move |conn| {
            if !holds(conn, PUSH_FOLLOWER, &holder)? {
                return Ok(false);
            }
            diesel::delete(push_retries::table.find(&key)).execute(conn)?;
            Ok(true)
        })
        .await
    }

    async fn was_sent(&self, key: String) -> Result<bool> {
        self.run(move |conn| {
            Ok(
                diesel::select(diesel::dsl::exists(push_deliveries::table.find(key)))
                    .get_result(conn)?,
            )
        })
        .await
    }

    async fn record_sent(&self, key: String) -> Result<()> {
        let now = to_db(Utc::now());
        self.write(move |conn| {
            insert_unless_taken(conn, |c| {
                diesel::insert_into(push_deliveries::table)
                    .values((
                        push_deliveries::key.eq(&key),
                        push_deliveries::created_at.eq(now),
                    ))
                    .execute(c)
            })
            .map(|_| ())
        })
        .await
    }

    async fn admin_tokens(&self) -> Result<Vec<String>> {
        self.run(|conn| {
            let tokens: Vec<Option<String>> = users::table
                .filter(users::role.eq_any(["ADMIN", "SUPER_ADMIN"]))
                .filter(users::is_active.eq(true))
                .filter(users::fcm_token.is_not_null())
                .select(users::fcm_token)
                .load(conn)?;
            Ok(tokens.into_iter().flatten().collect())
        })
        .await
    }

    async fn forget_token(&self, token: String) -> Result<()> {
        self.write(move |conn| {
            diesel::update(users::table.filter(users::fcm_token.eq(&token)))
                .set(users::fcm_token.eq(None::<String>))
                .execute(conn)?;
            diesel::update(tickets::table.filter(tickets::donor_fcm_token.eq(&token)))
                .set(tickets::donor_fcm_token.eq(None::<String>))
                .execute(conn)?;
            Ok(())
        })
        .await
    }
}
