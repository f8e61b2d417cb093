//! [`SlaRepository`]: SLA policies and business-hours calendars. A calendar's week and holidays
//! are JSON text, read back through the domain's own checks (`CalendarInput::validated`). A
//! policy's calendar must exist and a calendar in use cannot go: both are checked in the
//! write's transaction, and the foreign key (`ON DELETE RESTRICT`) refuses what a concurrent
//! write would slip past the check.

use crate::connection::DbConnection;
use crate::error::{corrupt, is_foreign_key_violation, Error};
use crate::json_text::to_json;
use crate::models::{from_db, parse, to_db};
use crate::query::{first_row, page_of, paged};
use crate::schema_sla::{sla_calendars, sla_policies};
use crate::Store;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use concierge_domain::ids::{CalendarId, PolicyId};
use concierge_domain::page::{Page, PageRequest};
use concierge_domain::ports::SlaRepository;
use concierge_domain::sla::calendar::WEEKDAYS;
use concierge_domain::sla::{
    BusinessHours, Calendar, CalendarInput, NewCalendar, Policy, PolicyMatch, PolicyRules, Targets,
};
use concierge_domain::{DomainError, Result};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

/// The columns a policy write sets (a replace keeps `created_at`).
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sla_policies, treat_none_as_null = true)]
struct PolicyFields {
    name: String,
    match_channel: Option<String>,
    match_priority: Option<String>,
    first_response_seconds: Option<i64>,
    next_response_seconds: Option<i64>,
    resolution_seconds: Option<i64>,
    calendar_id: Option<i64>,
    warn_before_seconds: i64,
    pause_while_pending_reply: bool,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sla_policies)]
struct PolicyRow {
    id: i64,
    created_at: NaiveDateTime,
    #[diesel(embed)]
    fields: PolicyFields,
}

impl PolicyFields {
    fn of(rules: &PolicyRules, now: DateTime<Utc>) -> Self {
        Self {
            name: rules.name.clone(),
            match_channel: rules.matches.channel.map(|c| c.as_str().to_owned()),
            match_priority: rules.matches.priority.map(|p| p.as_str().to_owned()),
            first_response_seconds: rules.targets.first_response,
            next_response_seconds: rules.targets.next_response,
            resolution_seconds: rules.targets.resolution,
            calendar_id: rules.calendar_id.map(|c| c.0),
            warn_before_seconds: rules.warn_before,
            pause_while_pending_reply: rules.pause_while_pending_reply,
            updated_at: to_db(now),
        }
    }
}

impl PolicyRow {
    fn into_policy(self) -> Result<Policy, Error> {
        let f = self.fields;
        Ok(Policy {
            id: PolicyId(self.id),
            rules: PolicyRules {
                name: f.name,
                matches: PolicyMatch {
                    channel: f
                        .match_channel
                        .map(|c| parse(&c, "policy channel"))
                        .transpose()?,
                    priority: f
                        .match_priority
                        .map(|p| parse(&p, "policy priority"))
                        .transpose()?,
                },
                targets: Targets {
                    first_response: f.first_response_seconds,
                    next_response: f.next_response_seconds,
                    resolution: f.resolution_seconds,
                },
                calendar_id: f.calendar_id.map(CalendarId),
                warn_before: f.warn_before_seconds,
                pause_while_pending_reply: f.pause_while_pending_reply,
            },
            created_at: from_db(self.created_at),
            updated_at: from_db(f.updated_at),
        })
    }
}

/// The columns a calendar write sets.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sla_calendars)]
struct CalendarFields {
    name: String,
    timezone: String,
    week: String,
    holidays: String,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sla_calendars)]
struct CalendarRow {
    id: i64,
    created_at: NaiveDateTime,
    #[diesel(embed)]
    fields: CalendarFields,
}

impl CalendarFields {
    fn of(calendar: &NewCalendar, now: DateTime<Utc>) -> Result<Self, Error> {
        let hours = &calendar.hours;
        let week: Map<String, Value> = WEEKDAYS
            .iter()
            .zip(hours.week())
            .map(|(day, intervals)| {
                let pairs: Vec<Value> = intervals
                    .iter()
                    .map(|h| json!([h.start(), h.end()]))
                    .collect();
                ((*day).to_owned(), Value::Array(pairs))
            })
            .collect();
        let holidays: Vec<Value> = hours
            .holidays()
            .iter()
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .collect();
        Ok(Self {
            name: calendar.name.clone(),
            timezone: hours.timezone().name().to_owned(),
            week: to_json(&Value::Object(week))?,
            holidays: to_json(&Value::Array(holidays))?,
            updated_at: to_db(now),
        })
    }
}

