//! What clients send about tickets (a donor's query, a staff task, changes, list filters)
//! and its validation.

use super::{Channel, DonorInfo, NewTicket, Priority, QueryMode, TicketStatus};
use crate::error::{FieldError, Result};
use crate::ids::UserId;
use crate::search::Query;
use crate::validate;
use chrono::{DateTime, Utc};

/// What a donor sends to open a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DonorQueryInput {
    /// Display name.
    pub donor: String,
    /// The donor's id in the calling app.
    pub donor_id: String,
    /// A test query.
    pub test: bool,
    /// The app's stage.
    pub stage: Option<String>,
    /// TEXT (default), AUDIO or VIDEO.
    pub query_mode: Option<QueryMode>,
    /// Device description.
    pub device: Option<String>,
    /// Client session id.
    pub sid: Option<String>,
    /// Push token.
    pub fcm_token: Option<String>,
    /// The first message.
    pub message: Option<String>,
    /// Priority (default MEDIUM).
    pub priority: Option<Priority>,
    /// The donor session to join (the session of the donor token presented when opening it);
    /// `None` starts a new one.
    pub session: Option<String>,
}

/// What staff send to open a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInput {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Priority (default MEDIUM).
    pub priority: Option<Priority>,
    /// Assignee.
    pub assigned_to_id: Option<UserId>,
}

/// Changes to a ticket's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketChanges {
    /// New title.
    pub title: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New status, through the state machine.
    pub status: Option<TicketStatus>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<UserId>>,
    /// New stage (donor queries).
    pub stage: Option<Option<String>>,
}

/// Filters for ticket lists. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFilter {
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only these statuses (any of them).
    pub statuses: Vec<TicketStatus>,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only tickets assigned to this user.
    pub assignee_id: Option<UserId>,
    /// Only this donor's tickets.
    pub donor_id: Option<String>,
    /// Only the queries of this donor session.
    pub donor_session: Option<String>,
    /// Matches this search query (docs/search.md): the ticket, or one of its messages, is a
    /// hit for it. `assignee:me` is resolved by the service before a repository sees it.
    pub search: Option<Query>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
}

/// The longest title.
pub const MAX_TITLE: usize = 200;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 10_000;
/// The longest short free-text donor field (stage, device, sid, donor id).
pub const MAX_SHORT_FIELD: usize = 200;
/// The longest push token.
pub const MAX_PUSH_TOKEN: usize = 4096;

impl DonorQueryInput {
    /// Validates and converts into a new ticket, plus the first message's text if any.
    pub fn into_new_ticket(self, now: DateTime<Utc>) -> Result<(NewTicket, Option<String>)> {
        let mut e = vec![];
        let name = validate::text(&mut e, "donor", &self.donor, 1, 100);
        let donor_id = validate::text(&mut e, "donorId", &self.donor_id, 1, MAX_SHORT_FIELD);
        let stage =
            validate::optional_text(&mut e, "stage", self.stage.as_deref(), MAX_SHORT_FIELD);
        let device =
            validate::optional_text(&mut e, "device", self.device.as_deref(), MAX_SHORT_FIELD);
        let sid = validate::optional_text(&mut e, "sid", self.sid.as_deref(), MAX_SHORT_FIELD);
        let fcm_token = validate::optional_text(
            &mut e,
            "fcmToken",
            self.fcm_token.as_deref(),
            MAX_PUSH_TOKEN,
        );
        let message = validate::optional_text(
            &mut e,
            "message",
            self.message.as_deref(),
            crate::message::MAX_CONTENT,
        );
        let title = format!("Query from {name}");
        let ticket = NewTicket {
            title: truncate_chars(&title, MAX_TITLE),
            description: message.clone(),
            status: TicketStatus::InProgress,
            priority: self.priority.unwrap_or(Priority::Medium),
            donor: Some(DonorInfo {
                name,
                donor_id,
                query_mode: self.query_mode.unwrap_or(QueryMode::Text),
                stage,
                device,
                sid,
                test: self.test,
                fcm_token,
                session: self.session,
            }),
            assignee_id: None,
            creator_id: None,
            created_at: now,
        };
        validate::finish(e, (ticket, message))
    }
}

impl TaskInput {
    /// Validates and converts into a new ticket created by `creator`.
    pub fn into_new_ticket(self, creator: UserId, now: DateTime<Utc>) -> Result<NewTicket> {
        let mut e = vec![];
        let title = validate::text(&mut e, "title", &self.title, 1, MAX_TITLE);
        let description = validate::optional_text(
            &mut e,
            "description",
            self.description.as_deref(),
            MAX_DESCRIPTION,
        );
        let ticket = NewTicket {
            title,
            description,
            status: TicketStatus::Open,
            priority: self.priority.unwrap_or(Priority::Medium),
            donor: None,
            assignee_id: self.assigned_to_id,
            creator_id: Some(creator),
            created_at: now,
        };
        validate::finish(e, ticket)
    }
}

impl TicketFilter {
    /// Checks what a client may put in a filter: text that every backend can hold (no NUL),
    /// times within the domain's range. Fields are named as clients spell them; the search
    /// query was checked when it was parsed ([`Query::parse`]).
    pub fn validated(self) -> Result<Self> {
        let mut e: Vec<FieldError> = vec![];
        if self
            .donor_id
            .as_deref()
            .is_some_and(|d| !validate::storable(d))
        {
            e.push(FieldError::new(
                "donorId",
                "must not contain NUL characters",
            ));
        }
        for (field, time) in [("from", self.created_from), ("to", self.created_to)] {
            if let Some(time) = time {
                validate::time_in_range(&mut e, field, time);
            }
        }
        validate::finish(e, self)
    }
}

impl TicketChanges {
    /// Checks the text fields' lengths, trimming them.
    pub fn validated(mut self) -> Result<Self> {
        let mut e: Vec<FieldError> = vec![];
        if let Some(title) = &self.title {
            self.title = Some(validate::text(&mut e, "title", title, 1, MAX_TITLE));
        }
        if let Some(Some(d)) = &self.description {
            self.description = Some(validate::optional_text(
                &mut e,
                "description",
                Some(d),
                MAX_DESCRIPTION,
            ));
        }
        if let Some(Some(s)) = &self.stage {
            self.stage = Some(validate::optional_text(
                &mut e,
                "stage",
                Some(s),
                MAX_SHORT_FIELD,
            ));
        }
        if self.status == Some(TicketStatus::Transferred) {
            e.push(FieldError::new(
                "status",
                "TRANSFERRED is set by a transfer, which names the target",
            ));
        }
        validate::finish(e, self)
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
