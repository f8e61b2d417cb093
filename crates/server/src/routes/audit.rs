//! /audit: the audit trail, for super admins (docs/audit.md).

use crate::auth::Caller;
use crate::openapi::{BadRequest, Forbidden, Guarded, Invalid, Unauthorized};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::{self, parse_time, List, Paging};
use actix_web::web::Bytes;
use actix_web::{get, web, HttpResponse};
use concierge_domain::audit::{AuditFilter, AuditService, Export};
use concierge_domain::{DomainError, FieldError, TicketId};
use futures_util::stream;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

/// `?actorId=&ticketId=&action=&from=&to=`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    /// The actor's id (a staff user's id, or a donor's id).
    actor_id: Option<String>,
    /// The ticket concerned.
    #[param(value_type = Option<i64>)]
    ticket_id: Option<String>,
    /// The action, such as `ticket.accepted`.
    action: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    range: Range,
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

/// `?from=&to=`: written at or after `from`, before `to` (RFC 3339 or YYYY-MM-DD).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Range {
    /// Written at or after (RFC 3339 or YYYY-MM-DD).
    from: Option<String>,
    /// Written before (RFC 3339 or YYYY-MM-DD).
    to: Option<String>,
}

type Times = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

impl Range {
    fn times(&self, errors: &mut Vec<FieldError>) -> Times {
        let mut time = |field, raw: &Option<String>| match parse_time(field, raw.as_deref()) {
            Ok(t) => t,
            Err(DomainError::Invalid(e)) => {
                errors.extend(e);
                None
            }
            Err(_) => None,
        };
        (time("from", &self.from), time("to", &self.to))
    }
}

fn finish<T>(errors: Vec<FieldError>, value: T) -> Result<T, ApiError> {
    match errors.is_empty() {
        true => Ok(value),
        false => Err(DomainError::Invalid(errors).into()),
    }
}

impl ListParams {
    fn filter(&self) -> Result<AuditFilter, ApiError> {
        let mut errors = vec![];
        let (from, to) = self.range.times(&mut errors);
        let ticket_id = match self.ticket_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(id) => Some(TicketId(id)),
                Err(_) => {
                    errors.push(FieldError::new("ticketId", "must be a whole number"));
                    None
                }
            },
        };
        let filter = AuditFilter {
            actor_id: self.actor_id.clone().filter(|a| !a.is_empty()),
            ticket_id,
            action: self.action.clone().filter(|a| !a.is_empty()),
            from,
            to,
        };
        finish(errors, filter)
    }
}

fn service(state: &AppState) -> AuditService {
    AuditService::new(state.audit.clone())
}

#[utoipa::path(
    tag = "audit",
    operation_id = "list_audit",
    summary = "Audit entries, newest first (super admins)",
    params(ListParams, Range, Paging),
    responses(
        (status = 200, body = List<wire::AuditEntry>, description = "A page of entries, newest first; an entry not chained yet has null seq, hash and prevHash"),
        Guarded, Invalid
    ),
)]
#[get("/audit")]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let page = params.paging.request()?;
    let filter = params.filter()?;
    let entries = service(&state).list(&caller.0, filter, page).await?;
    Ok(HttpResponse::Ok().json(List::<wire::AuditEntry>::of(entries)))
}

#[utoipa::path(
    tag = "audit",
    operation_id = "verify_audit",
    summary = "Recompute the whole chain and name the first altered, missing or reordered entry (super admins)",
    responses(
        (status = 200, body = wire::AuditVerification, description = "The verdict"),
        Unauthorized, Forbidden
    ),
)]
#[get("/audit/verify")]
async fn verify(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let verdict = service(&state).verify(&caller.0).await?;
    Ok(HttpResponse::Ok().json(wire::AuditVerification::from(verdict)))
}

#[utoipa::path(
    tag = "audit",
    operation_id = "export_audit",
    summary = "The chained entries as JSON Lines, oldest first, streamed (super admins)",
    params(Range),
    responses(
        (status = 200, content_type = "application/jsonl", body = wire::AuditEntry, description = "One entry per line, in chain order"),
        BadRequest, Unauthorized, Forbidden, Invalid
    ),
)]
#[get("/audit/export")]
async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    range: web::Query<Range>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = vec![];
    let (from, to) = range.times(&mut errors);
    finish(errors, ())?;
    let export = service(&state).export(&caller.0, from, to).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/jsonl")
        .streaming(stream::unfold(export, next_lines)))
}

/// The next batch of an export as JSON Lines. A failure mid-way ends the body early (the
/// status is already sent), and is logged.
async fn next_lines(mut running: Export) -> Option<(Result<Bytes, ApiError>, Export)> {
    match running.next_batch().await {
        Ok(Some(batch)) => {
            let mut out = Vec::new();
            for entry in batch {
                if let Err(err) = serde_json::to_writer(&mut out, &wire::AuditEntry::from(entry)) {
                    tracing::warn!(error = %err, "audit export: cannot write an entry");
                    return Some((Err(DomainError::storage(err).into()), running));
                }
                out.push(b'\n');
            }
            Some((Ok(Bytes::from(out)), running))
        }
        Ok(None) => None,
        Err(err) => {
            tracing::warn!(error = %err, "audit export: cannot read entries");
            Some((Err(err.into()), running))
        }
    }
}

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list).service(verify).service(export);
}
