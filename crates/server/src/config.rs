//! Configuration from the environment (and a `.env` file, loaded by `main`). Names follow
//! ../shared/DESIGN.md; docs/operations.md lists every variable.

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
    /// Origins allowed to call from a browser (CORS_ORIGINS, else FRONTEND_URL).
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
    pub push: crate::notifications::PushSettings,
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

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong.
    pub message: String,
}

fn err(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        message: message.into(),
    }
}

/// The shortest JWT secret accepted in production, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    /// Reads the given variables (tests pass their own).
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let production = matches!(
            get("CONCIERGE_ENV").or_else(|| get("APP_ENV")).as_deref(),
            Some("production" | "prod")
        );
        let (jwt_secret, jwt_secret_generated) = match get("JWT_SECRET") {
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
        let donor_identity_secret = get("DONOR_IDENTITY_SECRET");
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
        let metrics_token = get("METRICS_TOKEN");
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(err("METRICS_TOKEN", "must be at least 16 characters"));
        }
        let bcrypt_cost = parse(&get, "BCRYPT_COST", 12u32)?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(err("BCRYPT_COST", "must be between 4 and 31"));
        }
        Ok(Self {
            host: get("HOST").unwrap_or_else(|| "0.0.0.0".to_string()),
            port: parse(&get, "PORT", 3000u16)?,
            database_url: get("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://data/concierge.db".to_string()),
            db_pool_size: parse(&get, "DB_POOL_SIZE", 10u32)?.max(1),
            db_connect_timeout: duration(&get, "DB_CONNECT_TIMEOUT", Duration::from_secs(5))?,
            jwt_secret,
            jwt_secret_generated,
            jwt_expiration: duration(&get, "JWT_EXPIRATION", Duration::from_secs(24 * 3600))?,
            donor_token_expiration: duration(
                &get,
                "DONOR_TOKEN_EXPIRATION",
                Duration::from_secs(30 * 24 * 3600),
            )?,
            session_cache_ttl: match get("SESSION_CACHE_TTL").as_deref() {
                Some("0") => Duration::ZERO,
                _ => duration(&get, "SESSION_CACHE_TTL", Duration::from_secs(2))?,
            },
            bcrypt_cost,
            super_admin_username: get("SUPER_ADMIN_USERNAME").unwrap_or_else(|| "admin".into()),
            super_admin_password: get("SUPER_ADMIN_PASSWORD"),
            admin_username: get("ADMIN_USERNAME").unwrap_or_else(|| "manager".into()),
            admin_password: get("ADMIN_PASSWORD"),
            allow_signup: parse(&get, "ALLOW_SIGNUP", false)?,
            max_json_bytes: parse(&get, "MAX_JSON_BYTES", 1024 * 1024usize)?,
            body_read_timeout: duration(
                &get,
                "BODY_READ_TIMEOUT",
                crate::edge::DEFAULT_BODY_READ_TIMEOUT,
            )?,
            workers: parse(&get, "WORKERS", 0usize)?,
            production,
            video: video(&get)?,
            log_level: get("LOG_LEVEL").unwrap_or_else(|| "info".to_string()),
            openai: concierge_ai::OpenAiConfig::from_vars(&vars)
                .map_err(|e| err(e.name, e.to_string()))?,
            summary_every_n_messages: parse(&get, "SUMMARY_EVERY_N_MESSAGES", 0u32)?,
            realtime: realtime(&get)?,
            limits: limits(&get)?,
            cors_origins: get("CORS_ORIGINS")
                .or_else(|| get("FRONTEND_URL"))
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_string())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            json_logs: match get("LOG_FORMAT").as_deref() {
                Some("json") => true,
                Some("text" | "pretty") => false,
                Some(other) => {
                    return Err(err("LOG_FORMAT", format!("{other:?} is not json or text")))
                }
                None => production,
            },
            upload_dir: get("UPLOAD_DIR")
                .unwrap_or_else(|| "data/uploads".to_string())
                .into(),
            max_files_per_message: parse(
                &get,
                "MAX_FILES_PER_MESSAGE",
                concierge_domain::attachment::MAX_FILES_PER_MESSAGE,
            )?
            .max(1),
            max_file_bytes: parse(
                &get,
                "MAX_FILE_BYTES",
                concierge_domain::attachment::MAX_FILE_BYTES,
            )?
            .max(1),
            donor_identity_secret,
            push: push(&get)?,
            fcm: concierge_push::FcmConfig::from_lookup(get).map_err(|e| ConfigError {
                name: "FIREBASE_*",
                message: e.to_string(),
            })?,
            metrics_token,
            metrics_addr: get("METRICS_ADDR"),
        })
    }
}

