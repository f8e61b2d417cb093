//! The one place errors become HTTP responses: `application/problem+json` (RFC 9457).
//!
//! Policy: domain errors map to 4xx by kind; bad JSON is 400, a body of the wrong content type
//! 415, too large 413; anything unexpected is a 500 whose cause chain is logged and never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{error, HttpRequest, HttpResponse, ResponseError};
use concierge_domain::{DomainError, FieldError};
use serde::Serialize;

/// An error answered as problem+json.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// From a domain service.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A request the server cannot read (malformed JSON, a wrong JSON type, a bad parameter).
    #[error("{0}")]
    BadRequest(String),
    /// No usable token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The body is larger than allowed.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The body's content type is not JSON.
    #[error("expected an application/json body")]
    UnsupportedMediaType,
    /// Too many requests; retry after this many seconds.
    #[error("too many requests; retry in {0} s")]
    TooManyRequests(u64),
    /// No such route.
    #[error("no such resource")]
    NoRoute,
    /// The body did not arrive within `BODY_READ_TIMEOUT`.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// An error of actix's own (an extractor's, the framework's), with its status.
    #[error("{1}")]
    Http(StatusCode, String),
    /// Something unexpected; logged, not shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An RFC 9457 problem.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Problem<'a> {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The status's name.
    title: &'a str,
    /// The HTTP status.
    status: u16,
    /// What went wrong.
    detail: String,
    /// For 422: the fields that are not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<Invalid<'a>>>,
}

/// One invalid field of a 422.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FieldError)]
pub(crate) struct Invalid<'a> {
    /// The field's wire name.
    field: &'a str,
    /// Why it is not allowed.
    message: &'a str,
}

impl<'a> From<&'a FieldError> for Invalid<'a> {
    fn from(e: &'a FieldError) -> Self {
        Self {
            field: &e.field,
            message: &e.message,
        }
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        use DomainError as D;
        match self {
            ApiError::Domain(e) => match e {
                D::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
                D::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
                D::Unauthenticated => (StatusCode::UNAUTHORIZED, "Unauthorized"),
                D::Transition(_) => (StatusCode::CONFLICT, "Illegal state change"),
                D::Conflict(_) | D::ConcurrentUpdate => (StatusCode::CONFLICT, "Conflict"),
                D::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid input"),
                D::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
                D::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
            },
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "Bad request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Payload too large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type")
            }
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "Not found"),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "Request timeout"),
            ApiError::Http(status, _) => (*status, status.canonical_reason().unwrap_or("Error")),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }
}

impl ApiError {
    fn problem(&self) -> (StatusCode, Problem<'_>) {
        let (status, title) = self.parts();
        let detail = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            log_chain(self);
            "the server failed; the error is logged".to_string()
        } else {
            self.to_string()
        };
        let errors = match self {
            ApiError::Domain(DomainError::Invalid(errors)) => {
                Some(errors.iter().map(Invalid::from).collect())
            }
            _ => None,
        };
        let body = Problem {
            kind: "about:blank",
            title,
            status: status.as_u16(),
            detail,
            errors,
        };
        (status, body)
    }
}

/// The problem object of an error, for WebSocket `error` frames and replies.
pub fn problem_value(err: &ApiError) -> serde_json::Value {
    serde_json::to_value(err.problem().1).unwrap_or(serde_json::Value::Null)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, body) = self.problem();
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let ApiError::TooManyRequests(seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(body)
    }
}

fn log_chain(err: &dyn std::error::Error) {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "request failed");
}

/// Maps actix's JSON extractor errors.
pub fn json_error(err: error::JsonPayloadError, _req: &HttpRequest) -> error::Error {
    use error::JsonPayloadError as J;
    let api = match err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => ApiError::PayloadTooLarge,
        J::ContentType => ApiError::UnsupportedMediaType,
        J::Deserialize(e) => ApiError::BadRequest(format!("the JSON body does not fit: {e}")),
        other => ApiError::BadRequest(format!("cannot read the body: {other}")),
    };
    api.into()
}

/// Maps actix's query-string extractor errors.
pub fn query_error(err: error::QueryPayloadError, _req: &HttpRequest) -> error::Error {
    ApiError::BadRequest(format!("bad query parameter: {err}")).into()
}

/// Maps actix's path extractor errors (a non-numeric id).
pub fn path_error(err: error::PathError, _req: &HttpRequest) -> error::Error {
    ApiError::BadRequest(format!("bad path parameter: {err}")).into()
}

/// The answer for unknown routes.
pub async fn no_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NoRoute)
}
