//! /messages: a ticket's conversation. POST and PUT take JSON, or a multipart form with the
//! same fields and `files` (see [`super::uploads`]).

use super::uploads;
use crate::auth::Caller;
use crate::openapi::{Aliases, Conflict, GuardedItem, Invalid, WithBody};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use crate::wire::names::MessageTypeName;
use crate::wire::{parse_enum, required, List, Paging};
use actix_web::{delete, get, post, put, web, FromRequest, HttpRequest, HttpResponse};
use concierge_domain::message::{MessageFilter, MessageType, PostMessage, Posted};
use concierge_domain::page::PageRequest;
use concierge_domain::{DomainError, MessageId, TicketId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// A new message (JSON; multipart takes the same fields plus `files`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PostBody {
    query_id: Option<i64>,
    task_id: Option<i64>,
    ticket_id: Option<i64>,
    content: Option<String>,
    reply_to_id: Option<i64>,
    client_message_id: Option<String>,
}

fn one_ticket(ids: [Option<i64>; 3]) -> Result<TicketId, ApiError> {
    let mut given = ids.into_iter().flatten();
    match (given.next(), given.next()) {
        (Some(id), None) => Ok(TicketId(id)),
        (None, _) => {
            Err(DomainError::invalid("queryId", "queryId, taskId or ticketId is required").into())
        }
        (Some(_), Some(_)) => Err(DomainError::invalid("queryId", "name one ticket only").into()),
    }
}

impl PostBody {
    fn into_input(self, ticket: Option<TicketId>) -> Result<PostMessage, ApiError> {
        let ticket_id = match ticket {
            Some(id) => id,
            None => one_ticket([self.query_id, self.task_id, self.ticket_id])?,
        };
        Ok(PostMessage {
            ticket_id,
            content: required(self.content, "content")?,
            reply_to_id: self.reply_to_id.map(MessageId),
            client_message_id: self.client_message_id,
        })
    }
}

fn posted(result: Posted) -> HttpResponse {
    match result {
        Posted::Created(m) => HttpResponse::Created().json(wire::Message::from(m)),
        Posted::Existing(m) => HttpResponse::Ok().json(wire::Message::from(m)),
    }
}

fn int_field(fields: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    match fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{name} must be an integer"))),
    }
}

impl PostBody {
    fn from_fields(fields: &HashMap<String, String>) -> Result<Self, ApiError> {
        Ok(Self {
            query_id: int_field(fields, "queryId")?,
            task_id: int_field(fields, "taskId")?,
            ticket_id: int_field(fields, "ticketId")?,
            content: fields.get("content").cloned(),
            reply_to_id: int_field(fields, "replyToId")?,
            client_message_id: fields.get("clientMessageId").cloned(),
        })
    }
}

/// A message as a multipart form: the JSON body's fields plus `files`. (Only describes the
/// form `post_message` reads.)
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
struct PostForm {
    query_id: Option<i64>,
    task_id: Option<i64>,
    ticket_id: Option<i64>,
    content: Option<String>,
    reply_to_id: Option<i64>,
    client_message_id: Option<String>,
    /// At most 5 files.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    files: Option<Vec<Vec<u8>>>,
}

