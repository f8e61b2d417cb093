//! /communication: call requests and call sessions (see docs/calls.md). Permissions live in
//! [`CallService`](concierge_domain::services::CallService); a route that needs the video
//! provider answers 503 when it is not configured, after the permission checks (403 first).

use crate::auth::Caller;
use crate::openapi::{Conflict, GuardedItem, Invalid, Unavailable, WithBody};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use crate::wire::names::{CallModeName, CallSessionStatusName};
use crate::wire::{parse_enum, required, List, Paging};
use actix_web::{delete, get, post, put, web, HttpResponse};
use concierge_domain::call::{CallMode, CallRequestId, CallSession, CallSessionStatus};
use concierge_domain::services::{JoinGrant, SessionView};
use concierge_domain::TicketId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// A ticket, named by the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct QueryPath {
    /// The ticket (query) id.
    query_id: i64,
}

/// A call request of a ticket, named by the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct RequestPath {
    /// The ticket (query) id.
    query_id: i64,
    /// The call request id.
    request_id: i64,
}

/// A call room, named by the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct RoomPath {
    /// The call room's name.
    room_name: String,
}

/// Reads an optional JSON body: empty is the default value, anything else must parse (400).
fn optional_body<T: DeserializeOwned + Default>(body: &web::Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the JSON body does not fit: {e}")))
}

/// A call session with the caller's join token, where the caller may join (minted for this
/// answer, never stored).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionOut<'a> {
    #[serde(flatten)]
    session: wire::CallSession,
    /// The caller's join token (minted now, never stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    /// Its lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    /// The participant id the token was minted for.
    #[serde(skip_serializing_if = "Option::is_none")]
    participant_id: Option<&'a str>,
}

fn session_out<'a>(session: &'a CallSession, join: Option<&'a JoinGrant>) -> SessionOut<'a> {
    SessionOut {
        session: wire::CallSession::from(session),
        token: join.map(|j| j.token.token.as_str()),
        expires_in: join.map(|j| j.token.expires_in.as_secs()),
        participant_id: join.map(|j| j.participant_id.as_str()),
    }
}

fn started(session: &CallSession, join: &JoinGrant) -> HttpResponse {
    HttpResponse::Created().json(session_out(session, Some(join)))
}

/// `{mode?}` for starting a call.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = StartCallBody)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    #[schema(value_type = Option<CallModeName>)]
    mode: Option<String>,
}

/// An admin starts a call on a ticket: `{mode?}` -> 201 the session with the admin's token.
#[utoipa::path(
    tag = "calls",
    operation_id = "start_call",
    summary = "Start a call (admins)",
    params(QueryPath),
    request_body(content = Option<StartBody>, content_type = "application/json"),
    responses(
        (status = 201, body = SessionOut, description = "The session with the caller's join token"),
        GuardedItem, Conflict, WithBody, Unavailable
    ),
)]
#[post("/communication/call/{query_id}")]
async fn start_call(
    state: State,
    caller: Caller,
    path: web::Path<QueryPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: StartBody = optional_body(&body)?;
    let mode = parse_enum::<CallMode>(body.mode.as_deref())?;
    let (session, join) = state
        .calls
        .start(&caller.0, TicketId(path.query_id), mode)
        .await?;
    Ok(started(&session, &join))
}

/// A donor's call request.
#[derive(Deserialize, ToSchema)]
#[schema(as = CallRequestBody)]
#[serde(rename_all = "camelCase")]
struct RequestBody {
    #[schema(value_type = Option<CallModeName>)]
    mode: Option<String>,
    #[serde(alias = "note")]
    message: Option<String>,
}

/// The ticket's donor asks for a call: `{mode, message?}` -> 201 the request.
#[utoipa::path(
    tag = "calls",
    operation_id = "request_call",
    summary = "The donor asks for a call",
    params(QueryPath),
    request_body(content = RequestBody, content_type = "application/json"),
    responses(
        (status = 201, body = wire::CallRequest, description = "The request"),
        GuardedItem, Conflict, WithBody, Unavailable
    ),
)]
#[post("/communication/call/{query_id}/request")]
async fn request_call(
    state: State,
    caller: Caller,
    path: web::Path<QueryPath>,
    body: web::Json<RequestBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mode = required(parse_enum::<CallMode>(body.mode.as_deref())?, "mode")?;
    let request = state
        .calls
        .request(
            &caller.0,
            TicketId(path.query_id),
            mode,
            body.message.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Created().json(wire::CallRequest::from(request)))
}

