//! The webhook dispatcher: follows the event log with a cursor per endpoint and POSTs each
//! event an endpoint wants, signed (Standard Webhooks), in event order per endpoint.
//!
//! One instance dispatches at a time, under the lease of the follower `webhooks`; the store
//! writes the dispatcher's progress only while the lease holds. Each endpoint has a worker of
//! its own, so a slow or failing endpoint never delays another: a worker queues the events
//! after its endpoint's cursor as PENDING deliveries (moving the cursor in the same
//! transaction), then sends its endpoint's first pending delivery when it is due, and stops
//! at the first failure, which waits for its retry (so later events wait behind it: order is
//! kept). Delivery is at least once: a delivery is recorded only after the endpoint answered,
//! so a crash mid-send leaves it PENDING and it is sent again, with the same `webhook-id`.

use chrono::{DateTime, Utc};
use concierge_domain::ports::{EventLog, WebhookSender, WebhookStore};
use concierge_domain::webhook::later;
use concierge_domain::webhook::{
    signature_header, AttemptRecord, Delivery, NewDelivery, RetrySchedule, Webhook, WebhookRequest,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

/// Events read from the log per step of a worker.
const BATCH: u32 = 100;

/// The dispatcher's timing and limits.
#[derive(Debug, Clone, Copy)]
pub struct DispatchSettings {
    /// The retry schedule.
    pub schedule: RetrySchedule,
    /// How long the lease lasts unrenewed; renewed when a third of it has run.
    pub lease: Duration,
    /// One attempt's limit (the sender enforces it too).
    pub timeout: Duration,
    /// Endpoints sent to at once.
    pub concurrency: usize,
    /// How often it looks for work when nothing wakes it.
    pub poll: Duration,
}

/// The lease as this instance holds it: until when, if at all.
#[derive(Default)]
struct Held(Mutex<Option<DateTime<Utc>>>);

impl Held {
    fn until(&self) -> Option<DateTime<Utc>> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, until: Option<DateTime<Utc>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = until;
    }
}

/// What the workers share.
struct Shared {
    store: Arc<dyn WebhookStore>,
    sender: Arc<dyn WebhookSender>,
    log: Arc<dyn EventLog>,
    holder: String,
    settings: DispatchSettings,
    held: Held,
}

/// The dispatcher.
pub struct WebhookDispatcher {
    shared: Arc<Shared>,
}

