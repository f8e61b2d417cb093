use super::*;
use crate::sla::calendar::tests::{berlin_office, utc};
use crate::sla::policy::{select, Policy, PolicyMatch, Targets};
use crate::ticket::Priority;
use chrono::Duration;
use MessageType::{Chat, Reminder, System};
use TicketStatus::{InProgress, PendingReply, Resolved};

const HOUR: i64 = 3600;
const MIN: i64 = 60;

const T0: &str = "2026-06-01T10:00:00Z";

fn t(seconds: i64) -> DateTime<Utc> {
    utc(T0) + Duration::seconds(seconds)
}

fn rules(first: Option<i64>, next: Option<i64>, resolution: Option<i64>) -> PolicyRules {
    PolicyRules {
        name: "test".into(),
        matches: PolicyMatch::default(),
        targets: Targets {
            first_response: first,
            next_response: next,
            resolution,
        },
        calendar_id: None,
        warn_before: 0,
        pause_while_pending_reply: true,
    }
}

struct Ticket(History);

impl Ticket {
    fn donor_query_at(created_at: DateTime<Utc>) -> Self {
        Ticket(History {
            channel: Channel::Donor,
            creator_id: None,
            created_at,
            initial_status: InProgress,
            entries: vec![],
        })
    }

    fn donor_query() -> Self {
        Self::donor_query_at(t(0))
    }

    fn task(creator: i64) -> Self {
        Ticket(History {
            channel: Channel::Internal,
            creator_id: Some(UserId(creator)),
            created_at: t(0),
            initial_status: TicketStatus::Open,
            entries: vec![],
        })
    }

    fn at(&self, at: DateTime<Utc>, what: Happening) -> Self {
        let mut history = self.0.clone();
        history.entries.push(Entry { at, what });
        Ticket(history)
    }

    fn status(&self, at: i64, status: TicketStatus) -> Self {
        self.at(t(at), Happening::Status(status))
    }

    fn staff(&self, at: i64, user: i64, kind: MessageType) -> Self {
        let what = Happening::Message {
            sender: Sender::Staff(UserId(user)),
            kind,
        };
        self.at(t(at), what)
    }

    /// A staff answer on a donor query, which moves IN_PROGRESS to PENDING_REPLY.
    fn answer(&self, at: i64) -> Self {
        self.staff(at, 1, Chat).status(at, PendingReply)
    }

    /// A donor message, which moves PENDING_REPLY or RESOLVED back to IN_PROGRESS.
    fn donor(&self, at: i64) -> Self {
        let what = Happening::Message {
            sender: Sender::Donor,
            kind: Chat,
        };
        self.at(t(at), what).status(at, InProgress)
    }

    fn clocks(&self, rules: &PolicyRules, now: i64) -> SlaClocks {
        self.clocks_in(rules, Hours::AroundTheClock, t(now))
    }

    fn clocks_in(&self, rules: &PolicyRules, hours: Hours<'_>, now: DateTime<Utc>) -> SlaClocks {
        let measure = Measure { rules, hours, now };
        clocks(&self.0, PolicyId(1), measure)
    }
}

fn status_of(clock: &Option<Clock>) -> ClockStatus {
    clock.as_ref().map(|c| c.status).unwrap()
}

#[test]
fn the_first_staff_chat_meets_first_response_and_later_updates_do_not_reset_it() {
    let policy = rules(Some(HOUR), None, None);
    let ticket = Ticket::donor_query()
        .staff(5 * MIN, 1, System)
        .staff(10 * MIN, 1, Reminder)
        .answer(30 * MIN);
    let first = ticket.clocks(&policy, 40 * MIN).first_response.unwrap();
    assert_eq!(first.status, ClockStatus::Met);
    assert_eq!(first.met_at, Some(t(30 * MIN)));
    assert_eq!(first.due_at, Some(t(HOUR)));
    assert_eq!(first.elapsed, 30 * MIN);
    // Status changes, edits of the ticket, more answers and a late resolve change nothing.
    let later = ticket
        .status(50 * MIN, InProgress)
        .staff(2 * HOUR, 2, Chat)
        .donor(3 * HOUR)
        .status(4 * HOUR, Resolved);
    assert_eq!(later.clocks(&policy, 5 * HOUR).first_response, Some(first));
}

