//! Errors: [`StoreError`] for start-up (connecting, migrating), and the mapping of database
//! errors to [`DomainError`]s for the ports.

use concierge_domain::DomainError;
use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind};

/// Connecting to or migrating the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported backend.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The SQLite file's folder could not be created, or a thread could not be started.
    #[error("I/O error: {0}")]
    Io(#[source] std::io::Error),
    /// No connection could be opened.
    #[error("cannot connect to the database: {0}")]
    Pool(#[source] r2d2::Error),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The blocking task running the work panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<StoreError> for DomainError {
    fn from(err: StoreError) -> Self {
        DomainError::storage(err)
    }
}

/// What the work inside a connection fails with: a database error still to be classified, or a
/// domain answer decided by the adapter (not found, concurrent update, ...).
#[derive(Debug)]
pub(crate) enum Error {
    Db(diesel::result::Error),
    Pool(r2d2::Error),
    Domain(DomainError),
}

impl From<diesel::result::Error> for Error {
    fn from(err: diesel::result::Error) -> Self {
        Error::Db(err)
    }
}

impl From<DomainError> for Error {
    fn from(err: DomainError) -> Self {
        Error::Domain(err)
    }
}

impl From<Error> for DomainError {
    fn from(err: Error) -> Self {
        match err {
            Error::Domain(err) => err,
            // No connection within the timeout: the database is down or every connection is
            // busy; both pass, so 503 rather than 500.
            Error::Pool(err) => DomainError::Unavailable(format!("database: {err}")),
            Error::Db(err) => from_diesel(err),
        }
    }
}

/// Whether the error is a unique violation of a constraint whose name (PostgreSQL) or column
/// list (SQLite: "UNIQUE constraint failed: messages.ticket_id, messages.client_message_id")
/// mentions `needle`.
pub(crate) fn is_unique_violation(err: &diesel::result::Error, needle: &str) -> bool {
    match err {
        diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            mentions(info.as_ref(), needle)
        }
        _ => false,
    }
}

pub(crate) fn is_foreign_key_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
    )
}

fn mentions(info: &dyn DatabaseErrorInformation, needle: &str) -> bool {
    info.constraint_name().is_some_and(|c| c.contains(needle)) || info.message().contains(needle)
}

/// Maps a database error that the adapter did not handle itself.
pub(crate) fn from_diesel(err: diesel::result::Error) -> DomainError {
    use diesel::result::Error as E;
    match &err {
        E::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            let info = info.as_ref();
            let what = if mentions(info, "username") {
                "username is taken"
            } else if mentions(info, "email") {
                "email is taken"
            } else if mentions(info, "client_message_id") {
                "a message with this clientMessageId exists"
            } else {
                "already exists"
            };
            DomainError::Conflict(what.to_string())
        }
        E::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => DomainError::invalid(
            "reference",
            "names a user, ticket or message that does not exist",
        ),
        E::NotFound => DomainError::NotFound("record"),
        _ => DomainError::storage(err),
    }
}

/// A stored value the domain cannot read (an unknown enum name, a broken invariant).
pub(crate) fn corrupt(what: impl Into<String>) -> Error {
    Error::Domain(DomainError::storage(Corrupt(what.into())))
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable row: {0}")]
struct Corrupt(String);
