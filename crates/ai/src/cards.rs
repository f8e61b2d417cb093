//! Payment card numbers: 13 to 19 digits, optionally grouped by spaces or dashes, that pass
//! the Luhn check. A long order number that fails the check is not a card.

use regex::Regex;
use std::sync::LazyLock;

// A constant pattern, compiled by every test that finds a card.
#[allow(clippy::expect_used)]
static CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d(?:[ -]?\d){12,18}\b").expect("card pattern is valid"));

/// A card number found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardMatch {
    /// Byte offset where the number starts.
    pub start: usize,
    /// Byte offset just past its last digit.
    pub end: usize,
    /// The number as written, every digit but the last four replaced by `*`.
    pub masked: String,
}

/// Whether a string of digits passes the Luhn checksum. Non-digits are ignored; fewer than
/// two digits never pass.
pub fn luhn_valid(number: &str) -> bool {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 2 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Replaces every digit but the last four with `*`, keeping spaces and dashes.
pub fn mask_card(number: &str) -> String {
    let total = number.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    number
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + 4 <= total {
                    return '*';
                }
            }
            c
        })
        .collect()
}

/// Every card number in `text`, in order.
pub fn find_cards(text: &str) -> Vec<CardMatch> {
    CANDIDATE
        .find_iter(text)
        .filter(|m| is_card(m.as_str()))
        .map(|m| CardMatch {
            start: m.start(),
            end: m.end(),
            masked: mask_card(m.as_str()),
        })
        .collect()
}

/// `text` with every card number masked but for its last four digits.
pub fn mask_cards(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for card in find_cards(text) {
        out.push_str(text.get(last..card.start).unwrap_or_default());
        out.push_str(&card.masked);
        last = card.end;
    }
    out.push_str(text.get(last..).unwrap_or_default());
    out
}

fn is_card(candidate: &str) -> bool {
    let digits: String = candidate.chars().filter(char::is_ascii_digit).collect();
    (13..=19).contains(&digits.len()) && !digits.bytes().all(|b| b == b'0') && luhn_valid(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_known_test_numbers_and_rejects_others() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("5555 5555 5555 4444"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("4532015112830367"));
        assert!(!luhn_valid("7"));
    }

    #[test]
    fn finds_grouped_cards_and_masks_all_but_last_four() {
        let text = "card 4111 1111 1111 1111 and 5555-5555-5555-4444.";
        let cards = find_cards(text);
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].masked, "**** **** **** 1111");
        assert_eq!(cards[1].masked, "****-****-****-4444");
        assert_eq!(
            mask_cards(text),
            "card **** **** **** 1111 and ****-****-****-4444."
        );
    }

    #[test]
    fn sixteen_digit_number_failing_luhn_is_not_a_card() {
        assert!(find_cards("order 4532 0151 1283 0367 shipped").is_empty());
        assert!(find_cards("id 0000000000000000").is_empty());
    }

    #[test]
    fn short_and_overlong_runs_are_not_cards() {
        assert!(find_cards("call 4111 1111 111").is_empty());
        assert!(find_cards("41111111111111111111111").is_empty());
    }
}
