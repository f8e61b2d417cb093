//! The VideoSDK REST client behind [`VideoProvider`].

use crate::config::VideoSdkConfig;
use crate::token::TokenSigner;
use async_trait::async_trait;
use concierge_domain::ports::VideoProvider;
use concierge_domain::video::{JoinToken, Participant, VideoRoom};
use concierge_domain::{DomainError, Result};
use concierge_retry::Retryable;
use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::StatusCode;
use serde::Deserialize;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Path of "create a room" (`POST`, body may carry `customRoomId`, answers `{roomId, ...}`).
const CREATE_ROOM_PATH: &str = "/v2/rooms";
/// Path of "deactivate a room" (`POST`, body `{roomId}`).
const DEACTIVATE_ROOM_PATH: &str = "/v2/rooms/deactivate";
/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How much of a provider's error text is kept in an error message.
const MAX_DETAIL_CHARS: usize = 200;

/// [`VideoProvider`] backed by VideoSDK's v2 REST API.
///
/// Rooms are created and deactivated over HTTP with a short-lived management token; join tokens
/// are signed locally. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct VideoSdkProvider {
    config: VideoSdkConfig,
    signer: TokenSigner,
    http: reqwest::Client,
}

impl fmt::Debug for VideoSdkProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoSdkProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What one attempt came back with.
struct Reply {
    status: StatusCode,
    body: String,
    /// Attempts made to get it.
    attempts: u32,
}

/// An attempt worth repeating (a retryable answer, or none), or a token that cannot be signed.
enum Failed {
    Status {
        reply: Reply,
        asked: Option<Duration>,
    },
    Transport(reqwest::Error),
    Signing(DomainError),
}

/// The answer to "create a room"; other fields are ignored.
#[derive(Deserialize)]
struct CreatedRoom {
    #[serde(rename = "roomId")]
    room_id: Option<String>,
}

