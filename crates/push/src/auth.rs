//! Google's OAuth 2.0 flow for service accounts ("two-legged OAuth"): sign a JWT assertion
//! with the service account's RSA key, trade it at the token endpoint for a short-lived access
//! token, and keep that token until shortly before it expires.
//!
//! Assertion (RS256, header `{"alg":"RS256","typ":"JWT"}`), claims: `iss` = client email,
//! `scope` = [`FCM_SCOPE`](crate::FCM_SCOPE), `aud` = the token URL, `iat` = now, `exp` = `iat` + 3600 (Google's
//! maximum). Request: `POST token_url` with the form
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`. Answer:
//! `{"access_token": "...", "expires_in": 3599, "token_type": "Bearer"}`, or on failure
//! `{"error": "invalid_grant", "error_description": "..."}`.

use crate::assertion::sign_assertion;
use crate::config::FcmConfig;
use crate::http::{describe, retry_after, truncate};
use chrono::Utc;
use jsonwebtoken::EncodingKey;
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The `grant_type` of the JWT-bearer flow (RFC 7523).
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// A cached access token is replaced this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Assumed lifetime when the token endpoint does not say (`expires_in` missing).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// The endpoint refused the credentials (4xx): only a configuration change helps.
    Rejected(String),
    /// A transient failure (5xx, 429, timeout, connection): try again later.
    Unavailable {
        /// The endpoint's `Retry-After`, if any.
        after: Option<Duration>,
        /// What happened.
        reason: String,
    },
}

#[derive(Debug, Clone)]
struct CachedToken {
    value: String,
    refresh_at: Instant,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct OAuthErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Access tokens for FCM, fetched on demand and shared by all callers.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    client_email: String,
    key: EncodingKey,
    /// Held across a fetch, so concurrent callers wait for one refresh instead of each
    /// starting their own.
    cache: Mutex<Option<CachedToken>>,
}

impl TokenSource {
    pub(crate) fn new(http: reqwest::Client, config: &FcmConfig, key: EncodingKey) -> Self {
        Self {
            http,
            token_url: config.token_url.clone(),
            client_email: config.client_email.clone(),
            key,
            cache: Mutex::new(None),
        }
    }

    /// A valid access token: the cached one while it is fresh, else a new one.
    pub(crate) async fn get(&self) -> Result<String, TokenError> {
        let mut cache = self.cache.lock().await;
        if let Some(token) = cache.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let fresh = self.fetch().await?;
        let value = fresh.value.clone();
        *cache = Some(fresh);
        Ok(value)
    }

    /// Forgets `used` (FCM said it is not valid) unless another caller already replaced it.
    pub(crate) async fn invalidate(&self, used: &str) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|t| t.value == used) {
            *cache = None;
        }
    }

    async fn fetch(&self) -> Result<CachedToken, TokenError> {
        let assertion = sign_assertion(
            &self.key,
            &self.client_email,
            &self.token_url,
            Utc::now().timestamp(),
        )
        .map_err(|e| {
            TokenError::Rejected(format!("cannot sign the service-account assertion: {e}"))
        })?;
        let started = Instant::now();
        let response = self
            .http
            .post(&self.token_url)
            .form(&[
                ("grant_type", JWT_BEARER_GRANT_TYPE),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| TokenError::Unavailable {
                after: None,
                reason: format!("OAuth token endpoint: {}", describe(&e)),
            })?;
        let status = response.status();
        let after = retry_after(response.headers());
        let body = response.text().await.map_err(|e| TokenError::Unavailable {
            after: None,
            reason: format!("OAuth token endpoint: {}", describe(&e)),
        })?;

        if status.is_success() {
            let parsed: TokenResponse =
                serde_json::from_str(&body).map_err(|_| TokenError::Unavailable {
                    after: None,
                    reason: format!(
                        "OAuth token endpoint answered {status} without an access_token"
                    ),
                })?;
            if parsed.access_token.is_empty() {
                return Err(TokenError::Unavailable {
                    after: None,
                    reason: format!("OAuth token endpoint answered {status} with an empty token"),
                });
            }
            let lifetime = parsed
                .expires_in
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_TOKEN_LIFETIME);
            tracing::debug!(
                lifetime_secs = lifetime.as_secs(),
                "fetched an FCM access token"
            );
            return Ok(CachedToken {
                value: parsed.access_token,
                refresh_at: started + fresh_for(lifetime),
            });
        }

        let details: OAuthErrorBody = serde_json::from_str(&body).unwrap_or_default();
        let mut what = status.to_string();
        if let Some(error) = details.error.filter(|e| !e.is_empty()) {
            what.push_str(": ");
            what.push_str(&truncate(&error, 100));
        }
        if let Some(description) = details.error_description.filter(|d| !d.is_empty()) {
            what.push_str(" (");
            what.push_str(&truncate(&description, 200));
            what.push(')');
        }
        if status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
        {
            Err(TokenError::Unavailable {
                after,
                reason: format!("OAuth token endpoint answered {what}"),
            })
        } else {
            Err(TokenError::Rejected(format!(
                "OAuth token endpoint refused the service-account credentials ({what}); \
                 check FIREBASE_CLIENT_EMAIL and FIREBASE_PRIVATE_KEY"
            )))
        }
    }
}

/// How long a token with `lifetime` is used before it is refreshed: until [`REFRESH_MARGIN`]
/// before it expires, but at least half its lifetime (so very short-lived tokens are still
/// cached a little).
fn fresh_for(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(REFRESH_MARGIN).max(lifetime / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_refreshed_a_minute_early_or_at_half_life() {
        assert_eq!(
            fresh_for(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(fresh_for(Duration::from_secs(100)), Duration::from_secs(50));
        assert_eq!(
            fresh_for(Duration::from_secs(1)),
            Duration::from_millis(500)
        );
        assert_eq!(fresh_for(Duration::ZERO), Duration::ZERO);
    }
}
