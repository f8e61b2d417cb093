//! Keeps secrets out of what leaves the machine: bearer tokens, JWTs, API keys and long
//! random-looking runs are replaced before a transcript is sent to a remote model, and card
//! numbers are masked but for their last four digits.

use crate::cards::mask_cards;
use regex::Regex;
use std::sync::LazyLock;

/// What a removed secret is replaced with.
pub const REDACTED: &str = "[redacted]";

fn compile(pattern: &str) -> Regex {
    // The patterns are constants of this file, and every one is compiled by its tests.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("redaction pattern is valid")
}

/// `label: value` or `label=value` for labels that name a secret; the value goes.
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r#"(?i)\b((?:api[_-]?key|secret|password|passwd|token|access[_-]?token|client[_-]?secret)\s*[:=]\s*)["']?[^\s"',;]+"#,
    )
});
/// `Bearer xyz` / `Basic xyz` authorisation values.
static AUTHORIZATION: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"));
/// Well-known token shapes: JWTs, OpenAI-style `sk-` keys, GitHub, Slack, AWS and Google keys.
static KNOWN_TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*|\bsk-[A-Za-z0-9_-]{16,}|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|\bAKIA[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{30,}",
    )
});
/// Long hexadecimal runs (hashes, keys).
static LONG_HEX: LazyLock<Regex> = LazyLock::new(|| compile(r"\b[0-9a-fA-F]{32,}\b"));
/// Long base64-like runs; replaced only when they mix upper case, lower case and digits.
static LONG_BASE64: LazyLock<Regex> = LazyLock::new(|| compile(r"[A-Za-z0-9+/_-]{40,}={0,2}"));

/// `text` with secrets replaced by [`REDACTED`].
pub fn redact_secrets(text: &str) -> String {
    let text = LABELLED.replace_all(text, format!("${{1}}{REDACTED}"));
    let text = AUTHORIZATION.replace_all(&text, format!("$1 {REDACTED}"));
    let text = KNOWN_TOKENS.replace_all(&text, REDACTED);
    let text = LONG_HEX.replace_all(&text, REDACTED);
    LONG_BASE64
        .replace_all(&text, |c: &regex::Captures<'_>| {
            let run = c.get(0).map_or("", |m| m.as_str());
            let mixed = run.chars().any(|ch| ch.is_ascii_uppercase())
                && run.chars().any(|ch| ch.is_ascii_lowercase())
                && run.chars().any(|ch| ch.is_ascii_digit());
            if mixed {
                REDACTED.to_string()
            } else {
                run.to_string()
            }
        })
        .into_owned()
}

/// What may be sent to a remote model: secrets redacted, card numbers masked.
pub fn sanitize_for_remote(text: &str) -> String {
    mask_cards(&redact_secrets(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

    #[test]
    fn removes_jwts_and_api_keys() {
        let text = format!("token {JWT} and key sk-proj-AbCdEf0123456789xyzXYZ please");
        let clean = redact_secrets(&text);
        assert!(!clean.contains("eyJ"), "{clean}");
        assert!(!clean.contains("sk-proj"), "{clean}");
        assert!(clean.ends_with("please"));
    }

    #[test]
    fn removes_bearer_values_and_labelled_secrets() {
        let clean = redact_secrets("Authorization: Bearer abc.def-123456 and password=hunter22!");
        assert_eq!(
            clean,
            "Authorization: Bearer [redacted] and password=[redacted]"
        );
    }

    #[test]
    fn removes_long_hex_and_mixed_base64_runs_but_keeps_prose_and_links() {
        let hex = "0123456789abcdef0123456789abcdef";
        let b64 = "QWxhZGRpbjpvcGVuIHNlc2FtZQ0123456789AbCdEfGh";
        let clean = redact_secrets(&format!("{hex} {b64}"));
        assert_eq!(clean, "[redacted] [redacted]");
        let prose = "See https://donate.example.org/receipts/998877 for the receipt.";
        assert_eq!(redact_secrets(prose), prose);
    }

    #[test]
    fn sanitizing_masks_cards_too() {
        assert_eq!(
            sanitize_for_remote("card 4111 1111 1111 1111"),
            "card **** **** **** 1111"
        );
    }
}
