//! Cursor pagination. A cursor is opaque to clients; inside it is the id of the last item
//! returned, so pages stay stable while new rows arrive (keyset pagination).

use crate::error::{DomainError, Result};

/// Items per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 20;
/// The most items a page may hold.
pub const MAX_LIMIT: u32 = 100;

/// Which page to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items at most (1..=[`MAX_LIMIT`]).
    pub limit: u32,
    /// Continue after this id (exclusive), in the list's own order.
    pub after: Option<i64>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

impl PageRequest {
    /// Parses the client's `limit` and `cursor`. A limit above the maximum is capped; zero and
    /// an unreadable cursor are refused.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if n < 1 => return Err(DomainError::invalid("limit", "must be at least 1")),
            Some(n) => n.min(i64::from(MAX_LIMIT)) as u32,
        };
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(decode_cursor(c)?),
        };
        Ok(Self { limit, after })
    }

    /// A first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, MAX_LIMIT),
            after: None,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows read in order: the extra row only says that
    /// more exist. `key` gives the id the cursor continues after.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> i64) -> Self {
        let limit = request.limit as usize;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if has_more {
            rows.last().map(|last| encode_cursor(key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// Whether another page follows.
    pub fn has_more(&self) -> bool {
        self.next_cursor.is_some()
    }

    /// Converts the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

const CURSOR_PREFIX: &str = "c1";

fn encode_cursor(id: i64) -> String {
    format!("{CURSOR_PREFIX}{id:x}")
}

fn decode_cursor(cursor: &str) -> Result<i64> {
    cursor
        .strip_prefix(CURSOR_PREFIX)
        .filter(|hex| !hex.is_empty() && hex.len() <= 16)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| DomainError::invalid("cursor", "is not a cursor this server gave out"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let page = Page::from_rows(vec![5, 4, 3], &PageRequest::first(2), |n| *n);
        assert_eq!(page.items, vec![5, 4]);
        let cursor = page.next_cursor.expect("more rows exist");
        let next = PageRequest::parse(Some(2), Some(&cursor)).unwrap();
        assert_eq!(next.after, Some(4));
        for bad in ["4", "c1", "c1zz", "c1-4", "x14", "c1ffffffffffffffffff"] {
            assert!(PageRequest::parse(None, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn limit_is_capped_and_must_be_positive() {
        assert_eq!(
            PageRequest::parse(Some(10_000), None).unwrap().limit,
            MAX_LIMIT
        );
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(-3), None).is_err());
    }

    #[test]
    fn last_page_has_no_cursor() {
        let page = Page::from_rows(vec![1, 2], &PageRequest::first(2), |n| *n);
        assert!(!page.has_more());
    }
}
