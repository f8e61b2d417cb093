//! The query language of search, parsed once here so every backend answers the same query.
//!
//! `refund "wrong amount" recei* -test status:OPEN assignee:me created:>2026-01-01`: words
//! (all must match), phrases, prefixes, exclusions and field filters. Words are cut into
//! tokens of letters and digits ([`tokens`]); everything else separates tokens and is never
//! passed on as syntax, so the adapters can quote each token as plain text.

use crate::error::{DomainError, Result};
use crate::ids::UserId;
use crate::ticket::{Channel, Priority, TicketStatus};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// The longest query, in characters.
pub const MAX_QUERY: usize = 500;
/// The most words, phrases and prefixes (included and excluded) in one query.
pub const MAX_TERMS: usize = 32;
/// The shortest prefix before `*`, in characters.
pub const MIN_PREFIX: usize = 2;

/// How a term matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// One token (or, for a word written with punctuation inside, its tokens in a row).
    Word,
    /// Tokens in this order, next to each other.
    Phrase,
    /// Like [`Phrase`](Self::Phrase), the last token matching any word it begins.
    Prefix,
}

/// A word, phrase or prefix: one or more tokens of letters and digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The tokens, as written (the adapters fold case and accents and stem them).
    pub tokens: Vec<String>,
    /// How they match.
    pub kind: TermKind,
}

/// Whose tickets the `assignee:` filter keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// `assignee:me`: the caller (resolved to an id by the service).
    Me,
    /// `assignee:none`: unassigned tickets.
    Nobody,
    /// `assignee:42`: this user id.
    Id(UserId),
    /// `assignee:alice`: the user with this username.
    Username(String),
}

/// Which kind of hit `type:` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HitKind {
    /// A ticket (its title and description matched).
    Ticket,
    /// A message (its text or its files' names matched).
    Message,
}

impl HitKind {
    /// The wire name (`ticket`, `message`).
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Ticket => "ticket",
            HitKind::Message => "message",
        }
    }
}

/// The field filters of a query. Empty fields do not filter; a list keeps any of its values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// `status:`, any of these.
    pub statuses: Vec<TicketStatus>,
    /// `priority:`, any of these.
    pub priorities: Vec<Priority>,
    /// `channel:`, any of these.
    pub channels: Vec<Channel>,
    /// `assignee:`.
    pub assignee: Option<AssigneeFilter>,
    /// `donor:`, the donor's id.
    pub donor_id: Option<String>,
    /// `type:`.
    pub kind: Option<HitKind>,
    /// `created:>`: created strictly after.
    pub created_after: Option<DateTime<Utc>>,
    /// `created:<`: created strictly before.
    pub created_before: Option<DateTime<Utc>>,
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Terms a hit must all match.
    pub include: Vec<Term>,
    /// Terms a hit must match none of.
    pub exclude: Vec<Term>,
    /// The field filters.
    pub filters: Filters,
}

/// The tokens of `text`: its runs of letters and digits.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid("q", message)
}

/// One piece of the query as written, before it is understood.
struct Piece {
    text: String,
    quoted: bool,
    negated: bool,
    prefix: bool,
}

/// Reads `"text"` from `chars` (at its opening quote); `None` when it is not closed.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    chars.next();
    let mut text = String::new();
    for c in chars.by_ref() {
        if c == '"' {
            return Some(text);
        }
        text.push(c);
    }
    None
}

/// Cuts the query into pieces: runs of non-space characters and quoted phrases.
fn pieces(q: &str) -> Result<Vec<Piece>> {
    let mut out = vec![];
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            negated = true;
        }
        if chars.peek() == Some(&'"') {
            let text = quoted(&mut chars)
                .ok_or_else(|| invalid("a phrase is missing its closing quote (\")"))?;
            let prefix = chars.peek() == Some(&'*');
            if prefix {
                chars.next();
            }
            out.push(Piece {
                text,
                quoted: true,
                negated,
                prefix,
            });
            continue;
        }
        let mut text = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '"' {
                break;
            }
            text.push(c);
            chars.next();
        }
        // A filter's value may be quoted: `donor:"a b"`.
        if text.ends_with(':') && chars.peek() == Some(&'"') {
            let value = quoted(&mut chars).ok_or_else(|| {
                invalid("a filter's quoted value is missing its closing quote (\")")
            })?;
            text.push_str(&value);
        }
        let prefix = text.ends_with('*');
        if prefix {
            text.pop();
        }
        out.push(Piece {
            text,
            quoted: false,
            negated,
            prefix,
        });
    }
    Ok(out)
}

