//! Configuration from the environment (and a `.env` file, loaded by `main`), read with
//! `concierge-settings` like every other crate's. Names follow ../shared/DESIGN.md;
//! docs/operations.md lists every variable.

use std::collections::HashMap;
use std::time::Duration;

/// Everything the server needs to start.
#[derive(Clone)]
pub struct Config {
    /// Address to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Connections in the database pool.
    pub db_pool_size: u32,
    /// How long a request waits for a pooled connection.
    pub db_connect_timeout: Duration,
    /// The HS256 key for tokens.
    pub jwt_secret: String,
    /// Whether `jwt_secret` was generated because none was set.
    pub jwt_secret_generated: bool,
    /// Staff token lifetime.
    pub jwt_expiration: Duration,
    /// Donor token lifetime.
    pub donor_token_expiration: Duration,
    /// How long the user behind a staff token is trusted without reading it again
    /// (`SESSION_CACHE_TTL`; 0 reads it on every request).
    pub session_cache_ttl: Duration,
    /// bcrypt cost for new hashes.
    pub bcrypt_cost: u32,
    /// Login name of the first super admin.
    pub super_admin_username: String,
    /// Its password; one is generated and printed once when unset.
    pub super_admin_password: Option<String>,
    /// Login name of the admin seeded from `admin_password`.
    pub admin_username: String,
    /// When set, an ADMIN `admin_username` is created if missing.
    pub admin_password: Option<String>,
    /// Whether `POST /auth/register` is open.
    pub allow_signup: bool,
    /// The largest JSON body accepted (also the optional JSON bodies read as raw bytes).
    pub max_json_bytes: usize,
    /// The longest a request's whole body may take to arrive (`BODY_READ_TIMEOUT`, default
    /// 60 s); then 408.
    pub body_read_timeout: Duration,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// `production` refuses unsafe defaults.
    pub production: bool,
    /// VideoSDK (`VIDEOSDK_*`); `None`: calls answer 503 (video is not configured).
    pub video: Option<concierge_video::VideoSdkConfig>,
    /// Log filter (`info`, `concierge_server=debug,info`, ...).
    pub log_level: String,
    /// The OpenAI-compatible analyzer (`OPENAI_*`); `None`: the local analyzer only.
    pub openai: Option<concierge_ai::OpenAiConfig>,
    /// Regenerate a ticket's summary after this many new messages (0: never).
    pub summary_every_n_messages: u32,
    /// WebSocket tunables.
    pub realtime: crate::realtime::RealtimeConfig,
    /// Rate limits (RATE_LIMIT_*, TRUSTED_PROXIES).
    pub limits: crate::limits::LimitConfig,
    /// Origins allowed to call from a browser (CORS_ORIGINS, else FRONTEND_URL), checked to be
    /// `scheme://host[:port]` or `*`.
    pub cors_origins: Vec<String>,
    /// JSON log lines (LOG_FORMAT=json; the default in production).
    pub json_logs: bool,
    /// Where uploaded files are stored (`UPLOAD_DIR`, default `data/uploads`).
    pub upload_dir: std::path::PathBuf,
    /// The most files per message (`MAX_FILES_PER_MESSAGE`, default 5).
    pub max_files_per_message: usize,
    /// The largest file in bytes (`MAX_FILE_BYTES`, default 10 MiB).
    pub max_file_bytes: u64,
    /// FCM credentials (FIREBASE_*); `None` sends pushes to the log only.
    pub fcm: Option<concierge_push::FcmConfig>,
    /// The key an integrating app vouches for a donor id with (`DONOR_IDENTITY_SECRET`):
    /// `donorIdHash` = hex HMAC-SHA256(key, donorId). `None`: `donorIdHash` is ignored.
    pub donor_identity_secret: Option<String>,
    /// The bearer token `/metrics` asks for (`METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// A separate address serving `/metrics` (`METRICS_ADDR`, e.g. `127.0.0.1:9100`); when set,
    /// the main address does not serve it.
    pub metrics_addr: Option<String>,
    /// The push dispatcher's lease and retries (PUSH_*).
    pub push: crate::followers::push::PushSettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs: only their presence is shown.
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &concierge_store::redact_url(&self.database_url))
            .field("db_pool_size", &self.db_pool_size)
            .field("jwt_secret", &"<redacted>")
            .field("jwt_expiration", &self.jwt_expiration)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("allow_signup", &self.allow_signup)
            .field("production", &self.production)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

