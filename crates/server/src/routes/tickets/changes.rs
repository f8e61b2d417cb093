//! Use cases on one ticket that both faces share: field and status changes, deletion, and
//! the answer with the ticket.

use super::State;
use crate::auth::Caller;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use crate::wire::names::{PriorityName, TicketStatusName};
use crate::wire::{nullable, parse_enum};
use actix_web::HttpResponse;
use concierge_domain::services::TicketService;
use concierge_domain::ticket::{Ticket, TicketChanges};
use concierge_domain::{Actor, DomainError, TicketId, UserId};
use serde::Deserialize;
use std::future::Future;
use utoipa::ToSchema;

/// Runs a use case on the ticket `id` as the caller, and answers 200 with the ticket.
pub(super) async fn on_ticket<'a, Fut>(
    state: &'a AppState,
    caller: &'a Caller,
    id: i64,
    use_case: impl FnOnce(&'a TicketService, &'a Actor, TicketId) -> Fut,
) -> Result<HttpResponse, ApiError>
where
    Fut: Future<Output = concierge_domain::Result<Ticket>>,
{
    let ticket = use_case(&state.services.tickets, &caller.0, TicketId(id)).await?;
    Ok(HttpResponse::Ok().json(wire::Ticket::from(ticket)))
}

/// Field and status changes of a ticket (PATCH /donor-queries/:id and PUT /tasks/:id).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChangesBody {
    title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    #[schema(value_type = Option<PriorityName>)]
    priority: Option<String>,
    #[schema(value_type = Option<TicketStatusName>)]
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable", alias = "assigneeId")]
    #[schema(value_type = Option<i64>)]
    assigned_to_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    stage: Option<Option<String>>,
    /// The donor's push token (donor queries; its donor may set it too).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub(super) fcm_token: Option<Option<String>>,
}

impl ChangesBody {
    /// The field and status changes named (a push token is not one of them).
    pub(super) fn parse(self) -> Result<TicketChanges, ApiError> {
        Ok(TicketChanges {
            title: self.title,
            description: self.description,
            priority: parse_enum(self.priority.as_deref())?,
            status: parse_enum(self.status.as_deref())?,
            assignee_id: self.assigned_to_id.map(|a| a.map(UserId)),
            stage: self.stage,
        })
    }

    /// Like [`parse`](Self::parse), refusing a body that changes nothing.
    fn changes(self) -> Result<TicketChanges, ApiError> {
        let changes = self.parse()?;
        if changes.is_empty() {
            return Err(DomainError::invalid("body", "names no field to change").into());
        }
        Ok(changes)
    }
}

pub(super) async fn update(
    state: State,
    caller: Caller,
    id: i64,
    body: ChangesBody,
) -> Result<HttpResponse, ApiError> {
    let changes = body.changes()?;
    on_ticket(&state, &caller, id, |tickets, actor, id| {
        tickets.update(actor, id, changes)
    })
    .await
}

pub(super) async fn remove(
    state: State,
    caller: Caller,
    id: i64,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .tickets
        .delete(&caller.0, TicketId(id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
