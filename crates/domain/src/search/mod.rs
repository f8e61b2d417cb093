//! Search over tickets and messages: the query language ([`query`]), who may find what
//! ([`Scope`]), the [`SearchIndex`] port the store implements, and the [`SearchService`] that
//! ties them together and cuts snippets ([`snippet`]).

pub mod query;
pub mod snippet;

pub use query::{AssigneeFilter, Filters, HitKind, Query, Term, TermKind};

use crate::actor::Actor;
use crate::error::{DomainError, Result};
use crate::ids::{MessageId, TicketId, UserId};
use crate::page::{Page, DEFAULT_LIMIT, MAX_LIMIT};
use crate::ticket::TicketStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The deepest a client may page into one result list.
pub const MAX_OFFSET: u32 = 10_000;

/// Which tickets (and their messages) a search may return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every ticket: staff may read and list every ticket.
    Everything,
    /// A donor token: the donor queries of its donor id, and only those of its donor session
    /// unless the app vouched for the donor id (the rule of its ticket lists).
    Donor {
        /// The donor's id.
        donor_id: String,
        /// Its donor session, when confined to it.
        session: Option<String>,
    },
}

impl Scope {
    /// What `actor` may search: the same tickets its lists may show.
    pub fn of(actor: &Actor) -> Scope {
        match actor {
            Actor::Donor { donor_id, .. } => Scope::Donor {
                donor_id: donor_id.clone(),
                session: actor.donor_session_scope().map(str::to_string),
            },
            Actor::Staff { .. } | Actor::System => Scope::Everything,
        }
    }
}

impl Filters {
    /// Makes the filters ready for an index on behalf of `actor`: `assignee:me` becomes the
    /// caller's id; `assignee:` from anyone but staff is `Invalid` (a donor never learns who
    /// works on its queries).
    pub fn resolve_for(&mut self, actor: &Actor) -> Result<()> {
        if self.assignee == Some(AssigneeFilter::Me) {
            let me: UserId = match actor {
                Actor::Staff { user_id, .. } => *user_id,
                _ => return Err(DomainError::invalid("q", "assignee:me is for staff")),
            };
            self.assignee = Some(AssigneeFilter::Id(me));
        }
        if actor.is_donor() && self.assignee.is_some() {
            return Err(DomainError::invalid("q", "assignee: is for staff"));
        }
        Ok(())
    }
}

/// A parsed query made ready for an index: `assignee:me` resolved, the scope attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexQuery {
    /// Terms a hit must all match.
    pub include: Vec<Term>,
    /// Terms a hit must match none of.
    pub exclude: Vec<Term>,
    /// The filters; `assignee` is never [`AssigneeFilter::Me`] here.
    pub filters: Filters,
    /// Whose tickets.
    pub scope: Scope,
    /// How many hits of the ranked list to skip.
    pub offset: u32,
    /// How many to return at most.
    pub limit: u32,
}

/// A matching ticket or message as the index returns it, ranked; the service cuts its snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedHit {
    /// Ticket or message.
    pub kind: HitKind,
    /// The ticket (the message's ticket, for a message).
    pub ticket_id: TicketId,
    /// The message, for a message hit.
    pub message_id: Option<MessageId>,
    /// The ticket's title.
    pub title: String,
    /// The ticket's status.
    pub status: TicketStatus,
    /// The text a snippet comes from: the ticket's description, or the message's text.
    pub body: String,
    /// The message's files' names (empty for a ticket).
    pub file_names: Vec<String>,
    /// When the ticket or message was created.
    pub created_at: DateTime<Utc>,
}

/// A hit as clients see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// Ticket or message.
    pub kind: HitKind,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The message, for a message hit.
    pub message_id: Option<MessageId>,
    /// The ticket's title.
    pub title: String,
    /// The ticket's status.
    pub status: TicketStatus,
    /// Plain text around the best match (at most [`snippet::SNIPPET_CHARS`] characters).
    pub snippet: String,
    /// `[start, end)` character offsets into `snippet` of the matched words.
    pub highlights: Vec<(usize, usize)>,
    /// When the ticket or message was created.
    pub created_at: DateTime<Utc>,
}

