//! Settings of the VideoSDK client.

use concierge_settings::{positive, SettingError};
use std::collections::HashMap;
use std::time::Duration;

/// Environment variable holding the VideoSDK API key (public, goes into every token).
pub const ENV_API_KEY: &str = "VIDEOSDK_API_KEY";
/// Environment variable holding the VideoSDK secret (signs every token, never leaves the server).
pub const ENV_SECRET_KEY: &str = "VIDEOSDK_SECRET_KEY";
/// Environment variable overriding the API's address (tests, self-hosted gateways).
pub const ENV_BASE_URL: &str = "VIDEOSDK_BASE_URL";

/// How to reach VideoSDK and how long its tokens live.
///
/// `Debug` never prints the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoSdkConfig {
    /// The project's API key (the `apikey` claim of every token).
    pub api_key: String,
    /// The project's secret: signs the tokens (HS256). Never sent, never logged.
    pub secret_key: String,
    /// The API's address without a trailing slash; default [`VideoSdkConfig::DEFAULT_BASE_URL`].
    pub base_url: String,
    /// Time limit of one HTTP attempt (connecting, sending and reading the answer).
    pub timeout: Duration,
    /// Attempts per operation: a 5xx, a 429, a timeout or a connection error is retried until
    /// this many attempts were made. `0` is treated as `1`.
    pub max_attempts: u32,
    /// Pause before the first retry, doubled for each further one (capped at 2 s).
    pub retry_backoff: Duration,
    /// Lifetime of the participant (join) tokens handed to clients.
    pub join_token_ttl: Duration,
    /// Lifetime of the management tokens this client signs for its own API calls.
    pub server_token_ttl: Duration,
}

impl VideoSdkConfig {
    /// VideoSDK's public API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.videosdk.live";
    /// Default time limit of one HTTP attempt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default number of attempts per operation.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    /// Default pause before the first retry.
    pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(250);
    /// Default lifetime of a join token (2 hours).
    pub const DEFAULT_JOIN_TOKEN_TTL: Duration = Duration::from_secs(2 * 60 * 60);
    /// Default lifetime of a management token (10 minutes).
    pub const DEFAULT_SERVER_TOKEN_TTL: Duration = Duration::from_secs(10 * 60);

    /// A configuration with the given credentials and every other setting at its default.
    pub fn new(api_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            secret_key: secret_key.into(),
            base_url: Self::DEFAULT_BASE_URL.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            retry_backoff: Self::DEFAULT_RETRY_BACKOFF,
            join_token_ttl: Self::DEFAULT_JOIN_TOKEN_TTL,
            server_token_ttl: Self::DEFAULT_SERVER_TOKEN_TTL,
        }
    }

    /// Replaces the API's address (a trailing slash is dropped).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Reads the process environment; see [`VideoSdkConfig::from_vars`].
    pub fn from_env() -> Result<Option<Self>, SettingError> {
        Self::from_vars(&concierge_settings::process_env())
    }

    /// Reads [`ENV_API_KEY`], [`ENV_SECRET_KEY`], [`ENV_BASE_URL`], `VIDEOSDK_TIMEOUT` (per
    /// attempt), `VIDEOSDK_MAX_ATTEMPTS` and `VIDEOSDK_TOKEN_TTL` (join tokens' lifetime) with
    /// `concierge-settings`. `None` when the key or the secret is missing or blank: the caller
    /// then uses its fallback (calls unavailable). A value that cannot be read is an error
    /// naming its variable.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Option<Self>, SettingError> {
        let env: Env = concierge_settings::load(vars)?;
        let (Some(api_key), Some(secret_key)) = (env.videosdk_api_key, env.videosdk_secret_key)
        else {
            return Ok(None);
        };
        let mut config = Self::new(api_key, secret_key);
        if let Some(base_url) = env.videosdk_base_url {
            config = config.with_base_url(base_url);
        }
        config.timeout = positive("VIDEOSDK_TIMEOUT", env.videosdk_timeout, config.timeout)?;
        config.join_token_ttl = positive(
            "VIDEOSDK_TOKEN_TTL",
            env.videosdk_token_ttl,
            config.join_token_ttl,
        )?;
        config.max_attempts = env
            .videosdk_max_attempts
            .unwrap_or(config.max_attempts)
            .max(1);
        Ok(Some(config))
    }
}

