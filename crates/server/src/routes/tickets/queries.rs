//! Donor queries: the donor-support face of tickets.

use super::changes::{on_ticket, remove, update, ChangesBody};
use super::listing::{list, Filters};
use super::{State, TicketPath};
use crate::auth::{Caller, DonorIdentity};
use crate::openapi::{Aliases, Conflict, Guarded, GuardedItem, Invalid, Unauthorized, WithBody};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use crate::wire::names::{PriorityName, QueryModeName};
use crate::wire::{parse_enum, required, List, Paging};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use concierge_domain::audit::Record;
use concierge_domain::services::{TicketList, TicketService};
use concierge_domain::ticket::{DonorQueryInput, Priority, QueryMode, TicketStatus};
use concierge_domain::{DomainError, TicketId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

/// A new donor query.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateQueryBody {
    /// The donor's display name.
    donor: Option<String>,
    donor_id: Option<String>,
    test: Option<bool>,
    stage: Option<String>,
    #[schema(value_type = Option<QueryModeName>)]
    query_mode: Option<String>,
    device: Option<String>,
    sid: Option<String>,
    fcm_token: Option<String>,
    /// Becomes the first message (type QUERY).
    message: Option<String>,
    #[schema(value_type = Option<PriorityName>)]
    priority: Option<String>,
    /// hex HMAC-SHA256(DONOR_IDENTITY_SECRET, donorId): the app vouches for the donor, whose
    /// token then lists every query of the donorId. Ignored unless the secret is configured;
    /// a wrong one is 401.
    donor_id_hash: Option<String>,
}

