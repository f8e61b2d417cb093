//! Tickets: donor queries (channel `DONOR`) and staff tasks (channel `INTERNAL`).
//!
//! The entity and its stored form live here; the status state machine in `state`, what
//! clients send (inputs, changes, filters) and its validation in `input`.

use crate::ids::{TicketId, UserId};
use crate::wire_enum::wire_enum;
use chrono::{DateTime, Utc};

mod input;
mod state;
#[cfg(test)]
mod tests;

pub use input::{
    DonorQueryInput, TaskInput, TicketChanges, TicketFilter, MAX_DESCRIPTION, MAX_PUSH_TOKEN,
    MAX_SHORT_FIELD, MAX_TITLE,
};
pub use state::{Action, TransitionError};

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
