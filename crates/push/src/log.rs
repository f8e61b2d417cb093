//! The fallback notifier used when Firebase is not configured.

use crate::fcm::TICKET_ID_KEY;
use async_trait::async_trait;
use concierge_domain::notification::{PushMessage, PushOutcome};
use concierge_domain::ports::PushNotifier;

/// Logs (at `info`) that a push would have been sent and reports it delivered, so the rest of
/// the system behaves as with FCM. It logs the title, the data keys and the ticket id only:
/// never the device token nor the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

impl LogNotifier {
    /// The log-only notifier.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl PushNotifier for LogNotifier {
    async fn send(&self, message: PushMessage) -> PushOutcome {
        let data_keys: Vec<&str> = message.data.keys().map(String::as_str).collect();
        let ticket_id = message
            .data
            .get(TICKET_ID_KEY)
            .or_else(|| message.data.get("ticket_id"))
            .map(String::as_str)
            .unwrap_or("-");
        tracing::info!(
            notifier = "log",
            title = %message.title,
            data_keys = ?data_keys,
            ticket_id,
            body_chars = message.body.chars().count(),
            "push not sent (FIREBASE_* not configured): a notification would go to one device"
        );
        PushOutcome::Delivered
    }

    fn name(&self) -> &'static str {
        "log"
    }
}
