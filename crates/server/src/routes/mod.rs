//! The HTTP routes under `/api/v1`. Handlers only translate: parse the request, call one domain
//! service with the caller's `Actor`, shape the answer. Rules live in the domain.

mod accounts;
mod audit;
mod calls;
pub(crate) mod health;
pub(crate) mod insights;
mod messages;
mod search;
mod sla;
mod tickets;
mod uploads;
mod webhooks;
mod ws;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every route of `/api/v1`.
pub fn api(cfg: &mut ServiceConfig) {
    cfg.configure(health::routes)
        .configure(accounts::routes)
        .configure(tickets::routes)
        .configure(messages::routes)
        .configure(calls::routes)
        .configure(uploads::routes)
        .configure(insights::routes)
        .configure(search::routes)
        .configure(audit::routes)
        .configure(webhooks::routes)
        .configure(sla::routes)
        .configure(ws::routes)
        .configure(crate::openapi::routes);
}
