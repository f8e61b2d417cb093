use super::*;
use crate::DomainError;

const HOUR: i64 = 3600;

pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A calendar from `(weekday 0 = Monday, open, close)` triples.
pub(crate) fn calendar(
    tz: &str,
    hours: &[(usize, &str, &str)],
    holidays: &[&str],
) -> BusinessHours {
    let mut input = CalendarInput {
        name: "test".into(),
        timezone: tz.into(),
        holidays: holidays.iter().map(|d| d.to_string()).collect(),
        ..CalendarInput::default()
    };
    for (day, open, close) in hours {
        input.week[*day].push((open.to_string(), close.to_string()));
    }
    input.validated().unwrap().hours
}

/// Monday to Friday, 09:00 to 17:00, Berlin time.
pub(crate) fn berlin_office(holidays: &[&str]) -> BusinessHours {
    let week: Vec<_> = (0..5).map(|d| (d, "09:00", "17:00")).collect();
    calendar("Europe/Berlin", &week, holidays)
}

fn every_day(tz: &str, open: &'static str, close: &'static str) -> BusinessHours {
    let week: Vec<_> = (0..7).map(|d| (d, open, close)).collect();
    calendar(tz, &week, &[])
}

#[test]
fn a_working_week_across_the_spring_change_has_forty_hours() {
    let office = berlin_office(&[]);
    // Monday 23 March 09:00 CET to Monday 30 March 09:00 CEST: 167 wall hours.
    let (monday, next_monday) = (utc("2026-03-23T08:00:00Z"), utc("2026-03-30T07:00:00Z"));
    assert_eq!((next_monday - monday).num_hours(), 167);
    assert_eq!(office.between(monday, next_monday), 40 * HOUR);
    // Forty hours run out exactly at Friday's closing; one second more is Monday 09:00:01 CEST.
    assert_eq!(
        office.add(monday, 40 * HOUR),
        Some(utc("2026-03-27T16:00:00Z"))
    );
    assert_eq!(
        office.add(monday, 40 * HOUR + 1),
        Some(utc("2026-03-30T07:00:01Z"))
    );
    // Friday 16:00 CET plus two hours: one on Friday, one on Monday from 09:00 CEST.
    assert_eq!(
        office.add(utc("2026-03-27T15:00:00Z"), 2 * HOUR),
        Some(utc("2026-03-30T08:00:00Z"))
    );
}

#[test]
fn a_working_week_across_the_autumn_change_has_forty_hours() {
    let office = berlin_office(&[]);
    let (monday, next_monday) = (utc("2026-10-19T07:00:00Z"), utc("2026-10-26T08:00:00Z"));
    assert_eq!((next_monday - monday).num_hours(), 169);
    assert_eq!(office.between(monday, next_monday), 40 * HOUR);
    assert_eq!(
        office.add(utc("2026-10-23T14:00:00Z"), 2 * HOUR),
        Some(utc("2026-10-26T09:00:00Z"))
    );
}

#[test]
fn whole_days_follow_the_local_clock_on_change_days() {
    let always = every_day("Europe/Berlin", "00:00", "24:00");
    // The spring Sunday has 23 hours, the autumn Sunday 25.
    let spring = always.between(utc("2026-03-27T23:00:00Z"), utc("2026-03-29T22:00:00Z"));
    let autumn = always.between(utc("2026-10-23T22:00:00Z"), utc("2026-10-25T23:00:00Z"));
    assert_eq!((spring, autumn), (47 * HOUR, 49 * HOUR));
    // Midnight to midnight days touch: an instant just after a local midnight is open.
    assert!(always.is_open(utc("2026-03-29T22:00:00Z")));
}

