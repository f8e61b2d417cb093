//! The FCM HTTP v1 notifier.
//!
//! `POST {fcm_base_url}/v1/projects/{project_id}/messages:send` with
//! `Authorization: Bearer <access token>` and a body `{"message": Message}` whose fields used
//! here are `token`, `notification.{title, body}`, `data` (string values only),
//! `android.{priority, notification.{channel_id, sound}}` and
//! `apns.{headers["apns-priority"], payload.aps.{sound, thread-id}}`.
//!
//! Errors come back as `{"error": {"code", "message", "status", "details": [...]}}`; a detail of
//! `@type` `type.googleapis.com/google.firebase.fcm.v1.FcmError` carries FCM's `errorCode`
//! (`UNREGISTERED`, `INVALID_ARGUMENT`, `QUOTA_EXCEEDED`, `UNAVAILABLE`, `INTERNAL`,
//! `THIRD_PARTY_AUTH_ERROR`, `SENDER_ID_MISMATCH`), and one of `@type`
//! `type.googleapis.com/google.rpc.BadRequest` lists `fieldViolations[].field`.

use crate::auth::{TokenError, TokenSource};
use crate::config::FcmConfig;
use crate::error::FcmConfigError;
use crate::http::{describe, redact_token, retry_after, truncate};
use async_trait::async_trait;
use concierge_domain::notification::{PushMessage, PushOutcome};
use concierge_domain::ports::PushNotifier;
use concierge_retry::Retryable;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The data key that names the ticket a notification is about.
pub const TICKET_ID_KEY: &str = "ticketId";
/// The longest pause between two in-call attempts.
const MAX_INLINE_BACKOFF: Duration = Duration::from_secs(2);
/// The longest FCM error text kept in a reason.
const MAX_REASON_CHARS: usize = 300;

