//! What wraps every request: its span and id (tracing-actix-web), metrics, the general rate
//! limit, CORS (actix-cors) and the security headers (actix-web's `DefaultHeaders`).

use crate::state::AppState;
use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, Error, HttpMessage, ResponseError};
use concierge_store::audit::{self, RequestContext};
use std::time::Instant;
use tracing::Span;
use tracing_actix_web::{RootSpanBuilder, TracingLogger};

/// The header carrying the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The methods a browser may use across origins.
const CORS_METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// How long a browser may keep a preflight's answer, in seconds.
const CORS_MAX_AGE: usize = 600;

/// A request's id (a caller's sane `X-Request-Id`, else tracing-actix-web's UUID) and when it
/// started; kept in the request's extensions.
#[derive(Clone)]
struct Stamp {
    id: String,
    started: Instant,
}

/// Whether a caller's `X-Request-Id` may be kept: 1 to 64 letters, digits, `-` or `_`.
fn sane_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The request span: `request_id`, `method` and `path` (never the query string, headers or
/// body: they are the client's and may hold anything), then `status` and a `handled` line
/// with `elapsed_ms` when the answer is ready.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| sane_request_id(v))
            .map(str::to_string)
            .or_else(|| {
                request
                    .extensions()
                    .get::<tracing_actix_web::RequestId>()
                    .map(ToString::to_string)
            })
            .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            path = %request.path(),
            status = tracing::field::Empty,
        );
        request.extensions_mut().insert(Stamp {
            id,
            started: Instant::now(),
        });
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        match outcome {
            Ok(res) => {
                let elapsed_ms = res
                    .request()
                    .extensions()
                    .get::<Stamp>()
                    .map_or(0.0, |s| s.started.elapsed().as_secs_f64() * 1000.0);
                let status = res.status().as_u16();
                span.record("status", status);
                span.in_scope(|| tracing::info!(status, elapsed_ms, "handled"));
            }
            Err(err) => span.in_scope(|| tracing::warn!(error = %err, "failed")),
        }
    }
}

/// The request span and id (see [`RequestSpan`]).
pub fn request_span() -> TracingLogger<RequestSpan> {
    TracingLogger::<RequestSpan>::new()
}

/// Runs the request in its audit context (IP, request id), puts the request id on the
/// response and counts the request in the metrics (by method
/// label, matched route pattern and status). Runs inside [`request_span`].
pub async fn stamp(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let stamp = req.extensions().get::<Stamp>().cloned();
    let preflight = is_preflight(&req);
    // The audit context of whatever the request writes; the caller is named once known.
    let context = RequestContext {
        actor: None,
        ip: req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.limits.client_ip(req.request()).to_string()),
        request_id: stamp.as_ref().map(|s| s.id.clone()),
    };
    let mut res = audit::scope(context, next.call(req)).await?;
    // actix-cors answers an accepted preflight 200; it has no body, so say so.
    if preflight && res.status() == StatusCode::OK {
        *res.response_mut().status_mut() = StatusCode::NO_CONTENT;
    }
    let Some(stamp) = stamp else {
        return Ok(res);
    };
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        let route = res.request().match_pattern();
        let route = route.as_deref().unwrap_or("unmatched");
        state.metrics.observe(
            res.request().method(),
            route,
            res.status(),
            stamp.started.elapsed(),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&stamp.id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

fn is_preflight(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// CORS for the configured origins (`*` allows any, echoed back). An origin that is not allowed
/// gets no CORS headers (and its preflight a 400). Origins are checked by the configuration.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(CORS_METHODS)
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER])
        .max_age(CORS_MAX_AGE)
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// The security headers on every response (`Cache-Control: no-store` unless the handler chose
/// its own caching).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// The general per-IP request limit: 429 problem+json over it.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let ip = state.limits.client_ip(req.request());
        if let Err(err) = state.limits.request(ip) {
            return Ok(req.into_response(err.error_response()));
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(sane_request_id("trace-abc_123"));
        for odd in ["", "has space", "semi;colon", "<script>", &"x".repeat(65)] {
            assert!(!sane_request_id(odd), "{odd:?}");
        }
    }
}
