//! /summaries and /qa: conversation summaries and QA reviews (see docs/ai.md).
//!
//! `POST /summaries/generate/:taskId` runs the analyzer in a spawned task and answers 202 at
//! once; `?wait=true` waits for it. At most one generation per ticket runs at a time: a second
//! request while one is running joins it instead of starting another.

use crate::auth::Caller;
use crate::openapi::{Conflict, Guarded, GuardedItem, Invalid, Unavailable, WithBody};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use crate::wire::names::ReviewStatusName;
use crate::wire::{parse_enum, required, List, Paging};
use actix_web::{get, post, put, web, HttpResponse};
use concierge_domain::page::PageRequest;
use concierge_domain::qa::{Decision, ReviewFilter, ReviewStatus};
use concierge_domain::summary::WriteSummary;
use concierge_domain::{DomainError, MessageId, TicketId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// A copy of a shared error, for answering each waiter.
fn copy_error(error: &DomainError) -> DomainError {
    match error {
        DomainError::NotFound(what) => DomainError::NotFound(what),
        DomainError::Forbidden(why) => DomainError::Forbidden(why),
        DomainError::Unauthenticated => DomainError::Unauthenticated,
        DomainError::Conflict(why) => DomainError::Conflict(why.clone()),
        DomainError::ConcurrentUpdate => DomainError::ConcurrentUpdate,
        DomainError::Invalid(errors) => DomainError::Invalid(errors.clone()),
        DomainError::Unavailable(why) => DomainError::Unavailable(why.clone()),
        DomainError::Transition(t) => DomainError::Conflict(t.to_string()),
        other => DomainError::storage(std::io::Error::other(other.to_string())),
    }
}

/// A summary written by hand.
#[derive(Deserialize, ToSchema)]
#[schema(as = WriteSummaryBody)]
#[serde(rename_all = "camelCase")]
struct WriteBody {
    task_id: Option<i64>,
    ticket_id: Option<i64>,
    query_id: Option<i64>,
    content: Option<String>,
    #[serde(default)]
    key_points: Vec<String>,
}

/// `POST /summaries`: a summary written by hand, replacing the current one.
#[utoipa::path(
    tag = "insights",
    operation_id = "write_summary",
    summary = "Write a ticket's summary by hand",
    request_body(content = WriteBody, content_type = "application/json"),
    responses(
        (status = 201, body = wire::Summary, description = "The summary"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[post("/summaries")]
async fn write_summary(
    state: State,
    caller: Caller,
    body: web::Json<WriteBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let ticket = required(body.task_id.or(body.ticket_id).or(body.query_id), "taskId")?;
    let input = WriteSummary {
        ticket_id: TicketId(ticket),
        content: required(body.content, "content")?,
        key_points: body.key_points,
    };
    let summary = state
        .insights
        .service
        .write_summary(&caller.0, input)
        .await?;
    Ok(HttpResponse::Created().json(wire::Summary::from(summary)))
}

/// `GET /summaries/task/:taskId`: the current summary, 404 when none.
#[utoipa::path(
    tag = "insights",
    operation_id = "get_summary",
    summary = "A ticket's current summary",
    params(("id" = i64, Path, description = "The ticket id.")),
    responses(
        (status = 200, body = wire::Summary, description = "The summary"),
        GuardedItem
    ),
)]
#[get("/summaries/task/{id}")]
async fn get_summary(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let summary = state
        .insights
        .service
        .summary(&caller.0, TicketId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(wire::Summary::from(summary)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct GenerateParams {
    /// `true` waits for the summary.
    #[param(value_type = Option<bool>)]
    wait: Option<String>,
}

/// A generation under way: `{status: PENDING, taskId}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PendingSummary {
    /// Always `PENDING`.
    status: &'static str,
    /// The ticket.
    #[schema(value_type = i64)]
    task_id: TicketId,
}

/// `POST /summaries/generate/:taskId[?wait=true]`.
#[utoipa::path(
    tag = "insights",
    operation_id = "generate_summary",
    summary = "Generate a summary (`?wait=true` waits)",
    params(("id" = i64, Path, description = "The ticket id."), GenerateParams),
    responses(
        (status = 202, body = PendingSummary, description = "`{status: PENDING, taskId}`; a summary_ready event follows"),
        (status = 200, body = wire::Summary, description = "With wait=true: the summary"),
        GuardedItem, Conflict, Invalid, Unavailable
    ),
)]
#[post("/summaries/generate/{id}")]
async fn generate_summary(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    params: web::Query<GenerateParams>,
) -> Result<HttpResponse, ApiError> {
    let ticket_id = TicketId(id.into_inner());
    let wait = match params.wait.as_deref().map(str::trim) {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "wait must be true or false, not {other:?}"
            )))
        }
    };
    // Permission and existence are checked before anything runs in the background.
    state
        .insights
        .service
        .staff_ticket(&caller.0, ticket_id)
        .await?;
    let mut outcome = state.insights.generate(caller.0.clone(), ticket_id);
    if !wait {
        return Ok(HttpResponse::Accepted().json(PendingSummary {
            status: "PENDING",
            task_id: ticket_id,
        }));
    }
    let done = outcome
        .wait_for(Option::is_some)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .clone();
    match done.as_deref() {
        Some(Ok(summary)) => Ok(HttpResponse::Ok().json(wire::Summary::from(summary))),
        Some(Err(error)) => Err(copy_error(error).into()),
        None => Err(ApiError::Internal(
            "the generation ended without an outcome".into(),
        )),
    }
}