use concierge_settings::positive;
pub use concierge_settings::SettingError as ConfigError;

fn err(name: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(name, message)
}

/// The shortest JWT secret accepted in production, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The server's variables, as `concierge-settings` reads them (a field is its variable in lower
/// case; durations are humantime's: `500ms`, `30s`, `15m`, `24h`, `30d`).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Env {
    concierge_env: Option<String>,
    app_env: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    database_url: Option<String>,
    db_pool_size: Option<u32>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    db_connect_timeout: Option<Duration>,
    jwt_secret: Option<String>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    jwt_expiration: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    donor_token_expiration: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    session_cache_ttl: Option<Duration>,
    bcrypt_cost: Option<u32>,
    super_admin_username: Option<String>,
    super_admin_password: Option<String>,
    admin_username: Option<String>,
    admin_password: Option<String>,
    allow_signup: Option<bool>,
    max_json_bytes: Option<usize>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    body_read_timeout: Option<Duration>,
    workers: Option<usize>,
    log_level: Option<String>,
    log_format: Option<String>,
    summary_every_n_messages: Option<u32>,
    cors_origins: Option<String>,
    frontend_url: Option<String>,
    upload_dir: Option<String>,
    max_files_per_message: Option<usize>,
    max_file_bytes: Option<u64>,
    donor_identity_secret: Option<String>,
    metrics_token: Option<String>,
    metrics_addr: Option<String>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    push_lease: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    push_retry_for: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    push_retry_backoff: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    push_retry_max_backoff: Option<Duration>,
    trusted_proxies: Option<String>,
    rate_limit_login_ip: Option<u32>,
    rate_limit_login_account_ip: Option<u32>,
    rate_limit_login_account: Option<u32>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    rate_limit_login_delay_max: Option<Duration>,
    rate_limit_register: Option<u32>,
    rate_limit_donor_queries: Option<u32>,
    rate_limit_requests: Option<u32>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    ws_auth_timeout: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    ws_ping_interval: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    ws_idle_timeout: Option<Duration>,
    ws_queue_capacity: Option<usize>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    ws_send_timeout: Option<Duration>,
    ws_max_frame_bytes: Option<usize>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    event_poll_interval: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    ws_join_grace: Option<Duration>,
    ws_messages_per_second: Option<u32>,
    ws_replay_events_per_second: Option<u32>,
    ws_relays_per_second: Option<u32>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(concierge_settings::process_env())
    }

    /// Reads the given variables (tests pass their own).
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let env: Env = concierge_settings::load(&vars)?;
        let realtime = realtime(&env)?;
        let limits = limits(&env)?;
        let push = push(&env)?;
        let production = matches!(
            env.concierge_env.as_deref().or(env.app_env.as_deref()),
            Some("production" | "prod")
        );
        let (jwt_secret, jwt_secret_generated) = match env.jwt_secret {
            Some(secret) if production && secret.len() < MIN_SECRET_BYTES => {
                return Err(err(
                    "JWT_SECRET",
                    format!("must be at least {MIN_SECRET_BYTES} bytes in production"),
                ))
            }
            Some(secret) => (secret, false),
            None if production => return Err(err("JWT_SECRET", "must be set in production")),
            None => (random_secret(), true),
        };
        let donor_identity_secret = env.donor_identity_secret;
        if production
            && donor_identity_secret
                .as_ref()
                .is_some_and(|s| s.len() < MIN_SECRET_BYTES)
        {
            return Err(err(
                "DONOR_IDENTITY_SECRET",
                format!("must be at least {MIN_SECRET_BYTES} bytes in production"),
            ));
        }
        let metrics_token = env.metrics_token;
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(err("METRICS_TOKEN", "must be at least 16 characters"));
        }
        let bcrypt_cost = env.bcrypt_cost.unwrap_or(12);
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(err("BCRYPT_COST", "must be between 4 and 31"));
        }
        let cors_origins = match (&env.cors_origins, &env.frontend_url) {
            (Some(list), _) => origins("CORS_ORIGINS", list)?,
            (None, Some(url)) => origins("FRONTEND_URL", url)?,
            (None, None) => vec![],
        };
        Ok(Self {
            host: env.host.unwrap_or_else(|| "0.0.0.0".to_string()),
            port: env.port.unwrap_or(3000),
            database_url: env
                .database_url
                .unwrap_or_else(|| "sqlite://data/concierge.db".to_string()),
            db_pool_size: env.db_pool_size.unwrap_or(10).max(1),
            db_connect_timeout: positive(
                "DB_CONNECT_TIMEOUT",
                env.db_connect_timeout,
                Duration::from_secs(5),
            )?,
            jwt_secret,
            jwt_secret_generated,
            jwt_expiration: positive(
                "JWT_EXPIRATION",
                env.jwt_expiration,
                Duration::from_secs(24 * 3600),
            )?,
            donor_token_expiration: positive(
                "DONOR_TOKEN_EXPIRATION",
                env.donor_token_expiration,
                Duration::from_secs(30 * 24 * 3600),
            )?,
            // 0 is allowed here: the user is read on every request.
            session_cache_ttl: env.session_cache_ttl.unwrap_or(Duration::from_secs(2)),
            bcrypt_cost,
            super_admin_username: env.super_admin_username.unwrap_or_else(|| "admin".into()),
            super_admin_password: env.super_admin_password,
            admin_username: env.admin_username.unwrap_or_else(|| "manager".into()),
            admin_password: env.admin_password,
            allow_signup: env.allow_signup.unwrap_or(false),
            max_json_bytes: env.max_json_bytes.unwrap_or(1024 * 1024),
            body_read_timeout: positive(
                "BODY_READ_TIMEOUT",
                env.body_read_timeout,
                crate::edge::DEFAULT_BODY_READ_TIMEOUT,
            )?,
            workers: env.workers.unwrap_or(0),
            production,
            video: concierge_video::VideoSdkConfig::from_vars(&vars)?,
            log_level: env.log_level.unwrap_or_else(|| "info".to_string()),
            openai: concierge_ai::OpenAiConfig::from_vars(&vars)?,
            summary_every_n_messages: env.summary_every_n_messages.unwrap_or(0),
            realtime,
            limits,
            cors_origins,
            json_logs: match env.log_format.as_deref() {
                Some("json") => true,
                Some("text" | "pretty") => false,
                Some(other) => {
                    return Err(err("LOG_FORMAT", format!("{other:?} is not json or text")))
                }
                None => production,
            },
            upload_dir: env
                .upload_dir
                .unwrap_or_else(|| "data/uploads".to_string())
                .into(),
            max_files_per_message: env
                .max_files_per_message
                .unwrap_or(concierge_domain::attachment::MAX_FILES_PER_MESSAGE)
                .max(1),
            max_file_bytes: env
                .max_file_bytes
                .unwrap_or(concierge_domain::attachment::MAX_FILE_BYTES)
                .max(1),
            donor_identity_secret,
            push,
            fcm: concierge_push::FcmConfig::from_vars(&vars).map_err(|e| match e {
                concierge_push::FcmConfigError::Setting(e) => e,
                other => err("FIREBASE_*", other.to_string()),
            })?,
            metrics_token,
            metrics_addr: env.metrics_addr,
        })
    }
}