#[utoipa::path(
    tag = "messages",
    operation_id = "post_message",
    summary = "Post a message (JSON, or multipart with `files`)",
    request_body(content((PostBody = "application/json"), (PostForm = "multipart/form-data"))),
    responses(
        (status = 201, body = wire::Message, description = "The new message"),
        (status = 200, body = wire::Message, description = "A repeated clientMessageId: the first message"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[post("/messages")]
async fn post_message(
    state: State,
    caller: Caller,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let mut payload = payload.into_inner();
    if !uploads::is_multipart(&req) {
        let body = web::Json::<PostBody>::from_request(&req, &mut payload).await?;
        let input = body.into_inner().into_input(None)?;
        return Ok(posted(
            state
                .services
                .conversations
                .post(&caller.0, input)
                .await
                .map_err(ApiError::from)?,
        ));
    }
    // The ticket is named before the files, so the service checks the caller first.
    let form = uploads::read_fields(&req, payload).await?;
    let input = PostBody::from_fields(&form.fields)?.into_input(None)?;
    let result = uploads::with_files(&state, &caller, form, |service, actor, files| async move {
        service.post(&actor, input, files).await
    })
    .await?;
    Ok(posted(result))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    query_id: Option<i64>,
    task_id: Option<i64>,
    ticket_id: Option<i64>,
    #[param(value_type = Option<MessageTypeName>)]
    message_type: Option<String>,
    /// Continue after this message id (when no cursor is given).
    after: Option<i64>,
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

async fn conversation(
    state: &AppState,
    caller: &Caller,
    filter: MessageFilter,
    page: PageRequest,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .conversations
        .list(&caller.0, filter, page)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::Message>::of(page)))
}

#[utoipa::path(
    tag = "messages",
    operation_id = "list_messages",
    summary = "Messages (a donor must name its ticket)",
    params(ListParams, Paging),
    responses(
        (status = 200, body = List<wire::Message>, description = "A page of messages, oldest first"),
        GuardedItem, Invalid
    ),
)]
#[get("/messages")]
async fn list_messages(
    state: State,
    caller: Caller,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let ids = [params.query_id, params.task_id, params.ticket_id];
    let ticket_id = if ids.iter().any(Option::is_some) {
        Some(one_ticket(ids)?)
    } else {
        None
    };
    let filter = MessageFilter {
        ticket_id,
        message_type: parse_enum::<MessageType>(params.message_type.as_deref())?,
        sender_id: None,
    };
    let mut page = params.paging.request()?;
    if page.after.is_none() {
        page.after = params.after.filter(|a| *a > 0);
    }
    conversation(&state, &caller, filter, page).await
}

fn ticket_filter(id: i64) -> MessageFilter {
    MessageFilter {
        ticket_id: Some(TicketId(id)),
        ..Default::default()
    }
}

/// A message and its replies.
#[derive(Serialize, ToSchema)]
struct Thread {
    message: wire::Message,
    replies: Vec<wire::Message>,
}

#[utoipa::path(
    tag = "messages",
    operation_id = "thread",
    summary = "A message and its replies",
    params(("id" = i64, Path, description = "The message id.")),
    responses(
        (status = 200, body = Thread, description = "The thread"),
        GuardedItem
    ),
)]
#[get("/messages/thread/{id}")]
async fn thread(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (message, replies) = state
        .services
        .conversations
        .thread(&caller.0, MessageId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(Thread {
        message: message.into(),
        replies: replies.into_iter().map(wire::Message::from).collect(),
    }))
}

#[utoipa::path(
    tag = "messages",
    operation_id = "between",
    summary = "Direct messages between two staff members",
    params(("a" = i64, Path, description = "A user id."), ("b" = i64, Path, description = "The other user id."), Paging),
    responses(
        (status = 200, body = List<wire::Message>, description = "A page of messages, oldest first"),
        GuardedItem, Invalid
    ),
)]
#[get("/messages/between/{a}/{b}")]
async fn between(
    state: State,
    caller: Caller,
    ids: web::Path<(i64, i64)>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (a, b) = ids.into_inner();
    let page = state
        .services
        .conversations
        .between(&caller.0, UserId(a), UserId(b), paging.request()?)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::Message>::of(page)))
}

#[utoipa::path(
    tag = "messages",
    operation_id = "admin_post",
    summary = "Send as staff (admins)",
    params(("id" = i64, Path, description = "The ticket id.")),
    request_body(content = PostBody, content_type = "application/json"),
    responses(
        (status = 201, body = wire::Message, description = "The new message"),
        (status = 200, body = wire::Message, description = "A repeated clientMessageId: the first message"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[post("/messages/admin/{id}")]
async fn admin_post(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<PostBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body
        .into_inner()
        .into_input(Some(TicketId(id.into_inner())))?;
    Ok(posted(
        state
            .services
            .conversations
            .post_as_admin(&caller.0, input)
            .await?,
    ))
}

#[utoipa::path(
    tag = "messages",
    operation_id = "admin_list",
    summary = "A conversation, staff view (admins)",
    params(("id" = i64, Path, description = "The ticket id."), Paging),
    responses(
        (status = 200, body = List<wire::Message>, description = "A page of messages, oldest first"),
        GuardedItem, Invalid
    ),
)]
#[get("/messages/admin/{id}")]
async fn admin_list(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .conversations
        .list_as_admin(&caller.0, TicketId(id.into_inner()), paging.request()?)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::Message>::of(page)))
}

