//! Prometheus metrics at `/metrics`: requests by method, route and status, latency, the database
//! pool, WebSocket connections, the push dispatcher. One registry per server, on the
//! `prometheus` crate (atomic counters and buckets).
//!
//! No label comes from raw client input: the method is one of a fixed set (else `OTHER`), the
//! route is the matched pattern (`/api/v1/tasks/{id}`, else `unmatched`), and the status is one
//! the server chose. Made-up methods or paths add no series.

use actix_web::http::{Method, StatusCode};
use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::time::Duration;

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The `method` label of a request.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The metrics of this server.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    websocket_connections: IntGauge,
    push_lag_seconds: Gauge,
    push_leading: IntGauge,
}

/// Gauges read at scrape time.
pub struct Gauges {
    /// Open database connections.
    pub pool_connections: u32,
    /// Of which idle.
    pub pool_idle: u32,
    /// The pool's maximum.
    pub pool_max: u32,
    /// Open WebSocket connections.
    pub websocket_connections: usize,
    /// Seconds the push dispatcher is behind.
    pub push_lag_seconds: f64,
    /// Whether this instance runs the push dispatcher.
    pub push_leading: bool,
}

impl Metrics {
    /// An empty registry with every metric declared.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "concierge_http_requests_total",
                "HTTP requests by route and status.",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "concierge_http_request_duration_seconds",
                "HTTP request latency.",
            )
            .buckets(BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let pool_connections = gauge(
            "concierge_db_pool_connections",
            "Open database connections.",
        )?;
        let pool_idle = gauge(
            "concierge_db_pool_idle_connections",
            "Idle database connections.",
        )?;
        let pool_max = gauge(
            "concierge_db_pool_max_connections",
            "The database pool's size.",
        )?;
        let websocket_connections = gauge(
            "concierge_websocket_connections",
            "Open WebSocket connections.",
        )?;
        let push_leading = gauge(
            "concierge_push_dispatcher_leading",
            "1 when this instance runs the push dispatcher.",
        )?;
        let push_lag_seconds = Gauge::new(
            "concierge_push_dispatcher_lag_seconds",
            "Age of the last event the push dispatcher handled.",
        )?;
        registry.register(Box::new(push_lag_seconds.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            pool_max,
            websocket_connections,
            push_lag_seconds,
            push_leading,
        })
    }

    /// Counts one finished request. `route` must be a route pattern (or `unmatched`).
    pub fn observe(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let method = method_label(method);
        self.requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn render(&self, gauges: &Gauges) -> String {
        self.pool_connections
            .set(i64::from(gauges.pool_connections));
        self.pool_idle.set(i64::from(gauges.pool_idle));
        self.pool_max.set(i64::from(gauges.pool_max));
        self.websocket_connections
            .set(i64::try_from(gauges.websocket_connections).unwrap_or(i64::MAX));
        self.push_lag_seconds.set(gauges.push_lag_seconds);
        self.push_leading.set(i64::from(gauges.push_leading));
        let mut out = String::new();
        if let Err(err) = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %err, "cannot render the metrics");
        }
        out
    }

    /// The content type of [`render`](Self::render)'s text.
    pub fn content_type() -> &'static str {
        "text/plain; version=0.0.4"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauges() -> Gauges {
        Gauges {
            pool_connections: 2,
            pool_idle: 1,
            pool_max: 10,
            websocket_connections: 0,
            push_lag_seconds: 0.0,
            push_leading: true,
        }
    }

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::new().unwrap();
        for millis in [3, 30] {
            let took = Duration::from_millis(millis);
            m.observe(&Method::GET, "/api/v1/tasks/{id}", StatusCode::OK, took);
        }
        let text = m.render(&gauges());
        assert!(text.contains(
            "concierge_http_requests_total{method=\"GET\",route=\"/api/v1/tasks/{id}\",status=\"200\"} 2"
        ), "{text}");
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("concierge_db_pool_max_connections 10"));
        assert!(text.contains("concierge_push_dispatcher_leading 1"));
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let m = Metrics::new().unwrap();
        for i in 0..30 {
            let method = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
            m.observe(
                &method,
                "unmatched",
                StatusCode::NOT_FOUND,
                Duration::from_millis(1),
            );
        }
        let text = m.render(&gauges());
        assert!(text.contains(
            "concierge_http_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"404\"} 30"
        ));
        assert!(!text.contains("MADEUP"));
    }
}
