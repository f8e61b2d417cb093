//! Push notifications as the domain sees them: one message to one device.

use std::collections::BTreeMap;
use std::time::Duration;

/// A notification for one device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The device's registration token.
    pub token: String,
    /// The notification's title.
    pub title: String,
    /// The notification's text.
    pub body: String,
    /// Key/value data for the app (ticket id, event kind, ...). Values are strings, as FCM wants.
    pub data: BTreeMap<String, String>,
}

/// What became of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The push service accepted it.
    Delivered,
    /// The token is no longer valid (uninstalled app, unknown token): forget it.
    InvalidToken,
    /// A temporary failure (rate limit, outage): try again, not before `after` when given.
    RetryLater {
        /// The service's `Retry-After`, if it sent one.
        after: Option<Duration>,
    },
    /// A permanent failure for this message; give up and log `reason`.
    Rejected {
        /// What the service said.
        reason: String,
    },
}
