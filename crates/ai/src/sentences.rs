//! Splitting messages into sentences and sentences into words, for the local analyzer.

/// One sentence of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sentence<'a> {
    /// The sentence, trimmed.
    pub text: &'a str,
}

/// Splits a message into sentences. A sentence ends at a line break, or at `.`, `!` or `?`
/// followed by white space and then something that does not look like the middle of a
/// sentence (a lower-case word or a digit), so "$12.50", "e.g. this" and emails stay whole.
pub(crate) fn split_sentences(text: &str) -> Vec<Sentence<'_>> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |n: usize| chars.get(n).map(|&(_, c)| c);
    let mut i = 0;
    while let Some(&(pos, c)) = chars.get(i) {
        let end_here = match c {
            '\n' | '\r' => Some(pos),
            '.' | '!' | '?' | '…' => {
                // Swallow repeated punctuation and closing quotes or brackets.
                let mut j = i + 1;
                while matches!(at(j), Some('.' | '!' | '?' | '"' | '\'' | ')' | '”' | '’')) {
                    j += 1;
                }
                let followed_by_space = at(j).is_none_or(char::is_whitespace);
                let mut k = j;
                while at(k) == Some(' ') {
                    k += 1;
                }
                let next_starts_sentence =
                    at(k).is_none_or(|c| !(c.is_lowercase() || c.is_ascii_digit()));
                if followed_by_space && next_starts_sentence {
                    i = j - 1;
                    Some(chars.get(j).map_or(text.len(), |&(p, _)| p))
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(end) = end_here {
            push_sentence(&mut sentences, text.get(start..end).unwrap_or_default());
            start = end;
        }
        i += 1;
    }
    push_sentence(&mut sentences, text.get(start..).unwrap_or_default());
    sentences
}

fn push_sentence<'a>(sentences: &mut Vec<Sentence<'a>>, raw: &'a str) {
    let text = raw.trim();
    if text.chars().any(char::is_alphanumeric) {
        sentences.push(Sentence { text });
    }
}

/// The words of a text, lower-cased, with curly apostrophes made straight ("can't").
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        let c = if c == '’' { '\'' } else { c };
        if c.is_alphanumeric() || (c == '\'' && !current.is_empty()) {
            current.extend(c.to_lowercase());
        } else if !current.is_empty() {
            out.push(
                std::mem::take(&mut current)
                    .trim_end_matches('\'')
                    .to_string(),
            );
        }
    }
    if !current.is_empty() {
        out.push(current.trim_end_matches('\'').to_string());
    }
    out
}

/// Whether the word sequence contains `phrase` (one or more words, lower case) as whole words.
pub(crate) fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let parts: Vec<&str> = phrase.split(' ').collect();
    if parts.is_empty() || parts.len() > words.len() {
        return false;
    }
    words
        .windows(parts.len())
        .any(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
}

/// Shortens `text` to at most `max` characters at a word boundary, adding `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let trimmed = match cut.rfind(' ') {
        Some(space) if space > max / 2 => cut.get(..space).unwrap_or_default(),
        _ => cut.as_str(),
    };
    format!("{}…", trimmed.trim_end_matches([',', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<&str> {
        split_sentences(text).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_end_punctuation_and_line_breaks() {
        assert_eq!(
            texts("Hello there! My receipt is wrong. Can you help?\nThanks"),
            vec![
                "Hello there!",
                "My receipt is wrong.",
                "Can you help?",
                "Thanks"
            ]
        );
    }

    #[test]
    fn keeps_amounts_emails_and_abbreviations_whole() {
        assert_eq!(
            texts("I paid $12.50 e.g. yesterday. Write to a.b@example.org. Done."),
            vec![
                "I paid $12.50 e.g. yesterday.",
                "Write to a.b@example.org.",
                "Done."
            ]
        );
    }

    #[test]
    fn words_are_lower_case_with_apostrophes() {
        assert_eq!(
            words("I CAN’T log in, it's broken!"),
            vec!["i", "can't", "log", "in", "it's", "broken"]
        );
        assert!(contains_phrase(
            &words("It is not working at all"),
            "not working"
        ));
        assert!(!contains_phrase(&words("nothing working"), "not working"));
    }

    #[test]
    fn shorten_cuts_at_a_word() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("one two three four five", 12), "one two…");
    }
}
