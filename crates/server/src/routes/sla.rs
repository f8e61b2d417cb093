//! /sla/policies and /sla/calendars: the SLA settings (docs/sla.md). Staff read them, admins
//! write them; a PUT replaces the whole object.

use crate::auth::Caller;
use crate::openapi::{Conflict, Guarded, GuardedItem, Invalid, WithBody};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::wire::names::{ChannelName, PriorityName};
use crate::wire::{List, Paging, SlaCalendar, SlaPolicy, SlaWeek};
use actix_web::{delete, get, post, put, web, HttpResponse};
use concierge_domain::ids::{CalendarId, PolicyId};
use concierge_domain::sla::calendar::WEEKDAYS;
use concierge_domain::sla::{CalendarInput, PolicyInput, PolicyMatch, Targets};
use concierge_domain::{DomainError, FieldError};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

type State = web::Data<AppState>;

/// Which tickets a policy covers; leave a field out to match every value.
#[derive(Deserialize, ToSchema, Default)]
struct MatchBody {
    #[schema(value_type = Option<ChannelName>)]
    channel: Option<String>,
    #[schema(value_type = Option<PriorityName>)]
    priority: Option<String>,
}

/// Targets in seconds (at least one).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
struct TargetsBody {
    first_response: Option<i64>,
    next_response: Option<i64>,
    resolution: Option<i64>,
}

/// A policy as written; a PUT sends it whole (left out: `warnBefore` 0,
/// `pauseWhilePendingReply` true, `calendarId` null).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PolicyBody {
    name: Option<String>,
    #[serde(rename = "match")]
    matches: Option<MatchBody>,
    targets: Option<TargetsBody>,
    /// `null`: around the clock.
    calendar_id: Option<i64>,
    warn_before: Option<i64>,
    pause_while_pending_reply: Option<bool>,
}

/// A named value of `match`, or a 422 naming `match.<field>`.
fn matched<T>(value: Option<&str>, field: &str) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr<Err = DomainError>,
{
    value
        .map(|v| {
            v.parse().map_err(|err| match err {
                DomainError::Invalid(errors) => DomainError::Invalid(
                    errors
                        .into_iter()
                        .map(|e| FieldError::new(format!("match.{field}"), e.message))
                        .collect(),
                ),
                other => other,
            })
        })
        .transpose()
        .map_err(ApiError::from)
}

impl PolicyBody {
    fn into_input(self) -> Result<PolicyInput, ApiError> {
        let matches = self.matches.unwrap_or_default();
        let targets = self.targets.unwrap_or_default();
        Ok(PolicyInput {
            name: self.name.unwrap_or_default(),
            matches: PolicyMatch {
                channel: matched(matches.channel.as_deref(), "channel")?,
                priority: matched(matches.priority.as_deref(), "priority")?,
            },
            targets: Targets {
                first_response: targets.first_response,
                next_response: targets.next_response,
                resolution: targets.resolution,
            },
            calendar_id: self.calendar_id.map(CalendarId),
            warn_before: self.warn_before,
            pause_while_pending_reply: self.pause_while_pending_reply,
        })
    }
}

/// A calendar as written; a PUT sends it whole.
#[derive(Deserialize, ToSchema)]
struct CalendarBody {
    name: Option<String>,
    /// An IANA timezone name, e.g. `Europe/Berlin`.
    timezone: Option<String>,
    /// `{mon: [["09:00", "17:00"]], ...}`; a day left out is closed.
    #[schema(value_type = Option<SlaWeek>)]
    week: Option<BTreeMap<String, Vec<(String, String)>>>,
    /// Closed days, `YYYY-MM-DD`.
    holidays: Option<Vec<String>>,
}

impl CalendarBody {
    fn into_input(self) -> Result<CalendarInput, ApiError> {
        let mut week: [Vec<(String, String)>; 7] = Default::default();
        let mut unknown = vec![];
        for (key, intervals) in self.week.unwrap_or_default() {
            match WEEKDAYS
                .iter()
                .zip(week.iter_mut())
                .find(|(d, _)| **d == key)
            {
                Some((_, day)) => *day = intervals,
                None => unknown.push(FieldError::new(
                    format!("week.{key}"),
                    format!("is not a weekday ({})", WEEKDAYS.join(", ")),
                )),
            }
        }
        if !unknown.is_empty() {
            return Err(DomainError::Invalid(unknown).into());
        }
        Ok(CalendarInput {
            name: self.name.unwrap_or_default(),
            timezone: self.timezone.unwrap_or_default(),
            week,
            holidays: self.holidays.unwrap_or_default(),
        })
    }
}

