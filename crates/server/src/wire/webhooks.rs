//! Webhook endpoints, their delivery logs, and the JSON a delivery carries.

use super::events::view;
use chrono::{DateTime, Utc};
use concierge_domain::event::StoredEvent;
use concierge_domain::webhook::{self, message_id, DeliveryStatus};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// A webhook endpoint (never its secret).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// Event names, or `["*"]`.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// Whether deliveries are made; switched off after WEBHOOK_DISABLE_AFTER of failures.
    pub active: bool,
    /// Until when the secret before the last rotation also signs.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// Since when its deliveries have failed with no success.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&webhook::Webhook> for Webhook {
    fn from(w: &webhook::Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url.clone(),
            events: w.events.names(),
            description: w.description.clone(),
            active: w.active,
            previous_secret_until: w.previous_secret_until,
            failing_since: w.failing_since,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// An endpoint with its secret: the answer to creation and to rotation, the only places the
/// secret is shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` + base64; the signing key is the decoded part.
    pub secret: String,
}

impl From<&webhook::Webhook> for WebhookWithSecret {
    fn from(w: &webhook::Webhook) -> Self {
        Self {
            webhook: Webhook::from(w),
            secret: w.secret.clone(),
        }
    }
}

/// One event for one endpoint, with its last attempt.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: i64,
    /// The `webhook-id` it is sent with, the same on every attempt.
    pub event_id: String,
    /// The event's name.
    pub event: String,
    /// Attempts made.
    pub attempt: u32,
    #[schema(value_type = super::names::DeliveryStatusName)]
    pub status: DeliveryStatus,
    /// The last attempt's HTTP status.
    pub response_status: Option<u16>,
    /// The last attempt's error.
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    /// When it is tried next (while PENDING).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&webhook::Delivery> for WebhookDelivery {
    fn from(d: &webhook::Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.message_id(),
            event: d.event.clone(),
            attempt: d.attempt,
            status: d.status,
            response_status: d.response_status,
            error: d.error.clone(),
            duration_ms: d.duration_ms,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
        }
    }
}

from_owned!(
    webhook::Webhook => Webhook,
    webhook::Webhook => WebhookWithSecret,
    webhook::Delivery => WebhookDelivery,
);

/// The body of an event's delivery, `{id, type, createdAt, ticketId, data}` with `data` as
/// staff see it on the WebSocket; `None` for an event webhooks do not carry.
pub fn delivery_body(event: &StoredEvent) -> Option<String> {
    let data = view(webhook::VIEWER, event.kind, &event.data)?;
    let body = json!({
        "id": message_id(event.seq),
        "type": event.kind.as_str(),
        "createdAt": event.created_at,
        "ticketId": event.ticket_id,
        "data": data,
    });
    Some(body.to_string())
}
