//! One `#[utoipa::path]` per route handler under `routes/` (and the two of the document
//! itself). They live here, not on the handlers, so the route modules stay about HTTP and the
//! domain; the route-coverage test in `openapi.rs` keeps the two in step.

#![allow(dead_code)]

use super::schemas as S;
use super::{
    BadRequest, Conflict, Forbidden, Invalid, NotFound, TooLarge, Unauthorized, Unavailable,
    WrongType,
};
use utoipa::OpenApi;

#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "health",
    operation_id = "health",
    summary = "Liveness with the database",
    responses(
        (status = 200, body = S::Object, description = "Up: status, version, uptimeSeconds, database"),
        (status = 503, description = "The database does not answer", body = S::Problem, content_type = "application/problem+json")
    ),
    security(()),
)]
fn health() {}

#[utoipa::path(
    get,
    path = "/api/v1/health/ping",
    tag = "health",
    operation_id = "ping",
    summary = "Touches nothing",
    responses(
        (status = 200, body = String, content_type = "text/plain", description = "pong")
    ),
    security(()),
)]
fn ping() {}

#[utoipa::path(
    get,
    path = "/api/v1/health/advanced",
    tag = "health",
    operation_id = "health_advanced",
    summary = "Details for admins",
    responses(
        (status = 200, body = S::Object, description = "Database, event log, adapters, push, memory"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden)
    ),
    security(("bearer" = [])),
)]
fn health_advanced() {}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    operation_id = "login",
    summary = "Log in (username or email)",
    request_body(content = S::LoginBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::LoginReply, description = "A staff token"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(()),
)]
fn login() {}

#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    operation_id = "register",
    summary = "Register an AGENT (when ALLOW_SIGNUP=true)",
    request_body(content = S::RegisterBody, content_type = "application/json"),
    responses(
        (status = 201, body = S::User, description = "The new account"),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(()),
)]
fn register() {}

