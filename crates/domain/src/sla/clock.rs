//! The three clocks of a ticket, computed from its history, its policy and its open hours.
//!
//! * First response: from creation to the first staff CHAT message (on an internal task, by
//!   anyone but its creator). Counts while the ticket is neither RESOLVED nor CLOSED.
//! * Next response: from a donor CHAT message that arrives once the ticket has been answered
//!   and no earlier donor message is still waiting, to the next staff CHAT message; each such
//!   wait is a new cycle. Donor queries only. Counts while neither RESOLVED nor CLOSED.
//! * Resolution: from creation to RESOLVED or CLOSED; a reopen resumes it where it stopped.
//!   Counts while neither RESOLVED nor CLOSED, nor PENDING_REPLY when the policy pauses there.
//!
//! "Counts" means open seconds of the calendar (every second around the clock). A clock is due
//! when its counted time reaches the target, warned when it reaches `target - warnBefore`, and
//! breached if that moment comes before it is met (met exactly at the due instant is met).

use crate::ids::{PolicyId, UserId};
use crate::message::{MessageType, Sender};
use crate::sla::calendar::Hours;
use crate::sla::policy::PolicyRules;
use crate::ticket::{Channel, TicketStatus};
use crate::wire_enum::wire_enum;
use chrono::{DateTime, Utc};

wire_enum!(
    /// Which promise a clock measures.
    ClockKind, "clock" {
        /// Creation to the first answer.
        FirstResponse = "FIRST_RESPONSE",
        /// A donor's follow-up to the next answer.
        NextResponse = "NEXT_RESPONSE",
        /// Creation to resolved.
        Resolution = "RESOLUTION",
    }
);

wire_enum!(
    /// Where a clock stands.
    ClockStatus, "status" {
        /// Counting.
        Running = "RUNNING",
        /// Not counting now (resolved, or waiting on the donor).
        Paused = "PAUSED",
        /// Stopped before its due time.
        Met = "MET",
        /// Its due time passed before it was met.
        Breached = "BREACHED",
    }
);

/// Something that happened to a ticket, as the clocks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    /// Its status became this.
    Status(TicketStatus),
    /// A message was posted.
    Message {
        /// Who wrote it.
        sender: Sender,
        /// What kind of entry it is.
        kind: MessageType,
    },
}

/// A dated [`Happening`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub what: Happening,
}

/// A ticket's history: how it started, then its status changes and messages (entries at the
/// same instant keep their order).
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// Donor query or task.
    pub channel: Channel,
    /// A task's creator (whose own messages are no response).
    pub creator_id: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// The status it was created with.
    pub initial_status: TicketStatus,
    /// What happened since.
    pub entries: Vec<Entry>,
}

/// One clock of one cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// Which clock.
    pub kind: ClockKind,
    /// Which cycle: 0, except for next response, which counts its waits from 0.
    pub cycle: u32,
    /// Where it stands at the moment asked about.
    pub status: ClockStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When the counted time reaches the target, if it counts on (for a met clock, the due
    /// time it was held to); `None` while paused short of it.
    pub due_at: Option<DateTime<Utc>>,
    /// When the counted time reaches `target - warnBefore`; `None` without a warning.
    pub warn_at: Option<DateTime<Utc>>,
    /// When it was met.
    pub met_at: Option<DateTime<Utc>>,
    /// When it breached (its due time, if that came before it was met).
    pub breached_at: Option<DateTime<Utc>>,
    /// Counted seconds so far.
    pub elapsed: i64,
}

/// A ticket's clocks under its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaClocks {
    /// The policy they were computed under.
    pub policy_id: PolicyId,
    /// The first-response clock, if the policy sets its target.
    pub first_response: Option<Clock>,
    /// The latest next-response cycle, if the policy sets the target and one started.
    pub next_response: Option<Clock>,
    /// The resolution clock, if the policy sets its target.
    pub resolution: Option<Clock>,
}

impl SlaClocks {
    /// Every clock that is kept, in the order first response, next response, resolution.
    pub fn iter(&self) -> impl Iterator<Item = &Clock> {
        [&self.first_response, &self.next_response, &self.resolution]
            .into_iter()
            .flatten()
    }
}

