//! A small sentiment lexicon with negation ("not good") and intensifiers ("very bad"),
//! scored to [-1, 1], and a short list of abusive words.

use crate::sentences::words;

/// Below this a message is flagged `NEGATIVE_SENTIMENT`.
pub const NEGATIVE_THRESHOLD: f32 = -0.4;

/// Positive words and their weights.
const POSITIVE: [(&str, f32); 26] = [
    ("good", 1.5),
    ("great", 2.0),
    ("excellent", 2.5),
    ("thanks", 1.5),
    ("thank", 1.5),
    ("happy", 2.0),
    ("pleased", 2.0),
    ("helpful", 2.0),
    ("appreciate", 2.0),
    ("appreciated", 2.0),
    ("wonderful", 2.5),
    ("perfect", 2.5),
    ("love", 2.5),
    ("awesome", 2.5),
    ("amazing", 2.5),
    ("glad", 1.5),
    ("nice", 1.5),
    ("fantastic", 2.5),
    ("kind", 1.5),
    ("quick", 1.0),
    ("easy", 1.0),
    ("fine", 0.5),
    ("works", 1.0),
    ("resolved", 1.0),
    ("fixed", 1.0),
    ("sorted", 1.0),
];

/// Negative words and their weights (positive numbers, subtracted).
const NEGATIVE: [(&str, f32); 34] = [
    ("bad", 1.5),
    ("terrible", 2.5),
    ("awful", 2.5),
    ("horrible", 2.5),
    ("angry", 2.0),
    ("upset", 2.0),
    ("disappointed", 2.0),
    ("disappointing", 2.0),
    ("frustrated", 2.0),
    ("frustrating", 2.0),
    ("annoyed", 1.5),
    ("annoying", 1.5),
    ("unacceptable", 2.5),
    ("ridiculous", 2.0),
    ("worst", 3.0),
    ("useless", 2.0),
    ("hate", 2.5),
    ("poor", 1.5),
    ("slow", 1.0),
    ("rude", 2.0),
    ("wrong", 1.0),
    ("broken", 1.5),
    ("scam", 3.0),
    ("fraud", 2.5),
    ("furious", 3.0),
    ("complain", 1.0),
    ("complaint", 1.0),
    ("unhappy", 2.0),
    ("confused", 1.0),
    ("problem", 0.5),
    ("worried", 1.5),
    ("sad", 1.5),
    ("failed", 1.0),
    ("error", 0.5),
];

/// Abusive words (whole words, any case); also count as strongly negative.
const ABUSIVE: [&str; 15] = [
    "idiot", "idiots", "stupid", "moron", "morons", "dumb", "jerk", "jerks", "crap", "crappy",
    "damn", "bastard", "bastards", "loser", "losers",
];

/// Abusive phrases of more than one word.
const ABUSIVE_PHRASES: [&str; 1] = ["shut up"];

const NEGATIONS: [&str; 6] = ["not", "no", "never", "cannot", "without", "nothing"];
const INTENSIFIERS: [&str; 7] = [
    "very",
    "really",
    "extremely",
    "so",
    "totally",
    "absolutely",
    "completely",
];
/// How far (in words) a negation reaches.
const NEGATION_SCOPE: usize = 3;
/// A negated word counts this much, with its sign flipped.
const NEGATION_FACTOR: f32 = -0.75;
/// Squashes a raw score into (-1, 1): `score / sqrt(score² + ALPHA)`.
const ALPHA: f32 = 6.0;

/// A message's sentiment and the words that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentiment {
    /// From -1 (very negative) to 1 (very positive).
    pub score: f32,
    /// The negative words found, as "word" or "not word".
    pub negative_words: Vec<String>,
}

/// Scores a text's sentiment.
pub fn sentiment(text: &str) -> Sentiment {
    let words = words(text);
    let mut total = 0.0f32;
    let mut negative_words = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let Some(weight) = weight(word) else {
            continue;
        };
        let window = words
            .get(i.saturating_sub(NEGATION_SCOPE)..i)
            .unwrap_or_default();
        let negated = window.iter().any(|w| is_negation(w));
        let intensified = window
            .last()
            .is_some_and(|w| INTENSIFIERS.contains(&w.as_str()));
        let mut value = if intensified { weight * 1.3 } else { weight };
        if negated {
            value *= NEGATION_FACTOR;
        }
        if value < 0.0 {
            negative_words.push(if negated {
                format!("not {word}")
            } else {
                word.clone()
            });
        }
        total += value;
    }
    let score = if total == 0.0 {
        0.0
    } else {
        (total / (total * total + ALPHA).sqrt()).clamp(-1.0, 1.0)
    };
    Sentiment {
        score,
        negative_words,
    }
}

/// The abusive words and phrases in a text, each once, as written in lower case.
pub fn abusive_words(text: &str) -> Vec<String> {
    let words = words(text);
    let mut found: Vec<String> = Vec::new();
    for word in &words {
        if ABUSIVE.contains(&word.as_str()) && !found.contains(word) {
            found.push(word.clone());
        }
    }
    for phrase in ABUSIVE_PHRASES {
        if crate::sentences::contains_phrase(&words, phrase) {
            found.push(phrase.to_string());
        }
    }
    found
}

fn weight(word: &str) -> Option<f32> {
    if ABUSIVE.contains(&word) {
        return Some(-2.5);
    }
    POSITIVE
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, v)| *v)
        .or_else(|| NEGATIVE.iter().find(|(w, _)| *w == word).map(|(_, v)| -v))
}

fn is_negation(word: &str) -> bool {
    NEGATIONS.contains(&word) || word.ends_with("n't")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_text_scores_zero() {
        assert_eq!(sentiment("The receipt was sent on Monday.").score, 0.0);
    }

    #[test]
    fn positive_and_negative_words_move_the_score() {
        assert!(sentiment("Thanks, that was great!").score > 0.5);
        assert!(sentiment("This is terrible and unacceptable.").score < NEGATIVE_THRESHOLD);
    }

    #[test]
    fn negation_flips_a_word() {
        let s = sentiment("This is not good");
        assert!(s.score < 0.0);
        assert_eq!(s.negative_words, vec!["not good"]);
        assert!(sentiment("I'm not unhappy with it").score > 0.0);
        assert!(sentiment("It isn't bad").score > 0.0);
    }

    #[test]
    fn score_stays_within_bounds() {
        let s = sentiment(&"worst scam ever, furious ".repeat(50));
        assert!((-1.0..=1.0).contains(&s.score));
        assert!(s.score < -0.9);
    }

    #[test]
    fn abusive_words_are_whole_words_in_any_case() {
        assert_eq!(
            abusive_words("You are an IDIOT, shut up"),
            vec!["idiot", "shut up"]
        );
        assert!(abusive_words("Scunthorpe idiotic? no, a stupidity").is_empty());
    }
}