impl CalendarRow {
    fn into_calendar(self) -> Result<Calendar, Error> {
        let f = self.fields;
        let hours = stored_hours(&f).ok_or_else(|| {
            corrupt(format!(
                "calendar {}: week {:?}, holidays {:?}",
                self.id, f.week, f.holidays
            ))
        })?;
        Ok(Calendar {
            id: CalendarId(self.id),
            name: f.name,
            hours,
            created_at: from_db(self.created_at),
            updated_at: from_db(f.updated_at),
        })
    }
}

/// A calendar's hours from its columns, checked as when they were written.
fn stored_hours(f: &CalendarFields) -> Option<BusinessHours> {
    let week: Map<String, Value> = serde_json::from_str(&f.week).ok()?;
    let mut days: [Vec<(String, String)>; 7] = Default::default();
    for (day, key) in days.iter_mut().zip(WEEKDAYS) {
        *day = serde_json::from_value(week.get(key)?.clone()).ok()?;
    }
    let input = CalendarInput {
        name: "stored".to_owned(),
        timezone: f.timezone.clone(),
        week: days,
        holidays: serde_json::from_str(&f.holidays).ok()?,
    };
    input.validated().ok().map(|c| c.hours)
}

fn load_policy(conn: &mut DbConnection, id: PolicyId) -> Result<Option<Policy>, Error> {
    let query = sla_policies::table
        .find(id.0)
        .select(PolicyRow::as_select());
    first_row(conn, query, PolicyRow::into_policy)
}

fn load_calendar(conn: &mut DbConnection, id: CalendarId) -> Result<Option<Calendar>, Error> {
    let query = sla_calendars::table
        .find(id.0)
        .select(CalendarRow::as_select());
    first_row(conn, query, CalendarRow::into_calendar)
}

fn unknown_calendar() -> Error {
    Error::Domain(DomainError::invalid("calendarId", "names no calendar"))
}

/// Refuses a policy whose calendar does not exist.
fn check_calendar(conn: &mut DbConnection, rules: &PolicyRules) -> Result<(), Error> {
    let Some(id) = rules.calendar_id else {
        return Ok(());
    };
    let found = sla_calendars::table
        .find(id.0)
        .select(sla_calendars::id)
        .first::<i64>(conn)
        .optional()?;
    found.map(|_| ()).ok_or_else(unknown_calendar)
}

/// A foreign-key refusal of a policy write: its calendar went meanwhile.
fn policy_write_error(err: Error) -> Error {
    match err {
        Error::Db(db) if is_foreign_key_violation(&db) => unknown_calendar(),
        other => other,
    }
}

fn create_policy(
    conn: &mut DbConnection,
    rules: &PolicyRules,
    now: DateTime<Utc>,
) -> Result<Policy, Error> {
    check_calendar(conn, rules)?;
    let id: i64 = diesel::insert_into(sla_policies::table)
        .values((
            PolicyFields::of(rules, now),
            sla_policies::created_at.eq(to_db(now)),
        ))
        .returning(sla_policies::id)
        .get_result(conn)?;
    load_policy(conn, PolicyId(id))?.ok_or(Error::Domain(DomainError::NotFound("policy")))
}

fn replace_policy(
    conn: &mut DbConnection,
    id: PolicyId,
    rules: &PolicyRules,
    now: DateTime<Utc>,
) -> Result<Policy, Error> {
    check_calendar(conn, rules)?;
    let n = diesel::update(sla_policies::table.find(id.0))
        .set(PolicyFields::of(rules, now))
        .execute(conn)?;
    match n {
        0 => Err(DomainError::NotFound("policy").into()),
        _ => load_policy(conn, id)?.ok_or(Error::Domain(DomainError::NotFound("policy"))),
    }
}

fn delete_policy(conn: &mut DbConnection, id: PolicyId) -> Result<(), Error> {
    match diesel::delete(sla_policies::table.find(id.0)).execute(conn)? {
        0 => Err(DomainError::NotFound("policy").into()),
        _ => Ok(()),
    }
}