#[test]
fn hours_in_a_skipped_or_repeated_hour_follow_the_wall_clock() {
    // 02:00-03:00 does not exist on the spring Sunday and happens twice on the autumn one.
    let night = calendar("Europe/Berlin", &[(6, "02:00", "03:00")], &[]);
    assert_eq!(
        night.between(utc("2026-03-28T22:00:00Z"), utc("2026-03-29T22:00:00Z")),
        0
    );
    assert_eq!(
        night.between(utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z")),
        2 * HOUR
    );
    // Opening at 02:30 on the spring Sunday opens when the clocks jump to 03:00 CEST.
    let late = calendar("Europe/Berlin", &[(6, "02:30", "04:00")], &[]);
    assert_eq!(
        late.add(utc("2026-03-29T00:00:00Z"), 0),
        Some(utc("2026-03-29T01:00:00Z"))
    );
    assert_eq!(
        late.between(utc("2026-03-29T00:00:00Z"), utc("2026-03-29T03:00:00Z")),
        HOUR
    );
}

#[test]
fn a_holiday_is_closed_all_day() {
    let office = berlin_office(&["2026-12-25"]);
    // Thursday 24 December 16:00 CET plus two hours: Friday is a holiday, so Monday 10:00.
    assert_eq!(
        office.add(utc("2026-12-24T15:00:00Z"), 2 * HOUR),
        Some(utc("2026-12-28T09:00:00Z"))
    );
    assert_eq!(
        office.between(utc("2026-12-24T08:00:00Z"), utc("2026-12-28T08:00:00Z")),
        8 * HOUR
    );
    assert!(!office.is_open(utc("2026-12-25T10:00:00Z")));
}

#[test]
fn nothing_is_due_outside_open_hours() {
    let office = berlin_office(&[]);
    // Saturday noon: the next open instant is Monday 09:00.
    assert_eq!(
        office.add(utc("2026-06-13T10:00:00Z"), 0),
        Some(utc("2026-06-15T07:00:00Z"))
    );
    assert_eq!(
        office.add(utc("2026-06-13T10:00:00Z"), 60),
        Some(utc("2026-06-15T07:01:00Z"))
    );
    // A target running out at closing is due at closing, not the next morning.
    assert_eq!(
        office.add(utc("2026-06-12T14:59:00Z"), 60),
        Some(utc("2026-06-12T15:00:00Z"))
    );
    assert!(office.is_open(utc("2026-06-12T15:00:00Z")));
    assert!(!office.is_open(utc("2026-06-12T15:00:01Z")));
    assert!(!office.is_open(utc("2026-06-15T06:59:59Z")));
}

#[test]
fn split_days_and_other_timezones_count_each_interval() {
    let split = calendar(
        "America/New_York",
        &[(0, "08:00", "12:00"), (0, "13:00", "17:30")],
        &[],
    );
    // Monday 9 March 2026 (EDT since the day before): 08:00 EDT is 12:00Z.
    assert_eq!(
        split.between(utc("2026-03-09T00:00:00Z"), utc("2026-03-10T00:00:00Z")),
        8 * HOUR + 1800
    );
    assert_eq!(
        split.add(utc("2026-03-09T12:00:00Z"), 5 * HOUR),
        Some(utc("2026-03-09T18:00:00Z"))
    );
    let always = Hours::AroundTheClock;
    assert_eq!(
        always.between(utc("2026-03-09T00:00:00Z"), utc("2026-03-09T01:00:00Z")),
        HOUR
    );
    assert_eq!(
        always.add(utc("2026-03-09T00:00:00Z"), HOUR),
        Some(utc("2026-03-09T01:00:00Z"))
    );
}

#[test]
fn a_calendar_round_trips_its_hours_as_written() {
    let hours = calendar(
        "Europe/Berlin",
        &[(0, "09:00", "12:00"), (0, "12:00", "24:00")],
        &["2026-01-01"],
    );
    assert_eq!(hours.timezone().name(), "Europe/Berlin");
    let monday: Vec<_> = hours.week()[0]
        .iter()
        .map(|h| (h.start(), h.end()))
        .collect();
    assert_eq!(
        monday,
        [
            ("09:00".into(), "12:00".into()),
            ("12:00".into(), "24:00".into())
        ]
    );
    assert_eq!(hours.holidays().len(), 1);
}

#[test]
fn bad_calendars_name_every_bad_field() {
    let mut input = CalendarInput {
        name: "hq".into(),
        timezone: "Mars/Olympus".into(),
        holidays: vec!["2026-02-30".into(), "2026-1-5".into(), "2026-12-24".into()],
        ..CalendarInput::default()
    };
    input.week[0] = vec![("9:00".into(), "17:00".into())];
    input.week[1] = vec![("24:00".into(), "24:00".into())];
    input.week[2] = vec![("12:60".into(), "13:00".into())];
    input.week[3] = vec![("17:00".into(), "09:00".into())];
    input.week[4] = vec![
        ("09:00".into(), "13:00".into()),
        ("12:00".into(), "17:00".into()),
    ];
    let Err(DomainError::Invalid(errors)) = input.validated() else {
        panic!("expected a validation error");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "timezone",
            "week.mon[0]",
            "week.tue[0]",
            "week.wed[0]",
            "week.thu[0]",
            "week.fri",
            "holidays[0]",
            "holidays[1]"
        ]
    );
    let empty = CalendarInput {
        name: "closed".into(),
        timezone: "UTC".into(),
        ..CalendarInput::default()
    };
    assert!(matches!(empty.validated(), Err(DomainError::Invalid(e)) if e[0].field == "week"));
}