#[test]
fn system_reminder_and_call_messages_are_no_response() {
    let policy = rules(Some(HOUR), None, None);
    let ticket = Ticket::donor_query()
        .staff(MIN, 1, System)
        .staff(2 * MIN, 1, Reminder)
        .staff(3 * MIN, 1, MessageType::CallStarted);
    let running = ticket.clocks(&policy, 30 * MIN).first_response.unwrap();
    assert_eq!(
        (running.status, running.due_at, running.elapsed),
        (ClockStatus::Running, Some(t(HOUR)), 30 * MIN)
    );
    // At the due instant it is breached; an answer after that leaves it breached.
    let breached = ticket.clocks(&policy, HOUR).first_response.unwrap();
    assert_eq!(breached.status, ClockStatus::Breached);
    assert_eq!(breached.breached_at, Some(t(HOUR)));
    let late = ticket
        .answer(2 * HOUR)
        .clocks(&policy, 3 * HOUR)
        .first_response
        .unwrap();
    assert_eq!(late.status, ClockStatus::Breached);
    assert_eq!(
        (late.met_at, late.breached_at),
        (Some(t(2 * HOUR)), Some(t(HOUR)))
    );
}

#[test]
fn a_clock_met_at_its_due_instant_is_met() {
    let policy = rules(Some(HOUR), None, None);
    let clock = Ticket::donor_query()
        .answer(HOUR)
        .clocks(&policy, 2 * HOUR)
        .first_response;
    assert_eq!(status_of(&clock), ClockStatus::Met);
    assert_eq!(clock.unwrap().breached_at, None);
}

#[test]
fn a_donor_message_after_an_answer_restarts_next_response() {
    let policy = rules(None, Some(HOUR), None);
    let asked = Ticket::donor_query().donor(MIN);
    // Before any answer the donor's messages are covered by first response.
    assert_eq!(asked.clocks(&policy, 10 * MIN).next_response, None);

    let answered = asked.answer(10 * MIN).donor(20 * MIN);
    let waiting = answered.clocks(&policy, 30 * MIN).next_response.unwrap();
    assert_eq!(
        (
            waiting.cycle,
            waiting.status,
            waiting.started_at,
            waiting.due_at
        ),
        (
            0,
            ClockStatus::Running,
            t(20 * MIN),
            Some(t(20 * MIN + HOUR))
        )
    );
    // A second donor message while the first waits does not move the clock.
    let again = answered.donor(25 * MIN);
    assert_eq!(again.clocks(&policy, 30 * MIN).next_response, Some(waiting));

    let met = again
        .answer(40 * MIN)
        .clocks(&policy, 50 * MIN)
        .next_response
        .unwrap();
    assert_eq!(
        (met.cycle, met.status, met.met_at),
        (0, ClockStatus::Met, Some(t(40 * MIN)))
    );

    // The donor writes again: a new cycle starts from that message.
    let second = again.answer(40 * MIN).donor(3 * HOUR);
    let cycle = second.clocks(&policy, 5 * HOUR).next_response.unwrap();
    assert_eq!(
        (
            cycle.cycle,
            cycle.status,
            cycle.started_at,
            cycle.breached_at
        ),
        (1, ClockStatus::Breached, t(3 * HOUR), Some(t(4 * HOUR)))
    );
    let all = all_next_responses(
        &second.0,
        Measure {
            rules: &policy,
            hours: Hours::AroundTheClock,
            now: t(5 * HOUR),
        },
    );
    assert_eq!(
        all.iter().map(|c| c.status).collect::<Vec<_>>(),
        [ClockStatus::Met, ClockStatus::Breached]
    );
}

#[test]
fn resolution_pauses_while_pending_reply_and_a_reopen_resumes_it() {
    let policy = rules(None, None, Some(4 * HOUR));
    let ticket = Ticket::donor_query().answer(HOUR);
    let paused = ticket.clocks(&policy, 2 * HOUR).resolution.unwrap();
    assert_eq!(
        (paused.status, paused.elapsed, paused.due_at),
        (ClockStatus::Paused, HOUR, None)
    );
    // The donor answers two hours later; one counted hour more and it is resolved.
    let resolved = ticket.donor(3 * HOUR).status(4 * HOUR, Resolved);
    let met = resolved.clocks(&policy, 5 * HOUR).resolution.unwrap();
    assert_eq!(
        (met.status, met.elapsed, met.met_at, met.due_at),
        (
            ClockStatus::Met,
            2 * HOUR,
            Some(t(4 * HOUR)),
            Some(t(6 * HOUR))
        )
    );
    // A donor message reopens it: the clock resumes at two hours counted.
    let reopened = resolved.donor(10 * HOUR);
    let resumed = reopened.clocks(&policy, 11 * HOUR).resolution.unwrap();
    assert_eq!(
        (
            resumed.status,
            resumed.elapsed,
            resumed.met_at,
            resumed.due_at
        ),
        (ClockStatus::Running, 3 * HOUR, None, Some(t(12 * HOUR)))
    );
    let late = reopened
        .status(13 * HOUR, Resolved)
        .clocks(&policy, 14 * HOUR)
        .resolution
        .unwrap();
    assert_eq!(
        (late.status, late.breached_at, late.met_at),
        (
            ClockStatus::Breached,
            Some(t(12 * HOUR)),
            Some(t(13 * HOUR))
        )
    );

    // Without the pause, time waiting on the donor counts.
    let counting = PolicyRules {
        pause_while_pending_reply: false,
        ..policy
    };
    let clock = resolved.clocks(&counting, 5 * HOUR).resolution.unwrap();
    assert_eq!((clock.elapsed, clock.status), (4 * HOUR, ClockStatus::Met));
}

