//! What wraps every request: its id and log line, metrics, the general rate limit, CORS and
//! security headers.

use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse, ResponseError};
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

/// Gives every request an id, logs it with its outcome, counts it in the metrics, and returns
/// the id in the response. The query string is not logged: it is the client's, and may hold
/// anything (headers and bodies are never logged either).
pub async fn trace_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id(&req);
    let method = req.method().clone();
    let path = req.path().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let result = tracing::Instrument::instrument(next.call(req), span.clone()).await;
    let elapsed = started.elapsed();
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            span.in_scope(|| tracing::info!(status, elapsed_ms, "handled"));
            if let Some(state) = state {
                let route = res.request().match_pattern();
                let route = route.as_deref().unwrap_or("unmatched");
                state.metrics.observe(&method, route, res.status(), elapsed);
            }
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

fn allowed_origin(state: &AppState, origin: &str) -> bool {
    state
        .config
        .cors_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
}

/// The general per-IP limit, CORS (preflights answered here, before routing) and the security
/// headers every response carries. An origin that is not allowed gets no CORS headers.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| allowed_origin(&state, o))
        .map(str::to_string);
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let ip = state.limits.client_ip(req.request());
    let mut res = if preflight {
        req.into_response(HttpResponse::NoContent().finish())
    } else if let Err(err) = state.limits.request(ip) {
        req.into_response(err.error_response())
    } else {
        next.call(req).await?.map_into_boxed_body()
    };
    let headers = res.headers_mut();
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-request-id, retry-after"),
        );
        if preflight {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, x-request-id"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if authenticated && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
