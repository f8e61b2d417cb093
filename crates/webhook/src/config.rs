//! The webhook settings (WEBHOOK_*), read from the environment.

use crate::{Reach, TIMEOUT};
use concierge_domain::webhook::RetrySchedule;
use concierge_settings::{positive, SettingError};
use std::collections::HashMap;
use std::time::Duration;

/// The variables, read with `concierge-settings` (a field is its variable in lower case).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Env {
    webhook_allow_http: Option<bool>,
    webhook_allow_private: Option<bool>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    webhook_retry_base: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    webhook_retry_max: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    webhook_retry_for: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    webhook_disable_after: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    webhook_timeout: Option<Duration>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    webhook_lease: Option<Duration>,
    webhook_concurrency: Option<usize>,
}

/// How webhooks are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where deliveries may go (WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOW_PRIVATE; both off).
    pub reach: Reach,
    /// Retries (WEBHOOK_RETRY_BASE 5s, WEBHOOK_RETRY_MAX 1h, WEBHOOK_RETRY_FOR 24h,
    /// WEBHOOK_DISABLE_AFTER 5d).
    pub schedule: RetrySchedule,
    /// One attempt's limit (WEBHOOK_TIMEOUT, 10s).
    pub timeout: Duration,
    /// The dispatcher's lease (WEBHOOK_LEASE, 30s; at least three times WEBHOOK_TIMEOUT would
    /// be safest, see docs/webhooks.md).
    pub lease: Duration,
    /// Endpoints delivered to at once (WEBHOOK_CONCURRENCY, 16).
    pub concurrency: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            reach: Reach::default(),
            schedule: RetrySchedule::default(),
            timeout: TIMEOUT,
            lease: Duration::from_secs(30),
            concurrency: 16,
        }
    }
}

impl WebhookConfig {
    /// Reads WEBHOOK_* from `vars`; unset ones take their defaults.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, SettingError> {
        let env: Env = concierge_settings::load(vars)?;
        let d = Self::default();
        let s = d.schedule;
        let base = positive("WEBHOOK_RETRY_BASE", env.webhook_retry_base, s.base)?;
        let max = positive("WEBHOOK_RETRY_MAX", env.webhook_retry_max, s.max.max(base))?;
        if max < base {
            return Err(SettingError::new(
                "WEBHOOK_RETRY_MAX",
                "must be at least WEBHOOK_RETRY_BASE",
            ));
        }
        Ok(Self {
            reach: Reach {
                allow_http: env.webhook_allow_http.unwrap_or(false),
                allow_private: env.webhook_allow_private.unwrap_or(false),
            },
            schedule: RetrySchedule {
                base,
                max,
                retry_for: positive("WEBHOOK_RETRY_FOR", env.webhook_retry_for, s.retry_for)?,
                disable_after: positive(
                    "WEBHOOK_DISABLE_AFTER",
                    env.webhook_disable_after,
                    s.disable_after,
                )?,
            },
            timeout: positive("WEBHOOK_TIMEOUT", env.webhook_timeout, d.timeout)?,
            lease: positive("WEBHOOK_LEASE", env.webhook_lease, d.lease)?,
            concurrency: positive(
                "WEBHOOK_CONCURRENCY",
                env.webhook_concurrency,
                d.concurrency,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_a_day_of_retries_and_no_private_or_plain_http_targets() {
        let config = WebhookConfig::from_vars(&HashMap::new()).expect("defaults");
        assert_eq!(config, WebhookConfig::default());
        assert_eq!(config.schedule.retry_for, Duration::from_secs(86_400));
        assert_eq!(
            config.schedule.disable_after,
            Duration::from_secs(5 * 86_400)
        );
        assert!(!config.reach.allow_http && !config.reach.allow_private);
        let vars = concierge_settings::vars(&[
            ("WEBHOOK_ALLOW_HTTP", "true"),
            ("WEBHOOK_ALLOW_PRIVATE", "true"),
            ("WEBHOOK_RETRY_BASE", "100ms"),
            ("WEBHOOK_RETRY_FOR", "30s"),
        ]);
        let config = WebhookConfig::from_vars(&vars).expect("scaled down");
        assert!(config.reach.allow_http && config.reach.allow_private);
        assert_eq!(config.schedule.base, Duration::from_millis(100));
        assert_eq!(config.schedule.retry_for, Duration::from_secs(30));
        for bad in [("WEBHOOK_RETRY_FOR", "0"), ("WEBHOOK_RETRY_BASE", "10")] {
            assert!(WebhookConfig::from_vars(&concierge_settings::vars(&[bad])).is_err());
        }
    }
}