#[utoipa::path(
    tag = "sla",
    operation_id = "list_sla_policies",
    summary = "SLA policies, oldest first (staff)",
    params(Paging),
    responses(
        (status = 200, body = List<SlaPolicy>, description = "A page of policies"),
        Guarded, Invalid
    ),
)]
#[get("/sla/policies")]
async fn list_policies(
    state: State,
    caller: Caller,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = state.sla.policies(&caller.0, paging.request()?).await?;
    Ok(HttpResponse::Ok().json(List::<SlaPolicy>::of(page)))
}

#[utoipa::path(
    tag = "sla",
    operation_id = "create_sla_policy",
    summary = "Create an SLA policy (admins)",
    request_body(content = PolicyBody, content_type = "application/json"),
    responses(
        (status = 201, body = SlaPolicy, description = "The new policy"),
        Guarded, WithBody
    ),
)]
#[post("/sla/policies")]
async fn create_policy(
    state: State,
    caller: Caller,
    body: web::Json<PolicyBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_input()?;
    let policy = state.sla.create_policy(&caller.0, input).await?;
    Ok(HttpResponse::Created().json(SlaPolicy::from(policy)))
}

#[utoipa::path(
    tag = "sla",
    operation_id = "replace_sla_policy",
    summary = "Replace an SLA policy (admins)",
    params(("id" = i64, Path, description = "The policy's id.")),
    request_body(content = PolicyBody, content_type = "application/json"),
    responses(
        (status = 200, body = SlaPolicy, description = "The policy"),
        GuardedItem, WithBody
    ),
)]
#[put("/sla/policies/{id}")]
async fn replace_policy(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<PolicyBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_input()?;
    let policy = state
        .sla
        .replace_policy(&caller.0, PolicyId(id.into_inner()), input)
        .await?;
    Ok(HttpResponse::Ok().json(SlaPolicy::from(policy)))
}

#[utoipa::path(
    tag = "sla",
    operation_id = "delete_sla_policy",
    summary = "Delete an SLA policy (admins)",
    params(("id" = i64, Path, description = "The policy's id.")),
    responses((status = 204, description = "Deleted"), GuardedItem),
)]
#[delete("/sla/policies/{id}")]
async fn delete_policy(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .sla
        .delete_policy(&caller.0, PolicyId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "sla",
    operation_id = "list_sla_calendars",
    summary = "Business-hours calendars, oldest first (staff)",
    params(Paging),
    responses(
        (status = 200, body = List<SlaCalendar>, description = "A page of calendars"),
        Guarded, Invalid
    ),
)]
#[get("/sla/calendars")]
async fn list_calendars(
    state: State,
    caller: Caller,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = state.sla.calendars(&caller.0, paging.request()?).await?;
    Ok(HttpResponse::Ok().json(List::<SlaCalendar>::of(page)))
}

#[utoipa::path(
    tag = "sla",
    operation_id = "create_sla_calendar",
    summary = "Create a business-hours calendar (admins)",
    request_body(content = CalendarBody, content_type = "application/json"),
    responses(
        (status = 201, body = SlaCalendar, description = "The new calendar"),
        Guarded, WithBody
    ),
)]
#[post("/sla/calendars")]
async fn create_calendar(
    state: State,
    caller: Caller,
    body: web::Json<CalendarBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_input()?;
    let calendar = state.sla.create_calendar(&caller.0, input).await?;
    Ok(HttpResponse::Created().json(SlaCalendar::from(calendar)))
}

#[utoipa::path(
    tag = "sla",
    operation_id = "replace_sla_calendar",
    summary = "Replace a business-hours calendar (admins)",
    params(("id" = i64, Path, description = "The calendar's id.")),
    request_body(content = CalendarBody, content_type = "application/json"),
    responses(
        (status = 200, body = SlaCalendar, description = "The calendar"),
        GuardedItem, WithBody
    ),
)]
#[put("/sla/calendars/{id}")]
async fn replace_calendar(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
    body: web::Json<CalendarBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().into_input()?;
    let calendar = state
        .sla
        .replace_calendar(&caller.0, CalendarId(id.into_inner()), input)
        .await?;
    Ok(HttpResponse::Ok().json(SlaCalendar::from(calendar)))
}

#[utoipa::path(
    tag = "sla",
    operation_id = "delete_sla_calendar",
    summary = "Delete a business-hours calendar no policy uses (admins)",
    params(("id" = i64, Path, description = "The calendar's id.")),
    responses(
        (status = 204, description = "Deleted"),
        GuardedItem, Conflict
    ),
)]
#[delete("/sla/calendars/{id}")]
async fn delete_calendar(
    state: State,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .sla
        .delete_calendar(&caller.0, CalendarId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_policies)
        .service(create_policy)
        .service(replace_policy)
        .service(delete_policy)
        .service(list_calendars)
        .service(create_calendar)
        .service(replace_calendar)
        .service(delete_calendar);
}
