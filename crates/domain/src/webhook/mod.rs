//! Webhooks: endpoints that receive the event log as signed HTTP POSTs (Standard Webhooks).
//!
//! An endpoint names the events it wants (the WebSocket's event names, or `*`), and sees each
//! as staff do ([`Viewer::Staff`]): a webhook is an admin's integration. Each endpoint keeps its
//! own cursor in the log and its own delivery log, so one that fails never holds up another.

mod address;
mod retry;
mod signing;

pub use address::public;
pub use retry::RetrySchedule;
pub use signing::{new_secret, sign, signature_header, SECRET_PREFIX};

use crate::error::{DomainError, FieldError, Result};
use crate::event::{EventKind, Viewer};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long a rotated-out secret still signs.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// The longest URL an endpoint may have.
pub const MAX_URL_CHARS: usize = 2048;
/// The longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// How webhooks see events.
pub const VIEWER: Viewer = Viewer::Staff;

/// The events an endpoint receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSelection {
    /// Every event (`["*"]`).
    All,
    /// These kinds.
    Only(Vec<EventKind>),
}

impl EventSelection {
    /// Parses the client's list: `["*"]`, or one or more event names, each known.
    pub fn parse(names: &[String]) -> Result<Self> {
        if names.is_empty() {
            return Err(DomainError::invalid(
                "events",
                "must name at least one event or \"*\"",
            ));
        }
        if names.iter().any(|n| n == "*") {
            return if names.len() == 1 {
                Ok(Self::All)
            } else {
                Err(DomainError::invalid(
                    "events",
                    "\"*\" must be the only entry",
                ))
            };
        }
        let mut kinds: Vec<EventKind> = vec![];
        for name in names {
            let kind = name.parse::<EventKind>().map_err(|_| {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                DomainError::invalid(
                    "events",
                    format!("unknown event {name:?}; known: *, {}", known.join(", ")),
                )
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(Self::Only(kinds))
    }

    /// The names, as clients write them.
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::All => vec!["*".to_string()],
            Self::Only(kinds) => kinds.iter().map(|k| k.as_str().to_string()).collect(),
        }
    }

    /// Whether an event of `kind` goes to the endpoint (and staff may see it).
    pub fn wants(&self, kind: EventKind) -> bool {
        VIEWER.receives(kind)
            && match self {
                Self::All => true,
                Self::Only(kinds) => kinds.contains(&kind),
            }
    }
}

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// What it receives.
    pub events: EventSelection,
    /// The admin's note.
    pub description: Option<String>,
    /// Whether deliveries are made.
    pub active: bool,
    /// The current signing secret (`whsec_...`).
    pub secret: String,
    /// The secret before the last rotation, while it still signs.
    pub previous_secret: Option<String>,
    /// Until when the previous secret signs.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// The `seq` of the last event it has taken from the log.
    pub cursor: i64,
    /// Since when its deliveries have failed without a success in between.
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    /// The secrets that sign a delivery at `now`: the current one, then the previous one while
    /// its overlap lasts.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if now < until {
                secrets.push(old.as_str());
            }
        }
        secrets
    }
}

/// What an admin gives to create an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInput {
    /// Where deliveries go.
    pub url: String,
    /// Event names, or `["*"]`.
    pub events: Vec<String>,
    /// A note.
    pub description: Option<String>,
}

/// A checked endpoint, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    /// Where deliveries go.
    pub url: String,
    /// What it receives.
    pub events: EventSelection,
    /// A note.
    pub description: Option<String>,
    /// Its first secret.
    pub secret: String,
    /// When it was created.
    pub now: DateTime<Utc>,
}

/// What an admin may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    /// A new URL.
    pub url: Option<String>,
    /// New event names.
    pub events: Option<Vec<String>>,
    /// Switches deliveries on or off.
    pub active: Option<bool>,
    /// A new note; `Some(None)` clears it.
    pub description: Option<Option<String>>,
}

/// A checked patch, ready to store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookChanges {
    /// A new URL.
    pub url: Option<String>,
    /// New events.
    pub events: Option<EventSelection>,
    /// On or off; switching on also forgets past failures.
    pub active: Option<bool>,
    /// A new note.
    pub description: Option<Option<String>>,
}

/// The URL's scheme rule (WEBHOOK_ALLOW_HTTP): `https` always, `http` when allowed.
pub fn check_url(field: &str, raw: &str, allow_http: bool) -> Result<url::Url> {
    let invalid = |message: &str| DomainError::invalid(field, message);
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(invalid("must be at most 2048 characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(&format!("is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        _ if allow_http => return Err(invalid("must be an https:// or http:// URL")),
        _ => return Err(invalid("must be an https:// URL")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("must name a host"));
    }
    Ok(url)
}

fn check_description(errors: &mut Vec<FieldError>, description: Option<&str>) {
    let Some(text) = description else { return };
    if !crate::validate::storable(text) {
        errors.push(FieldError::new(
            "description",
            "must not contain NUL characters",
        ));
    } else if text.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.push(FieldError::new(
            "description",
            "must be at most 500 characters",
        ));
    }
}