/// The full-text index of tickets and messages (the store: SQLite FTS5 or PostgreSQL
/// `tsvector`), written in the same transaction as the change it indexes.
///
/// An adapter matches every included term and no excluded one, case- and accent-insensitively
/// with English stemming, in ticket titles and descriptions and in message texts and their
/// files' names; applies the filters and the scope; and returns the hits best match first
/// (newest first among equals, and when there are no terms). It never passes a token to its
/// query syntax unquoted.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Up to `query.limit` hits, after skipping `query.offset`.
    async fn search(&self, query: IndexQuery) -> Result<Vec<IndexedHit>>;
}

const CURSOR_PREFIX: &str = "s1";

fn encode_cursor(offset: u32) -> String {
    format!("{CURSOR_PREFIX}{offset:x}")
}

fn decode_cursor(cursor: &str) -> Result<u32> {
    cursor
        .strip_prefix(CURSOR_PREFIX)
        .filter(|hex| !hex.is_empty() && hex.len() <= 8)
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .filter(|offset| *offset > 0 && *offset <= MAX_OFFSET)
        .ok_or_else(|| DomainError::invalid("cursor", "is not a cursor this server gave out"))
}

/// Search, scoped by who asks.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> concierge_domain::Result<()> {
/// use concierge_domain::search::{MockSearchIndex, SearchService};
/// use concierge_domain::{Actor, DomainError};
/// use std::sync::Arc;
///
/// let mut index = MockSearchIndex::new();
/// index.expect_search().returning(|_| Ok(vec![]));
/// let search = SearchService::new(Arc::new(index));
/// let donor = Actor::Donor {
///     donor_id: "d-1".into(),
///     ticket_id: concierge_domain::TicketId(1),
///     session: "s".into(),
///     identity_verified: false,
/// };
/// assert!(search.search(&donor, "refund", None, None).await?.items.is_empty());
/// assert!(matches!(
///     search.search(&donor, "\"unclosed", None, None).await,
///     Err(DomainError::Invalid(_))
/// ));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SearchService {
    index: Arc<dyn SearchIndex>,
}

impl SearchService {
    /// Builds the service.
    pub fn new(index: Arc<dyn SearchIndex>) -> Self {
        Self { index }
    }

    /// Hits for `q` that `actor` may see, best first, a page at a time. `limit` defaults to
    /// [`DEFAULT_LIMIT`] and is capped at [`MAX_LIMIT`]; a malformed query, limit or cursor is
    /// `Invalid`.
    pub async fn search(
        &self,
        actor: &Actor,
        q: &str,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<SearchHit>> {
        let query = Query::parse(q)?;
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if n < 1 => return Err(DomainError::invalid("limit", "must be at least 1")),
            Some(n) => n.min(i64::from(MAX_LIMIT)) as u32,
        };
        let offset = match cursor {
            None | Some("") => 0,
            Some(c) => decode_cursor(c)?,
        };
        let scope = Scope::of(actor);
        let mut filters = query.filters;
        filters.resolve_for(actor)?;
        let include = query.include;
        let rows = self
            .index
            .search(IndexQuery {
                include: include.clone(),
                exclude: query.exclude,
                filters,
                scope,
                offset,
                limit: limit + 1,
            })
            .await?;
        let more = rows.len() > limit as usize;
        let items = rows
            .into_iter()
            .take(limit as usize)
            .map(|row| hit(row, &include))
            .collect();
        let next = offset + limit;
        Ok(Page {
            items,
            next_cursor: (more && next <= MAX_OFFSET).then(|| encode_cursor(next)),
        })
    }
}

