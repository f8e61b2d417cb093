//! # concierge-push
//!
//! Push notifications for Concierge, behind the domain's
//! [`PushNotifier`](concierge_domain::ports::PushNotifier) port:
//!
//! * [`FcmNotifier`]: Firebase Cloud Messaging over the HTTP v1 API, authenticated as a
//!   service account (an RS256 JWT assertion traded for an OAuth 2.0 access token, cached and
//!   refreshed a minute before it expires). FCM's answers become
//!   [`PushOutcome`](concierge_domain::notification::PushOutcome)s: delivered, invalid token
//!   (forget it), retry later (with `Retry-After`), or rejected.
//! * [`LogNotifier`]: the fallback when `FIREBASE_*` is not set; it logs and says delivered.
//!
//! Wiring, as the server does it:
//!
//! ```no_run
//! use std::sync::Arc;
//! use concierge_domain::ports::PushNotifier;
//! use concierge_push::{FcmConfig, FcmNotifier, LogNotifier};
//!
//! # fn main() -> Result<(), concierge_push::FcmConfigError> {
//! let push: Arc<dyn PushNotifier> = match FcmConfig::from_env()? {
//!     Some(config) => Arc::new(FcmNotifier::new(config)?),
//!     None => Arc::new(LogNotifier),
//! };
//! # let _ = push;
//! # Ok(())
//! # }
//! ```
//!
//! The crate's README lists the FCM and OAuth fields it relies on, with their sources.

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

mod assertion;
mod auth;
mod config;
mod error;
mod fcm;
mod http;
mod log;

pub use assertion::{ASSERTION_LIFETIME_SECS, FCM_SCOPE};
pub use auth::{JWT_BEARER_GRANT_TYPE, REFRESH_MARGIN};
pub use config::{
    normalize_private_key, FcmConfig, DEFAULT_FCM_BASE_URL, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_BACKOFF, DEFAULT_TIMEOUT, DEFAULT_TOKEN_URL, ENV_ANDROID_CHANNEL_ID,
    ENV_CLIENT_EMAIL, ENV_FCM_BASE_URL, ENV_MAX_ATTEMPTS, ENV_PRIVATE_KEY, ENV_PROJECT_ID,
    ENV_TIMEOUT_MS, ENV_TOKEN_URL,
};
pub use error::FcmConfigError;
pub use fcm::{FcmNotifier, TICKET_ID_KEY};
pub use log::LogNotifier;