/// A ticket's conversation, also on `/messages/query/{id}` and `/messages/task/{id}` (see
/// [`routes`]).
#[utoipa::path(
    get,
    path = "/messages/{id}",
    tag = "messages",
    operation_id = "ticket_conversation",
    summary = "A ticket's conversation",
    params(("id" = i64, Path, description = "The ticket id."), Paging),
    responses(
        (status = 200, body = List<wire::Message>, description = "A page of messages, oldest first"),
        GuardedItem, Invalid
    ),
)]
async fn ticket_conversation(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    conversation(
        &state,
        &caller,
        ticket_filter(id.into_inner()),
        paging.request()?,
    )
    .await
}

/// An edit.
#[derive(Deserialize, ToSchema)]
struct EditBody {
    content: Option<String>,
}

/// An edit as a multipart form, with files to add. (Only describes the form `edit` reads.)
#[derive(ToSchema)]
#[allow(dead_code)]
struct EditForm {
    content: Option<String>,
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    files: Option<Vec<Vec<u8>>>,
}

#[utoipa::path(
    tag = "messages",
    operation_id = "edit",
    summary = "Edit a message (its sender; multipart adds files)",
    params(("id" = i64, Path, description = "The message id.")),
    request_body(content((EditBody = "application/json"), (EditForm = "multipart/form-data"))),
    responses(
        (status = 200, body = wire::Message, description = "The message"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[put("/messages/{id}")]
async fn edit(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let mut payload = payload.into_inner();
    let id = MessageId(id.into_inner());
    if uploads::is_multipart(&req) {
        let form = uploads::read_fields(&req, payload).await?;
        let content = form.fields.get("content").cloned();
        let message =
            uploads::with_files(&state, &caller, form, |service, actor, files| async move {
                service.add_files(&actor, id, content, files).await
            })
            .await?;
        return Ok(HttpResponse::Ok().json(wire::Message::from(message)));
    }
    let body = web::Json::<EditBody>::from_request(&req, &mut payload).await?;
    let content = required(body.into_inner().content, "content")?;
    let message = state
        .services
        .conversations
        .edit(&caller.0, id, &content)
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(wire::Message::from(message)))
}

/// Which file to remove.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RemoveFileBody {
    attachment_id: Option<i64>,
}

#[utoipa::path(
    tag = "messages",
    operation_id = "remove_file",
    summary = "Remove a file from a message",
    params(("id" = i64, Path, description = "The message id.")),
    request_body(content = RemoveFileBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::Message, description = "The message"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[delete("/messages/{id}/attachment")]
async fn remove_file(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<RemoveFileBody>,
) -> Result<HttpResponse, ApiError> {
    let attachment_id = required(body.into_inner().attachment_id, "attachmentId")?;
    let message = state
        .services
        .conversations
        .remove_file(&caller.0, MessageId(id.into_inner()), attachment_id)
        .await?;
    Ok(HttpResponse::Ok().json(wire::Message::from(message)))
}

#[utoipa::path(
    tag = "messages",
    operation_id = "remove_message",
    summary = "Delete a message with its files",
    params(("id" = i64, Path, description = "The message id.")),
    responses(
        (status = 204, description = "Deleted"),
        GuardedItem, Conflict
    ),
)]
#[delete("/messages/{id}")]
async fn remove(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .conversations
        .delete(&caller.0, MessageId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes; fixed paths before `{id}` ones.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(post_message)
        .service(list_messages)
        .service(thread)
        .service(between)
        .service(admin_post)
        .service(admin_list)
        .service(
            Aliases::get(__path_ticket_conversation, ticket_conversation)
                .alias(
                    "/messages/query/{id}",
                    "query_conversation",
                    "A donor query's conversation",
                )
                .alias(
                    "/messages/task/{id}",
                    "task_conversation",
                    "A task's conversation",
                ),
        )
        .service(edit)
        .service(remove_file)
        .service(remove);
}
