//! Video and audio rooms for Concierge: the [VideoSDK](https://docs.videosdk.live) provider.
//!
//! [`VideoSdkProvider`] implements the domain's
//! [`VideoProvider`](concierge_domain::ports::VideoProvider) port:
//! - `create_room` calls `POST {base}/v2/rooms` and returns its `roomId`;
//! - `end_room` calls `POST {base}/v2/rooms/deactivate` (an unknown or inactive room is fine);
//! - `join_token` signs a participant token locally (`allow_join`, plus `allow_mod` for hosts).
//!
//! Every REST call carries a short-lived HS256 management token (role `crawler`) in the
//! `Authorization` header, without a `Bearer` prefix. 5xx, 429, timeouts and connection errors
//! are retried a few times; everything that still fails is
//! [`DomainError::Unavailable`](concierge_domain::DomainError::Unavailable) with a message
//! that names the cause. Secrets and tokens are never logged.
//!
//! [`DisabledVideoProvider`] stands in when the credentials are missing
//! ([`VideoSdkConfig::from_env`] returns `None`).

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

mod client;
mod config;
mod disabled;
mod token;

pub use client::VideoSdkProvider;
pub use config::{VideoSdkConfig, ENV_API_KEY, ENV_BASE_URL, ENV_SECRET_KEY};
pub use disabled::DisabledVideoProvider;
pub use token::{
    PERMISSION_ALLOW_JOIN, PERMISSION_ALLOW_MOD, ROLE_CRAWLER, ROLE_RTC, TOKEN_VERSION,
};