/// A hit with its snippet: the body where it matches, else the files' names where they do,
/// else the title where it does, else the start of the body.
fn hit(row: IndexedHit, terms: &[Term]) -> SearchHit {
    let files = row.file_names.join(", ");
    let source = if terms.is_empty() || snippet::mentions(&row.body, terms) {
        &row.body
    } else if !files.is_empty() && snippet::mentions(&files, terms) {
        &files
    } else if snippet::mentions(&row.title, terms) || row.body.trim().is_empty() {
        &row.title
    } else {
        &row.body
    };
    let cut = snippet::snippet(source, terms);
    SearchHit {
        kind: row.kind,
        ticket_id: row.ticket_id,
        message_id: row.message_id,
        title: row.title,
        status: row.status,
        snippet: cut.text,
        highlights: cut.highlights,
        created_at: row.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::Role;

    fn row(body: &str) -> IndexedHit {
        IndexedHit {
            kind: HitKind::Message,
            ticket_id: TicketId(1),
            message_id: Some(MessageId(2)),
            title: "Query from Dana".into(),
            status: TicketStatus::Open,
            body: body.into(),
            file_names: vec!["refund-form.pdf".into()],
            created_at: Utc::now(),
        }
    }

    fn donor(verified: bool) -> Actor {
        Actor::Donor {
            donor_id: "d-1".into(),
            ticket_id: TicketId(1),
            session: "s-1".into(),
            identity_verified: verified,
        }
    }

    const AGENT: Actor = Actor::Staff {
        user_id: UserId(7),
        role: Role::Agent,
    };

    #[test]
    fn scope_follows_the_list_rules() {
        assert_eq!(
            Scope::of(&donor(false)),
            Scope::Donor {
                donor_id: "d-1".into(),
                session: Some("s-1".into())
            }
        );
        assert_eq!(
            Scope::of(&donor(true)),
            Scope::Donor {
                donor_id: "d-1".into(),
                session: None
            }
        );
        assert_eq!(Scope::of(&AGENT), Scope::Everything);
    }

    fn service(
        expect: impl Fn(&IndexQuery) -> bool + Send + 'static,
        rows: usize,
    ) -> SearchService {
        let mut index = MockSearchIndex::new();
        index
            .expect_search()
            .withf(expect)
            .returning(move |_| Ok((0..rows).map(|_| row("we refunded it")).collect()));
        SearchService::new(Arc::new(index))
    }

    #[tokio::test]
    async fn the_index_gets_the_scope_and_resolved_assignee_and_pages_have_cursors() {
        let search = service(
            |q| {
                q.scope == Scope::Everything
                    && q.filters.assignee == Some(AssigneeFilter::Id(UserId(7)))
                    && q.limit == 3
                    && q.offset == 0
            },
            3,
        );
        let page = search
            .search(&AGENT, "refund assignee:me", Some(2), None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].snippet, "we refunded it");
        assert_eq!(page.items[0].highlights, vec![(3, 11)]);
        let cursor = page.next_cursor.unwrap();
        assert_eq!(decode_cursor(&cursor).unwrap(), 2);

        let search = service(|q| q.offset == 2, 1);
        let page = search
            .search(&AGENT, "refund", Some(2), Some(&cursor))
            .await
            .unwrap();
        assert!(page.next_cursor.is_none());
    }

    #[tokio::test]
    async fn a_donor_is_scoped_and_may_not_filter_by_assignee() {
        let search = service(
            |q| {
                q.scope
                    == Scope::Donor {
                        donor_id: "d-1".into(),
                        session: Some("s-1".into()),
                    }
            },
            0,
        );
        assert!(search
            .search(&donor(false), "refund", None, None)
            .await
            .is_ok());
        for q in ["assignee:me", "refund assignee:none"] {
            assert!(matches!(
                search.search(&donor(false), q, None, None).await,
                Err(DomainError::Invalid(_))
            ));
        }
    }

    #[tokio::test]
    async fn bad_limits_and_cursors_are_refused_before_the_index() {
        let search = SearchService::new(Arc::new(MockSearchIndex::new()));
        for (limit, cursor) in [(Some(0), None), (None, Some("c15")), (None, Some("s1zz"))] {
            assert!(matches!(
                search.search(&AGENT, "x", limit, cursor).await,
                Err(DomainError::Invalid(_))
            ));
        }
        assert!(decode_cursor(&encode_cursor(MAX_OFFSET + 1)).is_err());
    }

    #[test]
    fn the_snippet_comes_from_the_files_when_only_they_match() {
        let terms = Query::parse("form").unwrap().include;
        let hit = hit(row("see attached"), &terms);
        assert_eq!(hit.snippet, "refund-form.pdf");
        assert_eq!(hit.highlights, vec![(7, 11)]);
        let hit2 = super::hit(row("see attached"), &[]);
        assert_eq!(hit2.snippet, "see attached");
    }
}