/// Blank descriptions count as none.
fn tidy(description: Option<String>) -> Option<String> {
    description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
}

impl WebhookInput {
    /// Checks the input (every field's errors at once) and gives the endpoint a secret.
    pub fn check(self, allow_http: bool, now: DateTime<Utc>) -> Result<NewWebhook> {
        let mut errors = vec![];
        let url = collect(&mut errors, check_url("url", &self.url, allow_http));
        let events = collect(&mut errors, EventSelection::parse(&self.events));
        let description = tidy(self.description);
        check_description(&mut errors, description.as_deref());
        match (url, events) {
            (Some(url), Some(events)) if errors.is_empty() => Ok(NewWebhook {
                url: url.to_string(),
                events,
                description,
                secret: new_secret(),
                now,
            }),
            _ => Err(DomainError::Invalid(errors)),
        }
    }
}

impl WebhookPatch {
    /// Checks the patch (every field's errors at once).
    pub fn check(self, allow_http: bool) -> Result<WebhookChanges> {
        let mut errors = vec![];
        let url = self
            .url
            .and_then(|u| collect(&mut errors, check_url("url", &u, allow_http)))
            .map(|u| u.to_string());
        let events = self
            .events
            .and_then(|e| collect(&mut errors, EventSelection::parse(&e)));
        let description = self.description.map(tidy);
        check_description(&mut errors, description.clone().flatten().as_deref());
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        Ok(WebhookChanges {
            url,
            events,
            active: self.active,
            description,
        })
    }
}

/// The value of `result`, its field errors added to `errors` otherwise.
fn collect<T>(errors: &mut Vec<FieldError>, result: Result<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(DomainError::Invalid(mut more)) => {
            errors.append(&mut more);
            None
        }
        Err(other) => {
            errors.push(FieldError::new("request", other.to_string()));
            None
        }
    }
}

crate::wire_enum::wire_enum!(
    /// Where a delivery stands.
    DeliveryStatus, "status" {
        /// Not delivered yet; tried at `next_attempt_at`.
        Pending = "PENDING",
        /// A 2xx came back.
        Delivered = "DELIVERED",
        /// Given up on after the retry window.
        Failed = "FAILED",
    }
);

/// One event for one endpoint, with its last attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// The endpoint.
    pub webhook_id: i64,
    /// The event's `seq` in the log.
    pub seq: i64,
    /// The event's name.
    pub event: String,
    /// Attempts made so far.
    pub attempt: u32,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// The last attempt's HTTP status.
    pub response_status: Option<u16>,
    /// The last attempt's error.
    pub error: Option<String>,
    /// How long the last attempt took.
    pub duration_ms: Option<i64>,
    /// When it is tried next (while pending).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// After this it is not tried again.
    pub give_up_at: DateTime<Utc>,
    /// The JSON body every attempt sends.
    pub body: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

impl Delivery {
    /// The stable `webhook-id` of the event it carries (the same on every retry).
    pub fn message_id(&self) -> String {
        message_id(self.seq)
    }
}

/// The stable message id of the event at `seq`.
pub fn message_id(seq: i64) -> String {
    format!("evt_{seq}")
}

/// An event queued for an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    /// The event's `seq`.
    pub seq: i64,
    /// The event's name.
    pub event: String,
    /// The JSON body.
    pub body: String,
    /// When it is first tried.
    pub next_attempt_at: DateTime<Utc>,
    /// After this it is not tried again.
    pub give_up_at: DateTime<Utc>,
}

/// A POST to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Where.
    pub url: String,
    /// The Standard Webhooks headers.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: String,
}

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// The response's status, if one came.
    pub response_status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The receiver's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// How long it took.
    pub duration: Duration,
}

impl SendResult {
    /// Whether the endpoint took it (a 2xx).
    pub fn delivered(&self) -> bool {
        self.response_status
            .is_some_and(|s| (200..300).contains(&s))
    }
}

/// The outcome of an attempt as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The delivery.
    pub delivery_id: i64,
    /// Its endpoint.
    pub webhook_id: i64,
    /// What came of it.
    pub result: SendResult,
    /// DELIVERED, PENDING (tried again at `next_attempt_at`) or FAILED.
    pub status: DeliveryStatus,
    /// The next attempt, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// Whether the endpoint is switched off (it has failed for too long).
    pub disable: bool,
}