impl WebhookDispatcher {
    /// A dispatcher named `holder` (unique per instance).
    pub fn new(
        store: Arc<dyn WebhookStore>,
        sender: Arc<dyn WebhookSender>,
        log: Arc<dyn EventLog>,
        holder: String,
        settings: DispatchSettings,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                sender,
                log,
                holder,
                settings,
                held: Held::default(),
            }),
        }
    }

    /// Runs until `shutdown` turns true, waking on `wake` (commits) and every poll; then
    /// stops its workers (a delivery cut short is sent again later) and gives the lease up.
    pub async fn run(self, mut wake: watch::Receiver<u64>, mut shutdown: watch::Receiver<bool>) {
        let shared = self.shared;
        let permits = Arc::new(Semaphore::new(shared.settings.concurrency.max(1)));
        let mut workers: HashMap<i64, JoinHandle<()>> = HashMap::new();
        while !*shutdown.borrow() {
            workers.retain(|_, worker| !worker.is_finished());
            match shared.keep_lease().await {
                Ok(true) => match shared.store.active().await {
                    Ok(endpoints) => {
                        for endpoint in endpoints {
                            if workers.contains_key(&endpoint.id) {
                                continue;
                            }
                            let id = endpoint.id;
                            let shared = shared.clone();
                            let permits = permits.clone();
                            workers.insert(
                                id,
                                tokio::spawn(async move {
                                    let Ok(_permit) = permits.acquire_owned().await else {
                                        return;
                                    };
                                    if let Err(err) = shared.work(endpoint).await {
                                        tracing::warn!(error = %err, webhook = id, "webhook dispatcher");
                                    }
                                }),
                            );
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "webhook dispatcher"),
                },
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "webhook dispatcher: lease"),
            }
            let wait = shared.settings.poll.min(shared.settings.lease / 3);
            tokio::select! {
                _ = wake.changed() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
        for worker in workers.values() {
            worker.abort();
        }
        if shared.held.until().is_some() {
            shared.held.set(None);
            if let Err(err) = shared.store.release(shared.holder.clone()).await {
                tracing::warn!(error = %err, "webhook dispatcher: cannot give the lease up");
            }
        }
    }
}

impl Shared {
    fn lease_length(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Takes the lease, or renews it once a third of it has run; whether it is held.
    async fn keep_lease(&self) -> concierge_domain::Result<bool> {
        let now = Utc::now();
        let length = self.lease_length();
        if self
            .held
            .until()
            .is_some_and(|until| until - now > length * 2 / 3)
        {
            return Ok(true);
        }
        let until = now + length;
        let taken = self.store.lease(self.holder.clone(), until).await?;
        self.held.set(taken.then_some(until));
        Ok(taken)
    }

    /// How long a send may take from now: until a tenth of the lease before it runs out, at
    /// most the timeout; `None` when too little of the lease is left to start one.
    fn send_window(&self) -> Option<Duration> {
        let left = (self.held.until()? - Utc::now() - self.lease_length() / 10)
            .to_std()
            .ok()?;
        (left > Duration::from_millis(10)).then(|| left.min(self.settings.timeout))
    }

    /// Delivers to one endpoint until it has nothing due, fails, or the lease runs short.
    async fn work(&self, mut endpoint: Webhook) -> concierge_domain::Result<()> {
        loop {
            if self.send_window().is_none() {
                return Ok(());
            }
            if let Some(delivery) = self.store.next_pending(endpoint.id).await? {
                if delivery.next_attempt_at.is_some_and(|at| at > Utc::now()) {
                    return Ok(());
                }
                // The endpoint as it is now: a rotation or a new URL applies at once.
                let Some(current) = self.store.get(endpoint.id).await? else {
                    return Ok(());
                };
                endpoint = current;
                if !endpoint.active || !self.attempt(&endpoint, &delivery).await? {
                    return Ok(());
                }
                continue;
            }
            let events = self.log.read_after(endpoint.cursor, None, BATCH).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(());
            };
            let now = Utc::now();
            let give_up_at = later(now, self.settings.schedule.retry_for);
            let deliveries: Vec<NewDelivery> = events
                .iter()
                .filter(|event| endpoint.events.wants(event.kind))
                .filter_map(|event| {
                    Some(NewDelivery {
                        seq: event.seq,
                        event: event.kind.as_str().to_string(),
                        body: crate::wire::delivery_body(event)?,
                        next_attempt_at: now,
                        give_up_at,
                    })
                })
                .collect();
            if !self
                .store
                .queue(self.holder.clone(), endpoint.id, last, deliveries)
                .await?
            {
                self.held.set(None);
                return Ok(());
            }
            endpoint.cursor = last;
        }
    }

    /// Sends one delivery and records the outcome; whether it was delivered (and recorded).
    async fn attempt(
        &self,
        endpoint: &Webhook,
        delivery: &Delivery,
    ) -> concierge_domain::Result<bool> {
        let Some(window) = self.send_window() else {
            return Ok(false);
        };
        let now = Utc::now();
        let id = delivery.message_id();
        let timestamp = now.timestamp();
        let signature = signature_header(
            endpoint.signing_secrets(now),
            &id,
            timestamp,
            delivery.body.as_bytes(),
        );
        let request = WebhookRequest {
            url: endpoint.url.clone(),
            headers: vec![
                ("webhook-id".into(), id),
                ("webhook-timestamp".into(), timestamp.to_string()),
                ("webhook-signature".into(), signature),
            ],
            body: delivery.body.clone(),
        };
        let start = std::time::Instant::now();
        let result = match tokio::time::timeout(window, self.sender.send(request)).await {
            Ok(result) => result,
            // Abandoned before the lease runs out; tried again like any timeout.
            Err(_) => concierge_domain::webhook::SendResult {
                response_status: None,
                error: Some(format!("abandoned after {window:?} (the lease ran short)")),
                retry_after: None,
                duration: start.elapsed(),
            },
        };
        let delivered = result.delivered();
        let record = AttemptRecord::of(
            delivery,
            result,
            &self.settings.schedule,
            endpoint.failing_since,
            Utc::now(),
        );
        if record.disable {
            tracing::warn!(
                webhook = endpoint.id,
                "webhook endpoint switched off after failing too long"
            );
        }
        if !self.store.record(self.holder.clone(), record).await? {
            self.held.set(None);
            return Ok(false);
        }
        Ok(delivered)
    }
}
