//! The push dispatcher: follows the event log from a stored cursor and sends each event's
//! notifications ([`NotificationService`]). A request never waits on it.
//!
//! Guarantee (docs/operations.md): every committed event's notifications are sent at least
//! once per device while the device's token is valid and the push service takes them within
//! `PUSH_RETRY_FOR` of the event. A notification is recorded as sent right after the push
//! service takes it, so a restart resends nothing that was recorded; a crash between a send and
//! its record sends that one notification once more.
//!
//! A notification that fails for now does not hold up the cursor: it goes to a retry queue in
//! the database (one row per event and device, with its own backoff and `Retry-After`), saved
//! with the cursor in one transaction, and a retry step sends the rows that are due.
//!
//! With several instances one dispatcher runs at a time, under the follower's [`Lease`]
//! (`PUSH_LEASE`, 10 s). The cursor and the queue are written only while the lease holds, and
//! a send starts only while the lease has more than a tenth of its length left and is
//! abandoned when only that tenth is left.

use super::{Lead, Lease};
use chrono::{DateTime, Utc};
use concierge_domain::backoff::later;
use concierge_domain::notification::{PendingPush, PushOutcome};
use concierge_domain::ports::{EventLog, FollowerLedger, PushLedger, PUSH_FOLLOWER};
use concierge_domain::services::{Directory, Notification, NotificationService, Settled};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// Events, and due retries, handled per pass.
const BATCH: u32 = 100;

