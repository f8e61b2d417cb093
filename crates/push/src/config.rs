//! Settings of the FCM notifier, from code or from the environment.

use crate::error::FcmConfigError;
use jsonwebtoken::EncodingKey;
use std::collections::HashMap;
use std::time::Duration;

/// Where FCM's HTTP v1 API lives unless `FCM_BASE_URL` says otherwise.
pub const DEFAULT_FCM_BASE_URL: &str = "https://fcm.googleapis.com";
/// Google's OAuth 2.0 token endpoint unless `FCM_TOKEN_URL` says otherwise. It is also the
/// `aud` of the service-account assertion.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// How long one HTTP request (token or send) may take, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times one `send` may call FCM for a transient failure (5xx, refused connection), by
/// default.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 2;
/// The pause before the first in-call retry, by default (doubled for each further one).
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(250);

/// Environment variable: the Firebase project id (the `project_id` of the service-account JSON).
pub const ENV_PROJECT_ID: &str = "FIREBASE_PROJECT_ID";
/// Environment variable: the service account's email (`client_email`).
pub const ENV_CLIENT_EMAIL: &str = "FIREBASE_CLIENT_EMAIL";
/// Environment variable: the service account's PEM private key (`private_key`); literal `\n`
/// sequences are turned into newlines.
pub const ENV_PRIVATE_KEY: &str = "FIREBASE_PRIVATE_KEY";
/// Environment variable: FCM's base URL (default [`DEFAULT_FCM_BASE_URL`]).
pub const ENV_FCM_BASE_URL: &str = "FCM_BASE_URL";
/// Environment variable: the OAuth 2.0 token endpoint (default [`DEFAULT_TOKEN_URL`]).
pub const ENV_TOKEN_URL: &str = "FCM_TOKEN_URL";
/// Environment variable (optional): per-request timeout, a duration (`1500ms`, `10s`; the name
/// is kept from when it was a number of milliseconds).
pub const ENV_TIMEOUT_MS: &str = "FCM_TIMEOUT_MS";
/// Environment variable (optional): attempts per send for transient failures.
pub const ENV_MAX_ATTEMPTS: &str = "FCM_MAX_ATTEMPTS";
/// Environment variable (optional): the Android notification channel to post to.
pub const ENV_ANDROID_CHANNEL_ID: &str = "FCM_ANDROID_CHANNEL_ID";

/// The variables, read with `concierge-settings` (a field is its variable in lower case).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Env {
    firebase_project_id: Option<String>,
    firebase_client_email: Option<String>,
    firebase_private_key: Option<String>,
    fcm_base_url: Option<String>,
    fcm_token_url: Option<String>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    fcm_timeout_ms: Option<Duration>,
    fcm_max_attempts: Option<u32>,
    fcm_android_channel_id: Option<String>,
}

/// How to reach FCM and as whom. `Debug` never prints the private key.
#[derive(Clone)]
pub struct FcmConfig {
    /// The Firebase project that owns the app (`/v1/projects/{project_id}/messages:send`).
    pub project_id: String,
    /// The service account's email: the `iss` of the token assertion.
    pub client_email: String,
    /// The service account's RSA private key in PEM (PKCS#8 `BEGIN PRIVATE KEY`, as Google
    /// issues it, or PKCS#1 `BEGIN RSA PRIVATE KEY`), with real newlines.
    pub private_key: String,
    /// FCM's base URL, without a trailing slash.
    pub fcm_base_url: String,
    /// The OAuth 2.0 token endpoint; also the assertion's `aud`.
    pub token_url: String,
    /// The limit for each HTTP request (token fetch or one FCM call).
    pub timeout: Duration,
    /// How many FCM calls one `send` may make for transient failures (at least 1).
    pub max_attempts: u32,
    /// The pause before the first in-call retry; doubled for each further attempt.
    pub retry_backoff: Duration,
    /// The Android notification channel (`android.notification.channel_id`); omitted when
    /// `None`, so the app's default channel is used.
    pub android_channel_id: Option<String>,
}

concierge_settings::debug_redacted!(FcmConfig {
    project_id,
    client_email,
    fcm_base_url,
    token_url,
    timeout,
    max_attempts,
    retry_backoff,
    android_channel_id,
} secrets { private_key });

impl FcmConfig {
    /// A configuration with Google's endpoints and the default limits. The key is normalised
    /// with [`normalize_private_key`]; nothing is validated until [`FcmConfig::validate`] (which
    /// [`FcmNotifier::new`](crate::FcmNotifier::new) calls).
    pub fn new(
        project_id: impl Into<String>,
        client_email: impl Into<String>,
        private_key: impl AsRef<str>,
    ) -> Self {
        Self {
            project_id: project_id.into().trim().to_owned(),
            client_email: client_email.into().trim().to_owned(),
            private_key: normalize_private_key(private_key.as_ref()),
            fcm_base_url: DEFAULT_FCM_BASE_URL.to_owned(),
            token_url: DEFAULT_TOKEN_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
            android_channel_id: None,
        }
    }

