//! Prometheus metrics at `/metrics`: requests by route and status, latency, the database pool,
//! WebSocket connections, the push dispatcher. Routes are labelled by their pattern
//! (`/api/v1/tasks/{id}`), so the number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Route {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics of this instance.
#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) -> count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// (method, route) -> latency histogram.
    latency: Mutex<BTreeMap<(String, String), Route>>,
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

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let key = (method.to_string(), route.to_string());
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((key.0.clone(), key.1.clone(), status))
                .or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let entry = latency.entry(key).or_default();
            let seconds = elapsed.as_secs_f64();
            entry.count += 1;
            entry.sum += seconds;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    entry.buckets[i] += 1;
                }
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP concierge_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE concierge_http_requests_total counter");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "concierge_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP concierge_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE concierge_http_request_duration_seconds histogram"
        );
        if let Ok(latency) = self.latency.lock() {
            for ((method, route), r) in latency.iter() {
                let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
                for (bound, n) in BUCKETS.iter().zip(r.buckets.iter()) {
                    let _ = writeln!(
                        out,
                        "concierge_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "concierge_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    r.count
                );
                let _ = writeln!(
                    out,
                    "concierge_http_request_duration_seconds_sum{{{labels}}} {}",
                    r.sum
                );
                let _ = writeln!(
                    out,
                    "concierge_http_request_duration_seconds_count{{{labels}}} {}",
                    r.count
                );
            }
        }
        let gauge = |out: &mut String, name: &str, help: &str, value: f64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        };
        gauge(
            &mut out,
            "concierge_db_pool_connections",
            "Open database connections.",
            f64::from(gauges.pool_connections),
        );
        gauge(
            &mut out,
            "concierge_db_pool_idle_connections",
            "Idle database connections.",
            f64::from(gauges.pool_idle),
        );
        gauge(
            &mut out,
            "concierge_db_pool_max_connections",
            "The database pool's size.",
            f64::from(gauges.pool_max),
        );
        gauge(
            &mut out,
            "concierge_websocket_connections",
            "Open WebSocket connections.",
            gauges.websocket_connections as f64,
        );
        gauge(
            &mut out,
            "concierge_push_dispatcher_lag_seconds",
            "Age of the last event the push dispatcher handled.",
            gauges.push_lag_seconds,
        );
        gauge(
            &mut out,
            "concierge_push_dispatcher_leading",
            "1 when this instance runs the push dispatcher.",
            if gauges.push_leading { 1.0 } else { 0.0 },
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe("GET", "/api/v1/tasks/{id}", 200, Duration::from_millis(3));
        m.observe("GET", "/api/v1/tasks/{id}", 200, Duration::from_millis(30));
        let text = m.render(&Gauges {
            pool_connections: 2,
            pool_idle: 1,
            pool_max: 10,
            websocket_connections: 0,
            push_lag_seconds: 0.0,
            push_leading: true,
        });
        assert!(text.contains(
            "concierge_http_requests_total{method=\"GET\",route=\"/api/v1/tasks/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("concierge_db_pool_max_connections 10"));
    }
}
