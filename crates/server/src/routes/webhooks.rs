//! /webhooks: webhook endpoints and their delivery logs (admins; see docs/webhooks.md).

use crate::auth::Caller;
use crate::openapi::{Guarded, GuardedItem, WithBody};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::{self, nullable, required, List, Paging};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use concierge_domain::webhook::{WebhookInput, WebhookPatch};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// A new endpoint.
#[derive(Deserialize, ToSchema)]
#[schema(as = WebhookCreateBody)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    /// `https://...` (or `http://` when WEBHOOK_ALLOW_HTTP=true); it must resolve to public
    /// addresses unless WEBHOOK_ALLOW_PRIVATE=true.
    url: Option<String>,
    /// Event names as on the WebSocket (`new_message`, ...), or `["*"]`.
    events: Option<Vec<String>>,
    description: Option<String>,
}

/// Changes to an endpoint.
#[derive(Deserialize, ToSchema)]
#[schema(as = WebhookPatchBody)]
#[serde(rename_all = "camelCase")]
struct PatchBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    /// `false` stops deliveries; `true` resumes them from where they stopped.
    active: Option<bool>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook",
    summary = "Add an endpoint (admins); the answer holds its secret, shown only here",
    request_body(content = CreateBody, content_type = "application/json"),
    responses(
        (status = 201, body = wire::WebhookWithSecret, description = "The endpoint and its secret"),
        Guarded, WithBody
    ),
)]
#[post("/webhooks")]
async fn create_webhook(
    state: State,
    caller: Caller,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = WebhookInput {
        url: required(body.url, "url")?,
        events: required(body.events, "events")?,
        description: body.description,
    };
    let webhook = state.webhooks.create(&caller.0, input).await?;
    Ok(HttpResponse::Created().json(wire::WebhookWithSecret::from(webhook)))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhooks",
    summary = "The endpoints, oldest first (admins)",
    params(Paging),
    responses(
        (status = 200, body = List<wire::Webhook>, description = "A page of endpoints"),
        Guarded
    ),
)]
#[get("/webhooks")]
async fn list_webhooks(
    state: State,
    caller: Caller,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = state.webhooks.list(&caller.0, paging.request()?).await?;
    Ok(HttpResponse::Ok().json(List::<wire::Webhook>::of(page)))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "get_webhook",
    summary = "One endpoint (admins)",
    params(("id" = i64, Path, description = "The endpoint's id.")),
    responses((status = 200, body = wire::Webhook, description = "The endpoint"), GuardedItem),
)]
#[get("/webhooks/{id}")]
async fn get_webhook(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let webhook = state.webhooks.get(&caller.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(wire::Webhook::from(webhook)))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "update_webhook",
    summary = "Change an endpoint's URL, events, description or activity (admins)",
    params(("id" = i64, Path, description = "The endpoint's id.")),
    request_body(content = PatchBody, content_type = "application/json"),
    responses(
        (status = 200, body = wire::Webhook, description = "The endpoint"),
        GuardedItem, WithBody
    ),
)]
#[patch("/webhooks/{id}")]
async fn update_webhook(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let patch = WebhookPatch {
        url: body.url,
        events: body.events,
        active: body.active,
        description: body.description,
    };
    let webhook = state
        .webhooks
        .update(&caller.0, id.into_inner(), patch)
        .await?;
    Ok(HttpResponse::Ok().json(wire::Webhook::from(webhook)))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook",
    summary = "Remove an endpoint with its delivery log (admins)",
    params(("id" = i64, Path, description = "The endpoint's id.")),
    responses((status = 204, description = "Removed"), GuardedItem),
)]
#[delete("/webhooks/{id}")]
async fn delete_webhook(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state.webhooks.delete(&caller.0, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    summary = "A new secret (admins); the old one also signs for 24 h",
    params(("id" = i64, Path, description = "The endpoint's id.")),
    responses(
        (status = 200, body = wire::WebhookWithSecret, description = "The endpoint and its new secret"),
        GuardedItem
    ),
)]
#[post("/webhooks/{id}/rotate-secret")]
async fn rotate_webhook_secret(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let webhook = state
        .webhooks
        .rotate_secret(&caller.0, id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(wire::WebhookWithSecret::from(webhook)))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    summary = "An endpoint's delivery log, newest first (admins)",
    params(("id" = i64, Path, description = "The endpoint's id."), Paging),
    responses(
        (status = 200, body = List<wire::WebhookDelivery>, description = "A page of deliveries"),
        GuardedItem
    ),
)]
#[get("/webhooks/{id}/deliveries")]
async fn list_webhook_deliveries(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .webhooks
        .deliveries(&caller.0, id.into_inner(), paging.request()?)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::WebhookDelivery>::of(page)))
}

#[utoipa::path(
    tag = "webhooks",
    operation_id = "retry_webhook_delivery",
    summary = "Send a delivery again now (admins)",
    params(
        ("id" = i64, Path, description = "The endpoint's id."),
        ("deliveryId" = i64, Path, description = "The delivery's id."),
    ),
    responses(
        (status = 202, body = wire::WebhookDelivery, description = "Queued to be sent now"),
        GuardedItem
    ),
)]
#[post("/webhooks/{id}/deliveries/{deliveryId}/retry")]
async fn retry_webhook_delivery(
    state: State,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let delivery = state.webhooks.retry(&caller.0, id, delivery).await?;
    Ok(HttpResponse::Accepted().json(wire::WebhookDelivery::from(delivery)))
}

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_webhook)
        .service(list_webhooks)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(rotate_webhook_secret)
        .service(list_webhook_deliveries)
        .service(retry_webhook_delivery);
}