/// The `VIDEOSDK_*` variables (a field is its variable in lower case).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Env {
    videosdk_api_key: Option<String>,
    videosdk_secret_key: Option<String>,
    videosdk_base_url: Option<String>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    videosdk_timeout: Option<Duration>,
    videosdk_max_attempts: Option<u32>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    videosdk_token_ttl: Option<Duration>,
}

concierge_settings::debug_redacted!(VideoSdkConfig {
    api_key,
    base_url,
    timeout,
    max_attempts,
    retry_backoff,
    join_token_ttl,
    server_token_ttl,
} secrets { secret_key });

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_settings::vars;

    #[test]
    fn defaults() {
        let config = VideoSdkConfig::new("key", "secret");
        assert_eq!(config.base_url, "https://api.videosdk.live");
        assert_eq!(config.join_token_ttl, Duration::from_secs(7200));
        assert_eq!(config.server_token_ttl, Duration::from_secs(600));
        assert_eq!(config.max_attempts, 3);
    }

    #[test]
    fn reads_the_environment_names() {
        let config = VideoSdkConfig::from_vars(&vars(&[
            ("VIDEOSDK_API_KEY", "key"),
            ("VIDEOSDK_SECRET_KEY", "secret"),
            ("VIDEOSDK_BASE_URL", "http://127.0.0.1:9/"),
            ("VIDEOSDK_TIMEOUT", "1500ms"),
            ("VIDEOSDK_MAX_ATTEMPTS", "5"),
            ("VIDEOSDK_TOKEN_TTL", "30m"),
        ]))
        .expect("readable")
        .expect("configured");
        assert_eq!(config.timeout, Duration::from_millis(1500));
        assert_eq!(config.max_attempts, 5);
        assert_eq!(config.join_token_ttl, Duration::from_secs(1800));
        assert_eq!(config.api_key, "key");
        assert_eq!(config.secret_key, "secret");
        assert_eq!(config.base_url, "http://127.0.0.1:9");
    }

    #[test]
    fn missing_or_blank_keys_mean_not_configured() {
        assert!(
            VideoSdkConfig::from_vars(&vars(&[("VIDEOSDK_API_KEY", "key")]))
                .expect("readable")
                .is_none()
        );
        assert!(VideoSdkConfig::from_vars(&vars(&[
            ("VIDEOSDK_API_KEY", "key"),
            ("VIDEOSDK_SECRET_KEY", "  "),
        ]))
        .expect("readable")
        .is_none());
        let config = VideoSdkConfig::from_vars(&vars(&[
            ("VIDEOSDK_API_KEY", "key"),
            ("VIDEOSDK_SECRET_KEY", "secret"),
            ("VIDEOSDK_BASE_URL", ""),
        ]))
        .expect("readable")
        .expect("configured");
        assert_eq!(config.base_url, VideoSdkConfig::DEFAULT_BASE_URL);
    }

    #[test]
    fn unreadable_values_name_their_variable() {
        for (name, bad) in [
            ("VIDEOSDK_TIMEOUT", "10"),
            ("VIDEOSDK_TOKEN_TTL", "0"),
            ("VIDEOSDK_MAX_ATTEMPTS", "many"),
        ] {
            let err = VideoSdkConfig::from_vars(&vars(&[
                ("VIDEOSDK_API_KEY", "key"),
                ("VIDEOSDK_SECRET_KEY", "secret"),
                (name, bad),
            ]))
            .expect_err("refused");
            assert_eq!(err.name, name, "{err}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", VideoSdkConfig::new("key", "very-secret-value"));
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
