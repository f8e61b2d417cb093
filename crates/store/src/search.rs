//! [`SearchIndex`]: full-text search over tickets and messages (docs/search.md), and the same
//! matching as a filter of the ticket lists' `q` ([`finds`]).
//!
//! The index is written by database triggers (migration `2026-12-03-170000_search`), so it
//! changes in the transaction of the write it follows: SQLite keeps two FTS5 tables, PostgreSQL
//! a `tsvector` column with a GIN index on `tickets` and on `messages`. A query is built here
//! from the parsed query's tokens, each quoted, so nothing a client types is read as FTS5 or
//! `tsquery` syntax; every value reaches the database as a bound parameter.

use crate::connection::{Backend, DbConnection};
use crate::error::Error;
use crate::models::{from_db, to_db};
use crate::schema_attachments::attachments;
use crate::Store;
use async_trait::async_trait;
use chrono::NaiveDateTime;
use concierge_domain::search::{
    AssigneeFilter, Filters, HitKind, IndexQuery, IndexedHit, Query, Scope, SearchIndex, Term,
    TermKind,
};
use concierge_domain::ticket::TicketStatus;
use concierge_domain::{MessageId, Result, TicketId};
use diesel::expression::{is_aggregate, AppearsOnTable, SelectableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text, Timestamp};
use std::collections::HashMap;

/// The PostgreSQL text search configuration the migration creates.
const PG_CONFIG: &str = "'concierge_search'";

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Int(i64),
    Time(NaiveDateTime),
}

/// SQL text with its bound values: `marks` are the byte offsets in `text` where each value's
/// placeholder goes, numbered the backend's way when rendered ([`Sql::rendered`]) or by Diesel
/// when the SQL is part of a larger query ([`Finds`]).
struct Sql {
    dialect: Backend,
    text: String,
    marks: Vec<usize>,
    binds: Vec<Bind>,
}

impl Sql {
    fn new(dialect: Backend) -> Self {
        Self {
            dialect,
            text: String::new(),
            marks: vec![],
            binds: vec![],
        }
    }

    fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    fn bind(&mut self, value: Bind) -> &mut Self {
        self.marks.push(self.text.len());
        self.binds.push(value);
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

    /// The text between placeholders, each piece with the value bound after it (none after
    /// the last).
    fn pieces(&self) -> impl Iterator<Item = (&str, Option<&Bind>)> {
        let ends = self.marks.iter().copied().chain([self.text.len()]);
        let starts = [0].into_iter().chain(self.marks.iter().copied());
        starts
            .zip(ends)
            .enumerate()
            .map(|(i, (a, b))| (&self.text[a..b], self.binds.get(i)))
    }

    /// The text with its placeholders (`?` on SQLite, `$n` on PostgreSQL), and the values.
    fn rendered(self) -> (String, Vec<Bind>) {
        let mut text = String::with_capacity(self.text.len() + 4 * self.marks.len());
        for (i, (piece, bind)) in self.pieces().enumerate() {
            text.push_str(piece);
            if bind.is_some() {
                match self.dialect {
                    Backend::Sqlite => text.push('?'),
                    Backend::Postgres => text.push_str(&format!("${}", i + 1)),
                }
            }
        }
        (text, self.binds)
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

/// What a query asks of a hit, borrowed from an [`IndexQuery`] (search) or a [`Query`] (a
/// ticket list's `q`).
struct Matching<'q> {
    include: &'q [Term],
    exclude: &'q [Term],
    filters: &'q Filters,
    scope: &'q Scope,
}

impl<'q> Matching<'q> {
    fn of_search(query: &'q IndexQuery) -> Self {
        Self {
            include: &query.include,
            exclude: &query.exclude,
            filters: &query.filters,
            scope: &query.scope,
        }
    }

    /// The parts the `type:` filter keeps.
    fn parts(&self) -> impl Iterator<Item = &'static Part> + '_ {
        [&TICKETS, &MESSAGES]
            .into_iter()
            .filter(|p| self.filters.kind.is_none_or(|k| k == p.kind))
    }
}

/// The filters and scope every part shares, on the ticket `t` and the hit's own row `own`.
fn conditions(sql: &mut Sql, query: &Matching<'_>, own: &str) {
    let f = query.filters;
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
    if let Scope::Donor { donor_id, session } = query.scope {
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
fn unfiltered(dialect: Backend, query: &Matching<'_>, own: &str) -> bool {
    let mut probe = Sql::new(dialect);
    conditions(&mut probe, query, own);
    query.exclude.is_empty() && probe.text.is_empty()
}

/// `SELECT` of one part, best first, at most `n` rows.
fn part(sql: &mut Sql, p: &Part, query: &Matching<'_>, n: i64) {
    let own = p.own;
    let message_id = match p.kind {
        HitKind::Ticket => "CAST(NULL AS BIGINT)",
        HitKind::Message => "m.id",
    };
    let score = match (sql.dialect, query.include.is_empty()) {
        (_, true) => "CAST(0 AS DOUBLE PRECISION)".to_string(),
        (Backend::Sqlite, false) => format!("bm25({}, {})", p.fts, p.weights),
        (Backend::Postgres, false) => {
            format!("CAST(-ts_rank_cd({own}.search, q) AS DOUBLE PRECISION)")
        }
    };
    let ranked_first = sql.dialect == Backend::Sqlite
        && !query.include.is_empty()
        && unfiltered(sql.dialect, query, own);
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
    if ranked_first {
        // Nothing but the match narrows the hits: rank in the FTS table alone and join only
        // the best `n` (the joins would otherwise run for every match before the sort).
        sql.push(&format!(
            "(SELECT rowid AS hit_id, {score} AS hit_score FROM {fts} WHERE {fts} MATCH ",
            fts = p.fts,
        ))
        .bind(Bind::Text(fts5_expression(query.include, " AND ")))
        .push(" ORDER BY hit_score, rowid DESC LIMIT ")
        .bind(Bind::Int(n))
        .push(&format!(
            ") AS ranked JOIN {table} ON {own}.id = ranked.hit_id{joins} WHERE 1 = 1",
            table = p.table,
            joins = p.joins,
        ));
    } else {
        matching_rows(sql, p, query);
    }
    sql.push(&format!(" ORDER BY score, {own}.id DESC LIMIT "))
        .bind(Bind::Int(n))
        .push(&format!(") AS {}_hits", p.kind.as_str()));
}

/// The `FROM ... WHERE ...` of one part: its rows that match the terms, none of the
/// exclusions, the filters and the scope, each row with its ticket `t`.
fn matching_rows(sql: &mut Sql, p: &Part, query: &Matching<'_>) {
    let own = p.own;
    match (sql.dialect, query.include.is_empty()) {
        (Backend::Sqlite, false) => {
            sql.push(&format!(
                "{fts} JOIN {table} ON {own}.id = {fts}.rowid{joins} WHERE {fts} MATCH ",
                fts = p.fts,
                table = p.table,
                joins = p.joins,
            ));
            sql.bind(Bind::Text(fts5_expression(query.include, " AND ")));
        }
        (Backend::Postgres, false) => {
            sql.push(&format!(
                "{}{} CROSS JOIN to_tsquery({PG_CONFIG}, ",
                p.table, p.joins
            ))
            .bind(Bind::Text(tsquery_expression(query.include, " & ")))
            .push(&format!(") AS q WHERE {own}.search @@ q"));
        }
        (_, true) => {
            sql.push(p.table).push(p.joins).push(" WHERE 1 = 1");
        }
    }
    if !query.exclude.is_empty() {
        match sql.dialect {
            Backend::Sqlite => {
                sql.push(&format!(
                    " AND {own}.id NOT IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ",
                    fts = p.fts
                ))
                .bind(Bind::Text(fts5_expression(query.exclude, " OR ")))
                .push(")");
            }
            Backend::Postgres => {
                sql.push(&format!(
                    " AND NOT ({own}.search @@ to_tsquery({PG_CONFIG}, "
                ))
                .bind(Bind::Text(tsquery_expression(query.exclude, " | ")))
                .push("))");
            }
        }
    }
    conditions(sql, query, own);
}

/// The whole statement: the parts the `type:` filter keeps, merged and paged.
fn statement(dialect: Backend, query: &IndexQuery) -> Sql {
    let mut sql = Sql::new(dialect);
    let n = i64::from(query.offset) + i64::from(query.limit);
    let matching = Matching::of_search(query);
    for (i, p) in matching.parts().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        part(&mut sql, p, &matching, n);
    }
    sql.push(" ORDER BY score, created_at DESC, kind DESC, sort_id DESC LIMIT ")
        .bind(Bind::Int(i64::from(query.limit)))
        .push(" OFFSET ")
        .bind(Bind::Int(i64::from(query.offset)));
    sql
}

/// A ticket list's `q` as a Diesel filter on `tickets`: `tickets.id IN (...)`, the tickets
/// that are a hit for `query` or whose messages are, as `GET /search` matches them (the same
/// SQL, unranked). The list's own filters, order and keyset pages apply around it; its scope
/// is the list's, so the query's is [`Scope::Everything`].
pub(crate) fn finds(dialect: Backend, query: &Query) -> Finds {
    let matching = Matching {
        include: &query.include,
        exclude: &query.exclude,
        filters: &query.filters,
        scope: &Scope::Everything,
    };
    let mut sql = Sql::new(dialect);
    sql.push("tickets.id IN (");
    for (i, p) in matching.parts().enumerate() {
        if i > 0 {
            sql.push(" UNION ");
        }
        sql.push("SELECT t.id FROM ");
        matching_rows(&mut sql, p, &matching);
    }
    sql.push(")");
    Finds(sql)
}

/// A boolean SQL expression built by this module, for a Diesel query's `filter`; its values
/// are bound as parameters there.
pub(crate) struct Finds(Sql);

impl Expression for Finds {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for Finds {}

impl<QS> SelectableExpression<QS> for Finds {}

impl<GB> ValidGrouping<GB> for Finds {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Finds {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Finds
where
    DB: diesel::backend::Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for (piece, bind) in self.0.pieces() {
            out.push_sql(piece);
            match bind {
                None => {}
                Some(Bind::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Some(Bind::Int(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Some(Bind::Time(v)) => out.push_bind_param::<Timestamp, _>(v)?,
            }
        }
        Ok(())
    }
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
        let (text, binds) = $sql.rendered();
        let mut q = diesel::sql_query(text).into_boxed::<$db>();
        for b in binds {
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
            load_hits!(c, diesel::pg::Pg, statement(Backend::Postgres, query))
        }
        DbConnection::Sqlite(c) => {
            load_hits!(c, diesel::sqlite::Sqlite, statement(Backend::Sqlite, query))
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
        let plain = statement(Backend::Sqlite, &index_query("refund", Scope::Everything));
        assert_eq!(plain.text.matches("AS ranked JOIN").count(), 2);
        assert!(plain.text.contains("ORDER BY hit_score, rowid DESC LIMIT "));
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
            let sql = statement(Backend::Sqlite, &index_query(q, scope));
            assert!(!sql.text.contains("ranked"), "{q}: {}", sql.text);
        }
        let pg = statement(Backend::Postgres, &index_query("refund", Scope::Everything));
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

    #[test]
    fn a_list_query_is_one_subquery_with_bound_values() {
        let query = Query::parse("refund -test type:message status:OPEN").unwrap();
        let (text, binds) = finds(Backend::Postgres, &query).0.rendered();
        assert_eq!(
            text,
            "tickets.id IN (SELECT t.id FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             CROSS JOIN to_tsquery('concierge_search', $1) AS q WHERE m.search @@ q \
             AND NOT (m.search @@ to_tsquery('concierge_search', $2)) AND t.status IN ($3))"
        );
        assert_eq!(binds.len(), 3);
        let (text, _) = finds(Backend::Sqlite, &query).0.rendered();
        assert!(
            text.contains("messages_fts MATCH ? AND m.id NOT IN"),
            "{text}"
        );
        let both = finds(Backend::Sqlite, &Query::parse("refund").unwrap())
            .0
            .rendered()
            .0;
        assert_eq!(both.matches("SELECT t.id FROM").count(), 2);
        assert!(
            both.contains(" UNION SELECT t.id FROM messages_fts"),
            "{both}"
        );
    }
}