    /// Reads the process environment; see [`FcmConfig::from_vars`].
    pub fn from_env() -> Result<Option<Self>, FcmConfigError> {
        Self::from_vars(&concierge_settings::process_env())
    }

    /// Reads the given variables with `concierge-settings`. `Ok(None)` when none of
    /// `FIREBASE_PROJECT_ID`, `FIREBASE_CLIENT_EMAIL`, `FIREBASE_PRIVATE_KEY` is set (blank
    /// counts as unset): the server then uses the [`LogNotifier`](crate::LogNotifier). Setting
    /// only some of them is an error rather than a silent fallback. The optional variables are
    /// `FCM_BASE_URL`, `FCM_TOKEN_URL`, `FCM_TIMEOUT_MS` (a duration, e.g. `1500ms` or `10s`),
    /// `FCM_MAX_ATTEMPTS` and `FCM_ANDROID_CHANNEL_ID`. The result is not validated yet.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Option<Self>, FcmConfigError> {
        let env: Env = concierge_settings::load(vars)?;
        let (project_id, client_email, private_key) = match (
            env.firebase_project_id,
            env.firebase_client_email,
            env.firebase_private_key,
        ) {
            (None, None, None) => return Ok(None),
            (Some(p), Some(c), Some(k)) => (p, c, k),
            (p, c, _) => {
                let missing = if p.is_none() {
                    ENV_PROJECT_ID
                } else if c.is_none() {
                    ENV_CLIENT_EMAIL
                } else {
                    ENV_PRIVATE_KEY
                };
                return Err(FcmConfigError::Incomplete { missing });
            }
        };
        let mut config = Self::new(project_id, client_email, private_key);
        config.fcm_base_url = env.fcm_base_url.unwrap_or(config.fcm_base_url);
        config.token_url = env.fcm_token_url.unwrap_or(config.token_url);
        config.timeout = env.fcm_timeout_ms.unwrap_or(config.timeout);
        config.max_attempts = env.fcm_max_attempts.unwrap_or(config.max_attempts);
        config.android_channel_id = env.fcm_android_channel_id;
        Ok(Some(config))
    }

    /// Checks every setting: non-empty ids, http(s) URLs, a positive timeout, and a private
    /// key that parses as RSA PEM and can sign (a probe assertion is signed and thrown away).
    pub fn validate(&self) -> Result<(), FcmConfigError> {
        self.signing_key().map(|_| ())
    }

    /// Checks every setting and turns the PEM key into a signing key (see [`Self::validate`]).
    pub(crate) fn signing_key(&self) -> Result<EncodingKey, FcmConfigError> {
        self.check_fields()?;
        crate::assertion::signing_key(&self.private_key, &self.client_email, &self.token_url)
    }

    /// `fcm_base_url` without trailing slashes.
    pub(crate) fn base_url(&self) -> &str {
        self.fcm_base_url.trim_end_matches('/')
    }

    pub(crate) fn check_fields(&self) -> Result<(), FcmConfigError> {
        if self.project_id.trim().is_empty() {
            return Err(FcmConfigError::Missing("project_id"));
        }
        if self.client_email.trim().is_empty() {
            return Err(FcmConfigError::Missing("client_email"));
        }
        if self.private_key.trim().is_empty() {
            return Err(FcmConfigError::Missing("private_key"));
        }
        if self.timeout.is_zero() {
            return Err(FcmConfigError::Missing("timeout"));
        }
        check_url("fcm_base_url", &self.fcm_base_url)?;
        check_url("token_url", &self.token_url)?;
        Ok(())
    }
}

fn check_url(name: &'static str, value: &str) -> Result<(), FcmConfigError> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
        _ => Err(FcmConfigError::InvalidUrl {
            name,
            value: value.to_owned(),
        }),
    }
}

