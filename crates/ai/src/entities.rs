//! Facts pulled out of text: phone numbers, emails, links, amounts, dates and order or
//! reference numbers.
//!
//! Patterns run from the most specific to the loosest (links, emails, references, dates,
//! amounts, card numbers, phones). Each match blanks its span before the next pattern runs,
//! so a date or an order number is never read again as a phone number.

use crate::cards;
use concierge_domain::analysis::{Entity, EntityKind};
use regex::{Captures, Regex};
use std::collections::HashSet;
use std::sync::LazyLock;

/// Stands in for text already claimed by an earlier pattern (one byte, never a word or digit).
const BLANK: u8 = 0x1f;

const MONTHS: &str = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
const NUMBER: &str = r"\d+(?:,\d{3})*(?:\.\d{1,2})?";

fn compile(pattern: &str) -> Regex {
    // The patterns are constants of this file, and every one is compiled by its tests.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("entity pattern is valid")
}

static URL: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]{}\x1f]+"#));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}\b",
    )
});
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i:\b(?P<label>order|reference|ref|receipt|invoice|transaction|txn|confirmation|booking|case)(?:\s+(?:number|no\.?|num|id|code))?(?:\s+(?:is|was))?)\s*(?P<mark>#|:|(?i:no\.))?\s*(?P<id>\d+(?:[ -]\d+)*|[A-Z0-9]+(?:-[A-Z0-9]+)*)\b",
    )
});
static DATE_ISO: LazyLock<Regex> = LazyLock::new(|| compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"));
static DATE_NUMERIC: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})\b"));
static DATE_MONTH_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)\b(?:{MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b)?"
    ))
});
static DATE_DAY_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b\.?(?:,?\s+\d{{4}}\b)?"
    ))
});
static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?:\b(?:US|CA|AU|NZ))?[$€£¥]\s?{NUMBER}|\b{NUMBER}\s?(?:[€£]|(?i:usd|eur|gbp|cad|aud|chf|dollars?|euros?|pounds?|cents?)\b)|\b(?i:usd|eur|gbp|cad|aud|chf)\s?{NUMBER}\b"
    ))
});
static PHONE: LazyLock<Regex> = LazyLock::new(|| compile(r"\+?\(?\d[\d ().-]{5,}\d"));

/// Words that, shortly before a bare run of digits, say it is a phone number.
const PHONE_CUES: [&str; 9] = [
    "phone", "call", "tel", "mobile", "cell", "number", "reach", "text", "whatsapp",
];

/// One entity with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    /// Byte offset of its start.
    pub start: usize,
    /// The entity.
    pub entity: Entity,
}

/// Every entity in one text, in the order they appear (duplicates kept).
pub(crate) fn locate(text: &str) -> Vec<Located> {
    let mut work = text.as_bytes().to_vec();
    let mut found = Vec::new();

    let mut claim =
        |work: &mut [u8], start: usize, end: usize, entity: Option<(EntityKind, String)>| {
            if let Some(span) = work.get_mut(start..end) {
                span.fill(BLANK);
            }
            if let Some((kind, value)) = entity {
                found.push(Located {
                    start,
                    entity: Entity { kind, value },
                });
            }
        };
    // The patterns claim their spans in this order: an earlier kind hides its text from the
    // later ones.
    let first: [(&Regex, EntityKind, Accept); 2] = [
        (&URL, EntityKind::Url, url_len),
        (&EMAIL, EntityKind::Email, whole),
    ];
    let then: [(&Regex, EntityKind, Accept); 5] = [
        (&DATE_ISO, EntityKind::Date, date_len),
        (&DATE_NUMERIC, EntityKind::Date, date_len),
        (&DATE_MONTH_FIRST, EntityKind::Date, date_len),
        (&DATE_DAY_FIRST, EntityKind::Date, date_len),
        (&AMOUNT, EntityKind::Amount, whole),
    ];
    let text_of = |start: usize, end: usize| text.get(start..end).unwrap_or_default().to_owned();
    for (pattern, kind, accept) in first {
        for (start, end) in spans(pattern, &work, accept) {
            claim(&mut work, start, end, Some((kind, text_of(start, end))));
        }
    }
    for (start, end, value) in references(&work, text) {
        claim(&mut work, start, end, Some((EntityKind::Reference, value)));
    }
    for (pattern, kind, accept) in then {
        for (start, end) in spans(pattern, &work, accept) {
            claim(&mut work, start, end, Some((kind, text_of(start, end))));
        }
    }
    for card in cards::find_cards(&as_text(&work)) {
        claim(&mut work, card.start, card.end, None);
    }
    for (start, end) in phones(&work, text) {
        claim(
            &mut work,
            start,
            end,
            Some((EntityKind::Phone, text_of(start, end))),
        );
    }
    found.sort_by_key(|l| l.start);
    found
}

