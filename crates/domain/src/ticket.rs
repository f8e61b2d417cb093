//! Tickets: donor queries (channel `DONOR`) and staff tasks (channel `INTERNAL`), and the status
//! state machine every change goes through.

use crate::error::{FieldError, Result};
use crate::ids::{TicketId, UserId};
use crate::validate;
use chrono::{DateTime, Utc};
use std::fmt;

/// Defines a string-backed enum with its wire name, parsing and display.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> $crate::Result<Self> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::DomainError::invalid($field, format!("must be one of {}", names.join(", ")))
                })
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// Where a ticket came from.
    Channel, "channel" {
        /// A donor query, opened by an outside requester.
        Donor = "DONOR",
        /// A staff task.
        Internal = "INTERNAL",
    }
);

wire_enum!(
    /// How urgent a ticket is.
    Priority, "priority" {
        /// Whenever.
        Low = "LOW",
        /// The default.
        Medium = "MEDIUM",
        /// Soon.
        High = "HIGH",
        /// Now.
        Urgent = "URGENT",
    }
);

wire_enum!(
    /// Where a ticket is in its life. See [`Ticket`] for the transitions.
    TicketStatus, "status" {
        /// New and unassigned (tasks start here).
        Open = "OPEN",
        /// Being worked on (donor queries start here).
        InProgress = "IN_PROGRESS",
        /// Staff answered; waiting for the donor.
        PendingReply = "PENDING_REPLY",
        /// Handed to another staff member, who should accept it.
        Transferred = "TRANSFERRED",
        /// Solved; a donor message reopens it.
        Resolved = "RESOLVED",
        /// Finished for good: nothing changes any more.
        Closed = "CLOSED",
    }
);

wire_enum!(
    /// How a donor prefers to talk.
    QueryMode, "queryMode" {
        /// Chat.
        Text = "TEXT",
        /// Audio call.
        Audio = "AUDIO",
        /// Video call.
        Video = "VIDEO",
    }
);

impl TicketStatus {
    /// The statuses from which a ticket can still be worked on (accepted, transferred, resolved).
    pub const ACTIVE: [TicketStatus; 4] = [
        TicketStatus::Open,
        TicketStatus::InProgress,
        TicketStatus::PendingReply,
        TicketStatus::Transferred,
    ];

    /// Whether the ticket is still being worked on.
    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }
}

/// What was attempted, for [`TransitionError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Assign to oneself.
    Accept,
    /// Hand to another staff member.
    Transfer,
    /// Mark solved.
    Resolve,
    /// Close for good.
    Close,
    /// A staff member's message.
    StaffMessage,
    /// A donor's message.
    DonorMessage,
    /// Set the status directly (task updates, admin patches).
    SetStatus(TicketStatus),
    /// Change any field, edit or delete a message.
    Edit,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Accept => f.write_str("accept"),
            Action::Transfer => f.write_str("transfer"),
            Action::Resolve => f.write_str("resolve"),
            Action::Close => f.write_str("close"),
            Action::StaffMessage => f.write_str("post a staff message on"),
            Action::DonorMessage => f.write_str("post a donor message on"),
            Action::SetStatus(to) => write!(f, "move to {to}"),
            Action::Edit => f.write_str("change"),
        }
    }
}

/// An illegal status change. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a ticket that is {from}")]
pub struct TransitionError {
    /// What was attempted.
    pub action: Action,
    /// The ticket's status at the time.
    pub from: TicketStatus,
}

/// What a donor query knows about its donor.
#[derive(Debug, Clone, PartialEq)]
pub struct DonorInfo {
    /// The donor's display name.
    pub name: String,
    /// The donor's id in the calling app; a donor token lists only this donor's tickets.
    pub donor_id: String,
    /// Preferred way to talk.
    pub query_mode: QueryMode,
    /// The app's stage (free text from the client).
    pub stage: Option<String>,
    /// The donor's device description.
    pub device: Option<String>,
    /// The client's session id.
    pub sid: Option<String>,
    /// A test query.
    pub test: bool,
    /// The donor's push token. Never shown.
    pub fcm_token: Option<String>,
    /// The donor session the query belongs to (see [`Actor::Donor`](crate::Actor::Donor)):
    /// opaque, never shown. `None` on a new query starts a session of its own; a stored
    /// donor query always has one.
    pub session: Option<String>,
}

