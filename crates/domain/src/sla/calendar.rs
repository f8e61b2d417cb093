//! Business-hours calendars: weekly opening hours in an IANA timezone, minus holidays, and the
//! arithmetic the clocks need (add business seconds to an instant, count business seconds
//! between two instants), daylight-saving changes included.

use crate::error::{FieldError, Result};
use crate::ids::CalendarId;
use crate::validate;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// The most holidays a calendar may list.
pub const MAX_HOLIDAYS: usize = 1000;
/// The most opening intervals a single weekday may have.
pub const MAX_INTERVALS_PER_DAY: usize = 24;
/// Weekday keys as clients name them, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const MINUTES_PER_DAY: u16 = 24 * 60;

/// One opening interval of a weekday, in local wall-clock minutes since midnight: from `start`
/// (inclusive) to `end` (exclusive; 1440 is "24:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenHours {
    start: u16,
    end: u16,
}

impl OpenHours {
    /// Opening time as `HH:MM`.
    pub fn start(&self) -> String {
        hhmm(self.start)
    }

    /// Closing time as `HH:MM` (`24:00` for midnight at the day's end).
    pub fn end(&self) -> String {
        hhmm(self.end)
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// When a calendar is open: weekly hours in a timezone, closed on holidays (whole local days).
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    timezone: Tz,
    week: [Vec<OpenHours>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// A stored calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// Its id.
    pub id: CalendarId,
    /// A name for people.
    pub name: String,
    /// Its hours.
    pub hours: BusinessHours,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A calendar as a client writes it: timezone name, `HH:MM` pairs per weekday (Monday first),
/// holidays as `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CalendarInput {
    /// A name for people.
    pub name: String,
    /// An IANA timezone name, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Opening intervals per weekday, Monday first: `[("09:00", "17:00")]`.
    pub week: [Vec<(String, String)>; 7],
    /// Closed days, `YYYY-MM-DD`, in the calendar's timezone.
    pub holidays: Vec<String>,
}

/// A validated calendar, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCalendar {
    /// A name for people.
    pub name: String,
    /// Its hours.
    pub hours: BusinessHours,
}

impl CalendarInput {
    /// Checks every field; a 422 lists each bad one (`timezone`, `week.mon[0]`, `holidays[2]`).
    pub fn validated(&self) -> Result<NewCalendar> {
        let mut errors = vec![];
        let name = validate::text(&mut errors, "name", &self.name, 1, 200);
        let timezone = match self.timezone.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.push(FieldError::new(
                    "timezone",
                    "must be an IANA timezone name, e.g. Europe/Berlin",
                ));
                None
            }
        };
        let mut week: [Vec<OpenHours>; 7] = Default::default();
        for ((day, intervals), key) in week.iter_mut().zip(&self.week).zip(WEEKDAYS) {
            *day = day_hours(&mut errors, key, intervals);
        }
        if week.iter().all(Vec::is_empty) {
            errors.push(FieldError::new(
                "week",
                "must have at least one opening interval",
            ));
        }
        let mut holidays = BTreeSet::new();
        if self.holidays.len() > MAX_HOLIDAYS {
            errors.push(FieldError::new(
                "holidays",
                format!("must list at most {MAX_HOLIDAYS} days"),
            ));
        }
        for (i, day) in self.holidays.iter().enumerate() {
            match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(date) if (1900..=2999).contains(&date.year()) && day.len() == 10 => {
                    holidays.insert(date);
                }
                _ => errors.push(FieldError::new(
                    format!("holidays[{i}]"),
                    "must be a date YYYY-MM-DD between 1900 and 2999",
                )),
            }
        }
        match timezone {
            Some(timezone) if errors.is_empty() => Ok(NewCalendar {
                name,
                hours: BusinessHours {
                    timezone,
                    week,
                    holidays,
                },
            }),
            // A bad timezone always left an error.
            _ => Err(crate::DomainError::Invalid(errors)),
        }
    }
}

fn day_hours(
    errors: &mut Vec<FieldError>,
    key: &str,
    intervals: &[(String, String)],
) -> Vec<OpenHours> {
    if intervals.len() > MAX_INTERVALS_PER_DAY {
        errors.push(FieldError::new(
            format!("week.{key}"),
            format!("must have at most {MAX_INTERVALS_PER_DAY} intervals"),
        ));
        return vec![];
    }
    let mut day = vec![];
    for (i, (start, end)) in intervals.iter().enumerate() {
        let field = format!("week.{key}[{i}]");
        match (minutes(start, false), minutes(end, true)) {
            (Some(start), Some(end)) if start < end => day.push(OpenHours { start, end }),
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(field, "must open before it closes"));
            }
            _ => errors.push(FieldError::new(
                field,
                "must be a pair of times HH:MM (00:00 to 24:00)",
            )),
        }
    }
    day.sort();
    if day
        .windows(2)
        .any(|w| matches!(w, [a, b] if b.start < a.end))
    {
        errors.push(FieldError::new(
            format!("week.{key}"),
            "intervals must not overlap",
        ));
    }
    day
}

/// `HH:MM` as minutes since midnight; `24:00` only as a closing time.
fn minutes(value: &str, closing: bool) -> Option<u16> {
    let (h, m) = value.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.chars().chain(m.chars())).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
    let total = h * 60 + m;
    let fits = m < 60 && (total < MINUTES_PER_DAY || (closing && total == MINUTES_PER_DAY));
    fits.then_some(total)
}

impl BusinessHours {
    /// The calendar's timezone.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// Opening intervals per weekday, Monday first.
    pub fn week(&self) -> &[Vec<OpenHours>; 7] {
        &self.week
    }

