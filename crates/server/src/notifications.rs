//! The push dispatcher: follows the event log from a stored cursor and sends each event's
//! notifications ([`NotificationService`]), retrying with backoff. A request never waits on it.
//!
//! Guarantee (docs/operations.md): every committed event's notifications are sent at least
//! once per device while the device's token is valid; a notification is recorded as sent right
//! after the push service takes it, so a restart resends nothing that was recorded, and a crash
//! between a send and its record sends that one notification once more. With several instances
//! one dispatcher runs at a time (a lease in the database).

use chrono::Utc;
use concierge_domain::ports::{EventLog, PushLedger};
use concierge_domain::services::NotificationService;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Attempts for one event's notifications before they are given up on.
const MAX_ATTEMPTS: u32 = 8;
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a dispatcher's lease lasts; it is renewed on every pass.
const LEASE: Duration = Duration::from_secs(30);
/// Events read per pass.
const BATCH: u32 = 100;

/// What /health/advanced shows of the dispatcher.
#[derive(Debug, Default)]
pub struct DispatcherStatus {
    leading: AtomicBool,
    cursor: AtomicI64,
    lag_ms: AtomicI64,
    last_error: Mutex<Option<String>>,
}

impl DispatcherStatus {
    fn fail(&self, error: String) {
        tracing::warn!(error = %error, "push dispatcher");
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(format!("{}: {error}", Utc::now().to_rfc3339()));
        }
    }

    /// Seconds behind: the age of the last event handled (0 when caught up).
    pub fn lag_seconds(&self) -> f64 {
        self.lag_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Whether this instance holds the dispatcher's lease.
    pub fn leading(&self) -> bool {
        self.leading.load(Ordering::Relaxed)
    }

    /// A JSON view for health reports.
    pub fn view(&self, notifier: &str) -> serde_json::Value {
        let last_error = self.last_error.lock().ok().and_then(|e| e.clone());
        serde_json::json!({
            "notifier": notifier,
            "leading": self.leading(),
            "cursor": self.cursor.load(Ordering::Relaxed),
            "lagSeconds": self.lag_seconds(),
            "lastError": last_error,
        })
    }
}

fn backoff(attempt: u32) -> Duration {
    let exp = Duration::from_millis(500u64.saturating_mul(1 << attempt.min(10)));
    exp.min(MAX_BACKOFF)
}

/// The dispatcher's parts.
pub struct Dispatcher {
    /// Turns events into notifications.
    pub service: NotificationService,
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// Cursor, sent keys, lease.
    pub ledger: Arc<dyn PushLedger>,
    /// Its health.
    pub status: Arc<DispatcherStatus>,
    /// This instance's name for the lease.
    pub holder: String,
}

impl Dispatcher {
    /// Runs until `shutdown` turns true, waking on `wake` and polling every `poll`.
    pub async fn run(
        self,
        mut wake: watch::Receiver<u64>,
        poll: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        while !*shutdown.borrow() {
            let idle = match self.pass().await {
                Ok(busy) => !busy,
                Err(err) => {
                    self.status.fail(err.to_string());
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = wake.changed() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Takes the lease and handles one batch of events; `Ok(true)` when there may be more.
    pub async fn pass(&self) -> concierge_domain::Result<bool> {
        let until = Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let leading = self.ledger.lease(self.holder.clone(), until).await?;
        self.status.leading.store(leading, Ordering::Relaxed);
        if !leading {
            return Ok(false);
        }
        let mut cursor = match self.ledger.cursor().await? {
            Some(cursor) => cursor,
            None => {
                // First run: start from now, not from the history.
                let head = self.log.head().await?;
                self.ledger.save_cursor(head).await?;
                head
            }
        };
        let batch = self.log.read_after(cursor, None, BATCH).await?;
        for event in &batch {
            self.deliver(event).await;
            self.ledger.save_cursor(event.seq).await?;
            cursor = event.seq;
            self.status.cursor.store(cursor, Ordering::Relaxed);
            let lag = (Utc::now() - event.created_at).num_milliseconds().max(0);
            self.status.lag_ms.store(lag, Ordering::Relaxed);
        }
        if batch.is_empty() {
            self.status.lag_ms.store(0, Ordering::Relaxed);
        }
        self.status.cursor.store(cursor, Ordering::Relaxed);
        Ok(batch.len() as u32 == BATCH)
    }

    /// Sends one event's notifications, retrying what the push service asks to retry.
    async fn deliver(&self, event: &concierge_domain::event::StoredEvent) {
        for attempt in 0..MAX_ATTEMPTS {
            match self.service.deliver(event).await {
                Ok(report) => {
                    for reason in &report.rejected {
                        self.status
                            .fail(format!("event {}: rejected: {reason}", event.seq));
                    }
                    match report.retry {
                        None => return,
                        Some(after) => {
                            let wait = after.unwrap_or_else(|| backoff(attempt)).min(MAX_BACKOFF);
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
                Err(err) => {
                    self.status.fail(format!("event {}: {err}", event.seq));
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
        self.status.fail(format!(
            "event {}: gave up after {MAX_ATTEMPTS} attempts",
            event.seq
        ));
    }
}
