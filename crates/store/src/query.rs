//! Query shapes the repositories share: keyset pages (the rows after a cursor, one more than
//! the page holds, so [`Page::from_rows`] sees whether another page follows), single rows, and
//! inserts that may find their key taken.

use crate::connection::DbConnection;
use crate::error::Error;
use concierge_domain::page::{Page, PageRequest};
use diesel::dsl::Limit;
use diesel::prelude::*;
use diesel::query_dsl::methods::LimitDsl;
use diesel::query_dsl::LoadQuery;

/// `$query` ordered by its id column `$id`, boxed, from the row after `$page.after`, limited
/// to one row more than the page: `newest_first` walks ids down, `oldest_first` up.
macro_rules! paged {
    ($query:expr, $id:expr, newest_first, $page:expr) => {
        paged!(@ $query, $id, desc, lt, $page)
    };
    ($query:expr, $id:expr, oldest_first, $page:expr) => {
        paged!(@ $query, $id, asc, gt, $page)
    };
    (@ $query:expr, $id:expr, $order:ident, $beyond:ident, $page:expr) => {{
        let mut query = $query
            .order($id.$order())
            .limit(i64::from($page.limit) + 1)
            .into_boxed();
        if let Some(after) = $page.after {
            query = query.filter($id.$beyond(after));
        }
        query
    }};
}
pub(crate) use paged;

/// The page of `rows` (as a [`paged!`] query loaded them), each converted by `convert`;
/// `key` is the id the next cursor names.
pub(crate) fn page_of<R, T>(
    rows: Vec<R>,
    page: &PageRequest,
    convert: impl FnMut(R) -> Result<T, Error>,
    key: impl Fn(&T) -> i64,
) -> Result<Page<T>, Error> {
    let items = rows
        .into_iter()
        .map(convert)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page, key))
}

/// The first row `query` finds, converted by `convert`; `None` when it finds none.
pub(crate) fn first_row<'q, Q, R, T>(
    conn: &mut DbConnection,
    query: Q,
    convert: impl FnOnce(R) -> Result<T, Error>,
) -> Result<Option<T>, Error>
where
    Q: RunQueryDsl<DbConnection> + LimitDsl,
    Limit<Q>: LoadQuery<'q, DbConnection, R>,
{
    query.first(conn).optional()?.map(convert).transpose()
}

/// Inserts a row unless its key exists; says whether it did. The generated backend refuses
/// `ON CONFLICT`, so the duplicate is detected by the unique key, inside a savepoint so the
/// surrounding transaction survives it on PostgreSQL.
pub(crate) fn insert_unless_taken<F>(conn: &mut DbConnection, insert: F) -> Result<bool, Error>
where
    F: FnOnce(&mut DbConnection) -> QueryResult<usize>,
{
    match conn.transaction(insert) {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
