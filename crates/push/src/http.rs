//! Small HTTP helpers shared by the token source and the notifier.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

/// The `Retry-After` header as a duration (read by `concierge-retry`): delay-seconds, or an
/// HTTP date (a past one is no wait).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    concierge_retry::retry_after_bytes(headers.get(RETRY_AFTER)?.as_bytes())
}

/// A transport error in a few words, without the request's body.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    match error.url() {
        Some(url) => format!("{kind} ({url}): {error}"),
        None => format!("{kind}: {error}"),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// A device token fit for logs: its first six characters and its length, never all of it.
pub(crate) fn redact_token(token: &str) -> String {
    let head: String = token.chars().take(6).collect();
    format!("{head}…({} chars)", token.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(120))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&later).expect("header value"),
        );
        let wait = retry_after(&headers).expect("a date");
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn tokens_are_redacted_and_text_truncated() {
        assert_eq!(redact_token("abcdefghijkl"), "abcdef…(12 chars)");
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé…");
    }
}