#[test]
fn a_priority_change_midway_re_evaluates_the_policy_from_creation() {
    let policy = |id, priority, resolution| Policy {
        id: PolicyId(id),
        rules: PolicyRules {
            matches: PolicyMatch {
                channel: None,
                priority: Some(priority),
            },
            ..rules(None, None, Some(resolution))
        },
        created_at: t(0),
        updated_at: t(0),
    };
    let policies = [
        policy(1, Priority::Low, 8 * HOUR),
        policy(2, Priority::Urgent, 3 * HOUR),
    ];
    let ticket = Ticket::donor_query().answer(HOUR).donor(2 * HOUR);
    let low = select(&policies, Channel::Donor, Priority::Low).unwrap();
    let before = ticket
        .clocks(&low.rules, 2 * HOUR + 30 * MIN)
        .resolution
        .unwrap();
    assert_eq!(
        (before.due_at, before.elapsed),
        (Some(t(9 * HOUR)), 90 * MIN)
    );
    // Raised to URGENT: the urgent policy's target, counted from creation, pauses kept.
    let urgent = select(&policies, Channel::Donor, Priority::Urgent).unwrap();
    let after = ticket
        .clocks(&urgent.rules, 2 * HOUR + 30 * MIN)
        .resolution
        .unwrap();
    assert_eq!(
        (after.status, after.due_at, after.elapsed),
        (ClockStatus::Running, Some(t(4 * HOUR)), 90 * MIN)
    );
    // Raised once its counted time is past the urgent target: breached at once.
    let past = ticket.clocks(&urgent.rules, 5 * HOUR).resolution.unwrap();
    assert_eq!(
        (past.status, past.breached_at),
        (ClockStatus::Breached, Some(t(4 * HOUR)))
    );
}

#[test]
fn a_task_counts_answers_by_anyone_but_its_creator_and_has_no_next_response() {
    let policy = rules(Some(HOUR), Some(HOUR), Some(10 * HOUR));
    let ticket = Ticket::task(7)
        .staff(10 * MIN, 7, Chat)
        .staff(20 * MIN, 8, Chat);
    let clocks = ticket.clocks(&policy, 30 * MIN);
    let first = clocks.first_response.unwrap();
    assert_eq!(
        (first.status, first.met_at),
        (ClockStatus::Met, Some(t(20 * MIN)))
    );
    assert_eq!(clocks.next_response, None);
    assert_eq!(status_of(&clocks.resolution), ClockStatus::Running);
}

#[test]
fn business_hours_clocks_are_due_inside_open_hours_across_the_spring_change() {
    let office = berlin_office(&[]);
    let policy = PolicyRules {
        warn_before: 30 * MIN,
        ..rules(Some(2 * HOUR), None, Some(40 * HOUR))
    };
    // Friday 27 March 16:00 CET; the clocks change on Sunday.
    let ticket = Ticket::donor_query_at(utc("2026-03-27T15:00:00Z"));
    let saturday = ticket.clocks_in(
        &policy,
        Hours::Calendar(&office),
        utc("2026-03-28T12:00:00Z"),
    );
    let first = saturday.first_response.unwrap();
    assert_eq!(first.status, ClockStatus::Running);
    assert_eq!(first.elapsed, HOUR);
    // Monday 10:00 CEST, warned at 09:30 CEST: never at night or on the weekend.
    assert_eq!(first.due_at, Some(utc("2026-03-30T08:00:00Z")));
    assert_eq!(first.warn_at, Some(utc("2026-03-30T07:30:00Z")));
    // Forty office hours: one on Friday, then Monday to Thursday, then seven on Friday 3 April.
    let resolution = saturday.resolution.unwrap();
    assert_eq!(resolution.due_at, Some(utc("2026-04-03T14:00:00Z")));
}

