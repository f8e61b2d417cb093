//! Donor queries (the donor-support face) and tasks (the team-desk face): both are tickets.

use crate::auth::{Caller, DonorIdentity};
use crate::openapi::{Aliases, Conflict, Guarded, GuardedItem, Invalid, Unauthorized, WithBody};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use crate::wire::names::{PriorityName, QueryModeName, TicketStatusName};
use crate::wire::{nullable, parse_enum, required, List, Paging};
use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use concierge_domain::services::TicketList;
use concierge_domain::ticket::{
    DonorQueryInput, Priority, QueryMode, TaskInput, TicketChanges, TicketFilter, TicketStatus,
};
use concierge_domain::{Actor, DomainError, FieldError, TicketId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// List filters as query parameters; the domain checks their values
/// ([`TicketFilter::validated`]).
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct Filters {
    /// One status or several, comma-separated.
    status: Option<String>,
    #[param(value_type = Option<PriorityName>)]
    priority: Option<String>,
    assignee_id: Option<i64>,
    donor_id: Option<String>,
    /// Text in the title or description (`q`, `search` or `text`; at most 200 characters).
    #[serde(alias = "search", alias = "text")]
    q: Option<String>,
    /// Created at or after (RFC 3339 or YYYY-MM-DD).
    #[serde(alias = "startDate")]
    from: Option<String>,
    /// Created before (RFC 3339 or YYYY-MM-DD).
    #[serde(alias = "endDate")]
    to: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

fn parse_time(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, DomainError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| DomainError::invalid(field, "must be an RFC 3339 time or YYYY-MM-DD"))
}

/// Keeps a parsed value, or collects its field errors.
fn collect<T>(errors: &mut Vec<FieldError>, result: Result<T, DomainError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(DomainError::Invalid(e)) => {
            errors.extend(e);
            None
        }
        Err(other) => {
            errors.push(FieldError::new("query", other.to_string()));
            None
        }
    }
}

impl Filters {
    fn filter(&self) -> Result<TicketFilter, ApiError> {
        let mut errors: Vec<FieldError> = vec![];
        let statuses = self
            .status
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .filter_map(|p| collect(&mut errors, p.parse::<TicketStatus>()))
            .collect();
        let priority = self
            .priority
            .as_deref()
            .and_then(|p| collect(&mut errors, p.parse::<Priority>()));
        let created_from = collect(&mut errors, parse_time("from", self.from.as_deref())).flatten();
        let created_to = collect(&mut errors, parse_time("to", self.to.as_deref())).flatten();
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors).into());
        }
        Ok(TicketFilter {
            channel: None,
            statuses,
            priority,
            assignee_id: self.assignee_id.map(UserId),
            donor_id: self.donor_id.clone().filter(|d| !d.is_empty()),
            donor_session: None,
            text: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_string),
            created_from,
            created_to,
        })
    }
}

async fn list(
    state: &AppState,
    caller: &Caller,
    list: TicketList,
    paging: &Paging,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .tickets
        .list(&caller.0, list, paging.request()?)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::Ticket>::of(page)))
}

// ---- donor queries ----

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
    security(("bearer" = [])),
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
    security(("bearer" = [])),
)]
#[get("/donor-queries/user")]
async fn list_donor_queries(
    state: State,
    caller: Caller,
    query: web::Query<DonorParam>,
) -> Result<HttpResponse, ApiError> {
    let donor_id = match (&caller.0, query.donor_id.clone()) {
        (_, Some(id)) if !id.is_empty() => id,
        (Actor::Donor { donor_id, .. }, _) => donor_id.clone(),
        _ => return Err(DomainError::invalid("donorId", "is required").into()),
    };
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
    security(("bearer" = [])),
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
    security(("bearer" = [])),
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
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = wire::TicketDetail, description = "The ticket with assignee, creator and transfer detail"),
        GuardedItem
    ),
    security(("bearer" = [])),
)]
#[get("/donor-queries/admin/{id}")]
async fn admin_detail(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let detail = state
        .services
        .tickets
        .detail_for_admin(&caller.0, TicketId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(wire::TicketDetail::from(detail)))
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "get_query",
    summary = "One query (its donor, staff)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem
    ),
    security(("bearer" = [])),
)]
#[get("/donor-queries/{id}")]
async fn get_query(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let ticket = state
        .services
        .tickets
        .get(&caller.0, TicketId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(wire::Ticket::from(ticket)))
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "donor_close",
    summary = "The donor closes its query",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = wire::Ticket, description = "The closed ticket"),
        GuardedItem, Conflict
    ),
    security(("bearer" = [])),
)]
#[post("/donor-queries/{id}/donor-close")]
async fn donor_close(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let ticket = state
        .services
        .tickets
        .close(&caller.0, TicketId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(wire::Ticket::from(ticket)))
}

