//! Donor queries (the donor-support face) and tasks (the team-desk face): both are tickets.

mod changes;
mod listing;
mod queries;
mod tasks;

use crate::state::AppState;
use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// Registers the routes of both faces.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.configure(queries::routes).configure(tasks::routes);
}
