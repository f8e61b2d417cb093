//! Settings from environment variables, read the same way by every Concierge crate: each
//! declares a `#[derive(Deserialize)] #[serde(default)]` struct whose fields are the variables'
//! names in lower case, and [`load`]s it with envy. Durations are written one way, humantime's
//! (`500ms`, `30s`, `15m`, `24h`, `30d`; `0` is zero): read them with [`duration`]. A leaf crate,
//! so the adapters and the server share it without depending on each other.

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// A variable whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct SettingError {
    /// The variable.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

impl SettingError {
    /// An error about `name`.
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            message: message.into(),
        }
    }
}

/// A secret as `Debug` shows it: `"<redacted>"` (inside `Some` for an optional one), never its
/// value. See [`debug_redacted!`].
pub struct Redacted<'a, T>(pub &'a T);

impl std::fmt::Debug for Redacted<'_, String> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl std::fmt::Debug for Redacted<'_, Option<String>> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0.as_ref().map(|_| "<redacted>"), f)
    }
}

/// `impl Debug` for a settings struct: the `fields` as they are, then the `secrets` as
/// [`Redacted`], so a logged configuration never shows a key.
#[macro_export]
macro_rules! debug_redacted {
    ($ty:ident { $($field:ident),* $(,)? } secrets { $($secret:ident),* $(,)? }) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    $(.field(stringify!($secret), &$crate::Redacted(&self.$secret)))*
                    .finish()
            }
        }
    };
}

/// Variables from `(name, value)` pairs, e.g. a test's own environment.
pub fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The process environment, for a `from_vars` that reads a map.
pub fn process_env() -> HashMap<String, String> {
    std::env::vars().collect()
}

/// The variables with a value: trimmed, blank ones left out (blank counts as unset).
pub fn present(vars: &HashMap<String, String>) -> HashMap<String, String> {
    vars.iter()
        .map(|(k, v)| (k.clone(), v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// Reads `T` from `vars` (see the crate's documentation). Blank values count as unset. An
/// error names the variable that cannot be read.
pub fn load<T: DeserializeOwned>(vars: &HashMap<String, String>) -> Result<T, SettingError> {
    let vars = present(vars);
    envy::from_iter::<_, T>(vars.clone()).map_err(|err| {
        // envy stops at the first bad value without always saying whose it is: every field
        // has a default, so the culprit is the variable that fails on its own.
        let name = vars
            .iter()
            .filter(|(k, v)| envy::from_iter::<_, T>([((*k).clone(), (*v).clone())]).is_err())
            .map(|(k, _)| k.clone())
            .min()
            .unwrap_or_else(|| "environment".to_string());
        SettingError::new(name, err.to_string())
    })
}

/// `value` unless it is zero (a zero duration or count), which is an error naming `name`.
pub fn nonzero<T: Default + PartialEq>(
    name: &str,
    value: Option<T>,
) -> Result<Option<T>, SettingError> {
    match value {
        Some(v) if v == T::default() => Err(SettingError::new(name, "must be more than 0")),
        other => Ok(other),
    }
}

/// A setting that must not be zero: `value`, else `default` (see [`nonzero`]).
pub fn positive<T: Default + PartialEq>(
    name: &str,
    value: Option<T>,
    default: T,
) -> Result<T, SettingError> {
    Ok(nonzero(name, value)?.unwrap_or(default))
}

/// Reads a duration written as humantime does: `500ms`, `30s`, `15m`, `24h`, `30d`, `1h 30m`;
/// `0` is zero. A bare number other than `0` has no unit and is refused.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw.trim())
        .map_err(|e| format!("{raw:?} is not a duration ({e}); write it like 500ms, 30s or 15m"))
}

/// `#[serde(deserialize_with = "concierge_settings::duration")]` for an `Option<Duration>`
/// field (with `#[serde(default)]`).
pub fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let raw = String::deserialize(deserializer)?;
    parse_duration(&raw).map(Some).map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Example {
        port: Option<u16>,
        #[serde(deserialize_with = "duration")]
        poll_interval: Option<Duration>,
        #[serde(deserialize_with = "duration")]
        lease: Option<Duration>,
        allow_signup: Option<bool>,
    }

    #[test]
    fn reads_upper_case_names_and_humantime_durations() {
        let e: Example = load(&vars(&[
            ("PORT", " 8080 "),
            ("POLL_INTERVAL", "250ms"),
            ("LEASE", "1h 30m"),
            ("ALLOW_SIGNUP", ""),
            ("UNRELATED", "x"),
        ]))
        .unwrap();
        assert_eq!(e.port, Some(8080));
        assert_eq!(e.poll_interval, Some(Duration::from_millis(250)));
        assert_eq!(e.lease, Some(Duration::from_secs(5400)));
        assert_eq!(e.allow_signup, None);
    }

    #[test]
    fn every_duration_form() {
        for (raw, want) in [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("15m", Duration::from_secs(900)),
            ("24h", Duration::from_secs(86_400)),
            ("30d", Duration::from_secs(30 * 86_400)),
            ("0", Duration::ZERO),
        ] {
            assert_eq!(parse_duration(raw), Ok(want), "{raw}");
        }
        for bad in ["30", "soon", "5 parsecs", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    struct Keys {
        name: String,
        key: String,
        token: Option<String>,
        none: Option<String>,
    }
    crate::debug_redacted!(Keys { name } secrets { key, token, none });

    #[test]
    fn secrets_are_redacted_in_debug() {
        let keys = Keys {
            name: "n".into(),
            key: "k-secret".into(),
            token: Some("t-secret".into()),
            none: None,
        };
        assert_eq!(
            format!("{keys:?}"),
            r#"Keys { name: "n", key: "<redacted>", token: Some("<redacted>"), none: None }"#
        );
    }

    #[test]
    fn zero_is_refused_where_it_must_be_positive() {
        assert_eq!(positive("N", None, 3u32), Ok(3));
        assert_eq!(positive("N", Some(2u32), 3), Ok(2));
        assert_eq!(
            positive("T", Some(Duration::ZERO), Duration::from_secs(1)).map_err(|e| e.name),
            Err("T".to_string())
        );
        assert_eq!(
            nonzero("N", Some(0usize)).map_err(|e| e.to_string()),
            Err("N: must be more than 0".to_string())
        );
        assert_eq!(nonzero::<u32>("N", None), Ok(None));
    }

    #[test]
    fn errors_name_the_variable() {
        for (name, value) in [
            ("PORT", "eighty"),
            ("PORT", "70000"),
            ("POLL_INTERVAL", "250"),
            ("LEASE", "soon"),
            ("ALLOW_SIGNUP", "yes"),
        ] {
            let err = load::<Example>(&vars(&[("PORT", "1"), (name, value)])).unwrap_err();
            assert_eq!(err.name, name, "{err}");
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }
}