    /// Closed days.
    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// The open spans (UTC, half-open) of one local day: none on a holiday.
    fn day_spans(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&date) {
            return vec![];
        }
        let weekday = date.weekday().num_days_from_monday() as usize;
        self.week
            .get(weekday)
            .into_iter()
            .flatten()
            .map(|hours| {
                (
                    local_to_utc(self.timezone, at_minute(date, hours.start), false),
                    local_to_utc(self.timezone, at_minute(date, hours.end), true),
                )
            })
            .collect()
    }

    /// How many local days in a row can be closed: every week pattern gap plus every holiday.
    fn longest_closure_days(&self) -> u64 {
        7 * (self.holidays.len() as u64 + 2)
    }

    /// The open spans from `from` on, in order, never overlapping, the first clipped to start
    /// no earlier than `from`.
    pub fn spans_from(&self, from: DateTime<Utc>) -> Spans<'_> {
        let date = from.with_timezone(&self.timezone).date_naive();
        Spans {
            hours: self,
            next_date: date.pred_opt().unwrap_or(date),
            pending: Vec::new(),
            floor: from,
            closed_days: 0,
        }
    }

    /// Whether `at` lies in an open span, its closing instant included.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.spans_from(at - Duration::seconds(1))
            .take_while(|(start, _)| *start <= at)
            .any(|(start, end)| start <= at && at <= end)
    }

    /// The instant at which `seconds` of open time have passed since `from`: inside an open span
    /// (or at its closing instant, when the seconds run out exactly there). `seconds <= 0` gives
    /// the first open instant at or after `from`. `None` if it never opens again.
    pub fn add(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        let mut left = seconds.max(0);
        for (start, end) in self.spans_from(from) {
            let length = (end - start).num_seconds();
            if left <= length {
                return Some(start + Duration::seconds(left));
            }
            left -= length;
        }
        None
    }

    /// Open seconds in `[from, to)`; 0 when `to <= from`.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        self.spans_from(from)
            .take_while(|(start, _)| *start < to)
            .map(|(start, end)| (end.min(to) - start).num_seconds())
            .sum()
    }
}

/// The open spans of a calendar from an instant on; see [`BusinessHours::spans_from`].
#[derive(Debug)]
pub struct Spans<'a> {
    hours: &'a BusinessHours,
    next_date: NaiveDate,
    pending: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    floor: DateTime<Utc>,
    closed_days: u64,
}

impl Iterator for Spans<'_> {
    type Item = (DateTime<Utc>, DateTime<Utc>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pending.is_empty() {
                if self.closed_days > self.hours.longest_closure_days() {
                    return None;
                }
                let date = self.next_date;
                self.next_date = date.succ_opt()?;
                self.pending = self.hours.day_spans(date);
                self.pending.reverse();
                self.closed_days = if self.pending.is_empty() {
                    self.closed_days + 1
                } else {
                    0
                };
                continue;
            }
            let (start, end) = self.pending.pop()?;
            // Spans of neighbouring days can touch or, around an ambiguous midnight, overlap.
            let start = start.max(self.floor);
            if end > start {
                self.floor = end;
                return Some((start, end));
            }
        }
    }
}

fn at_minute(date: NaiveDate, minute: u16) -> NaiveDateTime {
    let midnight = date.and_time(NaiveTime::MIN);
    midnight + Duration::minutes(i64::from(minute))
}

/// A local wall-clock time as an instant. An ambiguous time (clocks turned back) is its earlier
/// instant for an opening and its later one for a closing, so the open span covers both; a
/// time that does not exist (clocks turned forward) is the moment the clocks jumped.
fn local_to_utc(tz: Tz, local: NaiveDateTime, closing: bool) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            if closing {
                a.max(b)
            } else {
                a.min(b)
            }
        }
        LocalResult::None => first_instant_at_or_after(tz, local),
    }
}

/// The first instant whose local time is at or after `local`, which falls in a gap.
fn first_instant_at_or_after(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let offset_at = |naive: NaiveDateTime| {
        i64::from(tz.offset_from_utc_datetime(&naive).fix().local_minus_utc())
    };
    let before = offset_at(local - Duration::days(1));
    let after = offset_at(local + Duration::days(1));
    // Local time is earlier than `local` at `lo` and not earlier at `hi`.
    let mut lo = (local - Duration::seconds(after)).and_utc();
    let mut hi = (local - Duration::seconds(before)).and_utc();
    let local_of = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
    if lo >= hi || local_of(lo) >= local || local_of(hi) < local {
        return hi.max(lo);
    }
    while (hi - lo).num_seconds() > 1 {
        let mid = lo + (hi - lo) / 2;
        if local_of(mid) >= local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Open hours for the clocks: a calendar's, or around the clock.
#[derive(Debug, Clone, Copy)]
pub enum Hours<'a> {
    /// Every second counts.
    AroundTheClock,
    /// Only a calendar's open hours count.
    Calendar(&'a BusinessHours),
}

impl Hours<'_> {
    /// See [`BusinessHours::add`]; around the clock, plain addition.
    pub fn add(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        match self {
            Hours::AroundTheClock => from.checked_add_signed(Duration::seconds(seconds.max(0))),
            Hours::Calendar(hours) => hours.add(from, seconds),
        }
    }

    /// See [`BusinessHours::between`]; around the clock, wall seconds.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        match self {
            Hours::AroundTheClock => (to - from).num_seconds().max(0),
            Hours::Calendar(hours) => hours.between(from, to),
        }
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
pub(crate) mod tests;