/// Field and status changes of a ticket (PATCH /donor-queries/:id and PUT /tasks/:id).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChangesBody {
    title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    #[schema(value_type = Option<PriorityName>)]
    priority: Option<String>,
    #[schema(value_type = Option<TicketStatusName>)]
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable", alias = "assigneeId")]
    #[schema(value_type = Option<i64>)]
    assigned_to_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    stage: Option<Option<String>>,
    /// The donor's push token (donor queries; its donor may set it too).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    fcm_token: Option<Option<String>>,
}

impl ChangesBody {
    /// The field and status changes named (a push token is not one of them).
    fn parse(self) -> Result<TicketChanges, ApiError> {
        Ok(TicketChanges {
            title: self.title,
            description: self.description,
            priority: parse_enum(self.priority.as_deref())?,
            status: parse_enum(self.status.as_deref())?,
            assignee_id: self.assigned_to_id.map(|a| a.map(UserId)),
            stage: self.stage,
        })
    }

    /// Like [`parse`](Self::parse), refusing a body that changes nothing.
    fn changes(self) -> Result<TicketChanges, ApiError> {
        let changes = self.parse()?;
        if changes.is_empty() {
            return Err(DomainError::invalid("body", "names no field to change").into());
        }
        Ok(changes)
    }
}

async fn update(
    state: State,
    caller: Caller,
    id: i64,
    body: ChangesBody,
) -> Result<HttpResponse, ApiError> {
    let ticket = state
        .services
        .tickets
        .update(&caller.0, TicketId(id), body.changes()?)
        .await?;
    Ok(HttpResponse::Ok().json(wire::Ticket::from(ticket)))
}

/// Field and status changes (admins), or `{fcmToken}` alone (the query's donor too). The two
/// are separate requests, so a refused change never leaves half of a request written.
#[utoipa::path(
    tag = "donor-queries",
    operation_id = "patch_query",
    summary = "Change fields or status (admins; `{fcmToken}` alone also its donor)",
    params(("id" = i64, Path, description = "The id.")),
    request_body(content = ChangesBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict, WithBody
    ),
    security(("bearer" = [])),
)]
#[patch("/donor-queries/{id}")]
async fn patch_query(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<ChangesBody>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let id = id.into_inner();
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
    let ticket = state
        .services
        .tickets
        .set_donor_push_token(&caller.0, TicketId(id), token.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(wire::Ticket::from(ticket)))
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "accept",
    summary = "Assign to the caller (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict
    ),
    security(("bearer" = [])),
)]
#[patch("/donor-queries/{id}/accept")]
async fn accept(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let ticket = state
        .services
        .tickets
        .accept(&caller.0, TicketId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(wire::Ticket::from(ticket)))
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
    params(("id" = i64, Path, description = "The id.")),
    request_body(content = TransferBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict, WithBody
    ),
    security(("bearer" = [])),
)]
#[patch("/donor-queries/{id}/transfer")]
async fn transfer(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<TransferBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let to = required(body.to_user_id, "toUserId")?;
    let ticket = state
        .services
        .tickets
        .transfer(
            &caller.0,
            TicketId(id.into_inner()),
            UserId(to),
            body.note.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(wire::Ticket::from(ticket)))
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "resolve",
    summary = "Resolve (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict
    ),
    security(("bearer" = [])),
)]
#[patch("/donor-queries/{id}/resolve")]
async fn resolve(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let ticket = state
        .services
        .tickets
        .resolve(&caller.0, TicketId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(wire::Ticket::from(ticket)))
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "send_reminder",
    summary = "Remind the donor: push and a REMINDER message (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 201, body = wire::Message, description = "The reminder message"),
        GuardedItem, Conflict
    ),
    security(("bearer" = [])),
)]
#[post("/donor-queries/{id}/send-reminder")]
async fn send_reminder(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let message = state
        .services
        .tickets
        .remind(&caller.0, TicketId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Created().json(wire::Message::from(message)))
}