/// Sends notifications through Firebase Cloud Messaging (HTTP v1 API), authenticated as a
/// service account.
///
/// One `send` is bounded in time: at most `max_attempts` FCM calls for transient failures
/// (5xx, refused connections) with a short backoff, plus one more after a 401 (with a new
/// access token), each limited by `timeout`. Rate limits, `Retry-After` and timeouts are
/// handed back as [`PushOutcome::RetryLater`] at once: the dispatcher owns long backoff.
pub struct FcmNotifier {
    send_url: String,
    http: reqwest::Client,
    tokens: TokenSource,
    max_attempts: u32,
    retry_backoff: Duration,
    android_channel_id: Option<String>,
    last_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for FcmNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmNotifier")
            .field("send_url", &self.send_url)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl FcmNotifier {
    /// Validates `config` (see [`FcmConfig::validate`]: a bad PEM key is a clear
    /// [`FcmConfigError::InvalidPrivateKey`]) and builds the notifier. Makes no network call:
    /// the first access token is fetched by the first send.
    pub fn new(config: FcmConfig) -> Result<Self, FcmConfigError> {
        let key = config.signing_key()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("concierge-push/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FcmConfigError::Http(e.to_string()))?;
        let send_url = format!(
            "{}/v1/projects/{}/messages:send",
            config.base_url(),
            config.project_id
        );
        Ok(Self {
            send_url,
            tokens: TokenSource::new(http.clone(), &config, key),
            http,
            max_attempts: config.max_attempts.max(1),
            retry_backoff: config.retry_backoff,
            android_channel_id: config.android_channel_id.clone(),
            last_error: Mutex::new(None),
        })
    }

    /// The most recent failure of the service (rate limit, outage, refused credentials, ...)
    /// since the last delivered message, as `"<RFC 3339 time>: <reason>"`; `None` when the last
    /// send went through or none failed yet. Invalid device tokens are not service failures
    /// and are not reported here. For `/api/v1/health/advanced`.
    pub fn last_error(&self) -> Option<String> {
        match self.last_error.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The URL messages are posted to.
    pub fn send_url(&self) -> &str {
        &self.send_url
    }

    fn set_last_error(&self, value: Option<String>) {
        match self.last_error.lock() {
            Ok(mut guard) => *guard = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }

    /// Notes the outcome for health reports and logs failures (never the whole device token).
    fn finish(&self, message: &PushMessage, outcome: PushOutcome, reason: &str) -> PushOutcome {
        let device = redact_token(&message.token);
        match &outcome {
            PushOutcome::Delivered => {
                self.set_last_error(None);
                tracing::debug!(device = %device, "FCM accepted the notification");
            }
            PushOutcome::InvalidToken => {
                tracing::info!(device = %device, reason, "FCM says the device token is invalid");
            }
            PushOutcome::RetryLater { after } => {
                self.set_last_error(Some(stamped(reason)));
                tracing::warn!(
                    device = %device,
                    retry_after_secs = after.map(|a| a.as_secs()),
                    reason,
                    "FCM send failed for now; retry later"
                );
            }
            PushOutcome::Rejected { .. } => {
                self.set_last_error(Some(stamped(reason)));
                tracing::warn!(device = %device, reason, "FCM rejected the notification");
            }
        }
        outcome
    }

    /// One FCM call (two when the access token is refused once: a 401 is not counted as an
    /// attempt, and a send renews its token at most once).
    async fn attempt(&self, body: &Value, renewed_token: &AtomicBool) -> Result<(), Failure> {
        loop {
            let access_token = match self.tokens.get().await {
                Ok(token) => token,
                Err(TokenError::Rejected(reason)) => {
                    let outcome = PushOutcome::Rejected {
                        reason: reason.clone(),
                    };
                    return Err(Failure::Final(outcome, reason));
                }
                Err(TokenError::Unavailable { after, reason }) => {
                    return Err(Failure::Final(PushOutcome::RetryLater { after }, reason));
                }
            };
            return match self.post(&access_token, body).await {
                Verdict::Delivered => Ok(()),
                Verdict::InvalidToken(reason) => {
                    Err(Failure::Final(PushOutcome::InvalidToken, reason))
                }
                Verdict::Rejected(reason) => {
                    let outcome = PushOutcome::Rejected {
                        reason: reason.clone(),
                    };
                    Err(Failure::Final(outcome, reason))
                }
                Verdict::Unauthenticated(reason) => {
                    self.tokens.invalidate(&access_token).await;
                    if renewed_token.swap(true, Ordering::Relaxed) {
                        let reason =
                            format!("{reason} (again with a freshly fetched access token)");
                        let outcome = PushOutcome::Rejected {
                            reason: reason.clone(),
                        };
                        return Err(Failure::Final(outcome, reason));
                    }
                    tracing::info!("FCM refused the access token; fetching a new one");
                    continue;
                }
                Verdict::Transient {
                    after,
                    reason,
                    retry_inline,
                } => Err(Failure::Transient {
                    after,
                    reason,
                    retry_inline,
                }),
            };
        }
    }

    /// One POST to FCM with `access_token`.
    async fn post(&self, access_token: &str, body: &Value) -> Verdict {
        let response = match self
            .http
            .post(&self.send_url)
            .bearer_auth(access_token)
            .json(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => return transport_verdict(&e),
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        match response.text().await {
            Ok(text) => classify(status, after, &text),
            Err(e) => transport_verdict(&e),
        }
    }
}

fn stamped(reason: &str) -> String {
    format!("{}: {reason}", chrono::Utc::now().to_rfc3339())
}

fn transport_verdict(error: &reqwest::Error) -> Verdict {
    Verdict::Transient {
        after: None,
        reason: format!("FCM {}", describe(error)),
        // A refused connection never reached FCM and is safe to repeat; after a timeout FCM
        // may have taken the message, so the dispatcher decides.
        retry_inline: error.is_connect() && !error.is_timeout(),
    }
}

#[async_trait]
impl PushNotifier for FcmNotifier {
    async fn send(&self, message: PushMessage) -> PushOutcome {
        let body = message_body(&message, self.android_channel_id.as_deref());
        let renewed_token = AtomicBool::new(false);
        let policy =
            concierge_retry::backoff(self.retry_backoff, MAX_INLINE_BACKOFF, self.max_attempts);
        let sent = (|| self.attempt(&body, &renewed_token))
            .retry(policy)
            .when(|failure: &Failure| {
                matches!(
                    failure,
                    Failure::Transient {
                        after: None,
                        retry_inline: true,
                        ..
                    }
                )
            })
            .notify(|failure, pause| {
                if let Failure::Transient { reason, .. } = failure {
                    tracing::debug!(
                        pause_ms = pause.as_millis() as u64,
                        reason,
                        "FCM failed transiently; retrying once more in this call"
                    );
                }
            })
            .await;
        match sent {
            Ok(()) => self.finish(&message, PushOutcome::Delivered, ""),
            Err(Failure::Final(outcome, reason)) => self.finish(&message, outcome, &reason),
            Err(Failure::Transient { after, reason, .. }) => {
                self.finish(&message, PushOutcome::RetryLater { after }, &reason)
            }
        }
    }

    fn name(&self) -> &'static str {
        "fcm"
    }
}

/// The JSON body of `messages:send` for one message.
pub(crate) fn message_body(message: &PushMessage, android_channel_id: Option<&str>) -> Value {
    let mut android_notification = Map::new();
    if let Some(channel) = android_channel_id {
        android_notification.insert("channel_id".into(), json!(channel));
    }
    android_notification.insert("sound".into(), json!("default"));

    let mut aps = Map::new();
    aps.insert("sound".into(), json!("default"));
    if let Some(ticket) = message.data.get(TICKET_ID_KEY) {
        // Groups a ticket's notifications together in iOS's notification centre.
        aps.insert("thread-id".into(), json!(ticket));
    }

    let mut fields = json!({
        "token": message.token,
        "notification": {
            "title": message.title,
            "body": message.body,
        },
        "android": {
            "priority": "high",
            "notification": android_notification,
        },
        "apns": {
            "headers": { "apns-priority": "10" },
            "payload": { "aps": aps },
        },
    });
    if !message.data.is_empty() {
        if let Some(fields) = fields.as_object_mut() {
            fields.insert("data".into(), json!(message.data));
        }
    }
    json!({ "message": fields })
}

/// How a send's attempt ended when it did not deliver.
enum Failure {
    /// Nothing more to try in this call: the outcome and its reason.
    Final(PushOutcome, String),
    /// A transient failure; another call in this send helps only when `retry_inline` and the
    /// server did not ask for a wait.
    Transient {
        after: Option<Duration>,
        reason: String,
        retry_inline: bool,
    },
}

/// What one FCM answer means for the send loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Delivered,
    InvalidToken(String),
    Rejected(String),
    /// 401: the access token was refused; get a new one and try once more.
    Unauthenticated(String),
    Transient {
        after: Option<Duration>,
        reason: String,
        /// Whether another call within the same send is sensible (5xx, refused connection);
        /// rate limits and timeouts go back to the dispatcher.
        retry_inline: bool,
    },
}

#[derive(Debug, Default, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    error: Option<GoogleError>,
}

#[derive(Debug, Default, Deserialize)]
struct GoogleError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    #[serde(rename = "@type", default)]
    type_url: String,
    #[serde(rename = "errorCode", default)]
    error_code: Option<String>,
    #[serde(rename = "fieldViolations", default)]
    field_violations: Vec<FieldViolation>,
}

#[derive(Debug, Default, Deserialize)]
struct FieldViolation {
    #[serde(default)]
    field: String,
}

const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";

/// Maps an FCM answer (HTTP status, `Retry-After`, body) to a verdict.
pub(crate) fn classify(status: u16, after: Option<Duration>, body: &str) -> Verdict {
    if (200..300).contains(&status) {
        return Verdict::Delivered;
    }
    let error = serde_json::from_str::<ErrorEnvelope>(body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    let fcm_code = error
        .details
        .iter()
        .find(|d| d.type_url == FCM_ERROR_TYPE || d.type_url.ends_with(".FcmError"))
        .and_then(|d| d.error_code.clone())
        .unwrap_or_default();
    let reason = reason_text(status, &error, &fcm_code, body);

    let is = |code: &str| fcm_code == code || error.status == code;
    let about_token = error
        .details
        .iter()
        .flat_map(|d| d.field_violations.iter())
        .any(|v| v.field == "message.token")
        || error.message.to_lowercase().contains("registration token");

    if fcm_code == "UNREGISTERED" || (status == 404 && error.status == "NOT_FOUND") {
        return Verdict::InvalidToken(reason);
    }
    if (status == 400 || is("INVALID_ARGUMENT")) && about_token {
        return Verdict::InvalidToken(reason);
    }
    if status == 401 {
        if fcm_code == "THIRD_PARTY_AUTH_ERROR" {
            // The APNs certificate or web-push key in the Firebase project is wrong; a new
            // OAuth token will not help.
            return Verdict::Rejected(reason);
        }
        return Verdict::Unauthenticated(reason);
    }
    if status == 429 || is("RESOURCE_EXHAUSTED") || is("QUOTA_EXCEEDED") {
        return Verdict::Transient {
            after,
            reason,
            retry_inline: false,
        };
    }
    if status >= 500 || is("UNAVAILABLE") || is("INTERNAL") {
        return Verdict::Transient {
            after,
            reason,
            retry_inline: true,
        };
    }
    if status == 408 {
        return Verdict::Transient {
            after,
            reason,
            retry_inline: false,
        };
    }
    Verdict::Rejected(reason)
}

fn reason_text(status: u16, error: &GoogleError, fcm_code: &str, body: &str) -> String {
    let mut text = format!("FCM answered {status}");
    let codes: Vec<&str> = [error.status.as_str(), fcm_code]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    if !codes.is_empty() {
        text.push(' ');
        text.push_str(&codes.join("/"));
    }
    let message = if error.message.is_empty() {
        body.trim()
    } else {
        error.message.as_str()
    };
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(&truncate(message, MAX_REASON_CHARS));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn google_error(code: u16, status: &str, message: &str, fcm_code: Option<&str>) -> String {
        let details = match fcm_code {
            Some(c) => json!([{ "@type": FCM_ERROR_TYPE, "errorCode": c }]),
            None => json!([]),
        };
        json!({"error": {"code": code, "status": status, "message": message, "details": details}})
            .to_string()
    }

    #[test]
    fn success_is_delivered() {
        assert_eq!(
            classify(200, None, r#"{"name":"projects/p/messages/1"}"#),
            Verdict::Delivered
        );
    }

    #[test]
    fn unregistered_and_bad_tokens_are_invalid_tokens() {
        let cases = [
            (
                404,
                google_error(
                    404,
                    "NOT_FOUND",
                    "Requested entity was not found.",
                    Some("UNREGISTERED"),
                ),
            ),
            (
                400,
                google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "The registration token is not a valid FCM registration token",
                    Some("INVALID_ARGUMENT"),
                ),
            ),
            (
                400,
                json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad",
                    "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                 "fieldViolations": [{"field": "message.token", "description": "bad"}]}]}})
                .to_string(),
            ),
        ];
        for (status, body) in cases {
            assert!(
                matches!(classify(status, None, &body), Verdict::InvalidToken(_)),
                "{body}"
            );
        }
    }

    #[test]
    fn other_bad_requests_are_rejected_with_the_reason() {
        let body = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                         "fieldViolations": [{"field": "message.data[0].value"}]}]}})
        .to_string();
        match classify(400, None, &body) {
            Verdict::Rejected(reason) => {
                assert!(reason.contains("400"), "{reason}");
                assert!(reason.contains("INVALID_ARGUMENT"), "{reason}");
                assert!(reason.contains("message.data[0].value"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let body = google_error(
            403,
            "PERMISSION_DENIED",
            "SenderId mismatch",
            Some("SENDER_ID_MISMATCH"),
        );
        assert!(matches!(classify(403, None, &body), Verdict::Rejected(_)));
        // A 404 that is not Google's NOT_FOUND (e.g. a wrong base URL) must not drop tokens.
        assert!(matches!(
            classify(404, None, "<html>Not Found</html>"),
            Verdict::Rejected(_)
        ));
    }

    #[test]
    fn auth_failures_ask_for_a_new_token_except_third_party_ones() {
        let body = google_error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
            None,
        );
        assert!(matches!(
            classify(401, None, &body),
            Verdict::Unauthenticated(_)
        ));
        let body = google_error(
            401,
            "UNAUTHENTICATED",
            "Auth error from APNS",
            Some("THIRD_PARTY_AUTH_ERROR"),
        );
        assert!(matches!(classify(401, None, &body), Verdict::Rejected(_)));
    }

    #[test]
    fn rate_limits_and_outages_are_transient() {
        let after = Some(Duration::from_secs(7));
        let body = google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded",
            Some("QUOTA_EXCEEDED"),
        );
        assert_eq!(
            classify(429, after, &body),
            Verdict::Transient {
                after,
                reason: "FCM answered 429 RESOURCE_EXHAUSTED/QUOTA_EXCEEDED: Quota exceeded".into(),
                retry_inline: false
            }
        );
        for (code, status) in [(503, "UNAVAILABLE"), (500, "INTERNAL")] {
            let body = google_error(code, status, "try later", Some(status));
            assert!(matches!(
                classify(code, None, &body),
                Verdict::Transient {
                    retry_inline: true,
                    ..
                }
            ));
        }
        assert!(matches!(
            classify(502, None, "<html>bad gateway</html>"),
            Verdict::Transient {
                retry_inline: true,
                ..
            }
        ));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        use concierge_retry::BackoffBuilder;
        let pauses: Vec<_> =
            concierge_retry::backoff(Duration::from_millis(250), MAX_INLINE_BACKOFF, 6)
                .build()
                .collect();
        let ms = Duration::from_millis;
        assert_eq!(pauses, [ms(250), ms(500), ms(1000), ms(2000), ms(2000)]);
    }

    #[test]
    fn the_body_has_every_platform_block() {
        let mut data = BTreeMap::new();
        data.insert(TICKET_ID_KEY.to_owned(), "42".to_owned());
        data.insert("kind".to_owned(), "new_message".to_owned());
        let message = PushMessage {
            token: "device-token".into(),
            title: "New reply".into(),
            body: "Hello".into(),
            data,
        };
        let body = message_body(&message, Some("tickets"));
        assert_eq!(
            body,
            json!({"message": {
                "token": "device-token",
                "notification": {"title": "New reply", "body": "Hello"},
                "data": {"ticketId": "42", "kind": "new_message"},
                "android": {"priority": "high",
                            "notification": {"channel_id": "tickets", "sound": "default"}},
                "apns": {"headers": {"apns-priority": "10"},
                         "payload": {"aps": {"sound": "default", "thread-id": "42"}}}
            }})
        );
        let bare = message_body(
            &PushMessage {
                data: BTreeMap::new(),
                ..message
            },
            None,
        );
        assert!(bare["message"].get("data").is_none());
        assert_eq!(
            bare["message"]["android"]["notification"],
            json!({"sound": "default"})
        );
        assert_eq!(
            bare["message"]["apns"]["payload"]["aps"],
            json!({"sound": "default"})
        );
    }
}