/// A new donor query: the ticket, the donor's token and the first message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreatedQuery {
    #[serde(flatten)]
    ticket: wire::Ticket,
    /// The donor's token for this query.
    donor_token: String,
    /// The first message (type QUERY), when the body had one.
    first_message: Option<wire::Message>,
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "create_query",
    summary = "Open a donor query (no login)",
    description = "A donor token in Authorization joins the new query to that token's donor session.",
    request_body(content = CreateQueryBody, content_type = "application/json"),
    responses(
        (status = 201, body = CreatedQuery, description = "The query, its donor token and first message"),
        Unauthorized, WithBody
    ),
    security((), ("bearer" = [])),
)]
#[post("/donor-queries")]
async fn create_query(
    state: State,
    req: actix_web::HttpRequest,
    body: web::Json<CreateQueryBody>,
) -> Result<HttpResponse, ApiError> {
    state.limits.donor_query(state.limits.client_ip(&req))?;
    // A token presented must be good (401 otherwise, like anywhere else).
    let presented = match crate::auth::bearer(&req)? {
        Some(token) => Some(crate::auth::actor_for_token(&state, &token).await?),
        None => None,
    };
    let body = body.into_inner();
    let donor_id = required(body.donor_id, "donorId")?;
    let vouched = vouched_for(&state, donor_id.trim(), body.donor_id_hash.as_deref())?;
    let (session, identity_verified) = match &presented {
        Some(actor) => actor.session_for_new_query(donor_id.trim(), vouched),
        None => (None, vouched),
    };
    let input = DonorQueryInput {
        donor: required(body.donor, "donor")?,
        donor_id,
        test: body.test.unwrap_or(false),
        stage: body.stage,
        query_mode: parse_enum::<QueryMode>(body.query_mode.as_deref())?,
        device: body.device,
        sid: body.sid,
        fcm_token: body.fcm_token,
        message: body.message,
        priority: parse_enum::<Priority>(body.priority.as_deref())?,
        session,
    };
    let (ticket, first_message) = state.services.tickets.open_donor_query(input).await?;
    let (donor_id, session) = ticket
        .donor
        .as_ref()
        .map(|d| {
            (
                d.donor_id.as_str(),
                d.session.as_deref().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let donor_token = state
        .tokens
        .donor(donor_id, ticket.id, session, identity_verified)?;
    Ok(HttpResponse::Created().json(CreatedQuery {
        ticket: wire::Ticket::from(ticket),
        donor_token,
        first_message: first_message.map(wire::Message::from),
    }))
}

/// Whether the app vouched for `donor_id` with `donorIdHash`: only when DONOR_IDENTITY_SECRET
/// is set (otherwise the hash is ignored); a hash that does not match is 401.
fn vouched_for(state: &AppState, donor_id: &str, hash: Option<&str>) -> Result<bool, ApiError> {
    let (Some(secret), Some(hash)) = (state.config.donor_identity_secret.as_deref(), hash) else {
        return Ok(false);
    };
    match DonorIdentity::new(secret) {
        Some(identity) if identity.vouches(donor_id, hash) => Ok(true),
        _ => Err(ApiError::Unauthorized(
            "donorIdHash does not vouch for this donorId",
        )),
    }
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "list_queries",
    summary = "All donor queries (admins)",
    params(Filters, Paging),
    responses(
        (status = 200, body = List<wire::Ticket>, description = "A page of tickets"),
        Guarded, Invalid
    ),
)]
#[get("/donor-queries")]
async fn list_queries(
    state: State,
    caller: Caller,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, ApiError> {
    let list_of = TicketList::AllQueries(filters.filter()?);
    list(&state, &caller, list_of, &filters.paging).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct DonorParam {
    /// Whose queries (a donor token implies its own).
    donor_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "list_donor_queries",
    summary = "A donor's queries",
    description = "Staff list any donorId. A donor token lists the queries of its donor session, or every query of its donorId when the app vouched for it (donorIdHash).",
    params(DonorParam, Paging),
    responses(
        (status = 200, body = List<wire::Ticket>, description = "A page of tickets"),
        Guarded, Invalid
    ),
)]
#[get("/donor-queries/user")]
async fn list_donor_queries(
    state: State,
    caller: Caller,
    query: web::Query<DonorParam>,
) -> Result<HttpResponse, ApiError> {
    let donor_id = query.donor_id.clone().filter(|id| !id.is_empty());
    list(&state, &caller, TicketList::Donor(donor_id), &query.paging).await
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "list_general",
    summary = "Active queries (a donor sees only its own)",
    params(Filters, Paging),
    responses(
        (status = 200, body = List<wire::Ticket>, description = "A page of tickets"),
        Guarded, Invalid
    ),
)]
#[get("/donor-queries/general")]
async fn list_general(
    state: State,
    caller: Caller,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, ApiError> {
    let list_of = TicketList::General(filters.filter()?);
    list(&state, &caller, list_of, &filters.paging).await
}

/// Donor queries of one status, named by the path's last segment: `/donor-queries/in-progress`,
/// `/resolved` or `/transferred` (see [`routes`]).
#[utoipa::path(
    get,
    path = "/donor-queries/in-progress",
    tag = "donor-queries",
    operation_id = "list_in_progress",
    summary = "Donor queries that are in progress (admins)",
    params(Filters, Paging),
    responses(
        (status = 200, body = List<wire::Ticket>, description = "A page of tickets"),
        Guarded, Invalid
    ),
)]
async fn list_by_status(
    state: State,
    caller: Caller,
    req: actix_web::HttpRequest,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, ApiError> {
    let status = match req.path().rsplit('/').next() {
        Some("in-progress") => TicketStatus::InProgress,
        Some("resolved") => TicketStatus::Resolved,
        Some("transferred") => TicketStatus::Transferred,
        _ => return Err(ApiError::NoRoute),
    };
    let mut filter = filters.filter()?;
    filter.statuses = vec![status];
    list(
        &state,
        &caller,
        TicketList::AllQueries(filter),
        &filters.paging,
    )
    .await
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "admin_detail",
    summary = "One query with assignment and transfer detail (admins)",
    params(TicketPath),
    responses(
        (status = 200, body = wire::TicketDetail, description = "The ticket with assignee, creator and transfer detail"),
        GuardedItem
    ),
)]
#[get("/donor-queries/admin/{id}")]
async fn admin_detail(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    let detail = state
        .services
        .tickets
        .detail_for_admin(&caller.0, TicketId(path.id))
        .await?;
    let viewed = Record::donor_query_viewed(TicketId(path.id));
    state.audit.record(viewed).await?;
    Ok(HttpResponse::Ok().json(wire::TicketDetail::from(detail)))
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "get_query",
    summary = "One query (its donor, staff)",
    params(TicketPath),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem
    ),
)]
#[get("/donor-queries/{id}")]
async fn get_query(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    on_ticket(&state, &caller, path.id, TicketService::get).await
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "donor_close",
    summary = "The donor closes its query",
    params(TicketPath),
    responses(
        (status = 200, body = wire::Ticket, description = "The closed ticket"),
        GuardedItem, Conflict
    ),
)]
#[post("/donor-queries/{id}/donor-close")]
async fn donor_close(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    on_ticket(&state, &caller, path.id, TicketService::close).await
}

