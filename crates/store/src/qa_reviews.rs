//! [`QaReviewRepository`]: QA reviews, one per message. Flags are stored as JSON text; every
//! write appends `qa_review_updated` in its own transaction; the rows go with their ticket
//! (`ON DELETE CASCADE`).

use crate::audit::Outbox;
use crate::connection::DbConnection;
use crate::error::{corrupt, is_unique_violation, Error};
use crate::json_text::{tagged_list, to_json};
use crate::models::{from_db, to_db};
use crate::query::{first_row, page_of, paged};
use crate::schema::messages;
use crate::schema_insights::qa_reviews;
use crate::{events, Store};
use async_trait::async_trait;
use chrono::NaiveDateTime;
use concierge_domain::analysis::Flag;
use concierge_domain::audit::Record;
use concierge_domain::event::NewEvent;
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::QaReviewRepository;
use concierge_domain::qa::{
    already_decided, flag_kind_from_name, flag_kind_name, NewQaReview, QaReview, ReviewDecision,
    ReviewFilter, ReviewStatus,
};
use concierge_domain::{DomainError, MessageId, Result, TicketId, UserId};
use diesel::prelude::*;
use serde_json::{json, Value};

/// A stored review: the columns an insert writes and those a decision adds.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = qa_reviews)]
struct ReviewRow {
    id: i64,
    feedback: Option<String>,
    reviewer_id: Option<i64>,
    #[diesel(embed)]
    fields: ReviewFields,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = qa_reviews)]
