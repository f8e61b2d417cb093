//! /auth and /users.

use crate::auth::Caller;
use crate::openapi::{
    Conflict, Forbidden, Guarded, GuardedItem, Invalid, NotFound, Unauthorized, WithBody,
};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use crate::wire::names::RoleName;
use crate::wire::{nullable, parse_enum, required, List, Paging};
use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use concierge_domain::audit::Record;
use concierge_domain::services::{NewAccount, Registration};
use concierge_domain::user::{Role, User, UserChanges};
use concierge_domain::DomainError;
use concierge_domain::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// `{username, password}` (or `{email, password}`).
#[derive(Deserialize, ToSchema)]
struct LoginBody {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// A login's answer (also of a password change).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LoginReply {
    /// The staff JWT.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: u64,
    user: wire::User,
}

fn login_reply(state: &AppState, user: User) -> Result<LoginReply, ApiError> {
    let minted = state.tokens.staff(user.id, user.token_version)?;
    Ok(LoginReply {
        access_token: minted.token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        user: wire::User::from(user),
    })
}

#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    summary = "Log in (username or email)",
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, body = LoginReply, description = "A staff token"),
        Unauthorized, WithBody
    ),
    security(()),
)]
#[post("/auth/login")]
async fn login(
    state: State,
    req: HttpRequest,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let login = body.username.or(body.email).unwrap_or_default();
    let password = body.password.unwrap_or_default();
    let ip = state.limits.client_ip(&req);
    let delay = state.limits.before_login(ip, &login).await?;
    if !delay.is_zero() {
        // The account failed often lately: every attempt on it waits, the right one too.
        tokio::time::sleep(delay).await;
    }
    match state.services.accounts.login(&login, &password).await {
        Ok(user) => {
            state.audit.record(Record::login(&user)).await?;
            Ok(HttpResponse::Ok().json(login_reply(&state, user)?))
        }
        Err(err) => {
            if matches!(err, DomainError::Unauthenticated) {
                state.limits.login_failed(ip, &login).await;
                state.audit.record(Record::login_failed(&login)).await?;
            }
            Err(err.into())
        }
    }
}

/// A self-registration.
#[derive(Deserialize, ToSchema)]
struct RegisterBody {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

#[utoipa::path(
    tag = "auth",
    operation_id = "register",
    summary = "Register an AGENT (when ALLOW_SIGNUP=true)",
    request_body(content = RegisterBody, content_type = "application/json"),
    responses(
        (status = 201, body = wire::User, description = "The new account"),
        Forbidden, Conflict, WithBody
    ),
    security(()),
)]
#[post("/auth/register")]
async fn register(
    state: State,
    req: HttpRequest,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    state.limits.register(state.limits.client_ip(&req))?;
    let body = body.into_inner();
    let input = Registration {
        name: body.name.unwrap_or_default(),
        email: body.email.unwrap_or_default(),
        password: body.password.unwrap_or_default(),
    };
    let user = state
        .services
        .accounts
        .register(input, state.config.allow_signup)
        .await?;
    Ok(HttpResponse::Created().json(wire::User::from(user)))
}

#[utoipa::path(
    tag = "auth",
    operation_id = "me",
    summary = "The current user",
    responses(
        (status = 200, body = wire::User, description = "The caller"),
        Unauthorized, Forbidden, NotFound
    ),
)]
#[get("/auth/me")]
async fn me(state: State, caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(wire::User::from(
        state.services.accounts.me(&caller.0).await?,
    )))
}

/// `{fcmToken}` sets, `{fcmToken: null}` clears.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PushTokenBody {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    fcm_token: Option<Option<String>>,
}

/// Whether the caller now has a push token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PushTokenSet {
    fcm_token: bool,
}

#[utoipa::path(
    tag = "users",
    operation_id = "set_push_token",
    summary = "Set or clear the caller's push token",
    request_body(content = PushTokenBody, content_type = "application/json"),
    responses(
        (status = 200, body = PushTokenSet, description = "`{fcmToken: bool}`: whether one is set"),
        Guarded, WithBody
    ),
)]
#[put("/users/me/fcm-token")]
async fn set_push_token(
    state: State,
    caller: Caller,
    body: web::Json<PushTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let token = required(body.into_inner().fcm_token, "fcmToken")?;
    state
        .services
        .accounts
        .set_push_token(&caller.0, token.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(PushTokenSet {
        fcm_token: token.is_some(),
    }))
}

/// Profile changes.
#[derive(Deserialize, ToSchema)]
struct ProfileBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
}

