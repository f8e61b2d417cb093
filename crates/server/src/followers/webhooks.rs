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

use super::{Lead, Lease};
use chrono::Utc;
use concierge_domain::backoff::later;
use concierge_domain::ports::{EventLog, FollowerLedger, WebhookSender, WebhookStore};
use concierge_domain::webhook::{
    signature_header, AttemptRecord, Delivery, NewDelivery, RetrySchedule, SendResult, Webhook,
    WebhookRequest,
};
use std::collections::HashMap;
use std::sync::Arc;
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

/// The follower's name in the ledger.
pub const FOLLOWER: &str = "webhooks";

/// What the workers share.
struct Shared {
    store: Arc<dyn WebhookStore>,
    sender: Arc<dyn WebhookSender>,
    log: Arc<dyn EventLog>,
    lease: Lease,
    settings: DispatchSettings,
}

/// The dispatcher.
pub struct WebhookDispatcher {
    shared: Arc<Shared>,
}

impl WebhookDispatcher {
    /// A dispatcher named `holder` (unique per instance), leading through `ledger`.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        sender: Arc<dyn WebhookSender>,
        log: Arc<dyn EventLog>,
        ledger: Arc<dyn FollowerLedger>,
        holder: String,
        settings: DispatchSettings,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                sender,
                log,
                lease: Lease::new(ledger, FOLLOWER, holder, settings.lease),
                settings,
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
            match shared.lease.keep().await {
                Ok(Lead::Kept | Lead::Taken) => match shared.store.active().await {
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
                Ok(Lead::Lost) => {}
                Err(err) => tracing::warn!(error = %err, "webhook dispatcher: lease"),
            }
            let wait = shared.settings.poll.min(shared.lease.renew_within());
            tokio::select! {
                _ = wake.changed() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
        for worker in workers.values() {
            worker.abort();
        }
        shared.lease.give_up().await;
    }
}

impl Shared {
    /// How long a send may take from now: until the lease's deadline, at most the timeout;
    /// `None` when too little of the lease is left to start one.
    async fn send_window(&self) -> concierge_domain::Result<Option<Duration>> {
        let Some(deadline) = self.lease.deadline().await? else {
            return Ok(None);
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        Ok((left > Duration::from_millis(10)).then(|| left.min(self.settings.timeout)))
    }

    /// Delivers to one endpoint until it has nothing due, fails, or the lease runs short.
    async fn work(&self, mut endpoint: Webhook) -> concierge_domain::Result<()> {
        loop {
            if !self.lease.held() {
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
                .queue(
                    self.lease.holder().to_string(),
                    endpoint.id,
                    last,
                    deliveries,
                )
                .await?
            {
                self.lease.lose();
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
        let Some(window) = self.send_window().await? else {
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
            Err(_) => SendResult {
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
        if !self
            .store
            .record(self.lease.holder().to_string(), record)
            .await?
        {
            self.lease.lose();
            return Ok(false);
        }
        Ok(delivered)
    }
}
