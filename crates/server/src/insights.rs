//! Summaries and QA reviews with the summary generations running in the background: what
//! the insight routes, automatic summaries and health reports share (see docs/ai.md).

use concierge_domain::services::InsightService;
use concierge_domain::summary::Summary;
use concierge_domain::{Actor, DomainError, TicketId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

/// How a background generation ended, shared by everyone waiting for it.
pub type Outcome = Arc<Result<Summary, DomainError>>;

/// The insight service and the summary generations running in the background.
pub struct Insights {
    /// Summaries and QA reviews.
    pub service: InsightService,
    running: Mutex<HashMap<TicketId, watch::Receiver<Option<Outcome>>>>,
}

/// Removes a ticket's entry from the running generations when its task ends (also when it
/// panics), so a later request starts a fresh one.
struct Running {
    insights: Arc<Insights>,
    ticket_id: TicketId,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.insights
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.ticket_id);
    }
}

impl Insights {
    /// Wraps the service.
    pub fn new(service: InsightService) -> Arc<Self> {
        Arc::new(Self {
            service,
            running: Mutex::new(HashMap::new()),
        })
    }

    /// Starts generating the ticket's summary in the background as `actor`, or joins the
    /// generation already running for it. The receiver holds the outcome once it is known.
    pub fn generate(
        self: &Arc<Self>,
        actor: Actor,
        ticket_id: TicketId,
    ) -> watch::Receiver<Option<Outcome>> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rx) = running.get(&ticket_id) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        running.insert(ticket_id, rx.clone());
        drop(running);
        let guard = Running {
            insights: self.clone(),
            ticket_id,
        };
        tokio::spawn(async move {
            let result = guard
                .insights
                .service
                .generate_summary(&actor, ticket_id)
                .await;
            if let Err(error) = &result {
                tracing::warn!(%error, ticket = %ticket_id, "summary generation failed");
            }
            // Leave the running set before telling waiters, so a request made after the
            // outcome is known starts a new generation.
            drop(guard);
            let _ = tx.send(Some(Arc::new(result)));
        });
        rx
    }

    /// How many generations are running (for health reports).
    pub fn running(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
