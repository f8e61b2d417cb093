//! How long to wait before trying a rate-limited or failed request again: the server's
//! `retry-after-ms`, `retry-after` (seconds or an HTTP date, read by `concierge-retry`) or
//! `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (`20ms`, `1s`, `6m0s`); else the
//! exponential backoff.

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// The first wait of the exponential backoff, doubled on each further try.
pub(crate) const BASE_BACKOFF: Duration = Duration::from_millis(500);

/// The wait the server asked for, if it said.
pub(crate) fn requested_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    if let Some(wait) = text("retry-after").and_then(|v| concierge_retry::retry_after(v, now)) {
        return Some(wait);
    }
    ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .into_iter()
        .filter_map(|name| text(name).and_then(parse_reset))
        .max()
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// Reads Go-style durations such as `20ms`, `1s`, `1.5s`, `6m0s` or `1h2m3s`.
fn parse_reset(value: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut rest = value;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at_checked(number_end)?;
        let number: f64 = number.parse().ok()?;
        rest = after;
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (unit, after) = rest.split_at_checked(unit_end)?;
        let factor = match unit {
            "ms" => 0.001,
            "s" | "" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * factor;
        rest = after;
    }
    seconds(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn reads_retry_after_and_openai_reset_headers() {
        let now = SystemTime::now();
        let cases: [(&[(&'static str, &'static str)], Duration); 4] = [
            (&[("retry-after", "2")], Duration::from_secs(2)),
            // Milliseconds win over seconds.
            (
                &[("retry-after-ms", "250"), ("retry-after", "9")],
                Duration::from_millis(250),
            ),
            (
                &[("x-ratelimit-reset-requests", "20ms")],
                Duration::from_millis(20),
            ),
            // The longer of the two resets.
            (
                &[
                    ("x-ratelimit-reset-requests", "1s"),
                    ("x-ratelimit-reset-tokens", "6m0s"),
                ],
                Duration::from_secs(360),
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(
                requested_wait(&headers(pairs), now),
                Some(want),
                "{pairs:?}"
            );
        }
        assert_eq!(parse_reset("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_reset("soon"), None);
    }

    #[test]
    fn reads_retry_after_as_an_http_date() {
        // 2026-11-21T07:28:00Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_246_080);
        let wait = requested_wait(
            &headers(&[("retry-after", "Sat, 21 Nov 2026 07:28:05 GMT")]),
            now,
        );
        assert_eq!(wait, Some(Duration::from_secs(5)));
    }
}
