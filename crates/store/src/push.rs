//! [`PushLedger`]: the push dispatcher's cursor, lease and sent notifications.

use crate::error::Error;
use crate::models::to_db;
use crate::schema::{tickets, users};
use crate::schema_push::{push_deliveries, push_state};
use crate::Store;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use concierge_domain::ports::PushLedger;
use concierge_domain::Result;
use diesel::prelude::*;

/// The dispatcher's row in `push_state`.
const DISPATCHER: &str = "push";

/// Inserts a row unless its key exists; says whether it did. The generated backend refuses
/// `ON CONFLICT`, so the duplicate is detected by the unique key, inside a savepoint so the
/// surrounding transaction survives it on PostgreSQL.
fn insert_ignoring_duplicate<F>(conn: &mut crate::DbConnection, insert: F) -> Result<bool, Error>
where
    F: FnOnce(&mut crate::DbConnection) -> QueryResult<usize>,
{
    let attempt = conn.transaction(|c| insert(c));
    match attempt {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[async_trait]
impl PushLedger for Store {
    async fn cursor(&self) -> Result<Option<i64>> {
        self.run(|conn| {
            let cursor: Option<i64> = push_state::table
                .find(DISPATCHER)
                .select(push_state::cursor)
                .first(conn)
                .optional()?;
            Ok(cursor.filter(|c| *c >= 0))
        })
        .await
    }

    async fn save_cursor(&self, seq: i64) -> Result<()> {
        self.write(move |conn| {
            let n = diesel::update(push_state::table.find(DISPATCHER))
                .set(push_state::cursor.eq(seq))
                .execute(conn)?;
            if n == 0 {
                insert_ignoring_duplicate(conn, |c| {
                    diesel::insert_into(push_state::table)
                        .values((push_state::name.eq(DISPATCHER), push_state::cursor.eq(seq)))
                        .execute(c)
                })?;
            }
            Ok(())
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
            insert_ignoring_duplicate(conn, |c| {
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

    async fn lease(&self, holder: String, until: DateTime<Utc>) -> Result<bool> {
        let now = to_db(Utc::now());
        let until = to_db(until);
        self.write(move |conn| {
            let taken = diesel::update(
                push_state::table.find(DISPATCHER).filter(
                    push_state::leader
                        .eq(&holder)
                        .or(push_state::leader.is_null())
                        .or(push_state::lease_until.lt(now)),
                ),
            )
            .set((
                push_state::leader.eq(&holder),
                push_state::lease_until.eq(until),
            ))
            .execute(conn)?;
            if taken == 1 {
                return Ok(true);
            }
            let exists: bool =
                diesel::select(diesel::dsl::exists(push_state::table.find(DISPATCHER)))
                    .get_result(conn)?;
            if exists {
                return Ok(false);
            }
            // No row yet: the first dispatcher creates it with no cursor (-1); it starts at the
            // log's head.
            insert_ignoring_duplicate(conn, |c| {
                diesel::insert_into(push_state::table)
                    .values((
                        push_state::name.eq(DISPATCHER),
                        push_state::cursor.eq(-1i64),
                        push_state::leader.eq(&holder),
                        push_state::lease_until.eq(until),
                    ))
                    .execute(c)
            })
        })
        .await
    }
}
