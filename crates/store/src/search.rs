//! [`SearchIndex`]: full-text search over tickets and messages (docs/search.md).
//!
//! The index is written by database triggers (migration `2026-12-03-170000_search`), so it
//! changes in the transaction of the write it follows: SQLite keeps two FTS5 tables, PostgreSQL
//! a `tsvector` column with a GIN index on `tickets` and on `messages`. A query is built here
//! from the parsed query's tokens, each quoted, so nothing a client types is read as FTS5 or
//! `tsquery` syntax; every value reaches the database as a bound parameter.

use crate::connection::DbConnection;
use crate::error::Error;
use crate::models::{from_db, to_db};
use crate::schema_attachments::attachments;
use crate::Store;
use async_trait::async_trait;
use chrono::NaiveDateTime;
use concierge_domain::search::{
    AssigneeFilter, HitKind, IndexQuery, IndexedHit, Scope, SearchIndex, Term, TermKind,
};
use concierge_domain::ticket::TicketStatus;
use concierge_domain::{MessageId, Result, TicketId};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use std::collections::HashMap;

/// The PostgreSQL text search configuration the migration creates.
const PG_CONFIG: &str = "'concierge_search'";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Int(i64),
    Time(NaiveDateTime),
}

/// SQL text with its bound values, numbering placeholders the backend's way.
struct Sql {
    dialect: Dialect,
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            text: String::new(),
            binds: vec![],
        }
    }

    fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => self.text.push_str(&format!("${}", self.binds.len())),
        }
        self
    }

    /// `column IN (values)`, or nothing for no values.
    fn any_of(&mut self, column: &str, values: &[&str]) {
        if values.is_empty() {
            return;
        }
        self.push(" AND ").push(column).push(" IN (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Bind::Text((*v).to_string()));
        }
        self.push(")");
    }
}

