//! `GET /api/v1/ws`: the upgrade to the real-time gateway.

use crate::auth::{bearer, session_for_token};
use crate::openapi::{BadRequest, Unauthorized};
use crate::problem::ApiError;
use crate::realtime::connection;
use crate::state::AppState;
use actix_web::{get, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

/// Upgrades to a WebSocket. A bearer token on the upgrade request authenticates at once (and a
/// bad one is refused with 401 before upgrading); otherwise the first frame must be `auth`.
#[utoipa::path(
    tag = "meta",
    operation_id = "websocket",
    summary = "The WebSocket upgrade (protocol in API.md)",
    responses(
        (status = 101, description = "Switching protocols"),
        BadRequest, Unauthorized
    ),
    security((), ("bearer" = [])),
)]
#[get("/ws")]
async fn upgrade(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let header_session = match bearer(&req)? {
        Some(token) => Some(session_for_token(&state, &token).await?),
        None => None,
    };
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::BadRequest(format!("not a WebSocket upgrade: {e}")))?;
    actix_web::rt::spawn(connection::serve(state, session, stream, header_session));
    Ok(response)
}

/// Registers the route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upgrade);
}
