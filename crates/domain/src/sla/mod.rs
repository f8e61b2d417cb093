//! Service levels: policies (which tickets, which targets), business-hours calendars, and the
//! clocks of a ticket as pure functions of its history (see `docs/sla.md`).

pub mod alarm;
pub mod calendar;
pub mod clock;
pub mod policy;
mod service;

pub use alarm::{Alarm, AlarmLevel, SlaMarks};
pub use calendar::{BusinessHours, Calendar, CalendarInput, Hours, NewCalendar, OpenHours};
pub use clock::{
    all_next_responses, clocks, Clock, ClockKind, ClockStatus, Entry, Happening, History, Measure,
    SlaClocks,
};
pub use policy::{select, Policy, PolicyInput, PolicyMatch, PolicyRules, Targets};
pub use service::SlaService;

#[cfg(test)]
mod properties;