/// A comma-separated list of origins (`scheme://host[:port]`, or `*` for any); a trailing
/// slash is dropped.
fn origins(name: &str, list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(|o| o.trim().trim_end_matches('/'))
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let uri: Option<actix_web::http::Uri> = origin.parse().ok();
            let fine = origin == "*"
                || uri.is_some_and(|u| {
                    matches!(u.scheme_str(), Some("http" | "https"))
                        && u.host().is_some()
                        && u.path_and_query()
                            .is_none_or(|p| p.as_str().is_empty() || p.as_str() == "/")
                });
            if fine {
                Ok(origin.to_string())
            } else {
                Err(err(
                    name,
                    format!("{origin:?} is not an origin like https://desk.example.org"),
                ))
            }
        })
        .collect()
}

/// PUSH_LEASE (at most an hour), PUSH_RETRY_FOR (at most 30 days), PUSH_RETRY_BACKOFF and
/// PUSH_RETRY_MAX_BACKOFF (at least the backoff).
fn push(env: &Env) -> Result<crate::followers::push::PushSettings, ConfigError> {
    let d = crate::followers::push::PushSettings::default();
    let lease = positive("PUSH_LEASE", env.push_lease, d.lease)?;
    if lease > Duration::from_secs(3600) {
        return Err(err("PUSH_LEASE", "must be at most 1h"));
    }
    let retry_for = positive("PUSH_RETRY_FOR", env.push_retry_for, d.retry_for)?;
    if retry_for > Duration::from_secs(30 * 86_400) {
        return Err(err("PUSH_RETRY_FOR", "must be at most 30d"));
    }
    let backoff = positive("PUSH_RETRY_BACKOFF", env.push_retry_backoff, d.backoff)?;
    let max_backoff = positive(
        "PUSH_RETRY_MAX_BACKOFF",
        env.push_retry_max_backoff,
        d.max_backoff.max(backoff),
    )?;
    if max_backoff < backoff {
        return Err(err(
            "PUSH_RETRY_MAX_BACKOFF",
            "must be at least PUSH_RETRY_BACKOFF",
        ));
    }
    Ok(crate::followers::push::PushSettings {
        lease,
        retry_for,
        backoff,
        max_backoff,
    })
}