/// Field and status changes (admins), or `{fcmToken}` alone (the query's donor too). The two
/// are separate requests, so a refused change never leaves half of a request written.
#[utoipa::path(
    tag = "donor-queries",
    operation_id = "patch_query",
    summary = "Change fields or status (admins; `{fcmToken}` alone also its donor)",
    params(TicketPath),
    request_body(content = ChangesBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[patch("/donor-queries/{id}")]
async fn patch_query(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
    body: web::Json<ChangesBody>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let id = path.id;
    let Some(token) = body.fcm_token.take() else {
        return update(state, caller, id, body).await;
    };
    if !body.parse()?.is_empty() {
        return Err(DomainError::invalid(
            "fcmToken",
            "is set in a request of its own, without other fields",
        )
        .into());
    }
    on_ticket(&state, &caller, id, |tickets, actor, id| {
        tickets.set_donor_push_token(actor, id, token.as_deref())
    })
    .await
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "accept",
    summary = "Assign to the caller (admins)",
    params(TicketPath),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict
    ),
)]
#[patch("/donor-queries/{id}/accept")]
async fn accept(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    on_ticket(&state, &caller, path.id, TicketService::accept).await
}

/// A transfer.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TransferBody {
    to_user_id: Option<i64>,
    note: Option<String>,
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "transfer",
    summary = "Transfer to another staff member (admins)",
    params(TicketPath),
    request_body(content = TransferBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[patch("/donor-queries/{id}/transfer")]
async fn transfer(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
    body: web::Json<TransferBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let to = required(body.to_user_id, "toUserId")?;
    on_ticket(&state, &caller, path.id, |tickets, actor, id| {
        tickets.transfer(actor, id, UserId(to), body.note.as_deref())
    })
    .await
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "resolve",
    summary = "Resolve (admins)",
    params(TicketPath),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict
    ),
)]
#[patch("/donor-queries/{id}/resolve")]
async fn resolve(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    on_ticket(&state, &caller, path.id, TicketService::resolve).await
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "send_reminder",
    summary = "Remind the donor: push and a REMINDER message (admins)",
    params(TicketPath),
    responses(
        (status = 201, body = wire::Message, description = "The reminder message"),
        GuardedItem, Conflict
    ),
)]
#[post("/donor-queries/{id}/send-reminder")]
async fn send_reminder(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    let message = state
        .services
        .tickets
        .remind(&caller.0, TicketId(path.id))
        .await?;
    Ok(HttpResponse::Created().json(wire::Message::from(message)))
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "delete_query",
    summary = "Delete with messages, calls and files (admins)",
    params(TicketPath),
    responses(
        (status = 204, description = "Deleted"),
        GuardedItem
    ),
)]
#[delete("/donor-queries/{id}")]
async fn delete_query(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    remove(state, caller, path.id).await
}

/// Registers the donor-query routes; fixed paths before `{id}` ones.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_query)
        .service(list_queries)
        .service(list_donor_queries)
        .service(list_general)
        .service(
            Aliases::get(__path_list_by_status, list_by_status)
                .alias(
                    "/donor-queries/resolved",
                    "list_resolved",
                    "Donor queries that are resolved (admins)",
                )
                .alias(
                    "/donor-queries/transferred",
                    "list_transferred",
                    "Donor queries that are transferred (admins)",
                ),
        )
        .service(admin_detail)
        .service(get_query)
        .service(donor_close)
        .service(patch_query)
        .service(accept)
        .service(transfer)
        .service(resolve)
        .service(send_reminder)
        .service(delete_query);
}
