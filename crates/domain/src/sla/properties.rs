//! Properties of the calendar arithmetic and the clocks over random calendars and histories.

use super::calendar::{BusinessHours, CalendarInput, Hours};
use super::clock::{clocks, Entry, Happening, History, Measure};
use super::policy::{PolicyMatch, PolicyRules, Targets};
use crate::ids::{PolicyId, UserId};
use crate::message::{MessageType, Sender};
use crate::ticket::{Channel, TicketStatus};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
    "UTC",
];

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Up to two non-overlapping intervals per weekday, Monday always open, a few 2026 holidays.
fn calendars() -> impl Strategy<Value = BusinessHours> {
    let day = proptest::collection::vec(0u16..=1440, 0..=4);
    (
        0..ZONES.len(),
        proptest::collection::vec(day, 7),
        proptest::collection::vec(0u32..365, 0..6),
    )
        .prop_map(|(zone, days, holidays)| {
            let mut input = CalendarInput {
                name: "random".into(),
                timezone: ZONES[zone].into(),
                holidays: holidays
                    .iter()
                    .map(|d| {
                        let date = chrono::NaiveDate::from_yo_opt(2026, d + 1).unwrap();
                        date.format("%Y-%m-%d").to_string()
                    })
                    .collect(),
                ..CalendarInput::default()
            };
            for (hours, mut minutes) in input.week.iter_mut().zip(days) {
                minutes.sort_unstable();
                minutes.dedup();
                for pair in minutes.chunks_exact(2) {
                    hours.push((hhmm(pair[0]), hhmm(pair[1])));
                }
            }
            if input.week[0].is_empty() {
                input.week[0].push(("09:00".into(), "17:00".into()));
            }
            input.validated().unwrap().hours
        })
}

fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    // Anywhere in 2026 and into 2027, to the second.
    (0i64..420 * 86_400).prop_map(|s| {
        "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(s)
    })
}

fn happenings() -> impl Strategy<Value = Vec<(i64, u8)>> {
    proptest::collection::vec((0i64..3 * 86_400, 0u8..8), 0..12)
}

fn happening(code: u8) -> Happening {
    let message = |sender, kind| Happening::Message { sender, kind };
    match code {
        0 => message(Sender::Staff(UserId(1)), MessageType::Chat),
        1 => message(Sender::Donor, MessageType::Chat),
        2 => message(Sender::Staff(UserId(2)), MessageType::System),
        3 => Happening::Status(TicketStatus::PendingReply),
        4 => Happening::Status(TicketStatus::Resolved),
        5 => Happening::Status(TicketStatus::InProgress),
        6 => Happening::Status(TicketStatus::Closed),
        _ => message(Sender::Staff(UserId(3)), MessageType::Chat),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn added_time_lands_in_open_hours_and_counts_back_exactly(
        hours in calendars(),
        from in instants(),
        seconds in 0i64..200 * 3600,
    ) {
        let due = hours.add(from, seconds).unwrap();
        prop_assert!(due >= from);
        prop_assert!(hours.is_open(due), "{due} is not open");
        prop_assert_eq!(hours.between(from, due), seconds);
        prop_assert!(hours.between(from, due + Duration::hours(30)) <= seconds + 30 * 3600);
    }

    #[test]
    fn open_time_adds_up_over_consecutive_stretches(
        hours in calendars(),
        from in instants(),
        first in 0i64..20 * 86_400,
        second in 0i64..20 * 86_400,
    ) {
        let middle = from + Duration::seconds(first);
        let to = middle + Duration::seconds(second);
        let whole = hours.between(from, to);
        prop_assert_eq!(whole, hours.between(from, middle) + hours.between(middle, to));
        prop_assert!(whole <= (to - from).num_seconds());
    }

    #[test]
    fn clocks_never_count_more_than_wall_time_and_fall_due_in_open_hours(
        hours in calendars(),
        created_at in instants(),
        steps in happenings(),
        wait in 0i64..5 * 86_400,
        warn in 0i64..4 * 3600,
        targets in (1i64..40 * 3600, 1i64..40 * 3600, 1i64..80 * 3600),
        business in any::<bool>(),
        channel in prop_oneof![Just(Channel::Donor), Just(Channel::Internal)],
    ) {
        let mut at = created_at;
        let mut entries = vec![];
        for (gap, code) in steps {
            at += Duration::seconds(gap);
            entries.push(Entry { at, what: happening(code) });
        }
        let history = History {
            channel,
            creator_id: Some(UserId(1)),
            created_at,
            initial_status: TicketStatus::InProgress,
            entries,
        };
        let rules = PolicyRules {
            name: "p".into(),
            matches: PolicyMatch::default(),
            targets: Targets {
                first_response: Some(targets.0),
                next_response: Some(targets.1),
                resolution: Some(targets.2),
            },
            calendar_id: None,
            warn_before: warn,
            pause_while_pending_reply: true,
        };
        let open = if business { Hours::Calendar(&hours) } else { Hours::AroundTheClock };
        let now = at + Duration::seconds(wait);
        let clocks_at = |now| clocks(&history, PolicyId(1), Measure { rules: &rules, hours: open, now });
        let clocks = clocks_at(now);
        // Later, nothing having happened: more or equal counted time, the same due times.
        let later = clocks_at(now + Duration::hours(7));
        for (before, after) in clocks.iter().zip(later.iter()) {
            prop_assert!(after.elapsed >= before.elapsed);
            prop_assert_eq!((before.due_at, before.warn_at), (after.due_at, after.warn_at));
        }
        for clock in clocks.iter() {
            let wall = (now - clock.started_at).num_seconds();
            prop_assert!(clock.elapsed >= 0 && clock.elapsed <= wall, "{clock:?} over {wall}s");
            for due in [clock.due_at, clock.warn_at].into_iter().flatten() {
                prop_assert!(due >= clock.started_at);
                if business {
                    prop_assert!(hours.is_open(due), "{clock:?} due outside open hours");
                }
            }
            if let (Some(warned), Some(due)) = (clock.warn_at, clock.due_at) {
                prop_assert!(warned <= due);
            }
        }
    }
}