/// What a policy's clocks need besides the history: its rules, its open hours, and the moment
/// asked about (not before the history's last entry).
#[derive(Debug, Clone, Copy)]
pub struct Measure<'a> {
    /// The policy's rules.
    pub rules: &'a PolicyRules,
    /// Its calendar's open hours, or around the clock.
    pub hours: Hours<'a>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The clocks of a ticket with this history under policy `policy_id`.
pub fn clocks(history: &History, policy_id: PolicyId, measure: Measure<'_>) -> SlaClocks {
    let timeline = Timeline::of(history);
    let targets = measure.rules.targets;
    let first_response = targets.first_response.map(|target| {
        let met = timeline.answers(history).next();
        measure.clock(
            &timeline,
            ClockKind::FirstResponse,
            0,
            (history.created_at, met),
            target,
        )
    });
    let next_response = targets
        .next_response
        .and_then(|target| next_response_cycles(history, &timeline, target, measure).pop());
    let resolution = targets.resolution.map(|target| {
        measure.clock(
            &timeline,
            ClockKind::Resolution,
            0,
            (history.created_at, timeline.resolved_at()),
            target,
        )
    });
    SlaClocks {
        policy_id,
        first_response,
        next_response,
        resolution,
    }
}

/// Every next-response cycle of a ticket, oldest first (reports use them all); none without a
/// next-response target.
pub fn all_next_responses(history: &History, measure: Measure<'_>) -> Vec<Clock> {
    match measure.rules.targets.next_response {
        Some(target) => next_response_cycles(history, &Timeline::of(history), target, measure),
        None => vec![],
    }
}

fn next_response_cycles(
    history: &History,
    timeline: &Timeline,
    target: i64,
    measure: Measure<'_>,
) -> Vec<Clock> {
    if history.channel != Channel::Donor {
        return vec![];
    }
    let mut waits: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = vec![];
    let mut answered = false;
    for entry in &timeline.entries {
        let Happening::Message { sender, kind } = &entry.what else {
            continue;
        };
        let waiting = waits.last().is_some_and(|(_, met)| met.is_none());
        if timeline.is_answer(history, sender, *kind) {
            if let Some((_, met @ None)) = waits.last_mut() {
                *met = Some(entry.at);
            }
            answered = true;
        } else if *sender == Sender::Donor && *kind == MessageType::Chat && answered && !waiting {
            waits.push((entry.at, None));
        }
    }
    waits
        .into_iter()
        .enumerate()
        .map(|(cycle, wait)| {
            let cycle = u32::try_from(cycle).unwrap_or(u32::MAX);
            measure.clock(timeline, ClockKind::NextResponse, cycle, wait, target)
        })
        .collect()
}

/// A counted stretch of time: from, and until (`None`: still counting).
type Span = (DateTime<Utc>, Option<DateTime<Utc>>);

impl Measure<'_> {
    /// One clock started at `span.0` and met at `span.1`, if it was.
    fn clock(
        &self,
        timeline: &Timeline,
        kind: ClockKind,
        cycle: u32,
        (started_at, met_at): (DateTime<Utc>, Option<DateTime<Utc>>),
        target: i64,
    ) -> Clock {
        let pauses = kind == ClockKind::Resolution && self.rules.pause_while_pending_reply;
        let spans = timeline.counting(started_at, met_at, |status| {
            let waits_on_donor = pauses && status == TicketStatus::PendingReply;
            !matches!(status, TicketStatus::Resolved | TicketStatus::Closed) && !waits_on_donor
        });
        let elapsed = spans
            .iter()
            .filter(|(from, _)| *from < self.now)
            .map(|(from, until)| {
                let until = until.map_or(self.now, |u| u.min(self.now));
                self.hours.between(*from, until)
            })
            .sum();
        // A met clock was held to the due time it had when it stopped counting.
        let mut due_spans = spans.clone();
        if let (Some(last), Some(met)) = (due_spans.last_mut(), met_at) {
            if last.1 == Some(met) {
                last.1 = None;
            }
        }
        let due_at = self.reaches(&due_spans, target);
        let warn_at = (self.rules.warn_before > 0)
            .then(|| self.reaches(&due_spans, target - self.rules.warn_before))
            .flatten();
        let breached_at = due_at.filter(|due| match met_at {
            Some(met) => *due < met,
            None => *due <= self.now,
        });
        let counting = spans.last().is_some_and(|(_, until)| until.is_none());
        let status = match (breached_at, met_at) {
            (Some(_), _) => ClockStatus::Breached,
            (None, Some(_)) => ClockStatus::Met,
            (None, None) if counting => ClockStatus::Running,
            (None, None) => ClockStatus::Paused,
        };
        Clock {
            kind,
            cycle,
            status,
            started_at,
            due_at,
            warn_at,
            met_at,
            breached_at,
            elapsed,
        }
    }

    /// The instant the counted time over `spans` reaches `threshold` seconds, if it does.
    fn reaches(&self, spans: &[Span], threshold: i64) -> Option<DateTime<Utc>> {
        let mut counted = 0;
        for (from, until) in spans {
            let at = self.hours.add(*from, threshold - counted)?;
            match until {
                None => return Some(at),
                Some(until) if at <= *until => return Some(at),
                Some(until) => counted += self.hours.between(*from, *until),
            }
        }
        None
    }
}