impl VideoSdkProvider {
    /// A client for `config`. Fails with `Invalid` when a credential is blank or the base URL
    /// is not an http(s) URL, and with `Unavailable` when no HTTP client can be built.
    pub fn new(mut config: VideoSdkConfig) -> Result<Self> {
        if config.api_key.trim().is_empty() {
            return Err(DomainError::invalid(
                crate::config::ENV_API_KEY,
                "must not be empty",
            ));
        }
        if config.secret_key.is_empty() {
            return Err(DomainError::invalid(
                crate::config::ENV_SECRET_KEY,
                "must not be empty",
            ));
        }
        config.base_url = config.base_url.trim().trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&config.base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => {
                return Err(DomainError::invalid(
                    crate::config::ENV_BASE_URL,
                    "must be an http(s) URL",
                ))
            }
        }
        config.max_attempts = config.max_attempts.max(1);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|err| {
                tracing::error!(error = %err, "could not build the VideoSDK HTTP client");
                DomainError::Unavailable("could not set up the VideoSDK client".to_owned())
            })?;
        let signer = TokenSigner::new(&config.api_key, &config.secret_key);
        Ok(Self {
            config,
            signer,
            http,
        })
    }

    /// The configuration in use (the base URL without its trailing slash).
    pub fn config(&self) -> &VideoSdkConfig {
        &self.config
    }

    /// POSTs `body` to `path`, retrying 5xx, 429, timeouts and connection errors up to
    /// `max_attempts` times (backoff from `concierge-retry`; a `Retry-After` of at most
    /// [`MAX_BACKOFF`] is waited out, a longer one ends the retries). Returns the last answer
    /// (which may still be an error status), or `Unavailable` when no answer came at all.
    async fn post(&self, what: &str, path: &str, body: &serde_json::Value) -> Result<Reply> {
        let url = format!("{}{}", self.config.base_url, path);
        let max_attempts = self.config.max_attempts;
        let policy = concierge_retry::backoff(self.config.retry_backoff, MAX_BACKOFF, max_attempts);
        let attempt = AtomicU32::new(0);
        let outcome = (|| {
            attempt.fetch_add(1, Ordering::Relaxed);
            self.attempt(&url, body)
        })
        .retry(policy)
        .when(|failed: &Failed| !matches!(failed, Failed::Signing(_)))
        .adjust(|failed, next| match failed {
            Failed::Status {
                asked: Some(asked), ..
            } if next.is_some() => (*asked <= MAX_BACKOFF).then_some(*asked),
            _ => next,
        })
        .notify(|failed, _| match failed {
            Failed::Status { reply, .. } => tracing::warn!(
                operation = what,
                status = reply.status.as_u16(),
                attempt = attempt.load(Ordering::Relaxed),
                max_attempts,
                "VideoSDK answered with a retryable status; retrying"
            ),
            Failed::Transport(err) => tracing::warn!(
                operation = what,
                error = %err,
                attempt = attempt.load(Ordering::Relaxed),
                max_attempts,
                "VideoSDK request failed; retrying"
            ),
            Failed::Signing(_) => {}
        })
        .await;
        let attempts = attempt.load(Ordering::Relaxed);
        match outcome {
            Ok(reply) | Err(Failed::Status { reply, .. }) => Ok(Reply { attempts, ..reply }),
            Err(Failed::Signing(err)) => Err(err),
            Err(Failed::Transport(err)) => {
                let reason = if err.is_timeout() {
                    format!("did not answer within {:?}", self.config.timeout)
                } else if err.is_connect() {
                    "could not be reached".to_owned()
                } else {
                    "request failed".to_owned()
                };
                tracing::warn!(
                    operation = what,
                    error = %err,
                    attempts,
                    "VideoSDK request failed; giving up"
                );
                Err(DomainError::Unavailable(format!(
                    "video provider unavailable: VideoSDK {reason} ({what}, {attempts} attempt{})",
                    if attempts == 1 { "" } else { "s" }
                )))
            }
        }
    }

    /// One attempt: a non-retryable answer is `Ok`, a retryable one or no answer is `Err`.
    async fn attempt(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> std::result::Result<Reply, Failed> {
        let mut auth = HeaderValue::from_str(
            &self
                .signer
                .server_token(self.config.server_token_ttl)
                .map_err(Failed::Signing)?,
        )
        .map_err(|_| {
            Failed::Signing(DomainError::Unavailable(
                "could not sign a VideoSDK token".to_owned(),
            ))
        })?;
        auth.set_sensitive(true);
        let response = self
            .http
            .post(url)
            .header(AUTHORIZATION, auth)
            .json(body)
            .send()
            .await
            .map_err(|err| Failed::Transport(err.without_url()))?;
        let status = response.status();
        let asked = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| concierge_retry::retry_after_bytes(v.as_bytes()));
        let body = response
            .text()
            .await
            .map_err(|err| Failed::Transport(err.without_url()))?;
        let reply = Reply {
            status,
            body,
            attempts: 1,
        };
        if is_retryable(status) {
            Err(Failed::Status { reply, asked })
        } else {
            Ok(reply)
        }
    }

    /// The error for a final non-success answer.
    fn failure(&self, what: &str, reply: &Reply) -> DomainError {
        let status = reply.status.as_u16();
        let detail = provider_message(&reply.body);
        tracing::warn!(operation = what, status, detail = %detail, "VideoSDK refused the request");
        let message = if matches!(
            reply.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            format!(
                "video provider unavailable: VideoSDK refused the credentials ({what}: HTTP {status}: {detail}); check VIDEOSDK_API_KEY and VIDEOSDK_SECRET_KEY"
            )
        } else if is_retryable(reply.status) {
            format!(
                "video provider unavailable: VideoSDK is failing ({what}: HTTP {status} after {} attempt{}: {detail})",
                reply.attempts,
                if reply.attempts == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "video provider unavailable: VideoSDK rejected the request ({what}: HTTP {status}: {detail})"
            )
        };
        DomainError::Unavailable(message)
    }
}