fn create_calendar(
    conn: &mut DbConnection,
    calendar: &NewCalendar,
    now: DateTime<Utc>,
) -> Result<Calendar, Error> {
    let id: i64 = diesel::insert_into(sla_calendars::table)
        .values((
            CalendarFields::of(calendar, now)?,
            sla_calendars::created_at.eq(to_db(now)),
        ))
        .returning(sla_calendars::id)
        .get_result(conn)?;
    load_calendar(conn, CalendarId(id))?.ok_or(Error::Domain(DomainError::NotFound("calendar")))
}

fn replace_calendar(
    conn: &mut DbConnection,
    id: CalendarId,
    calendar: &NewCalendar,
    now: DateTime<Utc>,
) -> Result<Calendar, Error> {
    let n = diesel::update(sla_calendars::table.find(id.0))
        .set(CalendarFields::of(calendar, now)?)
        .execute(conn)?;
    match n {
        0 => Err(DomainError::NotFound("calendar").into()),
        _ => load_calendar(conn, id)?.ok_or(Error::Domain(DomainError::NotFound("calendar"))),
    }
}

fn calendar_in_use(count: i64) -> Error {
    Error::Domain(DomainError::Conflict(format!(
        "the calendar is used by {count} SLA {}",
        if count == 1 { "policy" } else { "policies" }
    )))
}

fn delete_calendar(conn: &mut DbConnection, id: CalendarId) -> Result<(), Error> {
    let users: i64 = sla_policies::table
        .filter(sla_policies::calendar_id.eq(id.0))
        .count()
        .get_result(conn)?;
    if users > 0 {
        return Err(calendar_in_use(users));
    }
    match diesel::delete(sla_calendars::table.find(id.0)).execute(conn) {
        Ok(0) => Err(DomainError::NotFound("calendar").into()),
        Ok(_) => Ok(()),
        // A policy written meanwhile took it.
        Err(err) if is_foreign_key_violation(&err) => Err(calendar_in_use(1)),
        Err(err) => Err(err.into()),
    }
}

#[async_trait]
impl SlaRepository for Store {
    async fn list_policies(&self, page: PageRequest) -> Result<Page<Policy>> {
        self.run(move |conn| {
            let query = sla_policies::table.select(PolicyRow::as_select());
            let rows = paged!(query, sla_policies::id, oldest_first, page).load(conn)?;
            page_of(rows, &page, PolicyRow::into_policy, |p| p.id.0)
        })
        .await
    }

    async fn get_policy(&self, id: PolicyId) -> Result<Option<Policy>> {
        self.run(move |conn| load_policy(conn, id)).await
    }

    async fn create_policy(&self, rules: PolicyRules, now: DateTime<Utc>) -> Result<Policy> {
        self.write(move |conn| create_policy(conn, &rules, now).map_err(policy_write_error))
            .await
    }

    async fn replace_policy(
        &self,
        id: PolicyId,
        rules: PolicyRules,
        now: DateTime<Utc>,
    ) -> Result<Policy> {
        self.write(move |conn| replace_policy(conn, id, &rules, now).map_err(policy_write_error))
            .await
    }

    async fn delete_policy(&self, id: PolicyId) -> Result<()> {
        self.write(move |conn| delete_policy(conn, id)).await
    }

    async fn list_calendars(&self, page: PageRequest) -> Result<Page<Calendar>> {
        self.run(move |conn| {
            let query = sla_calendars::table.select(CalendarRow::as_select());
            let rows = paged!(query, sla_calendars::id, oldest_first, page).load(conn)?;
            page_of(rows, &page, CalendarRow::into_calendar, |c| c.id.0)
        })
        .await
    }

    async fn get_calendar(&self, id: CalendarId) -> Result<Option<Calendar>> {
        self.run(move |conn| load_calendar(conn, id)).await
    }

    async fn create_calendar(&self, calendar: NewCalendar, now: DateTime<Utc>) -> Result<Calendar> {
        self.write(move |conn| create_calendar(conn, &calendar, now))
            .await
    }

    async fn replace_calendar(
        &self,
        id: CalendarId,
        calendar: NewCalendar,
        now: DateTime<Utc>,
    ) -> Result<Calendar> {
        self.write(move |conn| replace_calendar(conn, id, &calendar, now))
            .await
    }

    async fn delete_calendar(&self, id: CalendarId) -> Result<()> {
        self.write(move |conn| delete_calendar(conn, id)).await
    }
}