#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    operation_id = "me",
    summary = "The current user",
    responses(
        (status = 200, body = S::User, description = "The caller"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn me() {}

#[utoipa::path(
    put,
    path = "/api/v1/users/me/fcm-token",
    tag = "users",
    operation_id = "set_push_token",
    summary = "Set or clear the caller's push token",
    request_body(content = S::PushTokenBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::Object, description = "`{fcmToken: bool}`: whether one is set"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn set_push_token() {}

#[utoipa::path(
    put,
    path = "/api/v1/users/me/profile",
    tag = "users",
    operation_id = "update_profile",
    summary = "Change the caller's name or email",
    request_body(content = S::ProfileBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::User, description = "The account"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn update_profile() {}

#[utoipa::path(
    put,
    path = "/api/v1/users/me/password",
    tag = "users",
    operation_id = "change_password",
    summary = "Change the caller's password; older tokens stop working",
    request_body(content = S::PasswordBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::LoginReply, description = "A fresh token"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn change_password() {}

#[utoipa::path(
    post,
    path = "/api/v1/users/me/avatar",
    tag = "users",
    operation_id = "set_avatar",
    summary = "Upload the caller's avatar (multipart image)",
    request_body(content = S::AvatarForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = S::Object, description = "`{avatarUrl, contentType, size}`"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn set_avatar() {}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    operation_id = "list_users",
    summary = "Staff accounts (admins)",
    params(S::Paging),
    responses(
        (status = 200, body = S::Page<S::User>, description = "A page of accounts"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_users() {}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    operation_id = "create_user",
    summary = "Create a staff account (admins)",
    request_body(content = S::CreateUserBody, content_type = "application/json"),
    responses(
        (status = 201, body = S::User, description = "The new account"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn create_user() {}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "get_user",
    summary = "One staff account (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = S::User, description = "The account"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn get_user() {}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "update_user",
    summary = "Change role, activity or name (admins)",
    params(("id" = i64, Path, description = "The id.")),
    request_body(content = S::PatchUserBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::User, description = "The account"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn update_user() {}

#[utoipa::path(
    post,
    path = "/api/v1/donor-queries",
    tag = "donor-queries",
    operation_id = "create_query",
    summary = "Open a donor query (no login)",
    description = "A donor token in Authorization joins the new query to that token's donor session.",
    request_body(content = S::CreateQueryBody, content_type = "application/json"),
    responses(
        (status = 201, body = S::CreatedQuery, description = "The query, its donor token and first message"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security((), ("bearer" = [])),
)]
fn create_query() {}

#[utoipa::path(
    get,
    path = "/api/v1/donor-queries",
    tag = "donor-queries",
    operation_id = "list_queries",
    summary = "All donor queries (admins)",
    params(S::TicketFilters, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Ticket>, description = "A page of tickets"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_queries() {}

#[utoipa::path(
    get,
    path = "/api/v1/donor-queries/user",
    tag = "donor-queries",
    operation_id = "list_donor_queries",
    summary = "A donor's queries",
    description = "Staff list any donorId. A donor token lists the queries of its donor session, or every query of its donorId when the app vouched for it (donorIdHash).",
    params(S::DonorParams, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Ticket>, description = "A page of tickets"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_donor_queries() {}

#[utoipa::path(
    get,
    path = "/api/v1/donor-queries/general",
    tag = "donor-queries",
    operation_id = "list_general",
    summary = "Active queries (a donor sees only its own)",
    params(S::TicketFilters, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Ticket>, description = "A page of tickets"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_general() {}

#[utoipa::path(
    get,
    path = "/api/v1/donor-queries/in-progress",
    tag = "donor-queries",
    operation_id = "list_in_progress",
    summary = "Donor queries that are in progress (admins)",
    params(S::TicketFilters, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Ticket>, description = "A page of tickets"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_in_progress() {}

#[utoipa::path(
    get,
    path = "/api/v1/donor-queries/resolved",
    tag = "donor-queries",
    operation_id = "list_resolved",
    summary = "Donor queries that are resolved (admins)",
    params(S::TicketFilters, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Ticket>, description = "A page of tickets"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_resolved() {}

#[utoipa::path(
    get,
    path = "/api/v1/donor-queries/transferred",
    tag = "donor-queries",
    operation_id = "list_transferred",
    summary = "Donor queries that are transferred (admins)",
    params(S::TicketFilters, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Ticket>, description = "A page of tickets"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_transferred() {}

#[utoipa::path(
    get,
    path = "/api/v1/donor-queries/admin/{id}",
    tag = "donor-queries",
    operation_id = "admin_detail",
    summary = "One query with assignment and transfer detail (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = S::Object, description = "The ticket with assignee, creator and transfer detail"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn admin_detail() {}

#[utoipa::path(
    get,
    path = "/api/v1/donor-queries/{id}",
    tag = "donor-queries",
    operation_id = "get_query",
    summary = "One query (its donor, staff)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = S::Ticket, description = "The ticket"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn get_query() {}

#[utoipa::path(
    post,
    path = "/api/v1/donor-queries/{id}/donor-close",
    tag = "donor-queries",
    operation_id = "donor_close",
    summary = "The donor closes its query",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = S::Ticket, description = "The closed ticket"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    ),
    security(("bearer" = [])),
)]
fn donor_close() {}

#[utoipa::path(
    patch,
    path = "/api/v1/donor-queries/{id}",
    tag = "donor-queries",
    operation_id = "patch_query",
    summary = "Change fields or status (admins; `{fcmToken}` alone also its donor)",
    params(("id" = i64, Path, description = "The id.")),
    request_body(content = S::ChangesBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::Ticket, description = "The ticket"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn patch_query() {}

#[utoipa::path(
    patch,
    path = "/api/v1/donor-queries/{id}/accept",
    tag = "donor-queries",
    operation_id = "accept",
    summary = "Assign to the caller (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = S::Ticket, description = "The ticket"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    ),
    security(("bearer" = [])),
)]
fn accept() {}

#[utoipa::path(
    patch,
    path = "/api/v1/donor-queries/{id}/transfer",
    tag = "donor-queries",
    operation_id = "transfer",
    summary = "Transfer to another staff member (admins)",
    params(("id" = i64, Path, description = "The id.")),
    request_body(content = S::TransferBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::Ticket, description = "The ticket"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn transfer() {}

#[utoipa::path(
    patch,
    path = "/api/v1/donor-queries/{id}/resolve",
    tag = "donor-queries",
    operation_id = "resolve",
    summary = "Resolve (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = S::Ticket, description = "The ticket"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    ),
    security(("bearer" = [])),
)]
fn resolve() {}

#[utoipa::path(
    post,
    path = "/api/v1/donor-queries/{id}/send-reminder",
    tag = "donor-queries",
    operation_id = "send_reminder",
    summary = "Remind the donor: push and a REMINDER message (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 201, body = S::Message, description = "The reminder message"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    ),
    security(("bearer" = [])),
)]
fn send_reminder() {}

#[utoipa::path(
    delete,
    path = "/api/v1/donor-queries/{id}",
    tag = "donor-queries",
    operation_id = "delete_query",
    summary = "Delete with messages, calls and files (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn delete_query() {}

#[utoipa::path(
    post,
    path = "/api/v1/tasks",
    tag = "tasks",
    operation_id = "create_task",
    summary = "Open a task",
    request_body(content = S::CreateTaskBody, content_type = "application/json"),
    responses(
        (status = 201, body = S::Ticket, description = "The task"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn create_task() {}

#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "tasks",
    operation_id = "list_tasks",
    summary = "Tasks",
    params(S::TicketFilters, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Ticket>, description = "A page of tickets"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_tasks() {}

#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    operation_id = "get_task",
    summary = "One task with assignee, creator and summary",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = S::Object, description = "The ticket with assignee, creator and summary"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn get_task() {}

#[utoipa::path(
    put,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    operation_id = "update_task",
    summary = "Change fields or status",
    params(("id" = i64, Path, description = "The id.")),
    request_body(content = S::ChangesBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::Ticket, description = "The ticket"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn update_task() {}

#[utoipa::path(
    delete,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    operation_id = "delete_task",
    summary = "Delete (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn delete_task() {}

#[utoipa::path(
    post,
    path = "/api/v1/messages",
    tag = "messages",
    operation_id = "post_message",
    summary = "Post a message (JSON, or multipart with `files`)",
    request_body(content((S::PostBody = "application/json"), (S::PostForm = "multipart/form-data"))),
    responses(
        (status = 201, body = S::Message, description = "The new message"),
        (status = 200, body = S::Message, description = "A repeated clientMessageId: the first message"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn post_message() {}

#[utoipa::path(
    get,
    path = "/api/v1/messages",
    tag = "messages",
    operation_id = "list_messages",
    summary = "Messages (a donor must name its ticket)",
    params(S::MessageFilters, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Message>, description = "A page of messages, oldest first"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_messages() {}

#[utoipa::path(
    get,
    path = "/api/v1/messages/query/{id}",
    tag = "messages",
    operation_id = "query_conversation",
    summary = "A donor query's conversation",
    params(("id" = i64, Path, description = "The ticket id."), S::Paging),
    responses(
        (status = 200, body = S::Page<S::Message>, description = "A page of messages, oldest first"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn query_conversation() {}

#[utoipa::path(
    get,
    path = "/api/v1/messages/task/{id}",
    tag = "messages",
    operation_id = "task_conversation",
    summary = "A task's conversation",
    params(("id" = i64, Path, description = "The ticket id."), S::Paging),
    responses(
        (status = 200, body = S::Page<S::Message>, description = "A page of messages, oldest first"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn task_conversation() {}

#[utoipa::path(
    get,
    path = "/api/v1/messages/thread/{id}",
    tag = "messages",
    operation_id = "thread",
    summary = "A message and its replies",
    params(("id" = i64, Path, description = "The message id.")),
    responses(
        (status = 200, body = S::Thread, description = "The thread"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn thread() {}

#[utoipa::path(
    get,
    path = "/api/v1/messages/between/{a}/{b}",
    tag = "messages",
    operation_id = "between",
    summary = "Direct messages between two staff members",
    params(("a" = i64, Path, description = "A user id."), ("b" = i64, Path, description = "The other user id."), S::Paging),
    responses(
        (status = 200, body = S::Page<S::Message>, description = "A page of messages, oldest first"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn between() {}

#[utoipa::path(
    post,
    path = "/api/v1/messages/admin/{id}",
    tag = "messages",
    operation_id = "admin_post",
    summary = "Send as staff (admins)",
    params(("id" = i64, Path, description = "The ticket id.")),
    request_body(content = S::PostBody, content_type = "application/json"),
    responses(
        (status = 201, body = S::Message, description = "The new message"),
        (status = 200, body = S::Message, description = "A repeated clientMessageId: the first message"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn admin_post() {}

#[utoipa::path(
    get,
    path = "/api/v1/messages/admin/{id}",
    tag = "messages",
    operation_id = "admin_list",
    summary = "A conversation, staff view (admins)",
    params(("id" = i64, Path, description = "The ticket id."), S::Paging),
    responses(
        (status = 200, body = S::Page<S::Message>, description = "A page of messages, oldest first"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn admin_list() {}

#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    operation_id = "ticket_conversation",
    summary = "A ticket's conversation",
    params(("id" = i64, Path, description = "The ticket id."), S::Paging),
    responses(
        (status = 200, body = S::Page<S::Message>, description = "A page of messages, oldest first"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn ticket_conversation() {}

#[utoipa::path(
    put,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    operation_id = "edit",
    summary = "Edit a message (its sender; multipart adds files)",
    params(("id" = i64, Path, description = "The message id.")),
    request_body(content((S::EditBody = "application/json"), (S::EditForm = "multipart/form-data"))),
    responses(
        (status = 200, body = S::Message, description = "The message"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn edit() {}

#[utoipa::path(
    delete,
    path = "/api/v1/messages/{id}/attachment",
    tag = "messages",
    operation_id = "remove_file",
    summary = "Remove a file from a message",
    params(("id" = i64, Path, description = "The message id.")),
    request_body(content = S::RemoveFileBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::Message, description = "The message"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn remove_file() {}

#[utoipa::path(
    delete,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    operation_id = "remove_message",
    summary = "Delete a message with its files",
    params(("id" = i64, Path, description = "The message id.")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    ),
    security(("bearer" = [])),
)]
fn remove_message() {}

#[utoipa::path(
    get,
    path = "/api/v1/uploads/messages/{filename}",
    tag = "messages",
    operation_id = "message_file",
    summary = "A message's file (readers of the ticket)",
    params(("filename" = String, Path, description = "The stored file name.")),
    responses(
        (status = 200, body = Vec<u8>, content_type = "application/octet-stream", description = "The file, with its stored content type"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn message_file() {}

#[utoipa::path(
    get,
    path = "/api/v1/uploads/avatars/{filename}",
    tag = "users",
    operation_id = "avatar_file",
    summary = "A staff avatar (any signed-in caller)",
    params(("filename" = String, Path, description = "The stored file name.")),
    responses(
        (status = 200, body = Vec<u8>, content_type = "application/octet-stream", description = "The image"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn avatar_file() {}

#[utoipa::path(
    post,
    path = "/api/v1/communication/call/{query_id}",
    tag = "calls",
    operation_id = "start_call",
    summary = "Start a call (admins)",
    params(("query_id" = i64, Path, description = "The ticket (query) id.")),
    request_body(content = Option<S::StartCallBody>, content_type = "application/json"),
    responses(
        (status = 201, body = S::Object, description = "The session with the caller's join token"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn start_call() {}

#[utoipa::path(
    post,
    path = "/api/v1/communication/call/{query_id}/request",
    tag = "calls",
    operation_id = "request_call",
    summary = "The donor asks for a call",
    params(("query_id" = i64, Path, description = "The ticket (query) id.")),
    request_body(content = S::CallRequestBody, content_type = "application/json"),
    responses(
        (status = 201, body = S::Object, description = "The request"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn request_call() {}

#[utoipa::path(
    get,
    path = "/api/v1/communication/call/{query_id}/requests",
    tag = "calls",
    operation_id = "list_requests",
    summary = "A ticket's call requests (admins)",
    params(("query_id" = i64, Path, description = "The ticket (query) id."), S::Paging),
    responses(
        (status = 200, body = S::Page<S::Object>, description = "A page of requests, newest first"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_requests() {}

#[utoipa::path(
    post,
    path = "/api/v1/communication/call/{query_id}/accept-request/{request_id}",
    tag = "calls",
    operation_id = "accept_request",
    summary = "Accept one request (admins)",
    params(("query_id" = i64, Path, description = "The ticket (query) id."), ("request_id" = i64, Path, description = "The call request id.")),
    responses(
        (status = 201, body = S::Object, description = "The session with the caller's join token"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn accept_request() {}

#[utoipa::path(
    post,
    path = "/api/v1/communication/call/{query_id}/accept-request",
    tag = "calls",
    operation_id = "accept_newest",
    summary = "Accept the newest pending request (admins)",
    params(("query_id" = i64, Path, description = "The ticket (query) id.")),
    responses(
        (status = 201, body = S::Object, description = "The session with the caller's join token"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn accept_newest() {}

#[utoipa::path(
    post,
    path = "/api/v1/communication/call/{query_id}/reject-request/{request_id}",
    tag = "calls",
    operation_id = "reject_request",
    summary = "Reject a request (admins)",
    params(("query_id" = i64, Path, description = "The ticket (query) id."), ("request_id" = i64, Path, description = "The call request id.")),
    request_body(content = Option<S::RejectBody>, content_type = "application/json"),
    responses(
        (status = 200, body = S::Object, description = "The request"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn reject_request() {}

#[utoipa::path(
    post,
    path = "/api/v1/communication/call/{query_id}/cancel-request/{request_id}",
    tag = "calls",
    operation_id = "cancel_request",
    summary = "The donor withdraws its pending request",
    params(("query_id" = i64, Path, description = "The ticket (query) id."), ("request_id" = i64, Path, description = "The call request id.")),
    responses(
        (status = 200, body = S::Object, description = "The request"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    ),
    security(("bearer" = [])),
)]
fn cancel_request() {}

#[utoipa::path(
    get,
    path = "/api/v1/communication/calls/{query_id}",
    tag = "calls",
    operation_id = "list_sessions",
    summary = "A ticket's sessions (participants; open ones carry the caller's join token)",
    params(("query_id" = i64, Path, description = "The ticket (query) id."), S::Paging),
    responses(
        (status = 200, body = S::Page<S::Object>, description = "A page of sessions, newest first"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn list_sessions() {}

#[utoipa::path(
    put,
    path = "/api/v1/communication/call/{room_name}/status",
    tag = "calls",
    operation_id = "set_call_status",
    summary = "Set a session's status (participants)",
    params(("room_name" = String, Path, description = "The call room's name.")),
    request_body(content = S::CallStatusBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::Object, description = "The session"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn set_call_status() {}

#[utoipa::path(
    post,
    path = "/api/v1/communication/call/{room_name}/end",
    tag = "calls",
    operation_id = "end_call",
    summary = "End a call (participants)",
    params(("room_name" = String, Path, description = "The call room's name.")),
    responses(
        (status = 200, body = S::Object, description = "The session"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn end_call() {}

#[utoipa::path(
    delete,
    path = "/api/v1/communication/call/{room_name}",
    tag = "calls",
    operation_id = "delete_call",
    summary = "Delete a room (admins)",
    params(("room_name" = String, Path, description = "The call room's name.")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn delete_call() {}

#[utoipa::path(
    post,
    path = "/api/v1/summaries",
    tag = "insights",
    operation_id = "write_summary",
    summary = "Write a ticket's summary by hand",
    request_body(content = S::WriteSummaryBody, content_type = "application/json"),
    responses(
        (status = 201, body = S::Object, description = "The summary"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn write_summary() {}

#[utoipa::path(
    get,
    path = "/api/v1/summaries/task/{id}",
    tag = "insights",
    operation_id = "get_summary",
    summary = "A ticket's current summary",
    params(("id" = i64, Path, description = "The ticket id.")),
    responses(
        (status = 200, body = S::Object, description = "The summary"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn get_summary() {}

#[utoipa::path(
    post,
    path = "/api/v1/summaries/generate/{id}",
    tag = "insights",
    operation_id = "generate_summary",
    summary = "Generate a summary (`?wait=true` waits)",
    params(("id" = i64, Path, description = "The ticket id."), S::WaitParam),
    responses(
        (status = 202, body = S::Object, description = "`{status: PENDING, taskId}`; a summary_ready event follows"),
        (status = 200, body = S::Object, description = "With wait=true: the summary"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn generate_summary() {}

#[utoipa::path(
    post,
    path = "/api/v1/qa",
    tag = "insights",
    operation_id = "request_review",
    summary = "Review a message",
    request_body(content = S::ReviewBody, content_type = "application/json"),
    responses(
        (status = 201, body = S::Object, description = "The new review"),
        (status = 200, body = S::Object, description = "The message's existing review"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    ),
    security(("bearer" = [])),
)]
fn request_review() {}

#[utoipa::path(
    get,
    path = "/api/v1/qa",
    tag = "insights",
    operation_id = "list_reviews",
    summary = "QA reviews, newest first",
    params(S::ReviewFilters, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Object>, description = "A page of reviews"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_reviews() {}

#[utoipa::path(
    get,
    path = "/api/v1/qa/task/{id}",
    tag = "insights",
    operation_id = "list_ticket_reviews",
    summary = "One ticket's reviews",
    params(("id" = i64, Path, description = "The ticket id."), S::ReviewStatusParam, S::Paging),
    responses(
        (status = 200, body = S::Page<S::Object>, description = "A page of reviews"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn list_ticket_reviews() {}

#[utoipa::path(
    get,
    path = "/api/v1/qa/{id}",
    tag = "insights",
    operation_id = "get_review",
    summary = "One review",
    params(("id" = i64, Path, description = "The review id.")),
    responses(
        (status = 200, body = S::Object, description = "The review"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = [])),
)]
fn get_review() {}

#[utoipa::path(
    put,
    path = "/api/v1/qa/{id}",
    tag = "insights",
    operation_id = "decide_review",
    summary = "Approve or reject a pending review (admins)",
    params(("id" = i64, Path, description = "The review id.")),
    request_body(content = S::DecisionBody, content_type = "application/json"),
    responses(
        (status = 200, body = S::Object, description = "The review"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongType),
        (status = 422, response = Invalid)
    ),
    security(("bearer" = [])),
)]
fn decide_review() {}

#[utoipa::path(
    get,
    path = "/api/v1/ws",
    tag = "meta",
    operation_id = "websocket",
    summary = "The WebSocket upgrade (protocol in API.md)",
    responses(
        (status = 101, description = "Switching protocols"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized)
    ),
    security((), ("bearer" = [])),
)]
fn websocket() {}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    operation_id = "openapi_document",
    summary = "This document",
    responses(
        (status = 200, body = S::Object, description = "The OpenAPI 3.1 document")
    ),
    security(()),
)]
fn openapi_document() {}

#[utoipa::path(
    get,
    path = "/api/v1/docs",
    tag = "meta",
    operation_id = "docs_page",
    summary = "The interactive documentation page",
    responses(
        (status = 200, body = String, content_type = "text/html", description = "An HTML page")
    ),
    security(()),
)]
fn docs_page() {}

/// Every operation of `/api/v1`.
#[derive(OpenApi)]
#[openapi(paths(
    health,
    ping,
    health_advanced,
    login,
    register,
    me,
    set_push_token,
    update_profile,
    change_password,
    set_avatar,
    list_users,
    create_user,
    get_user,
    update_user,
    create_query,
    list_queries,
    list_donor_queries,
    list_general,
    list_in_progress,
    list_resolved,
    list_transferred,
    admin_detail,
    get_query,
    donor_close,
    patch_query,
    accept,
    transfer,
    resolve,
    send_reminder,
    delete_query,
    create_task,
    list_tasks,
    get_task,
    update_task,
    delete_task,
    post_message,
    list_messages,
    query_conversation,
    task_conversation,
    thread,
    between,
    admin_post,
    admin_list,
    ticket_conversation,
    edit,
    remove_file,
    remove_message,
    message_file,
    avatar_file,
    start_call,
    request_call,
    list_requests,
    accept_request,
    accept_newest,
    reject_request,
    cancel_request,
    list_sessions,
    set_call_status,
    end_call,
    delete_call,
    write_summary,
    get_summary,
    generate_summary,
    request_review,
    list_reviews,
    list_ticket_reviews,
    get_review,
    decide_review,
    websocket,
    openapi_document,
    docs_page
))]
pub(super) struct Paths;