#[async_trait]
impl VideoProvider for VideoSdkProvider {
    async fn create_room(&self) -> Result<VideoRoom> {
        // A fresh customRoomId per room, kept across retries: VideoSDK returns the existing room
        // for a customRoomId it already knows, so a retry after a lost answer creates no twin.
        let custom_room_id = format!("concierge-{:032x}", rand::random::<u128>());
        let body = serde_json::json!({ "customRoomId": custom_room_id });
        let reply = self.post("create room", CREATE_ROOM_PATH, &body).await?;
        if !reply.status.is_success() {
            return Err(self.failure("create room", &reply));
        }
        let room_id = serde_json::from_str::<CreatedRoom>(&reply.body)
            .ok()
            .and_then(|created| created.room_id)
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                tracing::warn!(
                    status = reply.status.as_u16(),
                    "VideoSDK's answer to create room has no roomId"
                );
                DomainError::Unavailable(
                    "video provider unavailable: VideoSDK answered create room without a roomId"
                        .to_owned(),
                )
            })?;
        tracing::debug!(room_id = %room_id, "VideoSDK room created");
        Ok(VideoRoom { room_id })
    }

    fn join_token(&self, room_id: &str, participant: &Participant) -> Result<JoinToken> {
        if room_id.trim().is_empty() {
            return Err(DomainError::invalid("roomId", "must not be empty"));
        }
        if participant.id.is_empty() || participant.id.chars().any(char::is_whitespace) {
            return Err(DomainError::invalid(
                "participantId",
                "must be non-empty and without whitespace",
            ));
        }
        let ttl = self.config.join_token_ttl;
        let token = self
            .signer
            .join_token(room_id, &participant.id, participant.is_host, ttl)?;
        Ok(JoinToken {
            token,
            expires_in: ttl,
        })
    }

    async fn end_room(&self, room_id: &str) -> Result<()> {
        if room_id.trim().is_empty() {
            return Err(DomainError::invalid("roomId", "must not be empty"));
        }
        let body = serde_json::json!({ "roomId": room_id });
        let reply = self
            .post("deactivate room", DEACTIVATE_ROOM_PATH, &body)
            .await?;
        if reply.status.is_success() {
            tracing::debug!(room_id = %room_id, "VideoSDK room deactivated");
            return Ok(());
        }
        if is_already_gone(&reply) {
            tracing::debug!(
                room_id = %room_id,
                status = reply.status.as_u16(),
                "VideoSDK room was already gone"
            );
            return Ok(());
        }
        Err(self.failure("deactivate room", &reply))
    }
}

/// 5xx and 429 are worth another attempt.
fn is_retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// A 404, or a client error whose text says the room is unknown or already inactive.
fn is_already_gone(reply: &Reply) -> bool {
    if reply.status == StatusCode::NOT_FOUND {
        return true;
    }
    if !reply.status.is_client_error()
        || matches!(
            reply.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
    {
        return false;
    }
    let text = provider_message(&reply.body).to_lowercase();
    [
        "not found",
        "not exist",
        "already deactivated",
        "already disabled",
        "already inactive",
        "already ended",
        "is inactive",
        "is disabled",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// The provider's own words: `message`, `error` or `msg` of a JSON body, else the text itself,
/// shortened.
fn provider_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            ["message", "error", "msg", "statusMessage"]
                .iter()
                .find_map(|key| match value.get(*key) {
                    Some(serde_json::Value::String(text)) => Some(text.clone()),
                    Some(serde_json::Value::Object(inner)) => inner
                        .get("message")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned),
                    _ => None,
                })
        });
    let text = from_json.unwrap_or_else(|| body.to_owned());
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return "no details".to_owned();
    }
    if text.chars().count() > MAX_DETAIL_CHARS {
        let short: String = text.chars().take(MAX_DETAIL_CHARS).collect();
        format!("{short}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).expect("status"),
            body: body.to_owned(),
            attempts: 1,
        }
    }

    #[test]
    fn provider_message_prefers_json_fields() {
        assert_eq!(
            provider_message(r#"{"message":"Invalid token"}"#),
            "Invalid token"
        );
        assert_eq!(provider_message(r#"{"error":"bad"}"#), "bad");
        assert_eq!(provider_message("plain\n text"), "plain text");
        assert_eq!(provider_message(""), "no details");
        assert!(provider_message(&"x".repeat(500)).ends_with("..."));
    }

    #[test]
    fn already_gone_recognises_not_found_and_inactive() {
        assert!(is_already_gone(&reply(404, "")));
        assert!(is_already_gone(&reply(
            400,
            r#"{"message":"Room not found"}"#
        )));
        assert!(is_already_gone(&reply(
            400,
            r#"{"message":"Room is already deactivated"}"#
        )));
        assert!(!is_already_gone(&reply(
            400,
            r#"{"message":"roomId is required"}"#
        )));
        assert!(!is_already_gone(&reply(401, r#"{"message":"not found"}"#)));
        assert!(!is_already_gone(&reply(500, "not found")));
    }

    #[test]
    fn rejects_blank_credentials_and_bad_urls() {
        assert!(VideoSdkProvider::new(VideoSdkConfig::new("", "s")).is_err());
        assert!(VideoSdkProvider::new(VideoSdkConfig::new("k", "")).is_err());
        assert!(
            VideoSdkProvider::new(VideoSdkConfig::new("k", "s").with_base_url("ftp://x")).is_err()
        );
        assert!(VideoSdkProvider::new(VideoSdkConfig::new("k", "s")).is_ok());
    }
}