/// A history in time order, with its status at every moment.
struct Timeline {
    /// `(since, status)`, first the creation.
    statuses: Vec<(DateTime<Utc>, TicketStatus)>,
    entries: Vec<Entry>,
}

impl Timeline {
    fn of(history: &History) -> Self {
        let mut entries: Vec<Entry> = history
            .entries
            .iter()
            .filter(|e| e.at >= history.created_at)
            .cloned()
            .collect();
        entries.sort_by_key(|e| e.at);
        let mut statuses = vec![(history.created_at, history.initial_status)];
        for entry in &entries {
            if let Happening::Status(status) = entry.what {
                statuses.push((entry.at, status));
            }
        }
        Timeline { statuses, entries }
    }

    /// Whether a message answers the donor or requester: a staff CHAT message, on a task by
    /// anyone but its creator.
    fn is_answer(&self, history: &History, sender: &Sender, kind: MessageType) -> bool {
        match sender {
            Sender::Staff(user) => {
                kind == MessageType::Chat
                    && (history.channel == Channel::Donor || history.creator_id != Some(*user))
            }
            Sender::Donor | Sender::System => false,
        }
    }

    /// The moments of every answer, oldest first.
    fn answers<'a>(&'a self, history: &'a History) -> impl Iterator<Item = DateTime<Utc>> + 'a {
        self.entries
            .iter()
            .filter_map(move |entry| match &entry.what {
                Happening::Message { sender, kind } if self.is_answer(history, sender, *kind) => {
                    Some(entry.at)
                }
                _ => None,
            })
    }

    /// When the ticket last became RESOLVED or CLOSED, if it is one of them at the end.
    fn resolved_at(&self) -> Option<DateTime<Utc>> {
        let mut since = None;
        for (at, status) in &self.statuses {
            let done = matches!(status, TicketStatus::Resolved | TicketStatus::Closed);
            since = match (done, since) {
                (true, None) => Some(*at),
                (true, kept) => kept,
                (false, _) => None,
            };
        }
        since
    }

    /// The stretches of `[from, until)` in which `counts` holds for the status.
    fn counting(
        &self,
        from: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        counts: impl Fn(TicketStatus) -> bool,
    ) -> Vec<Span> {
        let mut spans: Vec<Span> = vec![];
        let ends = self.statuses.iter().skip(1).map(|(at, _)| Some(*at));
        for ((since, status), next) in self.statuses.iter().zip(ends.chain([None])) {
            if !counts(*status) {
                continue;
            }
            let start = (*since).max(from);
            let end = match (next, until) {
                (Some(next), Some(until)) => Some(next.min(until)),
                (next, until) => next.or(until),
            };
            if end.is_some_and(|end| end <= start) {
                continue;
            }
            match spans.last_mut() {
                Some((_, last_end)) if *last_end == Some(start) => *last_end = end,
                _ => spans.push((start, end)),
            }
        }
        spans
    }
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
