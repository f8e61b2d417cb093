//! Snippets and highlights, cut here from the stored text so both backends show the same.
//!
//! Matching here only places highlights: a token is highlighted when, with case and common
//! accents folded, it shares a crude English stem with a query token (or begins with a
//! prefix). Which hits match is the adapter's business; this never drops a hit.

use super::query::{Term, TermKind};

/// The longest snippet, in characters (ellipses included).
pub const SNIPPET_CHARS: usize = 200;
/// How many characters of context a snippet keeps before its first match, at most.
const LEAD: usize = 60;
const ELLIPSIS: char = '…';

/// Plain text around the best match, and where the matched words are in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snippet {
    /// At most [`SNIPPET_CHARS`] characters, whitespace runs folded to one space.
    pub text: String,
    /// `[start, end)` character offsets into `text` of the matched words, in order.
    pub highlights: Vec<(usize, usize)>,
}

/// Lower case with the accents of Latin letters removed.
pub fn fold(token: &str) -> String {
    token
        .chars()
        .flat_map(char::to_lowercase)
        .map(base)
        .collect()
}

fn base(c: char) -> char {
    match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĺ' | 'ļ' | 'ľ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' => 't',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// A crude English stem of a folded token: enough to highlight `refunded` for `refunds`.
fn stem(token: &str) -> &str {
    let mut s = token;
    for suffix in ["ies", "ing", "ed", "es", "s"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            if rest.chars().count() >= 3 && !(suffix == "s" && rest.ends_with('s')) {
                s = rest;
                break;
            }
        }
    }
    // `runn(ing)` -> `run`, `clos(e)` -> `clos`.
    let mut chars = s.chars().rev();
    if let (Some(a), Some(b)) = (chars.next(), chars.next()) {
        if ((a == b && !"aeiou".contains(a)) || a == 'e') && s.chars().count() > 3 {
            s = s.get(..s.len() - a.len_utf8()).unwrap_or(s);
        }
    }
    s
}

/// What a text token is compared with.
struct Needle {
    folded: String,
    prefix: bool,
}

impl Needle {
    fn matches(&self, folded: &str) -> bool {
        if self.prefix {
            folded.starts_with(&self.folded)
        } else {
            stem(folded) == stem(&self.folded)
        }
    }
}

fn needles(terms: &[Term]) -> Vec<Needle> {
    let mut out = vec![];
    for term in terms {
        let last = term.tokens.len().saturating_sub(1);
        for (i, token) in term.tokens.iter().enumerate() {
            out.push(Needle {
                folded: fold(token),
                prefix: term.kind == TermKind::Prefix && i == last,
            });
        }
    }
    out
}

/// `[start, end)` character offsets of the tokens of `text` (runs of letters and digits).
fn token_spans(text: &[char]) -> Vec<(usize, usize)> {
    let mut spans = vec![];
    let mut start = None;
    for (i, c) in text.iter().enumerate() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// Whether every token of `term` matches a token of `text` (not necessarily next to each
/// other: a rough match, for the in-memory adapter).
pub fn contains(text: &str, term: &Term) -> bool {
    let folded: Vec<String> = crate::search::query::tokens(text)
        .iter()
        .map(|t| fold(t))
        .collect();
    needles(std::slice::from_ref(term))
        .iter()
        .all(|n| folded.iter().any(|t| n.matches(t)))
}

/// Whether any token of `text` matches a term.
pub fn mentions(text: &str, terms: &[Term]) -> bool {
    let needles = needles(terms);
    crate::search::query::tokens(text)
        .iter()
        .any(|t| needles.iter().any(|n| n.matches(&fold(t))))
}

/// The snippet of `text` for `terms`: around the first matched token (or the start of the
/// text when none matches), with every matched token in it highlighted.
pub fn snippet(text: &str, terms: &[Term]) -> Snippet {
    let folded_ws: Vec<char> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    let needles = needles(terms);
    let spans = token_spans(&folded_ws);
    let hit = |&(s, e): &(usize, usize)| {
        let token: String = folded_ws.get(s..e).unwrap_or_default().iter().collect();
        let token = fold(&token);
        needles.iter().any(|n| n.matches(&token))
    };
    let first = spans.iter().find(|s| hit(s)).map_or(0, |s| s.0);
    // Start at a token boundary up to LEAD characters before the first match.
    let mut start = first.saturating_sub(LEAD);
    if start > 0 {
        start = spans
            .iter()
            .map(|s| s.0)
            .find(|&s| s >= start)
            .unwrap_or(first)
            .min(first);
    }
    let lead = usize::from(start > 0);
    let mut end = folded_ws.len().min(start + SNIPPET_CHARS - lead);
    if end < folded_ws.len() {
        // Room for the trailing ellipsis, and no word cut in half where one can end before.
        end -= 1;
        if let Some(&(_, e)) = spans.iter().rev().find(|&&(s, e)| e <= end && s >= start) {
            if e > start {
                end = e;
            }
        }
    }
    let mut out: String = if lead == 1 {
        ELLIPSIS.to_string()
    } else {
        String::new()
    };
    out.extend(folded_ws.get(start..end).unwrap_or_default());
    if end < folded_ws.len() {
        out.push(ELLIPSIS);
    }
    let highlights = spans
        .iter()
        .filter(|&&(s, e)| s >= start && e <= end)
        .filter(|s| hit(s))
        .map(|&(s, e)| (s - start + lead, e - start + lead))
        .collect();
    Snippet {
        text: out,
        highlights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::query::Query;

    fn cut(text: &str, q: &str) -> Snippet {
        snippet(text, &Query::parse(q).unwrap().include)
    }

    fn marked(s: &Snippet) -> Vec<String> {
        let chars: Vec<char> = s.text.chars().collect();
        s.highlights
            .iter()
            .map(|&(a, b)| chars[a..b].iter().collect())
            .collect()
    }

    #[test]
    fn highlights_inflections_case_and_accents() {
        let s = cut(
            "We REFUNDED the Café order; refunds take days.",
            "refund cafe",
        );
        assert_eq!(s.text, "We REFUNDED the Café order; refunds take days.");
        assert_eq!(marked(&s), vec!["REFUNDED", "Café", "refunds"]);
        let s = cut("running and closing", "run* closed");
        assert_eq!(marked(&s), vec!["running", "closing"]);
    }

    #[test]
    fn long_text_is_cut_around_the_first_match_on_word_boundaries() {
        let text = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let s = cut(&text, "needle");
        assert!(s.text.chars().count() <= SNIPPET_CHARS);
        assert!(s.text.starts_with('…') && s.text.ends_with('…'));
        assert_eq!(marked(&s), vec!["needle"]);
        assert!(s.text.contains("hay needle straw"));
        assert!(!s.text.contains("ha…") && !s.text.contains("…ay"));
    }

    #[test]
    fn no_match_gives_the_start_of_the_text() {
        let s = cut("multi\n\n  line   text", "absent");
        assert_eq!(s.text, "multi line text");
        assert!(s.highlights.is_empty());
        assert_eq!(cut("", "x").text, "");
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let s = cut("ééé naïve", "naive");
        assert_eq!(s.highlights, vec![(4, 9)]);
    }

    #[test]
    fn mentions_follows_the_same_matching() {
        let terms = Query::parse("refund").unwrap().include;
        assert!(mentions("Refunded!", &terms));
        assert!(!mentions("receipt", &terms));
    }
}