/// `{messageId}` for a QA review.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReviewBody {
    message_id: Option<i64>,
}

/// `POST /qa {messageId}`: 201 with the new review, 200 with the message's existing one.
#[utoipa::path(
    tag = "insights",
    operation_id = "request_review",
    summary = "Review a message",
    request_body(content = ReviewBody, content_type = "application/json"),
    responses(
        (status = 201, body = wire::QaReview, description = "The new review"),
        (status = 200, body = wire::QaReview, description = "The message's existing review"),
        GuardedItem, Conflict, WithBody, Unavailable
    ),
)]
#[post("/qa")]
async fn request_review(
    state: State,
    caller: Caller,
    body: web::Json<ReviewBody>,
) -> Result<HttpResponse, ApiError> {
    let message_id = MessageId(required(body.message_id, "messageId")?);
    let (review, created) = state
        .insights
        .service
        .request_review(&caller.0, message_id)
        .await?;
    Ok(if created {
        HttpResponse::Created().json(wire::QaReview::from(review))
    } else {
        HttpResponse::Ok().json(wire::QaReview::from(review))
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct ReviewParams {
    #[param(value_type = Option<ReviewStatusName>)]
    status: Option<String>,
    #[param(value_type = Option<i64>)]
    task_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

async fn list(
    state: &AppState,
    caller: &Caller,
    ticket_id: Option<TicketId>,
    status: Option<ReviewStatus>,
    page: PageRequest,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .insights
        .service
        .reviews(&caller.0, ReviewFilter { ticket_id, status }, page)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::QaReview>::of(page)))
}

/// `GET /qa?status=&taskId=`: reviews, newest first.
#[utoipa::path(
    tag = "insights",
    operation_id = "list_reviews",
    summary = "QA reviews, newest first",
    params(ReviewParams, Paging),
    responses(
        (status = 200, body = List<wire::QaReview>, description = "A page of reviews"),
        Guarded, Invalid
    ),
)]
#[get("/qa")]
async fn list_reviews(
    state: State,
    caller: Caller,
    params: web::Query<ReviewParams>,
) -> Result<HttpResponse, ApiError> {
    let ticket_id = match params.task_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(TicketId(raw.parse().map_err(|_| {
            ApiError::BadRequest(format!("taskId must be a whole number, not {raw:?}"))
        })?)),
    };
    let status = parse_enum(params.status.as_deref())?;
    list(&state, &caller, ticket_id, status, params.paging.request()?).await
}

/// `GET /qa/task/:taskId?status=`: one ticket's reviews, newest first.
#[utoipa::path(
    tag = "insights",
    operation_id = "list_ticket_reviews",
    summary = "One ticket's reviews",
    params(("id" = i64, Path, description = "The ticket id."), ("status" = Option<ReviewStatusName>, Query), Paging),
    responses(
        (status = 200, body = List<wire::QaReview>, description = "A page of reviews"),
        GuardedItem, Invalid
    ),
)]
#[get("/qa/task/{id}")]
async fn list_ticket_reviews(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    params: web::Query<ReviewParams>,
) -> Result<HttpResponse, ApiError> {
    let status = parse_enum(params.status.as_deref())?;
    let ticket_id = Some(TicketId(id.into_inner()));
    list(&state, &caller, ticket_id, status, params.paging.request()?).await
}

/// `GET /qa/:id`: one review.
#[utoipa::path(
    tag = "insights",
    operation_id = "get_review",
    summary = "One review",
    params(("id" = i64, Path, description = "The review id.")),
    responses(
        (status = 200, body = wire::QaReview, description = "The review"),
        GuardedItem
    ),
)]
#[get("/qa/{id}")]
async fn get_review(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let review = state
        .insights
        .service
        .review(&caller.0, id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(wire::QaReview::from(review)))
}

/// A reviewer's decision.
#[derive(Deserialize, ToSchema)]
struct DecisionBody {
    #[schema(value_type = Option<ReviewStatusName>)]
    status: Option<String>,
    feedback: Option<String>,
}

/// `PUT /qa/:id {status: APPROVED|REJECTED, feedback?}`: admins, only while PENDING (else 409).
#[utoipa::path(
    tag = "insights",
    operation_id = "decide_review",
    summary = "Approve or reject a pending review (admins)",
    params(("id" = i64, Path, description = "The review id.")),
    request_body(content = DecisionBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::QaReview, description = "The review"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[put("/qa/{id}")]
async fn decide(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let status = required(
        parse_enum::<ReviewStatus>(body.status.as_deref())?,
        "status",
    )?;
    let decision = Decision {
        status,
        feedback: body.feedback,
    };
    let review = state
        .insights
        .service
        .decide(&caller.0, id.into_inner(), decision)
        .await?;
    Ok(HttpResponse::Ok().json(wire::QaReview::from(review)))
}

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(write_summary)
        .service(get_summary)
        .service(generate_summary)
        .service(request_review)
        .service(list_reviews)
        .service(list_ticket_reviews)
        .service(get_review)
        .service(decide);
}