struct ReviewFields {
    message_id: i64,
    ticket_id: i64,
    status: String,
    flags: String,
    sentiment: f32,
    analyzer: String,
    fallback_from: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// `[{kind, evidence}]` as stored, back into flags.
fn flags_from(text: &str) -> Result<Vec<Flag>, Error> {
    Ok(
        tagged_list(text, "flags", "flag", "evidence", flag_kind_from_name)?
            .into_iter()
            .map(|(kind, evidence)| Flag { kind, evidence })
            .collect(),
    )
}

impl ReviewRow {
    fn into_review(self) -> Result<QaReview, Error> {
        let ReviewRow {
            id,
            feedback,
            reviewer_id,
            fields: f,
        } = self;
        Ok(QaReview {
            id,
            message_id: MessageId(f.message_id),
            ticket_id: TicketId(f.ticket_id),
            status: f
                .status
                .parse::<ReviewStatus>()
                .map_err(|_| corrupt(format!("review status {:?}", f.status)))?,
            feedback,
            flags: flags_from(&f.flags)?,
            sentiment: f.sentiment,
            analyzer: f.analyzer,
            fallback_from: f.fallback_from,
            reviewer_id: reviewer_id.map(UserId),
            created_at: from_db(f.created_at),
            updated_at: from_db(f.updated_at),
        })
    }
}

fn load_review(conn: &mut DbConnection, id: i64) -> Result<Option<QaReview>, Error> {
    let query = qa_reviews::table.find(id).select(ReviewRow::as_select());
    first_row(conn, query, ReviewRow::into_review)
}

fn review_of_message(
    conn: &mut DbConnection,
    message_id: MessageId,
) -> Result<Option<QaReview>, Error> {
    let query = qa_reviews::table
        .filter(qa_reviews::message_id.eq(message_id.0))
        .select(ReviewRow::as_select());
    first_row(conn, query, ReviewRow::into_review)
}

fn create_review(
    conn: &mut DbConnection,
    outbox: &Outbox,
    review: &NewQaReview,
) -> Result<QaReview, Error> {
    let ticket_of_message = messages::table
        .find(review.message_id.0)
        .select(messages::ticket_id)
        .first::<i64>(conn)
        .optional()?;
    if ticket_of_message != Some(review.ticket_id.0) {
        return Err(DomainError::NotFound("message").into());
    }
    let flags: Vec<Value> = review
        .verdict
        .flags
        .iter()
        .map(|f| json!({"kind": flag_kind_name(f.kind), "evidence": f.evidence}))
        .collect();
    let at = to_db(review.created_at);
    let row = ReviewFields {
        message_id: review.message_id.0,
        ticket_id: review.ticket_id.0,
        status: ReviewStatus::Pending.as_str().to_string(),
        flags: to_json(&Value::Array(flags))?,
        sentiment: review.verdict.sentiment,
        analyzer: review.verdict.analyzer.clone(),
        fallback_from: review.verdict.fallback_from.clone(),
        created_at: at,
        updated_at: at,
    };
    let id: i64 = diesel::insert_into(qa_reviews::table)
        .values(&row)
        .returning(qa_reviews::id)
        .get_result(conn)?;
    let stored = load_review(conn, id)?.ok_or(Error::Domain(DomainError::NotFound("review")))?;
    events::append(conn, outbox, vec![review_event(&stored)])?;
    Ok(stored)
}

fn review_event(review: &QaReview) -> NewEvent {
    NewEvent::qa_review_updated(review)
}

fn decide(
    conn: &mut DbConnection,
    outbox: &Outbox,
    decision: &ReviewDecision,
) -> Result<QaReview, Error> {
    let at = to_db(decision.decided_at);
    let n = diesel::update(
        qa_reviews::table
            .filter(qa_reviews::id.eq(decision.review_id))
            .filter(qa_reviews::status.eq(ReviewStatus::Pending.as_str())),
    )
    .set((
        qa_reviews::status.eq(decision.status.as_str()),
        qa_reviews::feedback.eq(decision.feedback.as_deref()),
        qa_reviews::reviewer_id.eq(Some(decision.reviewer_id.0)),
        qa_reviews::updated_at.eq(at),
    ))
    .execute(conn)?;
    let review = load_review(conn, decision.review_id)?
        .ok_or(Error::Domain(DomainError::NotFound("review")))?;
    if n == 0 {
        return Err(already_decided(review.status).into());
    }
    let record = Record::qa_decided(
        review.ticket_id,
        review.id,
        ReviewStatus::Pending.as_str(),
        review.status.as_str(),
    );
    outbox.record(conn, record)?;
    events::append(conn, outbox, vec![review_event(&review)])?;
    Ok(review)
}

fn list_reviews(
    conn: &mut DbConnection,
    filter: &ReviewFilter,
    page: PageRequest,
) -> Result<Page<QaReview>, Error> {
    let query = qa_reviews::table.select(ReviewRow::as_select());
    let mut query = paged!(query, qa_reviews::id, newest_first, page);
    if let Some(ticket_id) = filter.ticket_id {
        query = query.filter(qa_reviews::ticket_id.eq(ticket_id.0));
    }
    if let Some(status) = filter.status {
        query = query.filter(qa_reviews::status.eq(status.as_str()));
    }
    let rows = query.load(conn)?;
    page_of(rows, &page, ReviewRow::into_review, |r| r.id)
}

#[async_trait]
impl QaReviewRepository for Store {
    async fn create(&self, review: NewQaReview) -> Result<QaReview> {
        self.write_logged(move |conn, outbox| {
            create_review(conn, outbox, &review).map_err(|err| match err {
                Error::Db(db) if is_unique_violation(&db, "message_id") => Error::Domain(
                    DomainError::Conflict("the message already has a review".into()),
                ),
                other => other,
            })
        })
        .await
    }

    async fn get(&self, id: i64) -> Result<Option<QaReview>> {
        self.run(move |conn| load_review(conn, id)).await
    }

    async fn find_by_message(&self, message_id: MessageId) -> Result<Option<QaReview>> {
        self.run(move |conn| review_of_message(conn, message_id))
            .await
    }

    async fn decide(&self, decision: ReviewDecision) -> Result<QaReview> {
        self.write_logged(move |conn, outbox| decide(conn, outbox, &decision))
            .await
    }

    async fn list(&self, filter: ReviewFilter, page: PageRequest) -> Result<Page<QaReview>> {
        self.run(move |conn| list_reviews(conn, &filter, page))
            .await
    }
}
