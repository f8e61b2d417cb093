//! The service account's JWT assertion and its RSA signing key: the leaf that the
//! configuration's check and the token flow in [`crate::auth`] share.

use crate::error::FcmConfigError;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// The OAuth scope that lets a token send FCM messages.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The assertion's lifetime in seconds (`exp - iat`); Google accepts at most one hour.
pub const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// The claims of the service-account assertion.
#[derive(Debug, Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// Signs one assertion issued at `iat` (seconds since the epoch).
pub(crate) fn sign_assertion(
    key: &EncodingKey,
    client_email: &str,
    token_url: &str,
    iat: i64,
) -> jsonwebtoken::errors::Result<String> {
    let claims = AssertionClaims {
        iss: client_email,
        scope: FCM_SCOPE,
        aud: token_url,
        iat,
        exp: iat + ASSERTION_LIFETIME_SECS,
    };
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key)
}

/// Turns a PEM key into a signing key, proving with a probe signature that the key really
/// signs (a PEM wrapper around garbage parses but cannot sign).
pub(crate) fn signing_key(
    private_key: &str,
    client_email: &str,
    token_url: &str,
) -> Result<EncodingKey, FcmConfigError> {
    if !private_key.contains("-----BEGIN") {
        return Err(FcmConfigError::InvalidPrivateKey(
            "no \"-----BEGIN ...-----\" line found".to_owned(),
        ));
    }
    let key = EncodingKey::from_rsa_pem(private_key.as_bytes())
        .map_err(|e| FcmConfigError::InvalidPrivateKey(e.to_string()))?;
    sign_assertion(&key, client_email, token_url, Utc::now().timestamp())
        .map_err(|e| FcmConfigError::InvalidPrivateKey(format!("it does not sign: {e}")))?;
    Ok(key)
}