/// VideoSDK's settings when VIDEOSDK_API_KEY and VIDEOSDK_SECRET_KEY are set, with
/// VIDEOSDK_BASE_URL, VIDEOSDK_TIMEOUT (per attempt), VIDEOSDK_MAX_ATTEMPTS and
/// VIDEOSDK_TOKEN_TTL (join tokens' lifetime).
fn video(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<concierge_video::VideoSdkConfig>, ConfigError> {
    let Some(mut video) = concierge_video::VideoSdkConfig::from_lookup(get) else {
        return Ok(None);
    };
    video.timeout = duration(get, "VIDEOSDK_TIMEOUT", video.timeout)?;
    video.max_attempts = parse(get, "VIDEOSDK_MAX_ATTEMPTS", video.max_attempts)?.max(1);
    video.join_token_ttl = duration(get, "VIDEOSDK_TOKEN_TTL", video.join_token_ttl)?;
    Ok(Some(video))
}

/// PUSH_LEASE (at most an hour), PUSH_RETRY_FOR (at most 30 days), PUSH_RETRY_BACKOFF and
/// PUSH_RETRY_MAX_BACKOFF (at least the backoff).
fn push(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::notifications::PushSettings, ConfigError> {
    let d = crate::notifications::PushSettings::default();
    let lease = duration(get, "PUSH_LEASE", d.lease)?;
    if lease > Duration::from_secs(3600) {
        return Err(err("PUSH_LEASE", "must be at most 1h"));
    }
    let retry_for = duration(get, "PUSH_RETRY_FOR", d.retry_for)?;
    if retry_for > Duration::from_secs(30 * 86_400) {
        return Err(err("PUSH_RETRY_FOR", "must be at most 30d"));
    }
    let backoff = duration(get, "PUSH_RETRY_BACKOFF", d.backoff)?;
    let max_backoff = duration(get, "PUSH_RETRY_MAX_BACKOFF", d.max_backoff.max(backoff))?;
    if max_backoff < backoff {
        return Err(err(
            "PUSH_RETRY_MAX_BACKOFF",
            "must be at least PUSH_RETRY_BACKOFF",
        ));
    }
    Ok(crate::notifications::PushSettings {
        lease,
        retry_for,
        backoff,
        max_backoff,
    })
}

fn limits(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::limits::LimitConfig, ConfigError> {
    let d = crate::limits::LimitConfig::default();
    let trusted_proxies = match get("TRUSTED_PROXIES") {
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
        login_failures_per_ip: parse(get, "RATE_LIMIT_LOGIN_IP", d.login_failures_per_ip)?,
        login_failures_per_account_ip: parse(
            get,
            "RATE_LIMIT_LOGIN_ACCOUNT_IP",
            d.login_failures_per_account_ip,
        )?,
        login_failures_per_account: parse(
            get,
            "RATE_LIMIT_LOGIN_ACCOUNT",
            d.login_failures_per_account,
        )?,
        login_delay_max: duration(get, "RATE_LIMIT_LOGIN_DELAY_MAX", d.login_delay_max)?,
        registrations_per_ip: parse(get, "RATE_LIMIT_REGISTER", d.registrations_per_ip)?,
        donor_queries_per_ip: parse(get, "RATE_LIMIT_DONOR_QUERIES", d.donor_queries_per_ip)?,
        requests_per_ip: parse(get, "RATE_LIMIT_REQUESTS", d.requests_per_ip)?,
        trusted_proxies,
    })
}

fn realtime(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::realtime::RealtimeConfig, ConfigError> {
    let d = crate::realtime::RealtimeConfig::default();
    Ok(crate::realtime::RealtimeConfig {
        auth_timeout: duration(get, "WS_AUTH_TIMEOUT", d.auth_timeout)?,
        ping_interval: duration(get, "WS_PING_INTERVAL", d.ping_interval)?,
        idle_timeout: duration(get, "WS_IDLE_TIMEOUT", d.idle_timeout)?,
        queue_capacity: parse(get, "WS_QUEUE_CAPACITY", d.queue_capacity)?.max(1),
        send_timeout: duration(get, "WS_SEND_TIMEOUT", d.send_timeout)?,
        max_frame_bytes: parse(get, "WS_MAX_FRAME_BYTES", d.max_frame_bytes)?.max(256),
        poll_interval: duration(get, "EVENT_POLL_INTERVAL", d.poll_interval)?,
        join_grace: duration(get, "WS_JOIN_GRACE", d.join_grace)?,
        limits: crate::realtime::limits::SocketLimits {
            messages_per_second: parse(
                get,
                "WS_MESSAGES_PER_SECOND",
                d.limits.messages_per_second,
            )?
            .max(1),
            replay_events_per_second: parse(
                get,
                "WS_REPLAY_EVENTS_PER_SECOND",
                d.limits.replay_events_per_second,
            )?
            .max(1),
            relays_per_second: parse(get, "WS_RELAYS_PER_SECOND", d.limits.relays_per_second)?
                .max(1),
        },
    })
}

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| err(name, format!("cannot read {raw:?}"))),
    }
}

/// Reads `250ms`, `90`, `90s`, `15m`, `24h` or `7d`.
fn duration(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| err(name, format!("cannot read {raw:?} as a duration")))?;
    let millis = match unit {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => {
            return Err(err(
                name,
                format!("unknown unit in {raw:?} (use ms, s, m, h or d)"),
            ))
        }
    }
    .ok_or_else(|| err(name, format!("{raw:?} is too long")))?;
    if millis == 0 {
        return Err(err(name, "must be positive"));
    }
    Ok(Duration::from_millis(millis))
}

fn random_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 48)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

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
        assert_eq!(c.push, crate::notifications::PushSettings::default());
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

    #[test]
    fn the_session_cache_lasts_two_seconds_unless_set() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(c.session_cache_ttl, Duration::from_secs(2));
        let c = Config::from_vars(vars(&[("SESSION_CACHE_TTL", "0")])).unwrap();
        assert_eq!(c.session_cache_ttl, Duration::ZERO);
    }
}