/// The dispatcher's timing (the `PUSH_*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushSettings {
    /// How long a lease lasts unrenewed (`PUSH_LEASE`): the longest an instance killed
    /// outright keeps the others waiting. Its holder renews it when a third of it has run.
    pub lease: Duration,
    /// How long after its event a notification is still tried (`PUSH_RETRY_FOR`).
    pub retry_for: Duration,
    /// The wait after a first failure, doubled after each further one (`PUSH_RETRY_BACKOFF`).
    pub backoff: Duration,
    /// The longest such wait (`PUSH_RETRY_MAX_BACKOFF`); a longer `Retry-After` is honoured.
    pub max_backoff: Duration,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(10),
            retry_for: Duration::from_secs(6 * 3600),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl PushSettings {
    /// The wait before attempt `attempts + 1`: the backoff, or the push service's
    /// `Retry-After` when that is longer.
    fn wait(&self, attempts: u32, after: Option<Duration>) -> Duration {
        concierge_domain::backoff::wait(self.backoff, self.max_backoff, attempts, after)
    }
}

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
        self.note(error);
    }

    /// Shows `error` as the last one without logging it (the push adapter logged it).
    fn note(&self, error: String) {
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

/// The dispatcher: it keeps the cursor and when the next retry is due in memory while it
/// leads, so an idle pass writes nothing and a busy one writes the cursor (with the batch's new
/// retries) once per batch, and the lease when a third of it has run.
pub struct Dispatcher {
    service: NotificationService,
    log: Arc<dyn EventLog>,
    ledger: Arc<dyn PushLedger>,
    lease: Lease,
    status: Arc<DispatcherStatus>,
    settings: PushSettings,
    held: Mutex<Option<Held>>,
}

/// While this instance leads: its cursor, and when the earliest queued retry is due.
#[derive(Debug, Clone, Copy)]
struct Held {
    cursor: i64,
    next_retry: Option<DateTime<Utc>>,
}

/// What became of one notification in this pass.
enum Attempt {
    /// Sent, refused for good, or sent before: nothing more to do.
    Done,
    /// Not sent for now; the wait the push service asked for, if any.
    Later(Option<Duration>),
    /// Not tried: the lease is gone.
    LeaseLost,
}

impl Dispatcher {
    /// A dispatcher named `holder` (unique per instance) that sends through `service`, follows
    /// `log`, keeps its cursor and lease in `followers` and its retry queue and sent keys in
    /// `ledger`, reports to `status`, and times itself by `settings`.
    pub fn new(
        service: NotificationService,
        log: Arc<dyn EventLog>,
        followers: Arc<dyn FollowerLedger>,
        ledger: Arc<dyn PushLedger>,
        status: Arc<DispatcherStatus>,
        holder: String,
        settings: PushSettings,
    ) -> Self {
        Self {
            service,
            log,
            ledger,
            lease: Lease::new(followers, PUSH_FOLLOWER, holder, settings.lease),
            status,
            settings,
            held: Mutex::new(None),
        }
    }

    /// Runs until `shutdown` turns true, waking on `wake` and polling every `poll` (sooner when
    /// a retry is due or the lease needs renewing); then gives the lease up.
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
                    _ = tokio::time::sleep(self.idle_wait(poll)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        self.lease.give_up().await;
        self.lose();
    }

    /// How long an idle dispatcher sleeps: `poll`, less when a retry falls due sooner, and at
    /// most a third of the lease so the lease is renewed in time.
    fn idle_wait(&self, poll: Duration) -> Duration {
        let mut wait = poll.min(self.lease.renew_within());
        if let Some(due) = self.held().and_then(|h| h.next_retry) {
            let until_due = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            wait = wait.min(until_due.max(Duration::from_millis(10)));
        }
        wait
    }

    /// Takes or keeps the lease, sends the queued notifications that are due, then handles one
    /// batch of events; `Ok(true)` when there may be more. The cursor is saved after the
    /// batch, with the batch's failures queued for retry: a crash inside it sends again only
    /// what the ledger has not recorded as sent.
    pub async fn pass(&self) -> concierge_domain::Result<bool> {
        let Some(held) = self.lead().await? else {
            return Ok(false);
        };
        let mut busy = false;
        if held.next_retry.is_some_and(|due| due <= Utc::now()) {
            match self.retry_due().await? {
                Some(full) => busy |= full,
                None => return Ok(false),
            }
        }
        match self.follow(held.cursor).await? {
            Some(full) => busy |= full,
            None => return Ok(false),
        }
        Ok(busy)
    }

    /// Handles the batch of events after `cursor`; `Some(true)` when the batch was full, `None`
    /// when the lease was lost on the way (nothing of the batch is saved then).
    async fn follow(&self, cursor: i64) -> concierge_domain::Result<Option<bool>> {
        let batch = self.log.read_after(cursor, None, BATCH).await?;
        let Some(last) = batch.last().map(|e| e.seq) else {
            self.status.lag_ms.store(0, Ordering::Relaxed);
            return Ok(Some(false));
        };
        let mut directory = Directory::default();
        let mut retries = vec![];
        for event in &batch {
            let give_up_at = later(event.created_at, self.settings.retry_for);
            for notification in self.service.notifications(event, &mut directory).await? {
                match self.attempt(&notification, &mut directory).await? {
                    Attempt::Done => {}
                    Attempt::LeaseLost => return Ok(None),
                    Attempt::Later(after) => {
                        if let Some(at) = self
                            .next_attempt(1, after, give_up_at, &notification)
                            .await?
                        {
                            retries.push(PendingPush {
                                key: notification.key,
                                seq: notification.seq,
                                message: notification.message,
                                attempts: 1,
                                next_attempt_at: at,
                                give_up_at,
                            });
                        }
                    }
                }
            }
            self.status.cursor.store(event.seq, Ordering::Relaxed);
            let lag = (Utc::now() - event.created_at).num_milliseconds().max(0);
            self.status.lag_ms.store(lag, Ordering::Relaxed);
        }
        let earliest = retries.iter().map(|r| r.next_attempt_at).min();
        if !self
            .ledger
            .save_progress(self.lease.holder().to_owned(), last, retries)
            .await?
        {
            self.lose();
            return Ok(None);
        }
        self.remember(|held| {
            held.cursor = last;
            held.next_retry = match (held.next_retry, earliest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        });
        self.status.cursor.store(last, Ordering::Relaxed);
        Ok(Some(batch.len() as u32 == BATCH))
    }

    /// Sends the queued notifications that are due; `Some(true)` when there may be more due,
    /// `None` when the lease was lost on the way.
    async fn retry_due(&self) -> concierge_domain::Result<Option<bool>> {
        let due = self.ledger.retries_due(Utc::now(), BATCH).await?;
        let mut directory = Directory::default();
        for pending in &due {
            let notification = Notification {
                key: pending.key.clone(),
                seq: pending.seq,
                message: pending.message.clone(),
            };
            let done = match self.attempt(&notification, &mut directory).await? {
                Attempt::LeaseLost => return Ok(None),
                Attempt::Done => true,
                Attempt::Later(after) => {
                    let attempts = pending.attempts.saturating_add(1);
                    match self
                        .next_attempt(attempts, after, pending.give_up_at, &notification)
                        .await?
                    {
                        None => true,
                        Some(at) => {
                            let key = pending.key.clone();
                            if !self
                                .ledger
                                .retry_later(self.lease.holder().to_owned(), key, attempts, at)
                                .await?
                            {
                                self.lose();
                                return Ok(None);
                            }
                            false
                        }
                    }
                }
            };
            if done
                && !self
                    .ledger
                    .retry_done(self.lease.holder().to_owned(), pending.key.clone())
                    .await?
            {
                self.lose();
                return Ok(None);
            }
        }
        let next = self.ledger.next_retry().await?;
        self.remember(|held| held.next_retry = next);
        Ok(Some(due.len() as u32 == BATCH))
    }

    /// Sends one notification unless it was sent before, within what is left of the lease
    /// (renewed first when a third of it has run), and records the outcome.
    async fn attempt(
        &self,
        notification: &Notification,
        directory: &mut Directory,
    ) -> concierge_domain::Result<Attempt> {
        if self.service.was_sent(notification).await? {
            return Ok(Attempt::Done);
        }
        let Some(deadline) = self.lease.deadline().await? else {
            self.lose();
            return Ok(Attempt::LeaseLost);
        };
        let outcome = match tokio::time::timeout_at(deadline, self.service.send(notification)).await
        {
            Ok(outcome) => outcome,
            // Abandoned before the lease runs out. The push service may have taken it
            // already; it is tried again, as after any timeout.
            Err(_) => PushOutcome::RetryLater { after: None },
        };
        Ok(
            match self
                .service
                .settle(notification, outcome, directory)
                .await?
            {
                Settled::Delivered | Settled::InvalidToken => Attempt::Done,
                Settled::Rejected(reason) => {
                    self.status
                        .fail(format!("event {}: rejected: {reason}", notification.seq));
                    Attempt::Done
                }
                Settled::RetryLater(after) => {
                    self.status.note(format!(
                        "event {}: the push service failed for now",
                        notification.seq
                    ));
                    Attempt::Later(after)
                }
            },
        )
    }

    /// When to try a notification that failed `attempts` times again; `None` when that would
    /// be past `give_up_at`: it is given up on (recorded as done) then.
    async fn next_attempt(
        &self,
        attempts: u32,
        after: Option<Duration>,
        give_up_at: DateTime<Utc>,
        notification: &Notification,
    ) -> concierge_domain::Result<Option<DateTime<Utc>>> {
        let at = later(Utc::now(), self.settings.wait(attempts, after));
        if at <= give_up_at {
            return Ok(Some(at));
        }
        self.ledger.record_sent(notification.key.clone()).await?;
        self.status.fail(format!(
            "event {}: gave up on a notification after {attempts} attempts",
            notification.seq
        ));
        Ok(None)
    }

    /// What this instance holds while it leads, taking or renewing the lease when a third of
    /// it has run; `None` while another instance leads.
    async fn lead(&self) -> concierge_domain::Result<Option<Held>> {
        let lead = self.lease.keep().await?;
        if let (Lead::Kept, Some(held)) = (lead, self.held()) {
            return Ok(Some(held));
        }
        if lead == Lead::Lost {
            self.lose();
            return Ok(None);
        }
        let Some(cursor) = self.lease.start(self.log.as_ref()).await? else {
            self.lose();
            return Ok(None);
        };
        let held = Held {
            cursor,
            next_retry: self.ledger.next_retry().await?,
        };
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = Some(held);
        self.status.leading.store(true, Ordering::Relaxed);
        self.status.cursor.store(held.cursor, Ordering::Relaxed);
        Ok(Some(held))
    }

    fn held(&self) -> Option<Held> {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner)
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

    /// Forgets the lease: the next pass takes it afresh, reading the cursor and the queue.
    fn lose(&self) {
        self.lease.lose();
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.status.leading.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_the_cap_and_honours_a_longer_retry_after() {
        let settings = PushSettings {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..PushSettings::default()
        };
        let waits: Vec<u128> = (1..=5)
            .map(|n| settings.wait(n, None).as_millis())
            .collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        assert_eq!(settings.wait(u32::MAX, None), Duration::from_millis(500));
        let after = Some(Duration::from_secs(3));
        assert_eq!(settings.wait(1, after), Duration::from_secs(3));
        assert_eq!(
            settings.wait(4, Some(Duration::from_millis(50))),
            Duration::from_millis(500)
        );
    }
}
