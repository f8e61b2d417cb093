//! Request ids and request logs.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::Error;
use std::time::Instant;

/// The header carrying the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Keeps a caller's sane `X-Request-Id` or makes one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()))
}

/// Gives every request an id, logs it with its outcome, and returns the id in the response.
/// The query string is not logged: it is the client's, and may hold anything.
pub async fn trace_request(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, Error> {
    let id = request_id(&req);
    let method = req.method().clone();
    let path = req.path().to_string();
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let result = tracing::Instrument::instrument(next.call(req), span.clone()).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            span.in_scope(|| tracing::info!(status, elapsed_ms, "handled"));
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(res)
        }
        Err(err) => {
            span.in_scope(|| tracing::warn!(error = %err, elapsed_ms, "failed"));
            Err(err)
        }
    }
}
