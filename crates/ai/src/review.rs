//! The local QA review of one message: card numbers, emails and phone numbers (personal data
//! that should not sit in a conversation), abusive words, and sentiment.

use crate::cards::find_cards;
use crate::entities::locate;
use crate::sentiment::{abusive_words, sentiment, NEGATIVE_THRESHOLD};
use concierge_domain::analysis::{EntityKind, Flag, FlagKind, Verdict};

/// Reviews one message's text. The verdict's `analyzer` is `local`.
pub fn review_text(text: &str) -> Verdict {
    let mut flags: Vec<Flag> = Vec::new();
    let mut push = |kind: FlagKind, evidence: String| {
        if !flags
            .iter()
            .any(|f| f.kind == kind && f.evidence == evidence)
        {
            flags.push(Flag { kind, evidence });
        }
    };
    for card in find_cards(text) {
        push(FlagKind::PiiCard, card.masked);
    }
    let located = locate(text);
    for kind in [EntityKind::Email, EntityKind::Phone] {
        for entity in located.iter().map(|l| &l.entity).filter(|e| e.kind == kind) {
            let flag = if kind == EntityKind::Email {
                FlagKind::PiiEmail
            } else {
                FlagKind::PiiPhone
            };
            push(flag, entity.value.clone());
        }
    }
    for word in abusive_words(text) {
        push(FlagKind::Abusive, word);
    }
    let mood = sentiment(text);
    if mood.score < NEGATIVE_THRESHOLD {
        push(
            FlagKind::NegativeSentiment,
            format!("{:.2}: {}", mood.score, mood.negative_words.join(", ")),
        );
    }
    Verdict {
        flags,
        sentiment: mood.score,
        analyzer: "local".to_string(),
        fallback_from: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(verdict: &Verdict) -> Vec<FlagKind> {
        verdict.flags.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn flags_a_card_masked_but_for_the_last_four_digits() {
        let verdict = review_text("my card is 4111-1111-1111-1111, charge it");
        assert_eq!(
            verdict.flags,
            vec![Flag {
                kind: FlagKind::PiiCard,
                evidence: "****-****-****-1111".into()
            }]
        );
        assert_eq!(verdict.analyzer, "local");
    }

    #[test]
    fn an_order_number_failing_luhn_is_not_a_card() {
        let verdict = review_text("My order number is 4532 0151 1283 0367.");
        assert!(verdict.flags.is_empty(), "{verdict:?}");
    }

    #[test]
    fn flags_emails_and_phones() {
        let verdict = review_text("Reach me at jo@example.org or +1 (555) 010-0199.");
        assert_eq!(
            kinds(&verdict),
            vec![FlagKind::PiiEmail, FlagKind::PiiPhone]
        );
        assert_eq!(verdict.flags[1].evidence, "+1 (555) 010-0199");
    }

    #[test]
    fn flags_abuse_and_negative_sentiment() {
        let verdict = review_text("You stupid people, this is terrible and not good at all!");
        assert_eq!(
            kinds(&verdict),
            vec![FlagKind::Abusive, FlagKind::NegativeSentiment]
        );
        assert!(verdict.sentiment < NEGATIVE_THRESHOLD);
        assert!(verdict.flags[1].evidence.contains("not good"));
    }

    #[test]
    fn a_friendly_message_has_no_flags() {
        let verdict = review_text("Thank you so much, that was really helpful!");
        assert!(verdict.flags.is_empty());
        assert!(verdict.sentiment > 0.5);
    }
}
