//! Tasks: the team-desk face of tickets.

use super::changes::{remove, update, ChangesBody};
use super::listing::{list, Filters};
use super::{State, TicketPath};
use crate::auth::Caller;
use crate::openapi::{Conflict, Guarded, GuardedItem, Invalid, WithBody};
use crate::problem::ApiError;
use crate::wire;
use crate::wire::names::PriorityName;
use crate::wire::{parse_enum, required, List, Paging};
use actix_web::{delete, get, post, put, web, HttpResponse};
use concierge_domain::services::TicketList;
use concierge_domain::ticket::TaskInput;
use concierge_domain::{TicketId, UserId};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

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
    params(TicketPath),
    responses(
        (status = 200, body = wire::TaskDetail, description = "The ticket with assignee, creator and summary"),
        GuardedItem
    ),
)]
#[get("/tasks/{id}")]
async fn get_task(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    let detail = state
        .services
        .tickets
        .detail(&caller.0, TicketId(path.id))
        .await?;
    let summary = state
        .insights
        .service
        .current_summary(&caller.0, TicketId(path.id))
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
    params(TicketPath),
    request_body(content = ChangesBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::Ticket, description = "The ticket"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[put("/tasks/{id}")]
async fn update_task(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
    body: web::Json<ChangesBody>,
) -> Result<HttpResponse, ApiError> {
    update(state, caller, path.id, body.into_inner()).await
}

#[utoipa::path(
    tag = "tasks",
    operation_id = "delete_task",
    summary = "Delete (admins)",
    params(TicketPath),
    responses(
        (status = 204, description = "Deleted"),
        GuardedItem
    ),
)]
#[delete("/tasks/{id}")]
async fn delete_task(
    state: State,
    caller: Caller,
    path: web::Path<TicketPath>,
) -> Result<HttpResponse, ApiError> {
    remove(state, caller, path.id).await
}

/// Registers the task routes; fixed paths before `{id}` ones.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_task)
        .service(list_tasks)
        .service(get_task)
        .service(update_task)
        .service(delete_task);
}
