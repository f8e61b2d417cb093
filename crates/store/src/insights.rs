//! [`SummaryRepository`] and [`QaReviewRepository`]: summaries (one current per ticket) and
//! QA reviews (one per message). Key points, entities and flags are stored as JSON text. Every
//! write appends its event (`summary_ready`, `qa_review_updated`) in its own transaction; both
//! tables go with their ticket (`ON DELETE CASCADE`).

use crate::connection::DbConnection;
use crate::error::{corrupt, is_unique_violation, Error};
use crate::models::{from_db, to_db};
use crate::schema::{messages, tickets};
use crate::schema_insights::{qa_reviews, summaries};
use crate::{events, Store};
use async_trait::async_trait;
use chrono::NaiveDateTime;
use concierge_domain::analysis::{Entity, Flag};
use concierge_domain::event::EventEncoder;
use concierge_domain::event::NewEvent;
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::{QaReviewRepository, SummaryRepository};
use concierge_domain::qa::{
    already_decided, flag_kind_from_name, flag_kind_name, NewQaReview, QaReview, ReviewDecision,
    ReviewFilter, ReviewStatus,
};
use concierge_domain::summary::{entity_kind_from_name, entity_kind_name, NewSummary, Summary};
use concierge_domain::{DomainError, MessageId, Result, TicketId, UserId};
use diesel::prelude::*;
use serde_json::{json, Value};

/// How often a summary write that lost a race for the ticket's one row is tried again.
const REPLACE_ATTEMPTS: usize = 3;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = summaries)]
struct SummaryRow {
    id: i64,
    ticket_id: i64,
    content: String,
    key_points: String,
    entities: String,
    next_steps: Option<String>,
    analyzer: String,
    model: Option<String>,
    fallback_from: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = summaries)]
struct NewSummaryRow {
    ticket_id: i64,
    content: String,
    key_points: String,
    entities: String,
    next_steps: Option<String>,
    analyzer: String,
    model: Option<String>,
    fallback_from: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = qa_reviews)]
struct ReviewRow {
    id: i64,
    message_id: i64,
    ticket_id: i64,
    status: String,
    feedback: Option<String>,
    flags: String,
    sentiment: f32,
    analyzer: String,
    fallback_from: Option<String>,
    reviewer_id: Option<i64>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = qa_reviews)]
struct NewReviewRow {
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

fn to_json(value: &Value) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Domain(DomainError::storage(e)))
}

fn json_list(text: &str, what: &str) -> Result<Vec<Value>, Error> {
    match serde_json::from_str(text) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(corrupt(format!("{what} {text:?}"))),
    }
}

/// `[{kind, value}]` as stored, back into entities.
fn entities_from(text: &str) -> Result<Vec<Entity>, Error> {
    json_list(text, "entities")?
        .iter()
        .map(|item| {
            let kind = item["kind"].as_str().and_then(entity_kind_from_name);
            match (kind, item["value"].as_str()) {
                (Some(kind), Some(value)) => Ok(Entity {
                    kind,
                    value: value.to_string(),
                }),
                _ => Err(corrupt(format!("entity {item}"))),
            }
        })
        .collect()
}

/// `[{kind, evidence}]` as stored, back into flags.
fn flags_from(text: &str) -> Result<Vec<Flag>, Error> {
    json_list(text, "flags")?
        .iter()
        .map(|item| {
            let kind = item["kind"].as_str().and_then(flag_kind_from_name);
            match (kind, item["evidence"].as_str()) {
                (Some(kind), Some(evidence)) => Ok(Flag {
                    kind,
                    evidence: evidence.to_string(),
                }),
                _ => Err(corrupt(format!("flag {item}"))),
            }
        })
        .collect()
}

impl SummaryRow {
    fn into_summary(self) -> Result<Summary, Error> {
        let key_points = json_list(&self.key_points, "key points")?
            .into_iter()
            .map(|p| match p {
                Value::String(s) => Ok(s),
                other => Err(corrupt(format!("key point {other}"))),
            })
            .collect::<Result<_, _>>()?;
        Ok(Summary {
            id: self.id,
            ticket_id: TicketId(self.ticket_id),
            content: self.content,
            key_points,
            entities: entities_from(&self.entities)?,
            next_steps: self.next_steps,
            analyzer: self.analyzer,
            model: self.model,
            fallback_from: self.fallback_from,
            created_at: from_db(self.created_at),
        })
    }
}