/// A token as the index may see it: letters and digits only. The parser yields nothing else;
/// this keeps a future caller from passing syntax through.
fn clean(token: &str) -> String {
    token.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The terms' tokens, cleaned; terms left without tokens are dropped.
fn cleaned(terms: &[Term]) -> Vec<(Vec<String>, bool)> {
    terms
        .iter()
        .map(|t| {
            let tokens: Vec<String> = t
                .tokens
                .iter()
                .map(|s| clean(s))
                .filter(|s| !s.is_empty())
                .collect();
            (tokens, t.kind == TermKind::Prefix)
        })
        .filter(|(tokens, _)| !tokens.is_empty())
        .collect()
}

/// An FTS5 expression: each term a quoted string (a phrase when it has several tokens), `*`
/// after a prefix, joined by `AND` or `OR`.
fn fts5_expression(terms: &[Term], joiner: &str) -> String {
    cleaned(terms)
        .into_iter()
        .map(|(tokens, prefix)| {
            let phrase = tokens.join(" ").replace('"', "\"\"");
            format!("\"{phrase}\"{}", if prefix { "*" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(joiner)
}

/// A `to_tsquery` text: each token single-quoted, a term's tokens joined by `<->`, `:*` after a
/// prefix's last token, terms joined by `&` or `|`.
fn tsquery_expression(terms: &[Term], joiner: &str) -> String {
    cleaned(terms)
        .into_iter()
        .map(|(tokens, prefix)| {
            let quoted: Vec<String> = tokens
                .iter()
                .map(|t| format!("'{}'", t.replace('\\', "\\\\").replace('\'', "''")))
                .collect();
            format!(
                "({}{})",
                quoted.join(" <-> "),
                if prefix { ":*" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(joiner)
}

/// The filters and scope every part shares, on the ticket `t` and the hit's own row `own`.
fn conditions(sql: &mut Sql, query: &IndexQuery, own: &str) {
    let f = &query.filters;
    let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
    sql.any_of("t.status", &statuses);
    let priorities: Vec<&str> = f.priorities.iter().map(|s| s.as_str()).collect();
    sql.any_of("t.priority", &priorities);
    let channels: Vec<&str> = f.channels.iter().map(|s| s.as_str()).collect();
    sql.any_of("t.channel", &channels);
    match &f.assignee {
        None | Some(AssigneeFilter::Me) => {}
        Some(AssigneeFilter::Nobody) => {
            sql.push(" AND t.assignee_id IS NULL");
        }
        Some(AssigneeFilter::Id(id)) => {
            sql.push(" AND t.assignee_id = ").bind(Bind::Int(id.0));
        }
        Some(AssigneeFilter::Username(name)) => {
            sql.push(" AND t.assignee_id IN (SELECT u.id FROM users u WHERE u.username = ")
                .bind(Bind::Text(name.clone()))
                .push(")");
        }
    }
    if let Some(donor) = &f.donor_id {
        sql.push(" AND t.donor_id = ")
            .bind(Bind::Text(donor.clone()));
    }
    if let Scope::Donor { donor_id, session } = &query.scope {
        sql.push(" AND t.channel = 'DONOR' AND t.donor_id = ")
            .bind(Bind::Text(donor_id.clone()));
        if let Some(session) = session {
            sql.push(" AND t.donor_session = ")
                .bind(Bind::Text(session.clone()));
        }
    }
    if let Some(after) = f.created_after {
        sql.push(&format!(" AND {own}.created_at > "))
            .bind(Bind::Time(to_db(after)));
    }
    if let Some(before) = f.created_before {
        sql.push(&format!(" AND {own}.created_at < "))
            .bind(Bind::Time(to_db(before)));
    }
}

/// One kind of hit: its table, its index and how it is ranked.
struct Part {
    kind: HitKind,
    /// The hit's own row's alias.
    own: &'static str,
    /// The hit's text.
    body: &'static str,
    /// The hit's own table, and the join that brings in its ticket `t`.
    table: &'static str,
    joins: &'static str,
    /// SQLite: the FTS5 table and its column weights for `bm25`.
    fts: &'static str,
    weights: &'static str,
}

const TICKETS: Part = Part {
    kind: HitKind::Ticket,
    own: "t",
    body: "coalesce(t.description, '')",
    table: "tickets t",
    joins: "",
    fts: "tickets_fts",
    weights: "4.0, 1.0",
};

const MESSAGES: Part = Part {
    kind: HitKind::Message,
    own: "m",
    body: "m.content",
    table: "messages m",
    joins: " JOIN tickets t ON t.id = m.ticket_id",
    fts: "messages_fts",
    weights: "1.0, 0.5",
};

/// Whether nothing but the match narrows the hits: no exclusion, filter or scope condition.
fn unfiltered(dialect: Dialect, query: &IndexQuery, own: &str) -> bool {
    let mut probe = Sql::new(dialect);
    conditions(&mut probe, query, own);
    query.exclude.is_empty() && probe.text.is_empty()
}

/// `SELECT` of one part, best first, at most `n` rows.
fn part(sql: &mut Sql, p: &Part, query: &IndexQuery, n: i64) {
    let own = p.own;
    let message_id = match p.kind {
        HitKind::Ticket => "CAST(NULL AS BIGINT)",
        HitKind::Message => "m.id",
    };
    let matching = !query.include.is_empty();
    let score = match (sql.dialect, matching) {
        (_, false) => "CAST(0 AS DOUBLE PRECISION)".to_string(),
        (Dialect::Sqlite, true) => format!("bm25({}, {})", p.fts, p.weights),
        (Dialect::Postgres, true) => {
            format!("CAST(-ts_rank_cd({own}.search, q) AS DOUBLE PRECISION)")
        }
    };
    let ranked_first =
        sql.dialect == Dialect::Sqlite && matching && unfiltered(sql.dialect, query, own);
    sql.push(&format!(
        "SELECT * FROM (SELECT '{kind}' AS kind, t.id AS ticket_id, {message_id} AS message_id, \
         t.title AS title, t.status AS status, {body} AS body, {own}.created_at AS created_at, \
         {outer_score} AS score, {own}.id AS sort_id FROM ",
        kind = p.kind.as_str(),
        body = p.body,
        outer_score = if ranked_first {
            "ranked.hit_score"
        } else {
            score.as_str()
        },
    ));
    match (sql.dialect, matching) {
        (Dialect::Sqlite, true) if unfiltered(sql.dialect, query, own) => {
            // Nothing but the match narrows the hits: rank in the FTS table alone and join only
            // the best `n` (the joins would otherwise run for every match before the sort).
            sql.push(&format!(
                "(SELECT rowid AS hit_id, {score} AS hit_score FROM {fts} WHERE {fts} MATCH ",
                fts = p.fts,
            ))
            .bind(Bind::Text(fts5_expression(&query.include, " AND ")))
            .push(" ORDER BY hit_score, rowid DESC LIMIT ")
            .bind(Bind::Int(n))
            .push(&format!(
                ") AS ranked JOIN {table} ON {own}.id = ranked.hit_id{joins} WHERE 1 = 1",
                table = p.table,
                joins = p.joins,
            ));
        }
        (Dialect::Sqlite, true) => {
            sql.push(&format!(
                "{fts} JOIN {table} ON {own}.id = {fts}.rowid{joins} WHERE {fts} MATCH ",
                fts = p.fts,
                table = p.table,
                joins = p.joins,
            ));
            sql.bind(Bind::Text(fts5_expression(&query.include, " AND ")));
        }
        (Dialect::Postgres, true) => {
            sql.push(&format!(
                "{}{} CROSS JOIN to_tsquery({PG_CONFIG}, ",
                p.table, p.joins
            ))
            .bind(Bind::Text(tsquery_expression(&query.include, " & ")))
            .push(&format!(") AS q WHERE {own}.search @@ q"));
        }
        (_, false) => {
            sql.push(p.table).push(p.joins).push(" WHERE 1 = 1");
        }
    }
    if !query.exclude.is_empty() {
        match sql.dialect {
            Dialect::Sqlite => {
                sql.push(&format!(
                    " AND {own}.id NOT IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ",
                    fts = p.fts
                ))
                .bind(Bind::Text(fts5_expression(&query.exclude, " OR ")))
                .push(")");
            }
            Dialect::Postgres => {
                sql.push(&format!(
                    " AND NOT ({own}.search @@ to_tsquery({PG_CONFIG}, "
                ))
                .bind(Bind::Text(tsquery_expression(&query.exclude, " | ")))
                .push("))");
            }
        }
    }
    conditions(sql, query, own);
    sql.push(&format!(" ORDER BY score, {own}.id DESC LIMIT "))
        .bind(Bind::Int(n))
        .push(&format!(") AS {}_hits", p.kind.as_str()));
}

/// The whole statement: the parts the `type:` filter keeps, merged and paged.
fn statement(dialect: Dialect, query: &IndexQuery) -> Sql {
    let mut sql = Sql::new(dialect);
    let n = i64::from(query.offset) + i64::from(query.limit);
    let parts: Vec<&Part> = [&TICKETS, &MESSAGES]
        .into_iter()
        .filter(|p| query.filters.kind.is_none_or(|k| k == p.kind))
        .collect();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        part(&mut sql, p, query, n);
    }
    sql.push(" ORDER BY score, created_at DESC, kind DESC, sort_id DESC LIMIT ")
        .bind(Bind::Int(i64::from(query.limit)))
        .push(" OFFSET ")
        .bind(Bind::Int(i64::from(query.offset)));
    sql
}

#[derive(Debug, QueryableByName)]
struct HitRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    ticket_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    message_id: Option<i64>,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

/// Runs a statement on either backend, binding its values in order.
macro_rules! load_hits {
    ($conn:expr, $db:ty, $sql:expr) => {{
        let mut q = diesel::sql_query($sql.text).into_boxed::<$db>();
        for b in $sql.binds {
            q = match b {
                Bind::Text(v) => q.bind::<Text, _>(v),
                Bind::Int(v) => q.bind::<BigInt, _>(v),
                Bind::Time(v) => q.bind::<Timestamp, _>(v),
            };
        }
        q.load::<HitRow>($conn)?
    }};
}

fn search(conn: &mut DbConnection, query: &IndexQuery) -> Result<Vec<IndexedHit>, Error> {
    let rows = match conn {
        DbConnection::Postgresql(c) => {
            load_hits!(c, diesel::pg::Pg, statement(Dialect::Postgres, query))
        }
        DbConnection::Sqlite(c) => {
            load_hits!(c, diesel::sqlite::Sqlite, statement(Dialect::Sqlite, query))
        }
    };
    let message_ids: Vec<i64> = rows.iter().filter_map(|r| r.message_id).collect();
    let mut files: HashMap<i64, Vec<String>> = HashMap::new();
    if !message_ids.is_empty() {
        let names: Vec<(i64, String)> = attachments::table
            .filter(attachments::message_id.eq_any(message_ids))
            .order(attachments::id.asc())
            .select((attachments::message_id, attachments::file_name))
            .load(conn)?;
        for (id, name) in names {
            files.entry(id).or_default().push(name);
        }
    }
    rows.into_iter()
        .map(|row| {
            let status: TicketStatus = row.status.parse().map_err(Error::Domain)?;
            let kind = match row.message_id {
                Some(_) => HitKind::Message,
                None => HitKind::Ticket,
            };
            debug_assert_eq!(kind.as_str(), row.kind);
            Ok(IndexedHit {
                kind,
                ticket_id: TicketId(row.ticket_id),
                message_id: row.message_id.map(MessageId),
                title: row.title,
                status,
                body: row.body,
                file_names: row
                    .message_id
                    .and_then(|id| files.remove(&id))
                    .unwrap_or_default(),
                created_at: from_db(row.created_at),
            })
        })
        .collect()
}

#[async_trait]
impl SearchIndex for Store {
    async fn search(&self, query: IndexQuery) -> Result<Vec<IndexedHit>> {
        self.run(move |conn| search(conn, &query)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_domain::search::Query;

    fn index_query(q: &str, scope: Scope) -> IndexQuery {
        let parsed = Query::parse(q).unwrap();
        IndexQuery {
            include: parsed.include,
            exclude: parsed.exclude,
            filters: parsed.filters,
            scope,
            offset: 20,
            limit: 21,
        }
    }

    #[test]
    fn sqlite_ranks_before_joining_only_when_nothing_else_narrows() {
        let plain = statement(Dialect::Sqlite, &index_query("refund", Scope::Everything));
        assert_eq!(plain.text.matches("AS ranked JOIN").count(), 2);
        assert!(plain
            .text
            .contains("ORDER BY hit_score, rowid DESC LIMIT ?"));
        // The inner page is as deep as the outer one: offset + limit.
        assert!(matches!(plain.binds.get(1), Some(Bind::Int(41))));
        let donor = Scope::Donor {
            donor_id: "d".into(),
            session: None,
        };
        for (q, scope) in [
            ("refund status:OPEN", Scope::Everything),
            ("refund -twice", Scope::Everything),
            ("refund created:>2026-01-01", Scope::Everything),
            ("refund", donor),
        ] {
            let sql = statement(Dialect::Sqlite, &index_query(q, scope));
            assert!(!sql.text.contains("ranked"), "{q}: {}", sql.text);
        }
        let pg = statement(Dialect::Postgres, &index_query("refund", Scope::Everything));
        assert!(!pg.text.contains("ranked"));
    }

    #[test]
    fn metacharacters_never_reach_the_query_syntax() {
        let terms = Query::parse(r#"a:b NEAR(x) c*d 'e' f\g "h ij"* -j"#)
            .unwrap()
            .include;
        assert_eq!(
            fts5_expression(&terms, " AND "),
            r#""a b" AND "NEAR x" AND "c d" AND "e" AND "f g" AND "h ij"*"#
        );
        assert_eq!(
            tsquery_expression(&terms, " & "),
            "('a' <-> 'b') & ('NEAR' <-> 'x') & ('c' <-> 'd') & ('e') & ('f' <-> 'g') & ('h' <-> 'ij':*)"
        );
        let odd = [Term {
            tokens: vec!["x'\"\\:*&|!".into()],
            kind: TermKind::Word,
        }];
        assert_eq!(fts5_expression(&odd, " AND "), "\"x\"");
        assert_eq!(tsquery_expression(&odd, " & "), "('x')");
    }
}