/// Makes a PEM key that went through an environment variable usable again: trims it, drops
/// surrounding quotes, turns literal `\n` (and `\r\n`) sequences into newlines and CRLF into LF.
pub fn normalize_private_key(raw: &str) -> String {
    let mut key = raw.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = key.strip_prefix(quote).and_then(|k| k.strip_suffix(quote)) {
            key = inner.trim();
        }
    }
    let mut key = key
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\r\n", "\n");
    if !key.ends_with('\n') {
        key.push('\n');
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_settings::vars;

    #[test]
    fn literal_backslash_n_becomes_newline() {
        let key = normalize_private_key(
            "\"-----BEGIN PRIVATE KEY-----\\nMIIE\\nAAAA\\n-----END PRIVATE KEY-----\\n\"",
        );
        assert_eq!(
            key,
            "-----BEGIN PRIVATE KEY-----\nMIIE\nAAAA\n-----END PRIVATE KEY-----\n"
        );
        let crlf = normalize_private_key("-----BEGIN X-----\r\nAB\r\n-----END X-----");
        assert_eq!(crlf, "-----BEGIN X-----\nAB\n-----END X-----\n");
    }

    #[test]
    fn nothing_set_means_no_fcm() {
        assert!(FcmConfig::from_vars(&vars(&[]))
            .expect("no error")
            .is_none());
        assert!(FcmConfig::from_vars(&vars(&[(ENV_PROJECT_ID, "  ")]))
            .expect("blank is unset")
            .is_none());
    }

    #[test]
    fn partial_settings_are_an_error() {
        let err = FcmConfig::from_vars(&vars(&[(ENV_PROJECT_ID, "p"), (ENV_PRIVATE_KEY, "k")]))
            .expect_err("incomplete");
        assert!(matches!(
            err,
            FcmConfigError::Incomplete {
                missing: ENV_CLIENT_EMAIL
            }
        ));
        assert!(err.to_string().contains("FIREBASE_CLIENT_EMAIL"));
    }

    #[test]
    fn all_settings_are_read() {
        let config = FcmConfig::from_vars(&vars(&[
            (ENV_PROJECT_ID, "proj"),
            (ENV_CLIENT_EMAIL, "sa@proj.iam.gserviceaccount.com"),
            (
                ENV_PRIVATE_KEY,
                "-----BEGIN PRIVATE KEY-----\\nAA\\n-----END PRIVATE KEY-----",
            ),
            (ENV_FCM_BASE_URL, "http://127.0.0.1:9/"),
            (ENV_TOKEN_URL, "http://127.0.0.1:9/token"),
            (ENV_TIMEOUT_MS, "1500ms"),
            (ENV_MAX_ATTEMPTS, "3"),
            (ENV_ANDROID_CHANNEL_ID, "tickets"),
        ]))
        .expect("valid")
        .expect("configured");
        assert_eq!(config.project_id, "proj");
        assert_eq!(config.base_url(), "http://127.0.0.1:9");
        assert_eq!(config.token_url, "http://127.0.0.1:9/token");
        assert_eq!(config.timeout, Duration::from_millis(1500));
        assert_eq!(config.max_attempts, 3);
        assert_eq!(config.android_channel_id.as_deref(), Some("tickets"));
        assert!(config.private_key.contains("KEY-----\nAA\n"));
        assert!(!format!("{config:?}").contains("AA\n"));
    }

    #[test]
    fn defaults_are_googles_endpoints() {
        let config = FcmConfig::new("p", "e", "k");
        assert_eq!(config.fcm_base_url, DEFAULT_FCM_BASE_URL);
        assert_eq!(config.token_url, DEFAULT_TOKEN_URL);
        assert_eq!(config.max_attempts, DEFAULT_MAX_ATTEMPTS);
    }

    #[test]
    fn bad_numbers_and_urls_are_reported() {
        let err = FcmConfig::from_vars(&vars(&[
            (ENV_PROJECT_ID, "p"),
            (ENV_CLIENT_EMAIL, "e"),
            (ENV_PRIVATE_KEY, "k"),
            (ENV_TIMEOUT_MS, "soon"),
        ]))
        .expect_err("bad duration");
        assert!(err.to_string().contains("FCM_TIMEOUT_MS"));
        for (name, bad) in [(ENV_TIMEOUT_MS, "1500"), (ENV_MAX_ATTEMPTS, "two")] {
            let err = FcmConfig::from_vars(&vars(&[
                (ENV_PROJECT_ID, "p"),
                (ENV_CLIENT_EMAIL, "e"),
                (ENV_PRIVATE_KEY, "k"),
                (name, bad),
            ]))
            .expect_err("refused");
            assert!(
                matches!(&err, FcmConfigError::Setting(e) if e.name == name),
                "{err}"
            );
        }
        let mut config = FcmConfig::new("p", "e", "k");
        config.token_url = "not a url".into();
        assert!(matches!(
            config.check_fields(),
            Err(FcmConfigError::InvalidUrl {
                name: "token_url",
                ..
            })
        ));
    }

    #[test]
    fn garbage_keys_are_refused_with_a_clear_error() {
        let config = FcmConfig::new("p", "sa@p.iam.gserviceaccount.com", "not a key");
        let err = config.signing_key().expect_err("refused");
        assert!(matches!(err, FcmConfigError::InvalidPrivateKey(_)));
        assert!(err.to_string().contains("FIREBASE_PRIVATE_KEY"));

        let config = FcmConfig::new(
            "p",
            "sa@p.iam.gserviceaccount.com",
            "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----",
        );
        let err = config.signing_key().expect_err("refused");
        assert!(matches!(err, FcmConfigError::InvalidPrivateKey(_)));
    }
}
