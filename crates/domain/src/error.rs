//! The domain's errors. Each variant says what went wrong in support-desk terms; the HTTP layer
//! maps each one to a status code in one place.

use crate::ticket::TransitionError;

/// A result whose error is a [`DomainError`].
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as clients spell it (camelCase).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The object does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but its role may not do this.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// Credentials or a token were refused. Deliberately says nothing about why.
    #[error("authentication failed")]
    Unauthenticated,
    /// The ticket's state does not allow the change.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The change clashes with existing data (a taken username, a message on a closed ticket).
    #[error("{0}")]
    Conflict(String),
    /// Another writer changed the object between our read and our write. Services retry these.
    #[error("the object was changed concurrently")]
    ConcurrentUpdate,
    /// Input that is well-formed but not allowed.
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// A feature or external service that is switched off or down.
    #[error("{0}")]
    Unavailable(String),
    /// The storage or another adapter failed.
    #[error("storage failure")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DomainError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// Wraps an adapter's error.
    pub fn storage(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Storage(Box::new(err))
    }
}