impl AttemptRecord {
    /// What to record of `result` for `delivery` at `now` under `schedule`; `failing_since`
    /// is the endpoint's.
    pub fn of(
        delivery: &Delivery,
        result: SendResult,
        schedule: &RetrySchedule,
        failing_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        let (status, next_attempt_at, disable) = if result.delivered() {
            (DeliveryStatus::Delivered, None, false)
        } else {
            let failures = delivery.attempt.saturating_add(1);
            let next =
                schedule.next_attempt(failures, result.retry_after, now, delivery.give_up_at);
            let status = if next.is_some() {
                DeliveryStatus::Pending
            } else {
                DeliveryStatus::Failed
            };
            let disable = schedule.disables(failing_since.unwrap_or(now), now);
            (status, next, disable)
        };
        Self {
            delivery_id: delivery.id,
            webhook_id: delivery.webhook_id,
            result,
            status,
            next_attempt_at,
            at: now,
            disable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn events_are_the_websocket_names_or_a_lone_star() {
        assert_eq!(
            EventSelection::parse(&names(&["*"])).ok(),
            Some(EventSelection::All)
        );
        let only = EventSelection::parse(&names(&["new_message", "ticket_created", "new_message"]))
            .expect("known names");
        assert_eq!(only.names(), names(&["new_message", "ticket_created"]));
        assert!(only.wants(EventKind::NewMessage));
        assert!(!only.wants(EventKind::TicketUpdated));
        assert!(EventSelection::All.wants(EventKind::SummaryReady));
        for bad in [&[][..], &["nope"], &["*", "new_message"]] {
            assert!(EventSelection::parse(&names(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_url_must_be_https_unless_http_is_allowed() {
        assert!(check_url("url", "https://example.com/hook", false).is_ok());
        assert!(check_url("url", "http://example.com/hook", false).is_err());
        assert!(check_url("url", "http://example.com/hook", true).is_ok());
        assert!(check_url("url", "ftp://example.com/", true).is_err());
        assert!(check_url("url", "https://exa\0mple.com/", false).is_err());
        assert!(check_url("url", "not a url", false).is_err());
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(check_url("url", &long, false).is_err());
    }

    #[test]
    fn input_errors_name_every_bad_field() {
        let input = WebhookInput {
            url: "http://example.com".into(),
            events: names(&["bogus"]),
            description: Some("a\0b".into()),
        };
        let Err(DomainError::Invalid(errors)) = input.check(false, Utc::now()) else {
            panic!("refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["url", "events", "description"]);
    }

    #[test]
    fn the_old_secret_signs_only_while_its_overlap_lasts() {
        let now = Utc::now();
        let mut hook = Webhook {
            id: 1,
            url: "https://example.com".into(),
            events: EventSelection::All,
            description: None,
            active: true,
            secret: "whsec_new".into(),
            previous_secret: Some("whsec_old".into()),
            previous_secret_until: Some(now + chrono::Duration::hours(1)),
            cursor: 0,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(hook.signing_secrets(now), ["whsec_new", "whsec_old"]);
        hook.previous_secret_until = Some(now);
        assert_eq!(hook.signing_secrets(now), ["whsec_new"]);
    }

    #[test]
    fn a_failed_attempt_is_pending_until_its_window_ends_then_failed() {
        let now = Utc::now();
        let schedule = RetrySchedule::default();
        let delivery = Delivery {
            id: 1,
            webhook_id: 2,
            seq: 3,
            event: "new_message".into(),
            attempt: 0,
            status: DeliveryStatus::Pending,
            response_status: None,
            error: None,
            duration_ms: None,
            next_attempt_at: Some(now),
            give_up_at: now + chrono::Duration::hours(24),
            body: "{}".into(),
            created_at: now,
        };
        let failed = SendResult {
            response_status: Some(503),
            error: None,
            retry_after: None,
            duration: Duration::from_millis(3),
        };
        let record = AttemptRecord::of(&delivery, failed.clone(), &schedule, None, now);
        assert_eq!(record.status, DeliveryStatus::Pending);
        assert_eq!(
            record.next_attempt_at,
            Some(now + chrono::Duration::seconds(5))
        );
        assert!(!record.disable);
        let late = Delivery {
            give_up_at: now,
            ..delivery.clone()
        };
        let record = AttemptRecord::of(&late, failed.clone(), &schedule, None, now);
        assert_eq!(record.status, DeliveryStatus::Failed);
        let long_ago = now - chrono::Duration::days(5);
        assert!(AttemptRecord::of(&delivery, failed, &schedule, Some(long_ago), now).disable);
        let ok = SendResult {
            response_status: Some(204),
            error: None,
            retry_after: None,
            duration: Duration::ZERO,
        };
        let record = AttemptRecord::of(&delivery, ok, &schedule, Some(long_ago), now);
        assert_eq!(record.status, DeliveryStatus::Delivered);
        assert!(!record.disable);
    }
}
