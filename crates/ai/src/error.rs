//! Why a remote analysis failed. Every error becomes
//! [`DomainError::Unavailable`](concierge_domain::DomainError) for the domain, with a short
//! reason that a fallback records.

use concierge_domain::DomainError;
use std::time::Duration;

/// A failed call to an OpenAI-compatible API.
#[derive(Debug, thiserror::Error)]
pub enum AiError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The request did not get an answer (connection refused, reset, ...).
    #[error("request failed: {0}")]
    Transport(String),
    /// No answer within the configured timeout.
    #[error("timed out")]
    Timeout,
    /// Still rate limited after the allowed tries, or asked to wait longer than allowed.
    #[error("rate limited (HTTP 429){}", .retry_after.map(|d| format!(", retry after {:.1}s", d.as_secs_f32())).unwrap_or_default())]
    RateLimited {
        /// How long the server asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// An error status.
    #[error("HTTP {status}: {detail}")]
    Status {
        /// The status code.
        status: u16,
        /// The server's message, shortened and with secrets redacted.
        detail: String,
    },
    /// The model declined to answer.
    #[error("the model refused: {0}")]
    Refused(String),
    /// The answer is not a chat completion, or its content does not match the schema.
    #[error("reply does not match the schema: {0}")]
    InvalidReply(String),
}

impl From<AiError> for DomainError {
    fn from(err: AiError) -> Self {
        DomainError::Unavailable(err.to_string())
    }
}