/// A ticket's requests, newest first (admins).
#[utoipa::path(
    tag = "calls",
    operation_id = "list_requests",
    summary = "A ticket's call requests (admins)",
    params(QueryPath, Paging),
    responses(
        (status = 200, body = List<wire::CallRequest>, description = "A page of requests, newest first"),
        GuardedItem, Invalid
    ),
)]
#[get("/communication/call/{query_id}/requests")]
async fn list_requests(
    state: State,
    caller: Caller,
    path: web::Path<QueryPath>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .calls
        .requests(&caller.0, TicketId(path.query_id), paging.request()?)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::CallRequest>::of(page)))
}

/// An admin accepts one request: 201 the session with the admin's token.
#[utoipa::path(
    tag = "calls",
    operation_id = "accept_request",
    summary = "Accept one request (admins)",
    params(RequestPath),
    responses(
        (status = 201, body = SessionOut, description = "The session with the caller's join token"),
        GuardedItem, Conflict, Unavailable
    ),
)]
#[post("/communication/call/{query_id}/accept-request/{request_id}")]
async fn accept_request(
    state: State,
    caller: Caller,
    path: web::Path<RequestPath>,
) -> Result<HttpResponse, ApiError> {
    let RequestPath {
        query_id,
        request_id,
    } = path.into_inner();
    let (session, join) = state
        .calls
        .accept_request(
            &caller.0,
            TicketId(query_id),
            Some(CallRequestId(request_id)),
        )
        .await?;
    Ok(started(&session, &join))
}

/// An admin accepts the newest pending request.
#[utoipa::path(
    tag = "calls",
    operation_id = "accept_newest",
    summary = "Accept the newest pending request (admins)",
    params(QueryPath),
    responses(
        (status = 201, body = SessionOut, description = "The session with the caller's join token"),
        GuardedItem, Conflict, Unavailable
    ),
)]
#[post("/communication/call/{query_id}/accept-request")]
async fn accept_newest(
    state: State,
    caller: Caller,
    path: web::Path<QueryPath>,
) -> Result<HttpResponse, ApiError> {
    let (session, join) = state
        .calls
        .accept_request(&caller.0, TicketId(path.query_id), None)
        .await?;
    Ok(started(&session, &join))
}

/// `{reason?}` for rejecting a request.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RejectBody {
    reason: Option<String>,
}

/// An admin rejects a request: `{reason?}` -> the request.
#[utoipa::path(
    tag = "calls",
    operation_id = "reject_request",
    summary = "Reject a request (admins)",
    params(RequestPath),
    request_body(content = Option<RejectBody>, content_type = "application/json"),
    responses(
        (status = 200, body = wire::CallRequest, description = "The request"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[post("/communication/call/{query_id}/reject-request/{request_id}")]
async fn reject_request(
    state: State,
    caller: Caller,
    path: web::Path<RequestPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let RequestPath {
        query_id,
        request_id,
    } = path.into_inner();
    let body: RejectBody = optional_body(&body)?;
    let request = state
        .calls
        .reject_request(
            &caller.0,
            TicketId(query_id),
            CallRequestId(request_id),
            body.reason.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(wire::CallRequest::from(request)))
}

/// The donor withdraws its pending request (an addition to the source API).
#[utoipa::path(
    tag = "calls",
    operation_id = "cancel_request",
    summary = "The donor withdraws its pending request",
    params(RequestPath),
    responses(
        (status = 200, body = wire::CallRequest, description = "The request"),
        GuardedItem, Conflict
    ),
)]
#[post("/communication/call/{query_id}/cancel-request/{request_id}")]
async fn cancel_request(
    state: State,
    caller: Caller,
    path: web::Path<RequestPath>,
) -> Result<HttpResponse, ApiError> {
    let RequestPath {
        query_id,
        request_id,
    } = path.into_inner();
    let request = state
        .calls
        .cancel_request(&caller.0, TicketId(query_id), CallRequestId(request_id))
        .await?;
    Ok(HttpResponse::Ok().json(wire::CallRequest::from(request)))
}

