//! Donor queries (the donor-support face) and tasks (the team-desk face): both are tickets.

mod changes;
mod listing;
mod queries;
mod tasks;

use crate::state::AppState;
use actix_web::web;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// A ticket, named by the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct TicketPath {
    /// The id.
    id: i64,
}

/// Registers the routes of both faces.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.configure(queries::routes).configure(tasks::routes);
}
