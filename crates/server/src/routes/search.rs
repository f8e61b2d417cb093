//! /search: tickets and messages matching a query (docs/search.md).

use crate::auth::Caller;
use crate::openapi::{BadRequest, Invalid, Unauthorized};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::{List, Paging, SearchHit};
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

/// `?q=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchParams {
    /// The query (1-500 characters): words, "phrases", prefix*, -exclusions and the filters
    /// status:, priority:, channel:, assignee:, donor:, type:, created:> and created:<.
    #[param(required = true)]
    q: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

#[utoipa::path(
    tag = "search",
    operation_id = "search",
    summary = "Tickets and messages matching a query, best match first (a donor token: its donor session's queries only)",
    params(SearchParams, Paging),
    responses(
        (status = 200, body = List<SearchHit>, description = "A page of hits, best match first"),
        BadRequest, Unauthorized, Invalid
    ),
)]
#[get("/search")]
async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = params.paging.limit()?;
    let page = state
        .search
        .search(
            &caller.0,
            params.q.as_deref().unwrap_or_default(),
            limit,
            params.paging.cursor.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(List::<SearchHit>::of(page)))
}

/// Registers the route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(search);
}
