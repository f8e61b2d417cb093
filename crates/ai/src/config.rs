//! Configuration of the OpenAI-compatible analyzer, from environment variables.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `OPENAI_API_KEY` | bearer key; unset for local servers (Ollama, vLLM, llama.cpp) | none |
//! | `OPENAI_BASE_URL` | API root, the part before `/chat/completions` | `https://api.openai.com/v1` |
//! | `OPENAI_MODEL` | model name | `gpt-4o-mini` |
//! | `OPENAI_TIMEOUT` | per request, a duration (`30s`, `2m`) | `30s` |
//! | `OPENAI_MAX_ATTEMPTS` | tries per analysis, counting the first | 3 |
//! | `OPENAI_TOKEN_BUDGET` | approximate tokens of transcript per request | 6000 |
//!
//! The remote analyzer is configured when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set.

use concierge_settings::positive;
use std::collections::HashMap;
use std::time::Duration;

/// The OpenAI API root.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The default model: small, cheap, supports structured outputs.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// How to reach an OpenAI-compatible Chat Completions API.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// Sent as `Authorization: Bearer <key>`; without one no header is sent.
    pub api_key: Option<String>,
    /// API root, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub base_url: String,
    /// The model to ask.
    pub model: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Tries per analysis (at least 1); 429 and 5xx answers are tried again.
    pub max_attempts: u32,
    /// The longest wait between tries; a server asking for longer is not waited for.
    pub max_retry_wait: Duration,
    /// Approximate tokens (characters / 4) of conversation sent per request.
    pub token_budget: usize,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            model: DEFAULT_MODEL.to_string(),
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            max_retry_wait: Duration::from_secs(10),
            token_budget: 6000,
        }
    }
}

concierge_settings::debug_redacted!(OpenAiConfig {
    base_url,
    model,
    timeout,
    max_attempts,
    max_retry_wait,
    token_budget,
} secrets { api_key });

/// A configuration variable that cannot be read (its name and what is wrong).
pub use concierge_settings::SettingError as AiConfigError;

/// The `OPENAI_*` variables, read with `concierge-settings`.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Env {
    openai_api_key: Option<String>,
    openai_base_url: Option<String>,
    openai_model: Option<String>,
    #[serde(deserialize_with = "concierge_settings::duration")]
    openai_timeout: Option<Duration>,
    openai_max_attempts: Option<u32>,
    openai_token_budget: Option<usize>,
}

impl OpenAiConfig {
    /// Reads the process environment; see [`from_vars`](Self::from_vars).
    pub fn from_env() -> Result<Option<Self>, AiConfigError> {
        Self::from_vars(&concierge_settings::process_env())
    }

    /// Reads the given variables. `None` when neither `OPENAI_API_KEY` nor `OPENAI_BASE_URL`
    /// is set (blank counts as unset): then only the local analyzer runs. Numbers and the
    /// timeout must be more than zero.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Option<Self>, AiConfigError> {
        let env: Env = concierge_settings::load(vars)?;
        if env.openai_api_key.is_none() && env.openai_base_url.is_none() {
            return Ok(None);
        }
        let defaults = Self::default();
        Ok(Some(Self {
            api_key: env.openai_api_key,
            base_url: env
                .openai_base_url
                .map(|url| url.trim_end_matches('/').to_string())
                .unwrap_or(defaults.base_url),
            model: env.openai_model.unwrap_or(defaults.model),
            timeout: positive("OPENAI_TIMEOUT", env.openai_timeout, defaults.timeout)?,
            max_attempts: positive(
                "OPENAI_MAX_ATTEMPTS",
                env.openai_max_attempts,
                defaults.max_attempts,
            )?,
            max_retry_wait: defaults.max_retry_wait,
            token_budget: positive(
                "OPENAI_TOKEN_BUDGET",
                env.openai_token_budget,
                defaults.token_budget,
            )?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_settings::vars;

    #[test]
    fn nothing_set_means_no_remote_analyzer() {
        assert_eq!(OpenAiConfig::from_vars(&vars(&[])).ok(), Some(None));
        let blank = vars(&[("OPENAI_API_KEY", " "), ("OPENAI_MODEL", "x")]);
        assert_eq!(OpenAiConfig::from_vars(&blank).ok(), Some(None));
    }

    #[test]
    fn a_key_alone_uses_the_openai_defaults() {
        let config = OpenAiConfig::from_vars(&vars(&[("OPENAI_API_KEY", "sk-test")]))
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(config.api_key.as_deref(), Some("sk-test"));
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert_eq!(config.model, DEFAULT_MODEL);
        assert!(!format!("{config:?}").contains("sk-test"));
    }

    #[test]
    fn a_base_url_alone_is_a_keyless_local_server() {
        let config = OpenAiConfig::from_vars(&vars(&[
            ("OPENAI_BASE_URL", "http://localhost:11434/v1/"),
            ("OPENAI_MODEL", "llama3.2"),
            ("OPENAI_TIMEOUT", "90s"),
            ("OPENAI_TOKEN_BUDGET", "2000"),
        ]))
        .ok()
        .flatten()
        .unwrap_or_default();
        assert_eq!(config.api_key, None);
        assert_eq!(config.base_url, "http://localhost:11434/v1");
        assert_eq!(config.model, "llama3.2");
        assert_eq!(config.timeout, Duration::from_secs(90));
        assert_eq!(config.token_budget, 2000);
    }

    #[test]
    fn unreadable_numbers_are_errors() {
        let err = OpenAiConfig::from_vars(&vars(&[
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_MAX_ATTEMPTS", "many"),
        ]));
        assert_eq!(
            err.map_err(|e| e.name),
            Err("OPENAI_MAX_ATTEMPTS".to_string())
        );
        for (name, bad) in [
            ("OPENAI_TIMEOUT", "30"),
            ("OPENAI_TIMEOUT", "0s"),
            ("OPENAI_MAX_ATTEMPTS", "0"),
        ] {
            let err = OpenAiConfig::from_vars(&vars(&[("OPENAI_API_KEY", "k"), (name, bad)]));
            assert_eq!(err.map_err(|e| e.name), Err(name.to_string()), "{bad}");
        }
    }
}