async fn remove(state: State, caller: Caller, id: i64) -> Result<HttpResponse, ApiError> {
    state
        .services
        .tickets
        .delete(&caller.0, TicketId(id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "donor-queries",
    operation_id = "delete_query",
    summary = "Delete with messages, calls and files (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 204, description = "Deleted"),
        GuardedItem
    ),
    security(("bearer" = [])),
)]
#[delete("/donor-queries/{id}")]
async fn delete_query(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    remove(state, caller, id.into_inner()).await
}

// ---- tasks ----

/// A new task.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateTaskBody {
    title: Option<String>,
    description: Option<String>,
    #[schema(value_type = Option<PriorityName>)]
    priority: Option<String>,
    #[serde(alias = "assigneeId")]
    assigned_to_id: Option<i64>,
}

#[utoipa::path(
    tag = "tasks",
    operation_id = "create_task",
    summary = "Open a task",
    request_body(content = CreateTaskBody, content_type = "application/json"),
    responses(
        (status = 201, body = wire::Ticket, description = "The task"),
        GuardedItem, WithBody
    ),
    security(("bearer" = [])),
)]
#[post("/tasks")]
async fn create_task(
    state: State,
    caller: Caller,
    body: web::Json<CreateTaskBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = TaskInput {
        title: required(body.title, "title")?,
        description: body.description,
        priority: parse_enum(body.priority.as_deref())?,
        assigned_to_id: body.assigned_to_id.map(UserId),
    };
    let ticket = state.services.tickets.open_task(&caller.0, input).await?;
    Ok(HttpResponse::Created().json(wire::Ticket::from(ticket)))
}

#[utoipa::path(
    tag = "tasks",
    operation_id = "list_tasks",
    summary = "Tasks",
    params(Filters, Paging),
    responses(
        (status = 200, body = List<wire::Ticket>, description = "A page of tickets"),
        Guarded, Invalid
    ),
    security(("bearer" = [])),
)]
#[get("/tasks")]
async fn list_tasks(
    state: State,
    caller: Caller,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, ApiError> {
    let list_of = TicketList::Tasks(filters.filter()?);
    list(&state, &caller, list_of, &filters.paging).await
}

#[utoipa::path(
    tag = "tasks",
    operation_id = "get_task",
    summary = "One task with assignee, creator and summary",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = wire::TaskDetail, description = "The ticket with assignee, creator and summary"),
        GuardedItem
    ),
    security(("bearer" = [])),
)]
#[get("/tasks/{id}")]
async fn get_task(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let detail = state
        .services
        .tickets
        .detail(&caller.0, TicketId(*id))
        .await?;
    let summary = state
        .insights
        .service
        .current_summary(&caller.0, TicketId(*id))
        .await?;
    Ok(HttpResponse::Ok().json(wire::TaskDetail {
        detail: detail.into(),
        summary: summary.map(wire::Summary::from),
    }))
}

#[utoipa::path(
    tag = "tasks",
    operation_id = "update_task",
    summary = "Change fields or status",
    params(("id" = i64, Path, description = "The id.")),
    request_body(content = ChangesBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict, WithBody
    ),
    security(("bearer" = [])),
)]
#[put("/tasks/{id}")]
async fn update_task(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<ChangesBody>,
) -> Result<HttpResponse, ApiError> {
    update(state, caller, id.into_inner(), body.into_inner()).await
}

#[utoipa::path(
    tag = "tasks",
    operation_id = "delete_task",
    summary = "Delete (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 204, description = "Deleted"),
        GuardedItem
    ),
    security(("bearer" = [])),
)]
#[delete("/tasks/{id}")]
async fn delete_task(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    remove(state, caller, id.into_inner()).await
}

/// Registers the routes; fixed paths before `{id}` ones.
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
        .service(delete_query)
        .service(create_task)
        .service(list_tasks)
        .service(get_task)
        .service(update_task)
        .service(delete_task);
}
