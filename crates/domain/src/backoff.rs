//! Waits between attempts at an outside service (push, webhooks): exponential backoff from a
//! base, capped, with a longer `Retry-After` from the service honoured; and instants that never
//! overflow.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The wait after `failures` failed attempts (1 or more): `base * 2^(failures-1)` up to `max`,
/// or the service's `Retry-After` when that is longer.
pub fn wait(
    base: Duration,
    max: Duration,
    failures: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(30));
    let backoff = base.saturating_mul(factor).min(max);
    retry_after.map_or(backoff, |after| after.max(backoff))
}

/// `duration` after `time`, or the end of time when that overflows.
pub fn later(time: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| time.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
