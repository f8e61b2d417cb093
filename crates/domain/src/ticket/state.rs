//! The status state machine: every status change goes through a [`Ticket`] method, which
//! refuses an illegal one with a [`TransitionError`] and changes nothing.

use super::{Ticket, TicketChanges, TicketStatus};
use crate::ids::UserId;
use chrono::{DateTime, Utc};
use std::fmt;

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
}
