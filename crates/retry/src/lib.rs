//! Retries for Concierge's outbound HTTP clients (the AI analyzer, VideoSDK, FCM): one backoff
//! policy on [backon] and one `Retry-After` parser. A leaf crate, so every adapter can use it
//! without depending on another adapter.

// Panicking shortcuts stay in tests; elsewhere a failure is an error the caller sees.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::indexing_slicing))]

use std::time::{Duration, SystemTime};

pub use backon::{BackoffBuilder, ExponentialBuilder, Retryable};

/// The longest wait a `Retry-After` header is read as (a day); anything longer is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// The backoff between `attempts` tries (counting the first; `0` counts as `1`): `base`, then
/// doubled for each further retry, never more than `max`. No jitter, so waits are predictable.
pub fn backoff(base: Duration, max: Duration, attempts: u32) -> ExponentialBuilder {
    let retries = usize::try_from(attempts.max(1) - 1).unwrap_or(usize::MAX);
    ExponentialBuilder::new()
        .with_min_delay(base)
        .with_factor(2.0)
        .with_max_delay(max.max(base))
        .with_max_times(retries)
}

/// Reads a `Retry-After` value (RFC 9110, section 10.2.3): delay-seconds (`120`) or an HTTP
/// date (`Sun, 06 Nov 1994 08:49:37 GMT`, and the obsolete RFC 850 and asctime forms), as the
/// wait from `now`. A date in the past is no wait; anything else unreadable is `None`.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only an overflow fails, and that is a very long wait.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// [`retry_after`] from now, for a header value that may not be text.
pub fn retry_after_bytes(value: &[u8]) -> Option<Duration> {
    retry_after(std::str::from_utf8(value).ok()?, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    // Sun, 06 Nov 1994 08:49:37 GMT
    const EXAMPLE: u64 = 784_111_777;

    #[test]
    fn reads_delay_seconds() {
        assert_eq!(retry_after("120", at(0)), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", at(0)), Some(Duration::ZERO));
        assert_eq!(
            retry_after("99999999999999999999999", at(0)),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn reads_the_three_http_date_forms() {
        let now = at(EXAMPLE - 5);
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                retry_after(date, now),
                Some(Duration::from_secs(5)),
                "{date}"
            );
        }
    }

    #[test]
    fn a_past_date_is_no_wait() {
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(EXAMPLE + 3600)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_far_date_is_capped() {
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(0)),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn garbage_is_none() {
        for bad in [
            "",
            "soon",
            "-5",
            "1.5",
            "12s",
            "+3",
            "Sun, 06 Nov 1994",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(retry_after(bad, at(0)), None, "{bad:?}");
        }
        assert_eq!(retry_after_bytes(&[0xff, 0xfe]), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops() {
        let waits: Vec<_> = backoff(Duration::from_millis(250), Duration::from_secs(1), 5)
            .build()
            .collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 1000].map(Duration::from_millis).to_vec()
        );
        assert_eq!(
            backoff(Duration::from_millis(1), Duration::from_secs(1), 0)
                .build()
                .count(),
            0
        );
    }
}
