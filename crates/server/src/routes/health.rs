//! /health, /health/ping, /health/advanced.

use crate::auth::Caller;
use crate::openapi::{Forbidden, Unauthorized};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Liveness with the database.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Health {
    /// `ok`.
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
    /// `up`.
    database: &'static str,
}

/// Liveness with the database: 503 when it does not answer.
#[utoipa::path(
    tag = "health",
    operation_id = "health",
    summary = "Liveness with the database",
    responses(
        (status = 200, body = Health, description = "Up: status, version, uptimeSeconds, database"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json")
    ),
    security(()),
)]
#[get("/health")]
async fn health(state: State) -> HttpResponse {
    let uptime = state.started.elapsed().as_secs();
    match state.database.ping().await {
        Ok(_) => HttpResponse::Ok().json(Health {
            status: "ok",
            version: VERSION,
            uptime_seconds: uptime,
            database: "up",
        }),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database down");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service unavailable",
                "the database does not answer",
            )
            .with("version", VERSION)
            .with("uptimeSeconds", uptime)
            .with("database", "down")
            .response()
        }
    }
}

/// Touches nothing.
#[utoipa::path(
    tag = "health",
    operation_id = "ping",
    summary = "Touches nothing",
    responses(
        (status = 200, body = String, content_type = "text/plain", description = "pong")
    ),
    security(()),
)]
#[get("/health/ping")]
async fn ping() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("pong")
}

/// Details for admins: database latency and pool, event log head, adapters, memory.
#[utoipa::path(
    tag = "health",
    operation_id = "health_advanced",
    summary = "Details for admins",
    responses(
        (status = 200, body = std::collections::HashMap<String, serde_json::Value>, description = "Database, event log, adapters, push, memory: a free-form object, whose keys follow the configured adapters"),
        Unauthorized, Forbidden
    ),
)]
#[get("/health/advanced")]
async fn advanced(state: State, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.0.admin()?;
    let database = match state.database.ping().await {
        Ok(latency) => json!({
            "status": "up",
            "backend": state.database.backend(),
            "latencyMs": latency.as_secs_f64() * 1000.0,
            "pool": state.database.pool_use(),
        }),
        Err(err) => json!({
            "status": "down", "backend": state.database.backend(), "error": err.to_string(),
        }),
    };
    let event_log = match state.services.events.head().await {
        Ok(head) => json!({ "head": head }),
        Err(err) => json!({ "error": err.to_string() }),
    };
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": VERSION,
        "uptimeSeconds": state.started.elapsed().as_secs(),
        "database": database,
        "eventLog": event_log,
        "adapters": {
            "passwordHasher": { "kind": "bcrypt", "cost": state.config.bcrypt_cost },
            "tokens": { "secret": if state.config.jwt_secret_generated { "generated" } else { "configured" } },
            "video": { "kind": state.video_name, "configured": state.video_name != "disabled" },
            "analyzer": { "kind": state.insights.service.analyzer_name(), "running": state.insights.running() },
            "blobStore": state.blobs.view(),
        },
        "push": state.push.view(state.push_notifier),
        "memory": { "rssBytes": rss_bytes() },
    })))
}

/// Resident memory from /proc (Linux); `None` elsewhere.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Prometheus metrics (outside /api/v1: `/metrics`). Served only where configured (see
/// `startup`); with `METRICS_TOKEN` set, only to `Authorization: Bearer <METRICS_TOKEN>`.
pub async fn metrics(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_secret(given, token) {
            return Err(ApiError::Unauthorized("/metrics needs its bearer token"));
        }
    }
    let pool = state.database.pool_use();
    let gauges = crate::metrics::Gauges {
        pool_connections: pool.connections,
        pool_idle: pool.idle,
        pool_max: pool.max,
        websocket_connections: state.hub.connections(),
        push_lag_seconds: state.push.lag_seconds(),
        push_leading: state.push.leading(),
    };
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::Metrics::content_type())
        .body(state.metrics.render(&gauges)))
}

/// Compares digests, so the time taken does not tell how much of a guess was right.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health).service(ping).service(advanced);
}