#[utoipa::path(
    tag = "users",
    operation_id = "update_profile",
    summary = "Change the caller's name or email",
    request_body(content = ProfileBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::User, description = "The account"),
        Guarded, Conflict, WithBody
    ),
)]
#[put("/users/me/profile")]
async fn update_profile(
    state: State,
    caller: Caller,
    body: web::Json<ProfileBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = state
        .services
        .accounts
        .update_profile(
            &caller.0,
            body.name.as_deref(),
            body.email.as_ref().map(|e| e.as_deref()),
        )
        .await?;
    Ok(HttpResponse::Ok().json(wire::User::from(user)))
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PasswordBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Changes the password and answers with a fresh token: every older one stops working.
#[utoipa::path(
    tag = "users",
    operation_id = "change_password",
    summary = "Change the caller's password; older tokens stop working",
    request_body(content = PasswordBody, content_type = "application/json"),
    responses(
        (status = 200, body = LoginReply, description = "A fresh token"),
        Guarded, WithBody
    ),
)]
#[put("/users/me/password")]
async fn change_password(
    state: State,
    caller: Caller,
    body: web::Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let current = required(body.current_password, "currentPassword")?;
    let new = required(body.new_password, "newPassword")?;
    let user = state
        .services
        .accounts
        .change_password(&caller.0, &current, &new)
        .await?;
    Ok(HttpResponse::Ok().json(login_reply(&state, user)?))
}

#[utoipa::path(
    tag = "users",
    operation_id = "list_users",
    summary = "Staff accounts (admins)",
    params(Paging),
    responses(
        (status = 200, body = List<wire::User>, description = "A page of accounts"),
        Guarded, Invalid
    ),
)]
#[get("/users")]
async fn list_users(
    state: State,
    caller: Caller,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .accounts
        .list(&caller.0, paging.request()?)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::User>::of(page)))
}

/// A new staff account.
#[derive(Deserialize, ToSchema)]
struct CreateUserBody {
    username: Option<String>,
    email: Option<String>,
    name: Option<String>,
    password: Option<String>,
    #[schema(value_type = Option<RoleName>)]
    role: Option<String>,
}

#[utoipa::path(
    tag = "users",
    operation_id = "create_user",
    summary = "Create a staff account (admins)",
    request_body(content = CreateUserBody, content_type = "application/json"),
    responses(
        (status = 201, body = wire::User, description = "The new account"),
        Guarded, Conflict, WithBody
    ),
)]
#[post("/users")]
async fn create_user(
    state: State,
    caller: Caller,
    body: web::Json<CreateUserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = NewAccount {
        username: required(body.username, "username")?,
        email: body.email,
        name: required(body.name, "name")?,
        password: required(body.password, "password")?,
        role: parse_enum::<Role>(body.role.as_deref())?.unwrap_or(Role::Agent),
    };
    let user = state.services.accounts.create(&caller.0, input).await?;
    Ok(HttpResponse::Created().json(wire::User::from(user)))
}

#[utoipa::path(
    tag = "users",
    operation_id = "get_user",
    summary = "One staff account (admins)",
    params(("id" = i64, Path, description = "The id.")),
    responses(
        (status = 200, body = wire::User, description = "The account"),
        GuardedItem
    ),
)]
#[get("/users/{id}")]
async fn get_user(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .services
        .accounts
        .get(&caller.0, UserId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(wire::User::from(user)))
}

/// Account changes (admins).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PatchUserBody {
    #[schema(value_type = Option<RoleName>)]
    role: Option<String>,
    /// False deactivates: its tokens stop working.
    is_active: Option<bool>,
    name: Option<String>,
}

#[utoipa::path(
    tag = "users",
    operation_id = "update_user",
    summary = "Change role, activity or name (admins)",
    params(("id" = i64, Path, description = "The id.")),
    request_body(content = PatchUserBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::User, description = "The account"),
        GuardedItem, Conflict, WithBody
    ),
)]
#[patch("/users/{id}")]
async fn update_user(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<PatchUserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let changes = UserChanges {
        name: body.name,
        email: None,
        role: parse_enum(body.role.as_deref())?,
        is_active: body.is_active,
    };
    let user = state
        .services
        .accounts
        .update(&caller.0, UserId(id.into_inner()), changes)
        .await?;
    Ok(HttpResponse::Ok().json(wire::User::from(user)))
}

/// An avatar upload. (Only describes the multipart form `uploads::set_avatar` reads.)
#[derive(ToSchema)]
#[allow(dead_code)]
struct AvatarForm {
    /// A raster image.
    #[schema(value_type = String, format = Binary)]
    avatar: Vec<u8>,
}

/// The caller's new avatar.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct AvatarSet {
    /// Where it is served (`/api/v1/uploads/avatars/...`).
    pub avatar_url: String,
    pub content_type: String,
    /// In bytes.
    pub size: i64,
}

#[utoipa::path(
    tag = "users",
    operation_id = "set_avatar",
    summary = "Upload the caller's avatar (multipart image)",
    request_body(content = AvatarForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = AvatarSet, description = "`{avatarUrl, contentType, size}`"),
        Guarded, WithBody
    ),
)]
#[post("/users/me/avatar")]
async fn set_avatar(
    state: State,
    caller: Caller,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, crate::problem::ApiError> {
    super::uploads::set_avatar(&state, &caller, &req, payload.into_inner()).await
}

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(register)
        .service(me)
        .service(set_push_token)
        .service(update_profile)
        .service(change_password)
        .service(set_avatar)
        .service(list_users)
        .service(create_user)
        .service(get_user)
        .service(update_user);
}
