//! [`FollowerLedger`]: each follower's cursor and lease, one row of `follower_state` per name.
//!
//! A follower's own writes (the cursor here; a push retry queue, webhook cursors or fired timers
//! elsewhere in the store) check [`holds`] first, in the same transaction, and write nothing
//! when the writer no longer leads. On PostgreSQL that check also locks the row, so a takeover
//! (an update of the same row) waits for the write to commit and then reads what it wrote; on
//! SQLite write transactions are serialised anyway.

use crate::error::Error;
use crate::models::to_db;
use crate::schema_followers::follower_state;
use crate::{DbConnection, Store};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use concierge_domain::ports::FollowerLedger;
use concierge_domain::Result;
use diesel::prelude::*;

/// Whether `holder` leads `follower` with an unexpired lease now (read once the transaction
/// has its connection and, on SQLite, the write lock, so time spent waiting counts); inside a
/// write transaction, also locks the lease row until it ends (PostgreSQL).
pub(crate) fn holds(conn: &mut DbConnection, follower: &str, holder: &str) -> Result<bool, Error> {
    let now = to_db(Utc::now());
    let n = diesel::update(
        follower_state::table
            .find(follower)
            .filter(follower_state::leader.eq(holder))
            .filter(follower_state::lease_until.gt(now)),
    )
    .set(follower_state::leader.eq(holder))
    .execute(conn)?;
    Ok(n == 1)
}

/// While `holder` leads `follower`: moves its cursor to `seq`; `false`, with nothing written,
/// when it does not. For a follower that saves more with its cursor in one transaction.
pub(crate) fn advance(
    conn: &mut DbConnection,
    follower: &str,
    holder: &str,
    seq: i64,
) -> Result<bool, Error> {
    if !holds(conn, follower, holder)? {
        return Ok(false);
    }
    diesel::update(follower_state::table.find(follower))
        .set(follower_state::cursor.eq(seq))
        .execute(conn)?;
    Ok(true)
}

#[async_trait]
impl FollowerLedger for Store {
    async fn cursor(&self, follower: String) -> Result<Option<i64>> {
        self.run(move |conn| {
            let cursor: Option<i64> = follower_state::table
                .find(&follower)
                .select(follower_state::cursor)
                .first(conn)
                .optional()?;
            // A row made by a first lease has no cursor yet (-1).
            Ok(cursor.filter(|c| *c >= 0))
        })
        .await
    }

    async fn advance(&self, follower: String, holder: String, seq: i64) -> Result<bool> {
        self.write(move |conn| advance(conn, &follower, &holder, seq))
            .await
    }

    async fn lease(&self, follower: String, holder: String, until: DateTime<Utc>) -> Result<bool> {
        let now = to_db(Utc::now());
        let until = to_db(until);
        self.write(move |conn| {
            let taken = diesel::update(
                follower_state::table.find(&follower).filter(
                    follower_state::leader
                        .eq(&holder)
                        .or(follower_state::leader.is_null())
                        .or(follower_state::lease_until.lt(now)),
                ),
            )
            .set((
                follower_state::leader.eq(&holder),
                follower_state::lease_until.eq(until),
            ))
            .execute(conn)?;
            if taken == 1 {
                return Ok(true);
            }
            let exists: bool =
                diesel::select(diesel::dsl::exists(follower_state::table.find(&follower)))
                    .get_result(conn)?;
            if exists {
                return Ok(false);
            }
            // No row yet: the first leader creates it with no cursor (-1).
            crate::query::insert_unless_taken(conn, |c| {
                diesel::insert_into(follower_state::table)
                    .values((
                        follower_state::name.eq(&follower),
                        follower_state::cursor.eq(-1i64),
                        follower_state::leader.eq(&holder),
                        follower_state::lease_until.eq(until),
                    ))
                    .execute(c)
            })
        })
        .await
    }

    async fn release(&self, follower: String, holder: String) -> Result<()> {
        self.write(move |conn| {
            diesel::update(
                follower_state::table
                    .find(&follower)
                    .filter(follower_state::leader.eq(&holder)),
            )
            .set((
                follower_state::leader.eq(None::<String>),
                follower_state::lease_until.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)?;
            Ok(())
        })
        .await
    }
}
