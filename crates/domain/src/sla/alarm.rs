//! What the SLA timer and the ticket lists need from a ticket's clocks: the alarms a clock
//! raises (each once per ticket, clock and cycle) and the three moments stored on the ticket.

use crate::sla::clock::{Clock, ClockKind, SlaClocks};
use crate::wire_enum::wire_enum;
use chrono::{DateTime, Utc};

wire_enum!(
    /// Which alarm: the warning before the due time, or the breach at it.
    AlarmLevel, "level" {
        /// `sla_warning`, at `dueAt` less `warnBefore` of counted time.
        Warning = "sla_warning",
        /// `sla_breached`, at `dueAt`.
        Breach = "sla_breached",
    }
);

/// One alarm of one clock cycle. `(kind, cycle, level)` identifies it within a ticket: the
/// timer sends each at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarm {
    /// Which clock.
    pub kind: ClockKind,
    /// Which cycle of it.
    pub cycle: u32,
    /// Warning or breach.
    pub level: AlarmLevel,
    /// When it is due.
    pub at: DateTime<Utc>,
}

impl Clock {
    /// The alarms this clock raises, as things stand: the warning unless the clock was met by
    /// then, and the breach unless it was met by its due time (met at the due instant is in
    /// time). A clock met late keeps its breach, so a timer that was down still sends it.
    pub fn alarms(&self) -> Vec<Alarm> {
        let raised = |at: DateTime<Utc>, level| {
            let in_time = self.met_at.is_some_and(|met| met <= at);
            (!in_time).then_some(Alarm {
                kind: self.kind,
                cycle: self.cycle,
                level,
                at,
            })
        };
        [
            self.warn_at.and_then(|at| raised(at, AlarmLevel::Warning)),
            self.due_at.and_then(|at| raised(at, AlarmLevel::Breach)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The moments a ticket stores so lists and the timer find it by index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaMarks {
    /// The soonest due time of a clock not yet met (`sort=sla` orders by it, nulls last).
    pub due_at: Option<DateTime<Utc>>,
    /// The soonest warning time of a clock not yet met.
    pub warn_at: Option<DateTime<Utc>>,
    /// The soonest moment a clock breached or will breach if it stays unmet: the ticket is
    /// breached at `now` exactly when this is at or before `now`.
    pub breach_at: Option<DateTime<Utc>>,
}

impl SlaMarks {
    /// Whether the ticket has a breached clock at `now`.
    pub fn breached(&self, now: DateTime<Utc>) -> bool {
        self.breach_at.is_some_and(|at| at <= now)
    }

    /// Whether the ticket is at risk at `now`: a clock's warning time has come, none breached.
    pub fn at_risk(&self, now: DateTime<Utc>) -> bool {
        self.warn_at.is_some_and(|at| at <= now) && !self.breached(now)
    }
}

impl SlaClocks {
    /// The moments to store on the ticket.
    pub fn marks(&self) -> SlaMarks {
        let unmet = || self.iter().filter(|c| c.met_at.is_none());
        let breached_late = self
            .iter()
            .filter(|c| c.met_at.is_some())
            .filter_map(|c| c.breached_at);
        SlaMarks {
            due_at: unmet().filter_map(|c| c.due_at).min(),
            warn_at: unmet().filter_map(|c| c.warn_at).min(),
            breach_at: unmet().filter_map(|c| c.due_at).chain(breached_late).min(),
        }
    }

    /// Every alarm of every clock on the ticket, soonest first.
    pub fn alarms(&self) -> Vec<Alarm> {
        let mut alarms: Vec<Alarm> = self.iter().flat_map(Clock::alarms).collect();
        alarms.sort_by_key(|a| a.at);
        alarms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PolicyId;
    use crate::sla::clock::ClockStatus;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::minutes(minute)
    }

    fn clock(kind: ClockKind, warn: Option<i64>, due: Option<i64>, met: Option<i64>) -> Clock {
        let breached_at = due.filter(|d| met.is_some_and(|m| m > *d)).map(at);
        Clock {
            kind,
            cycle: 0,
            status: ClockStatus::Running,
            started_at: at(0),
            due_at: due.map(at),
            warn_at: warn.map(at),
            met_at: met.map(at),
            breached_at,
            elapsed: 0,
        }
    }

    fn levels(clock: &Clock) -> Vec<(AlarmLevel, DateTime<Utc>)> {
        clock.alarms().iter().map(|a| (a.level, a.at)).collect()
    }

    #[test]
    fn a_clock_met_in_time_raises_nothing_after_it_was_met() {
        let kind = ClockKind::FirstResponse;
        let running = clock(kind, Some(50), Some(60), None);
        assert_eq!(
            levels(&running),
            [(AlarmLevel::Warning, at(50)), (AlarmLevel::Breach, at(60))]
        );
        assert!(clock(kind, Some(50), Some(60), Some(40))
            .alarms()
            .is_empty());
        // Met at the due instant: the warning had come, the breach never does.
        assert_eq!(
            levels(&clock(kind, Some(50), Some(60), Some(60))),
            [(AlarmLevel::Warning, at(50))]
        );
        assert_eq!(
            levels(&clock(kind, Some(50), Some(60), Some(55))),
            [(AlarmLevel::Warning, at(50))]
        );
        // Met late: both stay, so a timer that was down still sends them once.
        assert_eq!(levels(&clock(kind, Some(50), Some(60), Some(70))).len(), 2);
        // No warning configured, or paused short of the target: nothing more.
        assert_eq!(
            levels(&clock(kind, None, Some(60), None)),
            [(AlarmLevel::Breach, at(60))]
        );
        assert!(clock(kind, None, None, None).alarms().is_empty());
    }

    #[test]
    fn the_ticket_stores_the_soonest_unmet_moments_and_any_late_breach() {
        let clocks = SlaClocks {
            policy_id: PolicyId(1),
            first_response: Some(clock(ClockKind::FirstResponse, None, Some(30), Some(45))),
            next_response: None,
            resolution: Some(clock(ClockKind::Resolution, Some(100), Some(120), None)),
        };
        let marks = clocks.marks();
        assert_eq!(
            marks,
            SlaMarks {
                due_at: Some(at(120)),
                warn_at: Some(at(100)),
                breach_at: Some(at(30)),
            }
        );
        assert!(marks.breached(at(31)) && !marks.at_risk(at(110)));
        let on_time = SlaClocks {
            first_response: Some(clock(ClockKind::FirstResponse, None, Some(30), Some(20))),
            ..clocks.clone()
        };
        let marks = on_time.marks();
        assert_eq!(marks.breach_at, Some(at(120)));
        assert!(!marks.at_risk(at(99)) && marks.at_risk(at(100)) && marks.at_risk(at(119)));
        assert!(marks.breached(at(120)) && !marks.at_risk(at(120)));
        let alarms: Vec<_> = clocks.alarms().iter().map(|a| (a.kind, a.at)).collect();
        assert_eq!(
            alarms,
            [
                (ClockKind::FirstResponse, at(30)),
                (ClockKind::Resolution, at(100)),
                (ClockKind::Resolution, at(120))
            ]
        );
    }
}
