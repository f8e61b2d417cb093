//! [`LoginFailureCounter`] in the `login_failures` table: one row per key with its window's
//! start and count, so every instance counts the same failures.
//!
//! Counting one failure is, per key and in one write transaction: drop the key's ended window,
//! add one to a running window, or else insert a new one. Two instances inserting the same new
//! key at once both succeed: the second insert meets the first's row (unique key, inside a
//! savepoint) and adds one to it instead.

use crate::error::Error;
use crate::models::{from_db, to_db};
use crate::query::insert_unless_taken;
use crate::schema::login_failures as lf;
use crate::Store;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use concierge_domain::ports::LoginFailureCounter;
use concierge_domain::Result;
use diesel::prelude::*;

/// Adds one to the key's running window; says whether there was one.
fn add_one(conn: &mut crate::DbConnection, key: &str) -> Result<bool, Error> {
    let n = diesel::update(lf::table.find(key))
        .set(lf::failures.eq(lf::failures + 1))
        .execute(conn)?;
    Ok(n == 1)
}

#[async_trait]
impl LoginFailureCounter for Store {
    async fn login_failures(
        &self,
        keys: Vec<String>,
        ended: DateTime<Utc>,
    ) -> Result<Vec<(String, u32, DateTime<Utc>)>> {
        self.run(move |conn| {
            let rows: Vec<(String, i32, chrono::NaiveDateTime)> = lf::table
                .filter(lf::key.eq_any(&keys))
                .filter(lf::started_at.gt(to_db(ended)))
                .select((lf::key, lf::failures, lf::started_at))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(key, n, started)| (key, u32::try_from(n).unwrap_or(0), from_db(started)))
                .collect())
        })
        .await
    }

    async fn add_login_failure(
        &self,
        keys: Vec<String>,
        now: DateTime<Utc>,
        ended: DateTime<Utc>,
    ) -> Result<()> {
        self.write(move |conn| {
            for key in &keys {
                diesel::delete(lf::table.find(key).filter(lf::started_at.le(to_db(ended))))
                    .execute(conn)?;
                if add_one(conn, key)? {
                    continue;
                }
                let inserted = insert_unless_taken(conn, |c| {
                    diesel::insert_into(lf::table)
                        .values((
                            lf::key.eq(key),
                            lf::started_at.eq(to_db(now)),
                            lf::failures.eq(1),
                        ))
                        .execute(c)
                })?;
                if !inserted {
                    add_one(conn, key)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn forget_login_failures(&self, ended: DateTime<Utc>) -> Result<usize> {
        self.write(move |conn| {
            Ok(diesel::delete(lf::table.filter(lf::started_at.le(to_db(ended)))).execute(conn)?)
        })
        .await
    }
}
