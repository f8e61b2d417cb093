//! SLA policies and business-hours calendars.

use super::names::{ChannelName, PriorityName};
use chrono::{DateTime, Utc};
use concierge_domain::sla::{self as domain, OpenHours};
use concierge_domain::ticket::{Channel, Priority};
use serde::Serialize;
use utoipa::ToSchema;

/// Which tickets a policy covers; an absent field matches every value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaMatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ChannelName>)]
    channel: Option<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PriorityName>)]
    priority: Option<Priority>,
}

/// Targets in counted seconds; an absent one is a clock not kept.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlaTargets {
    #[serde(skip_serializing_if = "Option::is_none")]
    first_response: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_response: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolution: Option<i64>,
}

/// An SLA policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlaPolicy {
    id: i64,
    name: String,
    #[serde(rename = "match")]
    matches: SlaMatch,
    targets: SlaTargets,
    /// The calendar its clocks count in; `null`: around the clock.
    calendar_id: Option<i64>,
    /// Seconds before a due time that the warning goes out; 0: none.
    warn_before: i64,
    /// Whether time in PENDING_REPLY stays out of the resolution clock.
    pause_while_pending_reply: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&domain::Policy> for SlaPolicy {
    fn from(p: &domain::Policy) -> Self {
        let rules = &p.rules;
        Self {
            id: p.id.0,
            name: rules.name.clone(),
            matches: SlaMatch {
                channel: rules.matches.channel,
                priority: rules.matches.priority,
            },
            targets: SlaTargets {
                first_response: rules.targets.first_response,
                next_response: rules.targets.next_response,
                resolution: rules.targets.resolution,
            },
            calendar_id: rules.calendar_id.map(|c| c.0),
            warn_before: rules.warn_before,
            pause_while_pending_reply: rules.pause_while_pending_reply,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Opening intervals per weekday: `[["09:00", "17:00"]]`, local time, `24:00` closes at
/// midnight. Every day is listed; a closed day is `[]`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaWeek {
    #[schema(value_type = Vec<[String; 2]>)]
    mon: Vec<[String; 2]>,
    #[schema(value_type = Vec<[String; 2]>)]
    tue: Vec<[String; 2]>,
    #[schema(value_type = Vec<[String; 2]>)]
    wed: Vec<[String; 2]>,
    #[schema(value_type = Vec<[String; 2]>)]
    thu: Vec<[String; 2]>,
    #[schema(value_type = Vec<[String; 2]>)]
    fri: Vec<[String; 2]>,
    #[schema(value_type = Vec<[String; 2]>)]
    sat: Vec<[String; 2]>,
    #[schema(value_type = Vec<[String; 2]>)]
    sun: Vec<[String; 2]>,
}

/// A business-hours calendar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaCalendar {
    id: i64,
    name: String,
    /// An IANA timezone name.
    timezone: String,
    week: SlaWeek,
    /// Closed days, `YYYY-MM-DD`, oldest first.
    holidays: Vec<String>,
}

fn day(intervals: &[OpenHours]) -> Vec<[String; 2]> {
    intervals.iter().map(|h| [h.start(), h.end()]).collect()
}

impl From<&domain::Calendar> for SlaCalendar {
    fn from(c: &domain::Calendar) -> Self {
        let [mon, tue, wed, thu, fri, sat, sun] = c.hours.week();
        Self {
            id: c.id.0,
            name: c.name.clone(),
            timezone: c.hours.timezone().name().to_owned(),
            week: SlaWeek {
                mon: day(mon),
                tue: day(tue),
                wed: day(wed),
                thu: day(thu),
                fri: day(fri),
                sat: day(sat),
                sun: day(sun),
            },
            holidays: c
                .hours
                .holidays()
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect(),
        }
    }
}

from_owned!(domain::Policy => SlaPolicy, domain::Calendar => SlaCalendar);
