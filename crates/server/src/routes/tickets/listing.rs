//! Listing tickets: the filters of a list as query parameters, and a page of tickets.

use crate::auth::Caller;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire;
use crate::wire::names::PriorityName;
use crate::wire::{parse_time, List, Paging};
use actix_web::HttpResponse;
use concierge_domain::search::Query;
use concierge_domain::services::TicketList;
use concierge_domain::ticket::{Priority, TicketFilter, TicketStatus};
use concierge_domain::{DomainError, FieldError, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

/// List filters as query parameters; the domain checks their values
/// ([`TicketFilter::validated`]).
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(super) struct Filters {
    /// One status or several, comma-separated.
    status: Option<String>,
    #[param(value_type = Option<PriorityName>)]
    priority: Option<String>,
    assignee_id: Option<i64>,
    donor_id: Option<String>,
    /// A search query, as for /search (`q`, `search` or `text`; 1-500 characters): words,
    /// "phrases", prefix*, -exclusions and the filters status:, priority:, channel:, assignee:,
    /// donor:, type:, created:> and created:<. Lists the tickets that match it, or whose
    /// messages (their text or files' names) do; the list's order and other filters stay.
    #[serde(alias = "search", alias = "text")]
    q: Option<String>,
    /// Created at or after (RFC 3339 or YYYY-MM-DD).
    #[serde(alias = "startDate")]
    from: Option<String>,
    /// Created before (RFC 3339 or YYYY-MM-DD).
    #[serde(alias = "endDate")]
    to: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub(super) paging: Paging,
}

/// Keeps a parsed value, or collects its field errors.
fn collect<T>(errors: &mut Vec<FieldError>, result: Result<T, DomainError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(DomainError::Invalid(e)) => {
            errors.extend(e);
            None
        }
        Err(other) => {
            errors.push(FieldError::new("query", other.to_string()));
            None
        }
    }
}

impl Filters {
    pub(super) fn filter(&self) -> Result<TicketFilter, ApiError> {
        let mut errors: Vec<FieldError> = vec![];
        let statuses = self
            .status
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .filter_map(|p| collect(&mut errors, p.parse::<TicketStatus>()))
            .collect();
        let priority = self
            .priority
            .as_deref()
            .and_then(|p| collect(&mut errors, p.parse::<Priority>()));
        let created_from = collect(&mut errors, parse_time("from", self.from.as_deref())).flatten();
        let created_to = collect(&mut errors, parse_time("to", self.to.as_deref())).flatten();
        let search = self
            .q
            .as_deref()
            .filter(|q| !q.trim().is_empty())
            .and_then(|q| collect(&mut errors, Query::parse(q)));
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors).into());
        }
        Ok(TicketFilter {
            channel: None,
            statuses,
            priority,
            assignee_id: self.assignee_id.map(UserId),
            donor_id: self.donor_id.clone().filter(|d| !d.is_empty()),
            donor_session: None,
            search,
            created_from,
            created_to,
        })
    }
}

pub(super) async fn list(
    state: &AppState,
    caller: &Caller,
    list: TicketList,
    paging: &Paging,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .tickets
        .list(&caller.0, list, paging.request()?)
        .await?;
    Ok(HttpResponse::Ok().json(List::<wire::Ticket>::of(page)))
}
