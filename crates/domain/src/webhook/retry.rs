//! When a failed delivery is tried again: exponential backoff from a base, capped, honouring
//! a longer `Retry-After`, until the delivery has been tried for its retry window; and when an
//! endpoint that keeps failing is switched off.

use crate::backoff::later;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The retry rules (WEBHOOK_RETRY_BASE, WEBHOOK_RETRY_MAX, WEBHOOK_RETRY_FOR,
/// WEBHOOK_DISABLE_AFTER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The wait after the first failure, doubled after each further one.
    pub base: Duration,
    /// The longest such wait (a longer `Retry-After` is still honoured).
    pub max: Duration,
    /// How long after its first attempt a delivery is still tried; then it is FAILED.
    pub retry_for: Duration,
    /// An endpoint whose deliveries have failed for this long with no success is set inactive.
    pub disable_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            max: Duration::from_secs(3600),
            retry_for: Duration::from_secs(24 * 3600),
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

impl RetrySchedule {
    /// The wait after `failures` failed attempts (1 or more): `base * 2^(failures-1)` up to
    /// `max`, or the receiver's `Retry-After` when that is longer.
    pub fn wait(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        crate::backoff::wait(self.base, self.max, failures, retry_after)
    }

    /// When to try again after `failures` failed attempts at `now`; `None` when that would
    /// be past `give_up_at`: the delivery is FAILED then.
    pub fn next_attempt(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        Some(later(now, self.wait(failures, retry_after))).filter(|at| *at <= give_up_at)
    }

    /// Whether an endpoint failing since `failing_since` is switched off at `now`.
    pub fn disables(&self, failing_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        later(failing_since, self.disable_after) <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> RetrySchedule {
        RetrySchedule {
            base: Duration::from_secs(5),
            max: Duration::from_secs(60),
            retry_for: Duration::from_secs(3600),
            disable_after: Duration::from_secs(7200),
        }
    }

    #[test]
    fn the_wait_doubles_up_to_the_cap() {
        let waits: Vec<u64> = (1..=6)
            .map(|n| schedule().wait(n, None).as_secs())
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(schedule().wait(u32::MAX, None), Duration::from_secs(60));
    }

    #[test]
    fn a_longer_retry_after_is_honoured_and_a_shorter_one_is_not() {
        let s = schedule();
        assert_eq!(
            s.wait(1, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
        assert_eq!(
            s.wait(3, Some(Duration::from_secs(1))),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn a_delivery_is_given_up_once_the_next_attempt_would_pass_its_window() {
        let s = schedule();
        let now = Utc::now();
        let give_up = now + chrono::Duration::seconds(30);
        assert_eq!(
            s.next_attempt(2, None, now, give_up),
            Some(now + chrono::Duration::seconds(10))
        );
        assert_eq!(s.next_attempt(4, None, now, give_up), None);
        assert_eq!(
            s.next_attempt(1, Some(Duration::from_secs(31)), now, give_up),
            None
        );
    }

    #[test]
    fn an_endpoint_is_disabled_after_failing_for_the_whole_period() {
        let s = schedule();
        let since = Utc::now();
        assert!(!s.disables(since, since + chrono::Duration::seconds(7199)));
        assert!(s.disables(since, since + chrono::Duration::seconds(7200)));
    }
}