impl ReviewRow {
    fn into_review(self) -> Result<QaReview, Error> {
        Ok(QaReview {
            id: self.id,
            message_id: MessageId(self.message_id),
            ticket_id: TicketId(self.ticket_id),
            status: self
                .status
                .parse::<ReviewStatus>()
                .map_err(|_| corrupt(format!("review status {:?}", self.status)))?,
            feedback: self.feedback,
            flags: flags_from(&self.flags)?,
            sentiment: self.sentiment,
            analyzer: self.analyzer,
            fallback_from: self.fallback_from,
            reviewer_id: self.reviewer_id.map(UserId),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

fn current_summary(conn: &mut DbConnection, ticket_id: TicketId) -> Result<Option<Summary>, Error> {
    summaries::table
        .filter(summaries::ticket_id.eq(ticket_id.0))
        .select(SummaryRow::as_select())
        .first(conn)
        .optional()?
        .map(SummaryRow::into_summary)
        .transpose()
}

fn replace_summary(
    conn: &mut DbConnection,
    enc: &dyn EventEncoder,
    summary: &NewSummary,
) -> Result<Summary, Error> {
    let ticket_id = summary.ticket_id.0;
    let exists = tickets::table
        .filter(tickets::id.eq(ticket_id))
        .count()
        .get_result::<i64>(conn)?;
    if exists == 0 {
        return Err(DomainError::NotFound("ticket").into());
    }
    let draft = &summary.draft;
    let entities: Vec<Value> = draft
        .entities
        .iter()
        .map(|e| json!({"kind": entity_kind_name(e.kind), "value": e.value}))
        .collect();
    let row = NewSummaryRow {
        ticket_id,
        content: draft.content.clone(),
        key_points: to_json(&json!(draft.key_points))?,
        entities: to_json(&Value::Array(entities))?,
        next_steps: draft.next_steps.clone(),
        analyzer: draft.analyzer.clone(),
        model: draft.model.clone(),
        fallback_from: draft.fallback_from.clone(),
        created_at: to_db(summary.created_at),
    };
    diesel::delete(summaries::table.filter(summaries::ticket_id.eq(ticket_id))).execute(conn)?;
    diesel::insert_into(summaries::table)
        .values(&row)
        .execute(conn)?;
    let stored = current_summary(conn, summary.ticket_id)?
        .ok_or(Error::Domain(DomainError::NotFound("summary")))?;
    events::append(conn, enc, vec![NewEvent::summary_ready(&stored)])?;
    Ok(stored)
}

fn load_review(conn: &mut DbConnection, id: i64) -> Result<Option<QaReview>, Error> {
    qa_reviews::table
        .find(id)
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()?
        .map(ReviewRow::into_review)
        .transpose()
}

fn review_of_message(
    conn: &mut DbConnection,
    message_id: MessageId,
) -> Result<Option<QaReview>, Error> {
    qa_reviews::table
        .filter(qa_reviews::message_id.eq(message_id.0))
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()?
        .map(ReviewRow::into_review)
        .transpose()
}

fn create_review(
    conn: &mut DbConnection,
    enc: &dyn EventEncoder,
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
    let row = NewReviewRow {
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
    events::append(conn, enc, vec![review_event(&stored)])?;
    Ok(stored)
}

fn review_event(review: &QaReview) -> NewEvent {
    NewEvent::qa_review_updated(review)
}

fn decide(
    conn: &mut DbConnection,
    enc: &dyn EventEncoder,
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
    events::append(conn, enc, vec![review_event(&review)])?;
    Ok(review)
}

fn list_reviews(
    conn: &mut DbConnection,
    filter: &ReviewFilter,
    page: PageRequest,
) -> Result<Page<QaReview>, Error> {
    let mut query = qa_reviews::table
        .select(ReviewRow::as_select())
        .order(qa_reviews::id.desc())
        .limit(i64::from(page.limit) + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(qa_reviews::id.lt(after));
    }
    if let Some(ticket_id) = filter.ticket_id {
        query = query.filter(qa_reviews::ticket_id.eq(ticket_id.0));
    }
    if let Some(status) = filter.status {
        query = query.filter(qa_reviews::status.eq(status.as_str()));
    }
    let rows = query
        .load::<ReviewRow>(conn)?
        .into_iter()
        .map(ReviewRow::into_review)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, &page, |r| r.id))
}

#[async_trait]
impl SummaryRepository for Store {
    async fn replace(&self, summary: NewSummary) -> Result<Summary> {
        for _ in 1..REPLACE_ATTEMPTS {
            let attempt = summary.clone();
            match self
                .write_logged(move |conn, enc| replace_summary(conn, enc, &attempt))
                .await
            {
                // Another writer inserted the ticket's row between our delete and insert.
                Err(DomainError::Conflict(_)) => continue,
                other => return other,
            }
        }
        self.write_logged(move |conn, enc| replace_summary(conn, enc, &summary))
            .await
    }

    async fn current(&self, ticket_id: TicketId) -> Result<Option<Summary>> {
        self.run(move |conn| current_summary(conn, ticket_id)).await
    }
}

#[async_trait]
impl QaReviewRepository for Store {
    async fn create(&self, review: NewQaReview) -> Result<QaReview> {
        self.write_logged(move |conn, enc| {
            create_review(conn, enc, &review).map_err(|err| match err {
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
        self.write_logged(move |conn, enc| decide(conn, enc, &decision))
            .await
    }

    async fn list(&self, filter: ReviewFilter, page: PageRequest) -> Result<Page<QaReview>> {
        self.run(move |conn| list_reviews(conn, &filter, page))
            .await
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::harness::{
        chat, create, donor_ticket, kinds, staff, store_test, ticket_events,
    };
    use chrono::Utc;
    use concierge_domain::analysis::{Entity, EntityKind, Flag, FlagKind, SummaryDraft, Verdict};
    use concierge_domain::message::Sender;
    use concierge_domain::page::PageRequest;
    use concierge_domain::ports::{
        MessageRepository, QaReviewRepository, SummaryRepository, TicketRepository,
    };
    use concierge_domain::qa::{NewQaReview, ReviewDecision, ReviewFilter, ReviewStatus};
    use concierge_domain::summary::NewSummary;
    use concierge_domain::{DomainError, MessageId, TicketId};

    fn draft(content: &str) -> SummaryDraft {
        SummaryDraft {
            content: content.into(),
            key_points: vec!["card lost".into(), "refund sent".into()],
            entities: vec![Entity {
                kind: EntityKind::Email,
                value: "ann@example.org".into(),
            }],
            next_steps: Some("close the ticket".into()),
            analyzer: "local".into(),
            model: None,
            fallback_from: Some("openai: schema mismatch".into()),
        }
    }

    fn summary(ticket: TicketId, content: &str) -> NewSummary {
        NewSummary {
            ticket_id: ticket,
            draft: draft(content),
            created_at: Utc::now(),
        }
    }

    fn review(ticket: TicketId, message: MessageId) -> NewQaReview {
        NewQaReview {
            message_id: message,
            ticket_id: ticket,
            verdict: Verdict {
                flags: vec![Flag {
                    kind: FlagKind::PiiCard,
                    evidence: "**** **** **** 1111".into(),
                }],
                sentiment: -0.25,
                analyzer: "local".into(),
                fallback_from: None,
            },
            created_at: Utc::now(),
        }
    }

    store_test!(summaries_replace_and_announce_themselves, |store| {
        let t = create(&store, donor_ticket("d-1", "Lost card")).await;
        assert_eq!(
            SummaryRepository::current(&store, t.id).await.unwrap(),
            None
        );
        let first = store.replace(summary(t.id, "first")).await.unwrap();
        assert_eq!(first.key_points.len(), 2);
        assert_eq!(first.entities[0].kind, EntityKind::Email);
        assert_eq!(
            first.fallback_from.as_deref(),
            Some("openai: schema mismatch")
        );
        let second = store.replace(summary(t.id, "second")).await.unwrap();
        let current = SummaryRepository::current(&store, t.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(current, second);
        assert_eq!(current.content, "second");
        let events = ticket_events(&store, t.id).await;
        let ready: Vec<_> = events
            .iter()
            .filter(|e| e.kind.as_str() == "summary_ready")
            .collect();
        assert_eq!(ready.len(), 2);
        assert_eq!(ready[1].data["content"], "second");
        assert_eq!(ready[1].data["entities"][0]["kind"], "EMAIL");
        assert!(matches!(
            store.replace(summary(TicketId(999_999), "x")).await,
            Err(DomainError::NotFound("ticket"))
        ));
    });

    store_test!(concurrent_summaries_leave_one_current, |store| {
        let t = create(&store, donor_ticket("d-1", "Busy")).await;
        let writers = (0..6).map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.replace(summary(t.id, &format!("v{i}"))).await })
        });
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        assert!(SummaryRepository::current(&store, t.id)
            .await
            .unwrap()
            .is_some());
    });

    store_test!(reviews_are_decided_once_and_listed_by_status, |store| {
        let admin = staff(&store, "ann", "Ann Admin").await;
        let t = create(&store, donor_ticket("d-1", "Card")).await;
        let other = create(&store, donor_ticket("d-2", "Other")).await;
        let mut ids = Vec::new();
        for (ticket, text) in [(t.id, "4111 1111 1111 1111"), (t.id, "hi"), (other.id, "x")] {
            let m = store
                .post(chat(ticket, Sender::Donor, text), None)
                .await
                .unwrap();
            ids.push((ticket, m.message().id));
        }
        let first = QaReviewRepository::create(&store, review(ids[0].0, ids[0].1))
            .await
            .unwrap();
        assert_eq!(first.status, ReviewStatus::Pending);
        assert_eq!(first.flags[0].kind, FlagKind::PiiCard);
        assert!((first.sentiment + 0.25).abs() < 1e-6);
        assert!(matches!(
            QaReviewRepository::create(&store, review(ids[0].0, ids[0].1)).await,
            Err(DomainError::Conflict(_))
        ));
        // The message must belong to the ticket named.
        assert!(matches!(
            QaReviewRepository::create(&store, review(other.id, ids[0].1)).await,
            Err(DomainError::NotFound("message"))
        ));
        let second = QaReviewRepository::create(&store, review(ids[1].0, ids[1].1))
            .await
            .unwrap();
        let third = QaReviewRepository::create(&store, review(ids[2].0, ids[2].1))
            .await
            .unwrap();
        assert_eq!(
            store.find_by_message(ids[1].1).await.unwrap().map(|r| r.id),
            Some(second.id)
        );

        let decision = |id, status| ReviewDecision {
            review_id: id,
            status,
            feedback: Some("confirmed".into()),
            reviewer_id: admin.id,
            decided_at: Utc::now(),
        };
        let approved = store
            .decide(decision(first.id, ReviewStatus::Approved))
            .await
            .unwrap();
        assert_eq!(approved.status, ReviewStatus::Approved);
        assert_eq!(approved.reviewer_id, Some(admin.id));
        assert_eq!(approved.feedback.as_deref(), Some("confirmed"));
        assert!(matches!(
            store
                .decide(decision(first.id, ReviewStatus::Rejected))
                .await,
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            store
                .decide(decision(999_999, ReviewStatus::Rejected))
                .await,
            Err(DomainError::NotFound(_))
        ));

        let list = |ticket_id, status, page| {
            let store = store.clone();
            async move {
                QaReviewRepository::list(&store, ReviewFilter { ticket_id, status }, page)
                    .await
                    .unwrap()
            }
        };
        let all = list(None, None, PageRequest::first(2)).await;
        assert_eq!(
            all.items.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![third.id, second.id]
        );
        let rest = list(
            None,
            None,
            PageRequest::parse(Some(2), all.next_cursor.as_deref()).unwrap(),
        )
        .await;
        assert_eq!(
            rest.items.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![first.id]
        );
        assert!(!rest.has_more());
        let pending = list(None, Some(ReviewStatus::Pending), PageRequest::first(10)).await;
        assert_eq!(pending.items.len(), 2);
        let of_ticket = list(
            Some(t.id),
            Some(ReviewStatus::Pending),
            PageRequest::first(10),
        )
        .await;
        assert_eq!(
            of_ticket.items.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![second.id]
        );

        let events = ticket_events(&store, t.id).await;
        let qa = kinds(&events)
            .into_iter()
            .filter(|k| *k == "qa_review_updated")
            .count();
        assert_eq!(qa, 3); // two created, one decided
        let last = events
            .iter()
            .rev()
            .find(|e| e.kind.as_str() == "qa_review_updated")
            .unwrap();
        assert_eq!(last.data["status"], "APPROVED");
        assert_eq!(last.data["verdict"]["flags"][0]["kind"], "PII_CARD");
    });

    store_test!(deleting_a_ticket_removes_its_summary_and_reviews, |store| {
        let t = create(&store, donor_ticket("d-1", "Gone soon")).await;
        let m = store
            .post(chat(t.id, Sender::Donor, "hi"), None)
            .await
            .unwrap();
        store.replace(summary(t.id, "s")).await.unwrap();
        let r = QaReviewRepository::create(&store, review(t.id, m.message().id))
            .await
            .unwrap();
        TicketRepository::delete(&store, t.id).await.unwrap();
        assert_eq!(
            SummaryRepository::current(&store, t.id).await.unwrap(),
            None
        );
        assert_eq!(QaReviewRepository::get(&store, r.id).await.unwrap(), None);
    });
}
