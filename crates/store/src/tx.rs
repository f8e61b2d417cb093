//! Write transactions. On SQLite every write transaction is `BEGIN IMMEDIATE`: it takes the
//! database's single write lock up front (waiting up to `busy_timeout`), so writers never
//! deadlock upgrading a read lock and commit in the order their event rows were numbered. On
//! PostgreSQL it is an ordinary READ COMMITTED transaction.

use crate::connection::DbConnection;
use crate::error::Error;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

/// Runs `work` in a write transaction: committed when it returns `Ok`, rolled back otherwise.
pub(crate) fn write<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match work(conn) {
        Ok(value) => {
            <DbConnection as TransactionManager<DbConnection>>::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) =
                <DbConnection as TransactionManager<DbConnection>>::rollback_transaction(conn)
            {
                // The pool drops a connection whose transaction state is broken.
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}