/// A ticket's sessions, newest first; each open one carries the caller's join token.
#[utoipa::path(
    tag = "calls",
    operation_id = "list_sessions",
    summary = "A ticket's sessions (participants; open ones carry the caller's join token)",
    params(QueryPath, Paging),
    responses(
        (status = 200, body = List<SessionOut>, description = "A page of sessions, newest first"),
        GuardedItem, Invalid, Unavailable
    ),
)]
#[get("/communication/calls/{query_id}")]
async fn list_sessions(
    state: State,
    caller: Caller,
    path: web::Path<QueryPath>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .calls
        .sessions(&caller.0, TicketId(path.query_id), paging.request()?)
        .await?;
    let views: &[SessionView] = &page.items;
    let out: Vec<SessionOut<'_>> = views
        .iter()
        .map(|v| session_out(&v.session, v.join.as_ref()))
        .collect();
    Ok(
        HttpResponse::Ok().json(List::<SessionOut<'_>>::of(concierge_domain::page::Page {
            items: out,
            next_cursor: page.next_cursor.clone(),
        })),
    )
}

/// `{status}` for a call session.
#[derive(Deserialize, ToSchema)]
#[schema(as = CallStatusBody)]
#[serde(rename_all = "camelCase")]
struct StatusBody {
    /// `ACTIVE` or `ENDED` (`CREATED` is refused: 422).
    #[schema(value_type = Option<CallSessionStatusName>)]
    status: Option<String>,
}

/// A participant sets the status: `{status: ACTIVE | ENDED}` -> the session.
#[utoipa::path(
    tag = "calls",
    operation_id = "set_call_status",
    summary = "Set a session's status (participants)",
    params(RoomPath),
    request_body(content = StatusBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::CallSession, description = "The session"),
        GuardedItem, Conflict, WithBody, Unavailable
    ),
)]
#[put("/communication/call/{room_name}/status")]
async fn set_status(
    state: State,
    caller: Caller,
    path: web::Path<RoomPath>,
    body: web::Json<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    let status = required(
        parse_enum::<CallSessionStatus>(body.status.as_deref())?,
        "status",
    )?;
    let session = state
        .calls
        .set_status(&caller.0, &path.room_name, status)
        .await?;
    Ok(HttpResponse::Ok().json(wire::CallSession::from(session)))
}

/// A participant ends the call (and the provider's room) -> the session.
#[utoipa::path(
    tag = "calls",
    operation_id = "end_call",
    summary = "End a call (participants)",
    params(RoomPath),
    responses(
        (status = 200, body = wire::CallSession, description = "The session"),
        GuardedItem, Conflict, Invalid, Unavailable
    ),
)]
#[post("/communication/call/{room_name}/end")]
async fn end_call(
    state: State,
    caller: Caller,
    path: web::Path<RoomPath>,
) -> Result<HttpResponse, ApiError> {
    let session = state.calls.end(&caller.0, &path.room_name).await?;
    Ok(HttpResponse::Ok().json(wire::CallSession::from(session)))
}

/// An admin deletes a room (ending it first when open): 204.
#[utoipa::path(
    tag = "calls",
    operation_id = "delete_call",
    summary = "Delete a room (admins)",
    params(RoomPath),
    responses(
        (status = 204, description = "Deleted"),
        GuardedItem, Invalid, Unavailable
    ),
)]
#[delete("/communication/call/{room_name}")]
async fn delete_call(
    state: State,
    caller: Caller,
    path: web::Path<RoomPath>,
) -> Result<HttpResponse, ApiError> {
    state.calls.delete(&caller.0, &path.room_name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(request_call)
        .service(list_requests)
        .service(accept_request)
        .service(accept_newest)
        .service(reject_request)
        .service(cancel_request)
        .service(list_sessions)
        .service(set_status)
        .service(end_call)
        .service(start_call)
        .service(delete_call);
}