/// A ticket. Its status and version change only through its methods, so the state machine
/// holds; the other fields are public. A store rebuilds a stored ticket with
/// [`Ticket::restore`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Its id (also the `queryId` / `taskId`).
    pub id: TicketId,
    /// Donor query or task.
    pub channel: Channel,
    /// A short title.
    pub title: String,
    /// Longer text.
    pub description: Option<String>,
    /// Status (read it with [`Ticket::status`]).
    status: TicketStatus,
    /// Priority.
    pub priority: Priority,
    /// The donor, for donor queries.
    pub donor: Option<DonorInfo>,
    /// Who works on it.
    pub assignee_id: Option<UserId>,
    /// The staff member who created it (tasks).
    pub creator_id: Option<UserId>,
    /// Who resolved it.
    pub resolved_by_id: Option<UserId>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The assignee before the last transfer.
    pub transferred_from_id: Option<UserId>,
    /// The note of the last transfer.
    pub transfer_note: Option<String>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Bumped on every write; used to detect concurrent changes.
    version: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A ticket about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Initial status (IN_PROGRESS for donor queries, OPEN for tasks).
    pub status: TicketStatus,
    /// Priority.
    pub priority: Priority,
    /// The donor, for donor queries.
    pub donor: Option<DonorInfo>,
    /// Initial assignee.
    pub assignee_id: Option<UserId>,
    /// Creator.
    pub creator_id: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl NewTicket {
    /// The channel follows from whether a donor is named.
    pub fn channel(&self) -> Channel {
        if self.donor.is_some() {
            Channel::Donor
        } else {
            Channel::Internal
        }
    }
}

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
    /// Title or description contains this text (case-insensitive).
    pub text: Option<String>,
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

/// The longest search text (`q`).
pub const MAX_SEARCH: usize = 200;