fn limits(env: &Env) -> Result<crate::limits::LimitConfig, ConfigError> {
    let d = crate::limits::LimitConfig::default();
    let trusted_proxies = match &env.trusted_proxies {
        None => vec![],
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse()
                    .map_err(|_| err("TRUSTED_PROXIES", format!("{p:?} is not an IP address")))
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(crate::limits::LimitConfig {
        login_failures_per_ip: env.rate_limit_login_ip.unwrap_or(d.login_failures_per_ip),
        login_failures_per_account_ip: env
            .rate_limit_login_account_ip
            .unwrap_or(d.login_failures_per_account_ip),
        login_failures_per_account: env
            .rate_limit_login_account
            .unwrap_or(d.login_failures_per_account),
        login_delay_max: positive(
            "RATE_LIMIT_LOGIN_DELAY_MAX",
            env.rate_limit_login_delay_max,
            d.login_delay_max,
        )?,
        registrations_per_ip: env.rate_limit_register.unwrap_or(d.registrations_per_ip),
        donor_queries_per_ip: env
            .rate_limit_donor_queries
            .unwrap_or(d.donor_queries_per_ip),
        requests_per_ip: env.rate_limit_requests.unwrap_or(d.requests_per_ip),
        trusted_proxies,
    })
}

fn realtime(env: &Env) -> Result<crate::realtime::RealtimeConfig, ConfigError> {
    let d = crate::realtime::RealtimeConfig::default();
    Ok(crate::realtime::RealtimeConfig {
        auth_timeout: positive("WS_AUTH_TIMEOUT", env.ws_auth_timeout, d.auth_timeout)?,
        ping_interval: positive("WS_PING_INTERVAL", env.ws_ping_interval, d.ping_interval)?,
        idle_timeout: positive("WS_IDLE_TIMEOUT", env.ws_idle_timeout, d.idle_timeout)?,
        queue_capacity: env.ws_queue_capacity.unwrap_or(d.queue_capacity).max(1),
        send_timeout: positive("WS_SEND_TIMEOUT", env.ws_send_timeout, d.send_timeout)?,
        max_frame_bytes: env.ws_max_frame_bytes.unwrap_or(d.max_frame_bytes).max(256),
        poll_interval: positive(
            "EVENT_POLL_INTERVAL",
            env.event_poll_interval,
            d.poll_interval,
        )?,
        join_grace: positive("WS_JOIN_GRACE", env.ws_join_grace, d.join_grace)?,
        limits: crate::realtime::limits::SocketLimits {
            messages_per_second: env
                .ws_messages_per_second
                .unwrap_or(d.limits.messages_per_second)
                .max(1),
            replay_events_per_second: env
                .ws_replay_events_per_second
                .unwrap_or(d.limits.replay_events_per_second)
                .max(1),
            relays_per_second: env
                .ws_relays_per_second
                .unwrap_or(d.limits.relays_per_second)
                .max(1),
        },
    })
}

fn random_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 48)
}

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_settings::vars;

    #[test]
    fn defaults_run_on_embedded_sqlite() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(c.database_url, "sqlite://data/concierge.db");
        assert_eq!((c.port, c.super_admin_username.as_str()), (3000, "admin"));
        assert!(c.jwt_secret_generated && !c.allow_signup);
    }

    #[test]
    fn production_refuses_a_missing_or_short_secret() {
        assert!(Config::from_vars(vars(&[("CONCIERGE_ENV", "production")])).is_err());
        assert!(Config::from_vars(vars(&[
            ("CONCIERGE_ENV", "production"),
            ("JWT_SECRET", "short")
        ]))
        .is_err());
    }

    #[test]
    fn durations_take_units() {
        let c = Config::from_vars(vars(&[("JWT_EXPIRATION", "15m")])).unwrap();
        assert_eq!(c.jwt_expiration, Duration::from_secs(900));
        assert!(Config::from_vars(vars(&[("JWT_EXPIRATION", "soon")])).is_err());
        let c = Config::from_vars(vars(&[("EVENT_POLL_INTERVAL", "100ms")])).unwrap();
        assert_eq!(c.realtime.poll_interval, Duration::from_millis(100));
    }

    #[test]
    fn the_donor_identity_secret_is_optional_and_long_in_production() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert!(c.donor_identity_secret.is_none());
        let long = "k".repeat(MIN_SECRET_BYTES);
        let jwt = "j".repeat(MIN_SECRET_BYTES);
        let production = |secret: &str| {
            Config::from_vars(vars(&[
                ("CONCIERGE_ENV", "production"),
                ("JWT_SECRET", &jwt),
                ("DONOR_IDENTITY_SECRET", secret),
            ]))
        };
        assert!(production("short").is_err());
        assert_eq!(
            production(&long).unwrap().donor_identity_secret.as_deref(),
            Some(long.as_str())
        );
    }

    #[test]
    fn metrics_are_off_unless_a_token_or_an_address_is_set() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert!(c.metrics_token.is_none() && c.metrics_addr.is_none());
        assert!(Config::from_vars(vars(&[("METRICS_TOKEN", "short")])).is_err());
        let c = Config::from_vars(vars(&[("METRICS_TOKEN", "a-long-enough-token")])).unwrap();
        assert_eq!(c.metrics_token.as_deref(), Some("a-long-enough-token"));
        assert!(!format!("{c:?}").contains("a-long-enough-token"));
    }

    #[test]
    fn push_timing_defaults_to_a_short_lease_and_hours_of_retries() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(c.push, crate::followers::push::PushSettings::default());
        assert_eq!(c.push.lease, Duration::from_secs(10));
        assert_eq!(c.push.retry_for, Duration::from_secs(6 * 3600));
        let c = Config::from_vars(vars(&[
            ("PUSH_LEASE", "2s"),
            ("PUSH_RETRY_FOR", "90m"),
            ("PUSH_RETRY_BACKOFF", "100ms"),
            ("PUSH_RETRY_MAX_BACKOFF", "1s"),
        ]))
        .unwrap();
        assert_eq!(
            (c.push.lease, c.push.retry_for),
            (Duration::from_secs(2), Duration::from_secs(5400))
        );
        assert_eq!(
            (c.push.backoff, c.push.max_backoff),
            (Duration::from_millis(100), Duration::from_secs(1))
        );
        for bad in [
            ("PUSH_LEASE", "2h"),
            ("PUSH_RETRY_FOR", "60d"),
            ("PUSH_RETRY_FOR", "0"),
            ("PUSH_RETRY_BACKOFF", "soon"),
        ] {
            let e = Config::from_vars(vars(&[bad])).expect_err("refused");
            assert_eq!(e.name, bad.0);
        }
        let e = Config::from_vars(vars(&[
            ("PUSH_RETRY_BACKOFF", "10s"),
            ("PUSH_RETRY_MAX_BACKOFF", "1s"),
        ]))
        .expect_err("refused");
        assert_eq!(e.name, "PUSH_RETRY_MAX_BACKOFF");
    }

    /// Every duration variable of every crate, read through the server's configuration.
    const DURATIONS: [&str; 20] = [
        "DB_CONNECT_TIMEOUT",
        "JWT_EXPIRATION",
        "DONOR_TOKEN_EXPIRATION",
        "SESSION_CACHE_TTL",
        "BODY_READ_TIMEOUT",
        "PUSH_LEASE",
        "PUSH_RETRY_FOR",
        "PUSH_RETRY_BACKOFF",
        "PUSH_RETRY_MAX_BACKOFF",
        "RATE_LIMIT_LOGIN_DELAY_MAX",
        "WS_AUTH_TIMEOUT",
        "WS_PING_INTERVAL",
        "WS_IDLE_TIMEOUT",
        "WS_SEND_TIMEOUT",
        "EVENT_POLL_INTERVAL",
        "WS_JOIN_GRACE",
        "VIDEOSDK_TIMEOUT",
        "VIDEOSDK_TOKEN_TTL",
        "OPENAI_TIMEOUT",
        "FCM_TIMEOUT_MS",
    ];

    /// The adapters' variables, so that their settings are read too.
    fn with_adapters<'a>(pairs: &[(&'a str, &'a str)]) -> HashMap<String, String> {
        let mut all = vec![
            ("VIDEOSDK_API_KEY", "key"),
            ("VIDEOSDK_SECRET_KEY", "secret"),
            ("OPENAI_API_KEY", "sk"),
            ("FIREBASE_PROJECT_ID", "p"),
            ("FIREBASE_CLIENT_EMAIL", "e"),
            ("FIREBASE_PRIVATE_KEY", "k"),
        ];
        all.extend_from_slice(pairs);
        vars(&all)
    }

    #[test]
    fn every_duration_is_written_one_way_and_a_bad_one_is_named() {
        for name in DURATIONS {
            let c = Config::from_vars(with_adapters(&[(name, "1500ms")]));
            assert!(c.is_ok(), "{name}: {:?}", c.err());
            for bad in ["15", "soon", "3 parsecs"] {
                let e = Config::from_vars(with_adapters(&[(name, bad)])).expect_err(bad);
                assert_eq!(e.name, name, "{bad}: {e}");
                assert!(e.to_string().starts_with(name), "{e}");
            }
        }
        let c = Config::from_vars(with_adapters(&[
            ("OPENAI_TIMEOUT", "2m"),
            ("FCM_TIMEOUT_MS", "1500ms"),
            ("VIDEOSDK_TOKEN_TTL", "1h 30m"),
        ]))
        .unwrap();
        let openai = c.openai.unwrap();
        assert_eq!(openai.timeout, Duration::from_secs(120));
        assert_eq!(c.fcm.unwrap().timeout, Duration::from_millis(1500));
        assert_eq!(c.video.unwrap().join_token_ttl, Duration::from_secs(5400));
    }

    #[test]
    fn numbers_flags_and_zero_durations_are_checked() {
        for (name, bad) in [
            ("PORT", "eighty"),
            ("PORT", "70000"),
            ("ALLOW_SIGNUP", "yes"),
            ("WS_QUEUE_CAPACITY", "-1"),
            ("RATE_LIMIT_REQUESTS", "lots"),
            ("JWT_EXPIRATION", "0"),
            ("EVENT_POLL_INTERVAL", "0s"),
            ("VIDEOSDK_MAX_ATTEMPTS", "x"),
            ("FCM_MAX_ATTEMPTS", "x"),
        ] {
            let e = Config::from_vars(with_adapters(&[(name, bad)])).expect_err(bad);
            assert_eq!(e.name, name, "{bad}: {e}");
        }
    }

    #[test]
    fn cors_origins_are_checked() {
        let c = Config::from_vars(vars(&[(
            "CORS_ORIGINS",
            "https://desk.example.org/, http://localhost:5173,*",
        )]))
        .unwrap();
        assert_eq!(
            c.cors_origins,
            ["https://desk.example.org", "http://localhost:5173", "*"]
        );
        let c = Config::from_vars(vars(&[("FRONTEND_URL", "https://app.example.org")])).unwrap();
        assert_eq!(c.cors_origins, ["https://app.example.org"]);
        for bad in [
            "desk.example.org",
            "https://desk.example.org/app",
            "ftp://x.org",
        ] {
            let e = Config::from_vars(vars(&[("CORS_ORIGINS", bad)])).expect_err(bad);
            assert_eq!(e.name, "CORS_ORIGINS", "{bad}");
        }
    }

    #[test]
    fn the_session_cache_lasts_two_seconds_unless_set() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(c.session_cache_ttl, Duration::from_secs(2));
        let c = Config::from_vars(vars(&[("SESSION_CACHE_TTL", "0")])).unwrap();
        assert_eq!(c.session_cache_ttl, Duration::ZERO);
    }
}
