//! What every handler can reach.

use crate::auth::Tokens;
use crate::config::Config;
use async_trait::async_trait;
use concierge_domain::services::Services;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Pool use, for /health/advanced.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolUse {
    /// Open connections.
    pub connections: u32,
    /// Of which idle.
    pub idle: u32,
    /// The pool's maximum.
    pub max: u32,
}

/// What the health routes ask of the database.
#[async_trait]
pub trait DatabaseProbe: Send + Sync {
    /// Runs a trivial query and says how long it took.
    async fn ping(&self) -> concierge_domain::Result<Duration>;
    /// The pool's use right now.
    fn pool_use(&self) -> PoolUse;
    /// `postgresql` or `sqlite`.
    fn backend(&self) -> &'static str;
}

/// Shared application state.
pub struct AppState {
    /// The domain services.
    pub services: Services,
    /// The audit trail (its routes, and the entries a handler records itself).
    pub audit: Arc<dyn concierge_domain::audit::AuditLog>,
    /// Search: `services.search`, which the server always wires.
    pub search: concierge_domain::search::SearchService,
    /// SLA policies and calendars: `services.sla`, which the server always wires.
    pub sla: concierge_domain::sla::SlaService,
    /// Calls: `services.calls`, which the server always wires.
    pub calls: concierge_domain::services::CallService,
    /// Webhook endpoints.
    pub webhooks: concierge_domain::services::WebhookService,
    /// The active video adapter (`videosdk` or `disabled`), for health reports.
    pub video_name: &'static str,
    /// Token minting and checking.
    pub tokens: Tokens,
    /// The configuration.
    pub config: Arc<Config>,
    /// The database, for health checks.
    pub database: Arc<dyn DatabaseProbe>,
    /// The blob store the services use, for health checks.
    pub blobs: Arc<crate::blob_store::Watched>,
    /// When the server started.
    pub started: Instant,
    /// The WebSocket rooms of this instance.
    pub hub: Arc<crate::realtime::Hub>,
    /// Rate limits.
    pub limits: crate::limits::Limiter,
    /// Rate limits of socket traffic per user.
    pub socket_limits: crate::realtime::limits::UserLimits,
    /// Request metrics.
    pub metrics: crate::metrics::Metrics,
    /// The push dispatcher's health.
    pub push: Arc<crate::followers::push::DispatcherStatus>,
    /// `fcm` or `log`.
    pub push_notifier: &'static str,
    /// Summaries and QA reviews, and the summary generations running.
    pub insights: Arc<crate::insights::Insights>,
    /// Becomes `true` when the server shuts down; sockets then close with 1001.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}