impl TicketFilter {
    /// Checks what a client may put in a filter: text that every backend can hold (no NUL; a
    /// search of at most [`MAX_SEARCH`] characters), times within the domain's range. Fields are
    /// named as clients spell them.
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
        if let Some(text) = &self.text {
            if text.chars().count() > MAX_SEARCH {
                e.push(FieldError::new(
                    "q",
                    format!("must be at most {MAX_SEARCH} characters"),
                ));
            } else if !validate::storable(text) {
                e.push(FieldError::new("q", "must not contain NUL characters"));
            }
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

/// Every field of a stored ticket, for a store to rebuild it with [`Ticket::restore`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTicket {
    /// Its id.
    pub id: TicketId,
    /// Donor query or task.
    pub channel: Channel,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Status as stored.
    pub status: TicketStatus,
    /// Priority.
    pub priority: Priority,
    /// The donor, for donor queries.
    pub donor: Option<DonorInfo>,
    /// Assignee.
    pub assignee_id: Option<UserId>,
    /// Creator.
    pub creator_id: Option<UserId>,
    /// Who resolved it.
    pub resolved_by_id: Option<UserId>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The assignee before the last transfer.
    pub transferred_from_id: Option<UserId>,
    /// The note of the last transfer.
    pub transfer_note: Option<String>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Version as stored.
    pub version: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Ticket {
    /// A ticket as a store read it back. Only stores call this: anything else gets tickets
    /// from a repository and changes them through their methods.
    pub fn restore(stored: StoredTicket) -> Self {
        let StoredTicket {
            id,
            channel,
            title,
            description,
            status,
            priority,
            donor,
            assignee_id,
            creator_id,
            resolved_by_id,
            resolved_at,
            transferred_from_id,
            transfer_note,
            closed_at,
            version,
            created_at,
            updated_at,
        } = stored;
        Ticket {
            id,
            channel,
            title,
            description,
            status,
            priority,
            donor,
            assignee_id,
            creator_id,
            resolved_by_id,
            resolved_at,
            transferred_from_id,
            transfer_note,
            closed_at,
            version,
            created_at,
            updated_at,
        }
    }

    /// Where it stands in the state machine.
    pub fn status(&self) -> TicketStatus {
        self.status
    }

    /// The version it was read at; a store refuses a write of an older one.
    pub fn version(&self) -> i32 {
        self.version
    }
}

impl Ticket {
    fn refuse(&self, action: Action) -> TransitionError {
        TransitionError {
            action,
            from: self.status,
        }
    }

    fn require_active(&self, action: Action) -> Result<(), TransitionError> {
        if self.status.is_active() {
            Ok(())
        } else {
            Err(self.refuse(action))
        }
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
    }

    /// Assigns the ticket to `by` and moves it to IN_PROGRESS.
    pub fn accept(&mut self, by: UserId, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.require_active(Action::Accept)?;
        self.status = TicketStatus::InProgress;
        self.assignee_id = Some(by);
        self.touch(now);
        Ok(())
    }

    /// Hands the ticket to `to` with a note; the target accepts it later.
    pub fn transfer(
        &mut self,
        to: UserId,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.require_active(Action::Transfer)?;
        self.transferred_from_id = self.assignee_id;
        self.assignee_id = Some(to);
        self.transfer_note = note;
        self.status = TicketStatus::Transferred;
        self.touch(now);
        Ok(())
    }

    /// Marks the ticket solved by `by`.
    pub fn resolve(&mut self, by: UserId, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.require_active(Action::Resolve)?;
        self.status = TicketStatus::Resolved;
        self.resolved_by_id = Some(by);
        self.resolved_at = Some(now);
        self.touch(now);
        Ok(())
    }

    /// Closes the ticket for good.
    pub fn close(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        if self.status == TicketStatus::Closed {
            return Err(self.refuse(Action::Close));
        }
        self.status = TicketStatus::Closed;
        self.closed_at = Some(now);
        self.touch(now);
        Ok(())
    }

    /// Applies a staff message: IN_PROGRESS becomes PENDING_REPLY. Returns whether the status
    /// changed.
    pub fn on_staff_message(&mut self, now: DateTime<Utc>) -> Result<bool, TransitionError> {
        match self.status {
            TicketStatus::InProgress => {
                self.status = TicketStatus::PendingReply;
                self.touch(now);
                Ok(true)
            }
            TicketStatus::Open
            | TicketStatus::PendingReply
            | TicketStatus::Transferred
            | TicketStatus::Resolved => Ok(false),
            TicketStatus::Closed => Err(self.refuse(Action::StaffMessage)),
        }
    }

    /// Applies a donor message: PENDING_REPLY and RESOLVED (a reopen) become IN_PROGRESS.
    /// Returns whether the status changed.
    pub fn on_donor_message(&mut self, now: DateTime<Utc>) -> Result<bool, TransitionError> {
        match self.status {
            TicketStatus::PendingReply | TicketStatus::Resolved => {
                self.reopen_to(TicketStatus::InProgress, now);
                Ok(true)
            }
            TicketStatus::InProgress | TicketStatus::Transferred => Ok(false),
            TicketStatus::Open | TicketStatus::Closed => Err(self.refuse(Action::DonorMessage)),
        }
    }

    fn reopen_to(&mut self, status: TicketStatus, now: DateTime<Utc>) {
        if self.status == TicketStatus::Resolved {
            self.resolved_by_id = None;
            self.resolved_at = None;
        }
        self.status = status;
        self.touch(now);
    }

    /// Sets the status directly, as a task update or an admin patch does. RESOLVED and CLOSED go
    /// through [`resolve`](Self::resolve) and [`close`](Self::close); RESOLVED -> OPEN or
    /// IN_PROGRESS is a reopen; setting the current status is a no-op. TRANSFERRED needs a
    /// target and is refused here.
    pub fn set_status(
        &mut self,
        to: TicketStatus,
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        let from = self.status;
        if from == TicketStatus::Closed {
            return Err(self.refuse(Action::SetStatus(to)));
        }
        if from == to {
            return Ok(());
        }
        match to {
            TicketStatus::Resolved => self.resolve(by, now),
            TicketStatus::Closed => self.close(now),
            TicketStatus::Transferred => Err(self.refuse(Action::SetStatus(to))),
            TicketStatus::Open | TicketStatus::InProgress | TicketStatus::PendingReply => {
                let reopen = from == TicketStatus::Resolved && to != TicketStatus::PendingReply;
                if from.is_active() || reopen {
                    self.reopen_to(to, now);
                    Ok(())
                } else {
                    Err(self.refuse(Action::SetStatus(to)))
                }
            }
        }
    }

    /// Applies field changes (and a status change through [`set_status`](Self::set_status)).
    /// A closed ticket takes no change.
    pub fn apply(
        &mut self,
        changes: TicketChanges,
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if self.status == TicketStatus::Closed {
            return Err(self.refuse(Action::Edit));
        }
        if let Some(status) = changes.status {
            self.set_status(status, by, now)?;
        }
        if let Some(title) = changes.title {
            self.title = title;
        }
        if let Some(description) = changes.description {
            self.description = description;
        }
        if let Some(priority) = changes.priority {
            self.priority = priority;
        }
        if let Some(assignee) = changes.assignee_id {
            self.assignee_id = assignee;
        }
        if let (Some(stage), Some(donor)) = (changes.stage, self.donor.as_mut()) {
            donor.stage = stage;
        }
        self.touch(now);
        Ok(())
    }

    /// Whether `donor_id` is this ticket's donor.
    pub fn belongs_to_donor(&self, donor_id: &str) -> bool {
        self.donor.as_ref().is_some_and(|d| d.donor_id == donor_id)
    }

    /// The ticket as its donor may see it: the status stays (a donor sees TRANSFERRED), the
    /// internal transfer note and every staff id go.
    pub fn for_donor(&self) -> Ticket {
        Ticket {
            assignee_id: None,
            creator_id: None,
            resolved_by_id: None,
            transferred_from_id: None,
            transfer_note: None,
            ..self.clone()
        }
    }
}

#[cfg(any(test, feature = "memory"))]
impl Ticket {
    /// The ticket as a store would return it at `version`.
    pub(crate) fn with_version(mut self, version: i32) -> Self {
        self.version = version;
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::DomainError;
    use TicketStatus::*;

    pub(crate) fn ticket(status: TicketStatus) -> Ticket {
        let now = Utc::now();
        Ticket {
            id: TicketId(1),
            channel: Channel::Donor,
            title: "Query from Ann".into(),
            description: None,
            status,
            priority: Priority::Medium,
            donor: Some(DonorInfo {
                name: "Ann".into(),
                donor_id: "d-1".into(),
                query_mode: QueryMode::Text,
                stage: None,
                device: None,
                sid: None,
                test: false,
                fcm_token: None,
                session: Some("s-1".into()),
            }),
            assignee_id: None,
            creator_id: None,
            resolved_by_id: None,
            resolved_at: None,
            transferred_from_id: None,
            transfer_note: None,
            closed_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    const ME: UserId = UserId(7);

    /// Runs `f` on a ticket in every status and returns the status it ends in, or the error.
    fn table(
        f: impl Fn(&mut Ticket) -> Result<(), TransitionError>,
    ) -> Vec<(TicketStatus, Option<TicketStatus>)> {
        TicketStatus::ALL
            .iter()
            .map(|&from| {
                let mut t = ticket(from);
                let before = t.clone();
                match f(&mut t) {
                    Ok(()) => (from, Some(t.status)),
                    Err(err) => {
                        assert_eq!(t, before, "a refused transition changed the ticket");
                        assert_eq!(err.from, from);
                        (from, None)
                    }
                }
            })
            .collect()
    }

    #[test]
    fn accept_from_every_status() {
        let now = Utc::now();
        assert_eq!(
            table(|t| t.accept(ME, now)),
            vec![
                (Open, Some(InProgress)),
                (InProgress, Some(InProgress)),
                (PendingReply, Some(InProgress)),
                (Transferred, Some(InProgress)),
                (Resolved, None),
                (Closed, None),
            ]
        );
        let mut t = ticket(Open);
        t.accept(ME, now).unwrap();
        assert_eq!(t.assignee_id, Some(ME));
    }

    #[test]
    fn transfer_from_every_status() {
        let now = Utc::now();
        assert_eq!(
            table(|t| t.transfer(UserId(9), Some("over to you".into()), now)),
            vec![
                (Open, Some(Transferred)),
                (InProgress, Some(Transferred)),
                (PendingReply, Some(Transferred)),
                (Transferred, Some(Transferred)),
                (Resolved, None),
                (Closed, None),
            ]
        );
        let mut t = ticket(InProgress);
        t.assignee_id = Some(ME);
        t.transfer(UserId(9), Some("note".into()), now).unwrap();
        assert_eq!(
            (
                t.assignee_id,
                t.transferred_from_id,
                t.transfer_note.as_deref()
            ),
            (Some(UserId(9)), Some(ME), Some("note"))
        );
    }

    #[test]
    fn resolve_from_every_status() {
        let now = Utc::now();
        assert_eq!(
            table(|t| t.resolve(ME, now)),
            vec![
                (Open, Some(Resolved)),
                (InProgress, Some(Resolved)),
                (PendingReply, Some(Resolved)),
                (Transferred, Some(Resolved)),
                (Resolved, None),
                (Closed, None),
            ]
        );
    }

    #[test]
    fn close_from_every_status() {
        let now = Utc::now();
        assert_eq!(
            table(|t| t.close(now)),
            vec![
                (Open, Some(Closed)),
                (InProgress, Some(Closed)),
                (PendingReply, Some(Closed)),
                (Transferred, Some(Closed)),
                (Resolved, Some(Closed)),
                (Closed, None),
            ]
        );
    }

    #[test]
    fn staff_message_from_every_status() {
        let now = Utc::now();
        assert_eq!(
            table(|t| t.on_staff_message(now).map(|_| ())),
            vec![
                (Open, Some(Open)),
                (InProgress, Some(PendingReply)),
                (PendingReply, Some(PendingReply)),
                (Transferred, Some(Transferred)),
                (Resolved, Some(Resolved)),
                (Closed, None),
            ]
        );
    }

    #[test]
    fn donor_message_from_every_status_reopens_resolved() {
        let now = Utc::now();
        assert_eq!(
            table(|t| t.on_donor_message(now).map(|_| ())),
            vec![
                (Open, None),
                (InProgress, Some(InProgress)),
                (PendingReply, Some(InProgress)),
                (Transferred, Some(Transferred)),
                (Resolved, Some(InProgress)),
                (Closed, None),
            ]
        );
        let mut t = ticket(InProgress);
        t.resolve(ME, now).unwrap();
        t.on_donor_message(now).unwrap();
        assert_eq!((t.resolved_by_id, t.resolved_at), (None, None));
    }

    #[test]
    fn set_status_for_every_pair() {
        let now = Utc::now();
        for &to in TicketStatus::ALL {
            for (from, result) in table(|t| t.set_status(to, ME, now)) {
                let expected = match (from, to) {
                    (Closed, _) => None,
                    (f, t) if f == t => Some(t),
                    (_, Transferred) => None,
                    (Resolved, Resolved) => Some(Resolved),
                    (_, Closed) => Some(Closed),
                    (Resolved, Open | InProgress) => Some(to),
                    (Resolved, _) => None,
                    (_, _) => Some(to),
                };
                assert_eq!(result, expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn closed_ticket_takes_no_edit() {
        let mut t = ticket(Closed);
        let changes = TicketChanges {
            title: Some("new".into()),
            ..Default::default()
        };
        assert!(t.apply(changes, ME, Utc::now()).is_err());
        assert_eq!(t.title, "Query from Ann");
    }

    #[test]
    fn donor_query_input_is_validated() {
        let input = DonorQueryInput {
            donor: "  ".into(),
            donor_id: "x".repeat(500),
            ..Default::default()
        };
        match input.into_new_ticket(Utc::now()) {
            Err(DomainError::Invalid(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec!["donor", "donorId"]);
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn donor_query_starts_in_progress_and_task_open() {
        let now = Utc::now();
        let (q, first) = DonorQueryInput {
            donor: "Ann".into(),
            donor_id: "d-1".into(),
            message: Some("My receipt is wrong".into()),
            ..Default::default()
        }
        .into_new_ticket(now)
        .unwrap();
        assert_eq!((q.status, q.channel()), (InProgress, Channel::Donor));
        assert_eq!(first.as_deref(), Some("My receipt is wrong"));
        let task = TaskInput {
            title: "Call back".into(),
            description: None,
            priority: Some(Priority::High),
            assigned_to_id: None,
        }
        .into_new_ticket(ME, now)
        .unwrap();
        assert_eq!((task.status, task.channel()), (Open, Channel::Internal));
    }

    #[test]
    fn donor_view_keeps_the_status_and_drops_the_note_and_staff_ids() {
        let now = Utc::now();
        let mut t = ticket(InProgress);
        t.accept(ME, now).unwrap();
        t.transfer(UserId(9), Some("difficult donor, see CRM".into()), now)
            .unwrap();
        let view = t.for_donor();
        assert_eq!(view.status, Transferred);
        assert_eq!(
            (
                view.assignee_id,
                view.creator_id,
                view.resolved_by_id,
                view.transferred_from_id,
                view.transfer_note,
            ),
            (None, None, None, None, None)
        );
        assert_eq!(
            (view.id, &view.title, &view.donor),
            (t.id, &t.title, &t.donor)
        );
    }

    #[test]
    fn unknown_priority_names_the_field() {
        match "SOMEDAY".parse::<Priority>() {
            Err(DomainError::Invalid(e)) => assert_eq!(e[0].field, "priority"),
            other => panic!("{other:?}"),
        }
    }
}
