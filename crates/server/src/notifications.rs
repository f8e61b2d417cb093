//! The push dispatcher: follows the event log from a stored cursor and sends each event's
//! notifications ([`NotificationService`]), retrying with backoff. A request never waits on it.
//!
//! Guarantee (docs/operations.md): every committed event's notifications are sent at least
//! once per device while the device's token is valid; a notification is recorded as sent right
//! after the push service takes it, so a restart resends nothing that was recorded, and a crash
//! between a send and its record sends that one notification once more. With several instances
//! one dispatcher runs at a time (a lease in the database).

use chrono::Utc;
use concierge_domain::event::StoredEvent;
use concierge_domain::ports::{EventLog, PushLedger};
use concierge_domain::services::{Directory, NotificationService};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// Attempts for one event's notifications before they are given up on.
const MAX_ATTEMPTS: u32 = 8;
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a dispatcher's lease lasts; it is renewed once half of it has run.
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

/// The dispatcher: it holds the lease and the cursor in memory while it leads, so a pass
/// writes to the database once per batch (the cursor), not once per event, and renews the
/// lease only when half of it has run.
pub struct Dispatcher {
    service: NotificationService,
    log: Arc<dyn EventLog>,
    ledger: Arc<dyn PushLedger>,
    status: Arc<DispatcherStatus>,
    holder: String,
    held: Mutex<Option<Held>>,
}

/// A lease this instance holds, and its cursor.
#[derive(Debug, Clone, Copy)]
struct Held {
    until: chrono::DateTime<Utc>,
    cursor: i64,
}

impl Dispatcher {
    /// A dispatcher named `holder` (unique per instance) that sends through `service`, follows
    /// `log`, keeps its cursor, sent keys and lease in `ledger`, and reports to `status`.
    pub fn new(
        service: NotificationService,
        log: Arc<dyn EventLog>,
        ledger: Arc<dyn PushLedger>,
        status: Arc<DispatcherStatus>,
        holder: String,
    ) -> Self {
        Self {
            service,
            log,
            ledger,
            status,
            holder,
            held: Mutex::new(None),
        }
    }

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
    /// The cursor is saved after the batch: a crash inside it sends again only what the
    /// ledger has not recorded as sent.
    pub async fn pass(&self) -> concierge_domain::Result<bool> {
        let Some(mut cursor) = self.lead().await? else {
            return Ok(false);
        };
        let batch = self.log.read_after(cursor, None, BATCH).await?;
        let mut directory = Directory::default();
        for event in &batch {
            self.deliver(event, &mut directory).await;
            cursor = event.seq;
            self.status.cursor.store(cursor, Ordering::Relaxed);
            let lag = (Utc::now() - event.created_at).num_milliseconds().max(0);
            self.status.lag_ms.store(lag, Ordering::Relaxed);
        }
        if batch.is_empty() {
            self.status.lag_ms.store(0, Ordering::Relaxed);
        } else {
            self.ledger.save_cursor(cursor).await?;
            self.remember(|held| held.cursor = cursor);
        }
        self.status.cursor.store(cursor, Ordering::Relaxed);
        Ok(batch.len() as u32 == BATCH)
    }

    /// The cursor to go on from while this instance leads; `None` while another one does.
    async fn lead(&self) -> concierge_domain::Result<Option<i64>> {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(LEASE).unwrap_or_default();
        let held = *self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = held.filter(|h| h.until - now > lease / 2) {
            return Ok(Some(held.cursor));
        }
        let until = now + lease;
        let leading = self.ledger.lease(self.holder.clone(), until).await?;
        self.status.leading.store(leading, Ordering::Relaxed);
        if !leading {
            self.remember_none();
            return Ok(None);
        }
        let cursor = match held {
            // Still ours: no one else moved the cursor.
            Some(held) => held.cursor,
            None => match self.ledger.cursor().await? {
                Some(cursor) => cursor,
                None => {
                    // First run: start from now, not from the history.
                    let head = self.log.head().await?;
                    self.ledger.save_cursor(head).await?;
                    head
                }
            },
        };
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = Some(Held { until, cursor });
        Ok(Some(cursor))
    }

    fn remember(&self, change: impl FnOnce(&mut Held)) {
        if let Some(held) = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            change(held);
        }
    }

    fn remember_none(&self) {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Sends one event's notifications, retrying what the push service asks to retry; the
    /// recipients are looked up through the batch's `directory`.
    async fn deliver(&self, event: &StoredEvent, directory: &mut Directory) {
        for attempt in 0..MAX_ATTEMPTS {
            match self.service.deliver_in(event, directory).await {
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
