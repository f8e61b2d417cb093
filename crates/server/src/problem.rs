//! The one place problem responses are built: `application/problem+json` (RFC 9457), for
//! errors ([`ApiError`]) and for the few handlers that answer a problem themselves ([`Problem`]).
//!
//! Policy: domain errors map to 4xx by kind; bad JSON is 400, a body of the wrong content type
//! 415, too large 413; anything unexpected is a 500 whose cause chain is logged and never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{error, HttpRequest, HttpResponse, ResponseError};
use concierge_domain::attachment::FileError;
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

/// A problem+json body (RFC 9457): the one place such bodies are built, for errors
/// ([`ApiError`]) and for handlers that answer a problem with extra members (`/health`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The status's name.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What went wrong.
    detail: String,
    /// For 422: the fields that are not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<Invalid>>,
    /// Extension members, beside the standard ones.
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// One invalid field of a 422.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = FieldError)]
pub(crate) struct Invalid {
    /// The field's wire name.
    field: String,
    /// Why it is not allowed.
    message: String,
}

impl From<&FieldError> for Invalid {
    fn from(e: &FieldError) -> Self {
        Self {
            field: e.field.clone(),
            message: e.message.clone(),
        }
    }
}

impl Problem {
    /// A problem with this status, title and detail.
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Adds an extension member.
    pub fn with(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.extra.insert(name.to_string(), value);
        self
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The response: the status, `Content-Type: application/problem+json`, the body.
    pub fn response(&self) -> HttpResponse {
        self.respond(HttpResponse::build(self.status_code()))
    }

    fn respond(&self, mut builder: actix_web::HttpResponseBuilder) -> HttpResponse {
        builder.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        builder.json(self)
    }
}

/// Refused files: 413 for too many or too large, 415 for a refused type, 400 for a form that
/// cannot be read; the title is the status's reason phrase.
impl From<FileError> for ApiError {
    fn from(err: FileError) -> Self {
        let status = match &err {
            FileError::Domain(_) => StatusCode::INTERNAL_SERVER_ERROR,
            FileError::TooMany(_) | FileError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FileError::Refused(_) | FileError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FileError::Unreadable(_) => StatusCode::BAD_REQUEST,
        };
        match err {
            FileError::Domain(e) => ApiError::Domain(e),
            other => ApiError::Http(status, other.to_string()),
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
    fn problem(&self) -> Problem {
        let (status, title) = self.parts();
        let detail = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            log_chain(self);
            "the server failed; the error is logged".to_string()
        } else {
            self.to_string()
        };
        let mut problem = Problem::new(status, title, detail);
        if let ApiError::Domain(DomainError::Invalid(errors)) = self {
            problem.errors = Some(errors.iter().map(Invalid::from).collect());
        }
        problem
    }
}

/// The problem object of an error, for WebSocket `error` frames and replies.
pub fn problem_value(err: &ApiError) -> serde_json::Value {
    serde_json::to_value(err.problem()).unwrap_or(serde_json::Value::Null)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        let status = problem.status_code();
        let mut response = HttpResponse::build(status);
        if let ApiError::TooManyRequests(seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        problem.respond(response)
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

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_domain::attachment::Refusal;

    fn body(response: HttpResponse) -> serde_json::Value {
        let bytes = actix_web::body::to_bytes(response.into_body())
            .now_or_never()
            .expect("a ready body")
            .expect("a body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    use futures_util::FutureExt;

    #[test]
    fn a_problem_carries_its_extension_members() {
        let response = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            "the database does not answer",
        )
        .with("database", "down")
        .with("uptimeSeconds", 7)
        .response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        assert_eq!(
            body(response),
            serde_json::json!({"type": "about:blank", "title": "Service unavailable",
                "status": 503, "detail": "the database does not answer",
                "database": "down", "uptimeSeconds": 7})
        );
    }

    #[test]
    fn refused_files_keep_their_statuses_and_titles() {
        for (err, status, title) in [
            (FileError::TooMany(5), 413, "Payload Too Large"),
            (FileError::TooLarge(10), 413, "Payload Too Large"),
            (
                FileError::Refused(Refusal::Executable),
                415,
                "Unsupported Media Type",
            ),
            (FileError::Unreadable("x".into()), 400, "Bad Request"),
            (
                FileError::Domain(DomainError::Forbidden("staff only")),
                403,
                "Forbidden",
            ),
        ] {
            let detail = err.to_string();
            let value = body(ApiError::from(err).error_response());
            assert_eq!(value["status"], status, "{value}");
            assert_eq!(value["title"], title, "{value}");
            if status != 403 {
                assert_eq!(value["detail"], detail.as_str());
            }
        }
    }
}
