//! The JWTs VideoSDK accepts: HS256, signed with the project's secret, carrying the public API key.
//!
//! Two kinds are minted here, both locally (no network):
//! - management tokens (role `crawler`) for this server's own calls to the v2 REST API;
//! - participant tokens (role `rtc`) that a client SDK joins one room with.

use concierge_domain::{DomainError, Result};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Serialize;
use std::time::Duration;

/// Permission to join a room without waiting to be admitted.
pub const PERMISSION_ALLOW_JOIN: &str = "allow_join";
/// Permission to moderate a room (admit, mute, remove participants).
pub const PERMISSION_ALLOW_MOD: &str = "allow_mod";
/// Role of tokens used with the v2 REST API; such a token cannot run a meeting.
pub const ROLE_CRAWLER: &str = "crawler";
/// Role of tokens used to run a meeting; such a token cannot call the REST API.
pub const ROLE_RTC: &str = "rtc";
/// The token version the v2 APIs expect.
pub const TOKEN_VERSION: u8 = 2;

/// The payload VideoSDK reads. Field names are VideoSDK's.
#[derive(Serialize)]
struct Claims<'a> {
    apikey: &'a str,
    permissions: Vec<&'static str>,
    version: u8,
    #[serde(rename = "roomId", skip_serializing_if = "Option::is_none")]
    room_id: Option<&'a str>,
    #[serde(rename = "participantId", skip_serializing_if = "Option::is_none")]
    participant_id: Option<&'a str>,
    roles: Vec<&'static str>,
    iat: i64,
    exp: i64,
}

/// Signs VideoSDK tokens with one project's credentials.
#[derive(Clone)]
pub(crate) struct TokenSigner {
    api_key: String,
    key: EncodingKey,
}

impl TokenSigner {
    pub(crate) fn new(api_key: &str, secret_key: &str) -> Self {
        Self {
            api_key: api_key.to_owned(),
            key: EncodingKey::from_secret(secret_key.as_bytes()),
        }
    }

    /// A management token for the REST API.
    pub(crate) fn server_token(&self, ttl: Duration) -> Result<String> {
        self.sign(
            vec![PERMISSION_ALLOW_JOIN, PERMISSION_ALLOW_MOD],
            None,
            None,
            vec![ROLE_CRAWLER],
            ttl,
        )
    }

    /// A participant token scoped to one room and one participant id.
    pub(crate) fn join_token(
        &self,
        room_id: &str,
        participant_id: &str,
        is_host: bool,
        ttl: Duration,
    ) -> Result<String> {
        let permissions = if is_host {
            vec![PERMISSION_ALLOW_JOIN, PERMISSION_ALLOW_MOD]
        } else {
            vec![PERMISSION_ALLOW_JOIN]
        };
        self.sign(
            permissions,
            Some(room_id),
            Some(participant_id),
            vec![ROLE_RTC],
            ttl,
        )
    }

    fn sign(
        &self,
        permissions: Vec<&'static str>,
        room_id: Option<&str>,
        participant_id: Option<&str>,
        roles: Vec<&'static str>,
        ttl: Duration,
    ) -> Result<String> {
        let iat = chrono::Utc::now().timestamp();
        let lifetime = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(1);
        let claims = Claims {
            apikey: &self.api_key,
            permissions,
            version: TOKEN_VERSION,
            room_id,
            participant_id,
            roles,
            iat,
            exp: iat.saturating_add(lifetime),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.key).map_err(|err| {
            tracing::error!(error = %err, "could not sign a VideoSDK token");
            DomainError::Unavailable("could not sign a VideoSDK token".to_owned())
        })
    }
}