/// The filter names, as written before the colon.
const FILTERS: [&str; 7] = [
    "status", "priority", "channel", "assignee", "donor", "type", "created",
];

/// Parses a wire-enum value case-insensitively, naming the filter when it is unknown.
fn enum_value<T: Copy>(
    name: &str,
    value: &str,
    all: &[T],
    as_str: impl Fn(T) -> &'static str,
) -> Result<T> {
    let wanted = value.to_ascii_uppercase();
    all.iter()
        .copied()
        .find(|v| as_str(*v) == wanted)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
            invalid(format!(
                "{name}:{value} is not known; {name} is one of {}",
                names.join(", ")
            ))
        })
}

/// An RFC 3339 date-time, or a date: its first instant (`start`) or the first instant of the
/// next day (`!start`), in UTC.
fn instant(value: &str, start: bool) -> Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        invalid(format!(
            "created:{value} is not a date; write created:>2026-01-31 or created:<2026-01-31T12:00:00Z"
        ))
    })?;
    let day = if start { Some(day) } else { day.succ_opt() };
    day.map(|d| d.and_time(NaiveTime::MIN).and_utc())
        .ok_or_else(|| invalid(format!("created:{value} is out of range")))
}

fn set_once<T: PartialEq>(slot: &mut Option<T>, value: T, name: &str) -> Result<()> {
    match slot {
        Some(old) if *old != value => Err(invalid(format!(
            "{name}: is given twice with different values"
        ))),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

impl Filters {
    /// Applies `name:value`.
    fn apply(&mut self, name: &str, value: &str) -> Result<()> {
        if value.is_empty() {
            return Err(invalid(format!("{name}: needs a value")));
        }
        match name {
            "status" => {
                let v = enum_value(name, value, TicketStatus::ALL, TicketStatus::as_str)?;
                self.statuses.push(v);
            }
            "priority" => {
                let v = enum_value(name, value, Priority::ALL, Priority::as_str)?;
                self.priorities.push(v);
            }
            "channel" => {
                let v = enum_value(name, value, Channel::ALL, Channel::as_str)?;
                self.channels.push(v);
            }
            "assignee" => {
                let v = match value.to_ascii_lowercase().as_str() {
                    "me" => AssigneeFilter::Me,
                    "none" => AssigneeFilter::Nobody,
                    _ => match value.parse::<i64>() {
                        Ok(id) if id > 0 => AssigneeFilter::Id(UserId(id)),
                        Ok(_) => return Err(invalid("assignee: an id is a positive number")),
                        Err(_) => AssigneeFilter::Username(value.to_lowercase()),
                    },
                };
                set_once(&mut self.assignee, v, name)?;
            }
            "donor" => set_once(&mut self.donor_id, value.to_string(), name)?,
            "type" => {
                let v = match value.to_ascii_lowercase().as_str() {
                    "ticket" => HitKind::Ticket,
                    "message" => HitKind::Message,
                    _ => {
                        return Err(invalid(format!(
                            "{name}:{value} is not known; type is ticket or message"
                        )))
                    }
                };
                set_once(&mut self.kind, v, "type")?;
            }
            "created" => {
                if let Some(date) = value.strip_prefix('>') {
                    set_once(&mut self.created_after, instant(date, false)?, "created:>")?;
                } else if let Some(date) = value.strip_prefix('<') {
                    set_once(&mut self.created_before, instant(date, true)?, "created:<")?;
                } else {
                    return Err(invalid(
                        "created: needs > or < before its date, as in created:>2026-01-31",
                    ));
                }
            }
            _ => return Err(invalid(format!("{name}: is not a filter"))),
        }
        Ok(())
    }
}

impl Query {
    /// Parses `q` (1 to [`MAX_QUERY`] characters). A query needs a word, phrase, prefix or
    /// filter; exclusions narrow what the rest finds.
    pub fn parse(q: &str) -> Result<Query> {
        let length = q.chars().count();
        if q.trim().is_empty() {
            return Err(invalid("is empty; write a word, a \"phrase\" or a filter"));
        }
        if q.contains('\0') {
            return Err(invalid("must not contain NUL characters"));
        }
        if length > MAX_QUERY {
            return Err(invalid(format!(
                "is {length} characters long; at most {MAX_QUERY} are allowed"
            )));
        }
        let mut query = Query::default();
        let mut has_filter = false;
        for piece in pieces(q)? {
            if !piece.quoted {
                if let Some((name, value)) = piece.text.split_once(':') {
                    let name = name.to_ascii_lowercase();
                    if FILTERS.contains(&name.as_str()) {
                        if piece.negated {
                            return Err(invalid(format!("{name}: cannot be excluded with -")));
                        }
                        let value = if piece.prefix {
                            format!("{value}*")
                        } else {
                            value.to_string()
                        };
                        query.filters.apply(&name, &value)?;
                        has_filter = true;
                        continue;
                    }
                }
            }
            let tokens = tokens(&piece.text);
            if tokens.is_empty() {
                if piece.quoted {
                    return Err(invalid("a phrase has no letters or digits in it"));
                }
                // Punctuation alone (`&`, `*`, `-`) is no term.
                continue;
            }
            let kind = if piece.prefix {
                let last = tokens.last().map_or(0, |t| t.chars().count());
                if last < MIN_PREFIX || !piece.text.trim_end().ends_with(char::is_alphanumeric) {
                    return Err(invalid(format!(
                        "a prefix needs at least {MIN_PREFIX} letters or digits before *"
                    )));
                }
                TermKind::Prefix
            } else if piece.quoted || tokens.len() > 1 {
                TermKind::Phrase
            } else {
                TermKind::Word
            };
            let term = Term { tokens, kind };
            if piece.negated {
                query.exclude.push(term);
            } else {
                query.include.push(term);
            }
        }
        if query.include.len() + query.exclude.len() > MAX_TERMS {
            return Err(invalid(format!(
                "has more than {MAX_TERMS} words, phrases and prefixes"
            )));
        }
        if query.include.is_empty() && !has_filter {
            return Err(invalid(if query.exclude.is_empty() {
                "has no letters or digits to search for"
            } else {
                "has only exclusions; add a word or a filter to search within"
            }));
        }
        if let (Some(after), Some(before)) =
            (query.filters.created_after, query.filters.created_before)
        {
            if after >= before {
                return Err(invalid("created:> is not before created:<"));
            }
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(t: &str) -> Term {
        Term {
            tokens: vec![t.into()],
            kind: TermKind::Word,
        }
    }

    fn terms(kind: TermKind, tokens: &[&str]) -> Term {
        Term {
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
            kind,
        }
    }

    fn problem(q: &str) -> String {
        match Query::parse(q) {
            Err(DomainError::Invalid(errors)) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].field, "q");
                errors[0].message.clone()
            }
            other => panic!("{q:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn words_phrases_prefixes_and_exclusions() {
        let q = Query::parse(r#"Refund  "wrong amount" recei* -test -"old news" café"#).unwrap();
        assert_eq!(
            q.include,
            vec![
                word("Refund"),
                terms(TermKind::Phrase, &["wrong", "amount"]),
                terms(TermKind::Prefix, &["recei"]),
                word("café"),
            ]
        );
        assert_eq!(
            q.exclude,
            vec![word("test"), terms(TermKind::Phrase, &["old", "news"])]
        );
        assert_eq!(q.filters, Filters::default());
    }

    #[test]
    fn punctuation_inside_a_word_makes_a_phrase_and_alone_is_dropped() {
        let q = Query::parse("invoice_2026.pdf & | ! ( ) c++ NEAR(a b) col:x").unwrap();
        assert_eq!(
            q.include,
            vec![
                terms(TermKind::Phrase, &["invoice", "2026", "pdf"]),
                word("c"),
                terms(TermKind::Phrase, &["NEAR", "a"]),
                word("b"),
                terms(TermKind::Phrase, &["col", "x"]),
            ]
        );
        let q = Query::parse(r#""tail end"* 'quoted'"#).unwrap();
        assert_eq!(q.include[0], terms(TermKind::Prefix, &["tail", "end"]));
        assert_eq!(q.include[1], word("quoted"));
    }

    #[test]
    fn filters() {
        let q = Query::parse(
            "status:open status:IN_PROGRESS priority:high channel:donor assignee:me \
             donor:d-42 type:message created:>2026-01-31 created:<2026-03-01T12:00:00+01:00",
        )
        .unwrap();
        assert!(q.include.is_empty());
        let f = q.filters;
        assert_eq!(
            f.statuses,
            vec![TicketStatus::Open, TicketStatus::InProgress]
        );
        assert_eq!(f.priorities, vec![Priority::High]);
        assert_eq!(f.channels, vec![Channel::Donor]);
        assert_eq!(f.assignee, Some(AssigneeFilter::Me));
        assert_eq!(f.donor_id.as_deref(), Some("d-42"));
        assert_eq!(f.kind, Some(HitKind::Message));
        assert_eq!(
            f.created_after.unwrap().to_rfc3339(),
            "2026-02-01T00:00:00+00:00"
        );
        assert_eq!(
            f.created_before.unwrap().to_rfc3339(),
            "2026-03-01T11:00:00+00:00"
        );
        for (q, want) in [
            ("assignee:none", AssigneeFilter::Nobody),
            ("assignee:17", AssigneeFilter::Id(UserId(17))),
            ("assignee:Alice", AssigneeFilter::Username("alice".into())),
        ] {
            assert_eq!(Query::parse(q).unwrap().filters.assignee, Some(want), "{q}");
        }
        let q = Query::parse(r#"donor:"a b" refund"#).unwrap();
        assert_eq!(q.filters.donor_id.as_deref(), Some("a b"));
        assert_eq!(q.include, vec![word("refund")]);
        // A name that is no filter is searched as words.
        let q = Query::parse("https://example.org").unwrap();
        assert_eq!(
            q.include,
            vec![terms(TermKind::Phrase, &["https", "example", "org"])]
        );
    }

    #[test]
    fn malformed_queries_name_their_problem() {
        for (q, fragment) in [
            ("", "empty"),
            ("   ", "empty"),
            ("\"open phrase", "closing quote"),
            ("donor:\"d 1", "closing quote"),
            ("\"\"", "no letters"),
            ("&&& ||", "no letters"),
            ("-refund", "only exclusions"),
            ("a*", "prefix"),
            ("ab-*", "prefix"),
            ("status:", "needs a value"),
            (
                "status:lost",
                "status:lost is not known; status is one of OPEN",
            ),
            ("priority:huge", "priority is one of LOW"),
            ("channel:web", "DONOR, INTERNAL"),
            ("type:call", "ticket or message"),
            ("assignee:-3", "positive"),
            ("created:2026-01-01", "> or <"),
            ("created:>yesterday", "not a date"),
            ("created:>2026-02-01 created:<2026-01-01", "not before"),
            ("assignee:me assignee:none", "twice"),
            ("-status:OPEN refund", "cannot be excluded"),
            ("refund donor:d\0", "NUL"),
            ("alp\0zzz", "NUL"),
        ] {
            let message = problem(q);
            assert!(message.contains(fragment), "{q:?}: {message}");
        }
        assert!(problem(&"a".repeat(501)).contains("at most 500"));
        assert!(Query::parse(&"a".repeat(500)).is_ok());
        let many = vec!["w"; MAX_TERMS + 1].join(" ");
        assert!(problem(&many).contains("more than"));
    }

    #[test]
    fn filters_alone_and_exclusions_with_a_filter_are_queries() {
        let q = Query::parse("status:OPEN -refund").unwrap();
        assert!(q.include.is_empty());
        assert_eq!(q.exclude, vec![word("refund")]);
    }

    #[test]
    fn a_date_filter_is_exclusive_at_both_ends() {
        let q = Query::parse("created:<2026-01-31").unwrap();
        assert_eq!(
            q.filters.created_before.unwrap().to_rfc3339(),
            "2026-01-31T00:00:00+00:00"
        );
    }

    mod never_panics {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn on_any_text(q in "\\PC{0,600}") {
                let _ = Query::parse(&q);
            }

            #[test]
            fn on_query_like_text(
                q in r#"([-"*: ]|status|created|assignee|type|donor|[<>]|20[0-9]{2}-[0-9]{2}-[0-9]{2}|[a-zé]{1,6}){0,40}"#
            ) {
                if let Ok(query) = Query::parse(&q) {
                    for term in query.include.iter().chain(&query.exclude) {
                        prop_assert!(!term.tokens.is_empty());
                        prop_assert!(term.tokens.iter().all(|t| t.chars().all(char::is_alphanumeric)));
                    }
                }
            }
        }
    }
}