/// The entities of several texts, in order of first appearance, each once.
pub fn extract_entities<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<Entity> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for text in texts {
        for located in locate(text) {
            if seen.insert((located.entity.kind, dedup_key(&located.entity))) {
                out.push(located.entity);
            }
        }
    }
    out
}

/// What makes two mentions the same entity: digits for phones, lower case and no spacing for
/// the rest.
fn dedup_key(entity: &Entity) -> String {
    match entity.kind {
        EntityKind::Phone => entity.value.chars().filter(char::is_ascii_digit).collect(),
        EntityKind::Url => entity
            .value
            .to_lowercase()
            .trim_end_matches('/')
            .to_string(),
        _ => entity
            .value
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect(),
    }
}

fn as_text(work: &[u8]) -> String {
    // Blanking replaces whole matches, which start and end on character boundaries.
    String::from_utf8_lossy(work).into_owned()
}

/// How much of a match a kind takes (`None`: not this kind).
type Accept = fn(&Captures<'_>) -> Option<usize>;

fn whole(captures: &Captures<'_>) -> Option<usize> {
    captures.get(0).map(|m| m.len())
}

fn url_len(captures: &Captures<'_>) -> Option<usize> {
    Some(trim_url(captures.get(0)?.as_str()).len())
}

fn date_len(captures: &Captures<'_>) -> Option<usize> {
    valid_date(captures).then(|| captures.get(0).map_or(0, |m| m.len()))
}

/// Start and end of each match of `pattern` in the (partly blanked) text that `accept` takes;
/// `accept` may shorten a match by returning its new length.
fn spans(pattern: &Regex, work: &[u8], accept: Accept) -> Vec<(usize, usize)> {
    let text = as_text(work);
    pattern
        .captures_iter(&text)
        .filter_map(|c| {
            let start = c.get(0)?.start();
            let len = accept(&c)?;
            (len > 0).then_some((start, start + len))
        })
        .collect()
}

fn trim_url(url: &str) -> &str {
    url.trim_end_matches(['.', ',', ';', ':', '!', '?'])
}

fn references(work: &[u8], original: &str) -> Vec<(usize, usize, String)> {
    let text = as_text(work);
    REFERENCE
        .captures_iter(&text)
        .filter_map(|c| {
            let all = c.get(0)?;
            let id = c.name("id")?;
            let alphanumerics = id
                .as_str()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .count();
            if alphanumerics < 3 || !id.as_str().chars().any(|ch| ch.is_ascii_digit()) {
                return None;
            }
            let label = c
                .name("label")
                .and_then(|m| original.get(m.range()))
                .unwrap_or_default();
            let mark = if c.name("mark").is_some_and(|m| m.as_str() == "#") {
                "#"
            } else {
                ""
            };
            Some((
                all.start(),
                id.end(),
                format!("{label} {mark}{}", original.get(id.range())?),
            ))
        })
        .collect()
}

fn valid_date(captures: &Captures<'_>) -> bool {
    let numbers: Vec<u32> = captures
        .iter()
        .skip(1)
        .flatten()
        .filter_map(|m| m.as_str().parse().ok())
        .collect();
    match numbers.as_slice() {
        // 2026-11-21
        [year, month, day] if *year >= 1000 => (1..=12).contains(month) && (1..=31).contains(day),
        // 21/11/2026 or 11/21/2026
        [a, b, _] => (1..=31).contains(a) && (1..=31).contains(b) && (*a <= 12 || *b <= 12),
        // Nov 21, 21 November
        [day] => (1..=31).contains(day),
        _ => false,
    }
}

fn phones(work: &[u8], original: &str) -> Vec<(usize, usize)> {
    let text = as_text(work);
    PHONE
        .find_iter(&text)
        .filter_map(|m| {
            let candidate = m.as_str();
            let digits = candidate.chars().filter(char::is_ascii_digit).count();
            if !(7..=15).contains(&digits) {
                return None;
            }
            let before = text.get(..m.start()).and_then(|t| t.chars().next_back());
            if before.is_some_and(|c| c.is_alphanumeric() || "/$€£#-.,_".contains(c)) {
                return None;
            }
            let mut after = text.get(m.end()..).unwrap_or_default().chars();
            let next = after.next();
            let next_next = after.next();
            if next.is_some_and(|c| c.is_alphanumeric() || c == '/' || c == '%')
                || (next.is_some_and(|c| c == '.' || c == ',')
                    && next_next.is_some_and(|c| c.is_ascii_digit()))
            {
                return None;
            }
            let groups: Vec<&str> = candidate
                .split(|c: char| !c.is_ascii_digit())
                .filter(|g| !g.is_empty())
                .collect();
            if groups.iter().filter(|g| g.len() == 1).count() > 1 {
                return None;
            }
            let bare = groups.len() == 1 && !candidate.starts_with('+');
            if bare && !has_phone_cue(original.get(..m.start()).unwrap_or_default()) {
                return None;
            }
            Some((m.start(), m.end()))
        })
        .collect()
}

fn has_phone_cue(before: &str) -> bool {
    let tail: String = before
        .chars()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let words = crate::sentences::words(&tail);
    words.iter().any(|w| {
        let singular = w.strip_suffix('s').unwrap_or(w);
        PHONE_CUES.contains(&singular) || w.starts_with("phone")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str, kind: EntityKind) -> Vec<String> {
        extract_entities([text])
            .into_iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.value)
            .collect()
    }

    #[test]
    fn finds_international_and_local_phone_numbers() {
        let text = "Call +44 20 7946 0958 or (555) 010-0199, mobile 0612345678, home 555-0123.";
        assert_eq!(
            values(text, EntityKind::Phone),
            vec![
                "+44 20 7946 0958",
                "(555) 010-0199",
                "0612345678",
                "555-0123"
            ]
        );
    }

    #[test]
    fn dates_amounts_and_references_are_not_phones() {
        let text = "On 2026-11-21 I paid $1,250.00 for order #12345678 (ref ABC-123), 21/11/2026.";
        assert!(values(text, EntityKind::Phone).is_empty());
        assert_eq!(
            values(text, EntityKind::Date),
            vec!["2026-11-21", "21/11/2026"]
        );
        assert_eq!(values(text, EntityKind::Amount), vec!["$1,250.00"]);
        assert_eq!(
            values(text, EntityKind::Reference),
            vec!["order #12345678", "ref ABC-123"]
        );
    }

    #[test]
    fn finds_amounts_in_several_forms() {
        let text = "It was $12.50, then 15 EUR, £3, 50 dollars and USD 20.";
        assert_eq!(
            values(text, EntityKind::Amount),
            vec!["$12.50", "15 EUR", "£3", "50 dollars", "USD 20"]
        );
    }

    #[test]
    fn finds_dates_with_month_names() {
        let text = "Charged Nov 21, refunded 21 November 2026, due March 3rd, 2027.";
        assert_eq!(
            values(text, EntityKind::Date),
            vec!["Nov 21", "21 November 2026", "March 3rd, 2027"]
        );
        assert!(values("It was 45/13/2026", EntityKind::Date).is_empty());
    }

    #[test]
    fn finds_emails_and_urls_and_references() {
        let text = "Mail jane.doe+gifts@example.org or see https://example.org/help?id=4. \
                    Your receipt 998877 and invoice no. INV-2026-0042.";
        assert_eq!(
            values(text, EntityKind::Email),
            vec!["jane.doe+gifts@example.org"]
        );
        assert_eq!(
            values(text, EntityKind::Url),
            vec!["https://example.org/help?id=4"]
        );
        assert_eq!(
            values(text, EntityKind::Reference),
            vec!["receipt 998877", "invoice INV-2026-0042"]
        );
    }

    #[test]
    fn deduplicates_across_messages() {
        let entities = extract_entities([
            "Call 555-0123",
            "yes, 555 0123 again",
            "JANE@example.org",
            "jane@example.org",
        ]);
        assert_eq!(entities.len(), 2);
    }

    #[test]
    fn card_numbers_are_not_phones_and_plain_counts_are_not_either() {
        assert!(values("card 3782 822463 10005", EntityKind::Phone).is_empty());
        assert!(values("we raised 1234567 this year", EntityKind::Phone).is_empty());
    }
}