#[test]
fn a_holiday_adds_no_counted_time() {
    let office = berlin_office(&["2026-12-25"]);
    let policy = rules(Some(2 * HOUR), None, None);
    let ticket = Ticket::donor_query_at(utc("2026-12-24T15:00:00Z"));
    let first = ticket
        .clocks_in(
            &policy,
            Hours::Calendar(&office),
            utc("2026-12-25T12:00:00Z"),
        )
        .first_response
        .unwrap();
    assert_eq!(first.elapsed, HOUR);
    assert_eq!(first.due_at, Some(utc("2026-12-28T09:00:00Z")));
}

#[test]
fn resolved_without_an_answer_pauses_the_response_clock() {
    let policy = rules(Some(HOUR), None, Some(HOUR));
    let clocks = Ticket::donor_query()
        .status(10 * MIN, Resolved)
        .clocks(&policy, 3 * HOUR);
    let first = clocks.first_response.unwrap();
    assert_eq!(
        (first.status, first.elapsed, first.due_at),
        (ClockStatus::Paused, 10 * MIN, None)
    );
    assert_eq!(status_of(&clocks.resolution), ClockStatus::Met);
}

/// The worked example of docs/sla.md, figure for figure.
#[test]
fn the_worked_example_of_the_docs_holds() {
    let office = berlin_office(&[]);
    let policy = PolicyRules {
        warn_before: 30 * MIN,
        ..rules(Some(2 * HOUR), Some(4 * HOUR), Some(16 * HOUR))
    };
    let staff = Happening::Message {
        sender: Sender::Staff(UserId(1)),
        kind: Chat,
    };
    let donor = Happening::Message {
        sender: Sender::Donor,
        kind: Chat,
    };
    let ticket = Ticket::donor_query_at(utc("2026-03-27T15:00:00Z"))
        .at(utc("2026-03-30T07:15:00Z"), staff.clone())
        .at(utc("2026-03-30T07:15:00Z"), Happening::Status(PendingReply))
        .at(utc("2026-03-30T12:00:00Z"), donor.clone())
        .at(utc("2026-03-30T12:00:00Z"), Happening::Status(InProgress))
        .at(utc("2026-03-31T09:00:00Z"), staff.clone())
        .at(utc("2026-03-31T09:00:00Z"), Happening::Status(PendingReply))
        .at(utc("2026-03-31T12:00:00Z"), donor.clone())
        .at(utc("2026-03-31T12:00:00Z"), Happening::Status(InProgress))
        .at(utc("2026-03-31T13:00:00Z"), staff.clone())
        .at(utc("2026-03-31T13:00:00Z"), Happening::Status(PendingReply))
        .at(utc("2026-03-31T13:00:00Z"), Happening::Status(Resolved));
    let now = utc("2026-04-02T12:00:00Z");
    let clocks = ticket.clocks_in(&policy, Hours::Calendar(&office), now);
    let first = clocks.first_response.unwrap();
    assert_eq!(
        (first.status, first.elapsed, first.due_at, first.warn_at),
        (
            ClockStatus::Met,
            75 * MIN,
            Some(utc("2026-03-30T08:00:00Z")),
            Some(utc("2026-03-30T07:30:00Z"))
        )
    );
    let cycles = all_next_responses(
        &ticket.0,
        Measure {
            rules: &policy,
            hours: Hours::Calendar(&office),
            now,
        },
    );
    let summary: Vec<_> = cycles
        .iter()
        .map(|c| (c.cycle, c.status, c.elapsed, c.due_at, c.breached_at))
        .collect();
    assert_eq!(
        summary,
        [
            (
                0,
                ClockStatus::Breached,
                5 * HOUR,
                Some(utc("2026-03-31T08:00:00Z")),
                Some(utc("2026-03-31T08:00:00Z"))
            ),
            (
                1,
                ClockStatus::Met,
                HOUR,
                Some(utc("2026-04-01T08:00:00Z")),
                None
            ),
        ]
    );
    assert_eq!(clocks.next_response.as_ref(), cycles.last());
    let resolution = clocks.resolution.unwrap();
    assert_eq!(
        (
            resolution.status,
            resolution.elapsed,
            resolution.met_at,
            resolution.due_at
        ),
        (
            ClockStatus::Met,
            7 * HOUR + 15 * MIN,
            Some(utc("2026-03-31T13:00:00Z")),
            Some(utc("2026-04-01T13:45:00Z"))
        )
    );
}
