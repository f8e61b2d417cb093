//! Errors raised while setting up a notifier. Sending never errors: it answers a
//! [`PushOutcome`](concierge_domain::notification::PushOutcome).

/// Why an FCM notifier could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum FcmConfigError {
    /// A required setting is empty.
    #[error("{0} is empty")]
    Missing(&'static str),
    /// Some `FIREBASE_*` variables are set and others are not.
    #[error(
        "incomplete Firebase configuration: {missing} is not set while other FIREBASE_* variables are \
         (set all of FIREBASE_PROJECT_ID, FIREBASE_CLIENT_EMAIL, FIREBASE_PRIVATE_KEY, or none)"
    )]
    Incomplete {
        /// The first variable that is missing.
        missing: &'static str,
    },
    /// The private key is not a usable RSA private key in PEM form.
    #[error(
        "FIREBASE_PRIVATE_KEY is not a usable RSA private key in PEM form \
         (expected \"-----BEGIN PRIVATE KEY-----\" as in the service-account JSON): {0}"
    )]
    InvalidPrivateKey(String),
    /// A URL setting does not parse or is not http(s).
    #[error("{name} is not a valid http(s) URL: {value}")]
    InvalidUrl {
        /// The setting's name.
        name: &'static str,
        /// What it was set to.
        value: String,
    },
    /// A variable cannot be read (a number or a duration); the error names it.
    #[error(transparent)]
    Setting(#[from] concierge_settings::SettingError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}
