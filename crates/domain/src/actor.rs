//! Who is acting, and the permission rules. Every face (HTTP, WebSocket) asks these, so the
//! rules live in one place.

use crate::error::{DomainError, Result};
use crate::ids::{TicketId, UserId};
use crate::ticket::{Channel, Ticket};
use crate::user::Role;

/// The caller of a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A donor holding the donor token of one ticket: it may act on that ticket and list the
    /// queries of its donor session. A donor id is said by the client and proves nothing, so
    /// it alone never opens another query: a session is the query a token was issued for and
    /// every query opened while presenting a token of that session. Only when the calling app
    /// vouched for the donor id (`identity_verified`) does the token list every query of it.
    Donor {
        /// The donor's id in the calling app.
        donor_id: String,
        /// The ticket its token was issued for.
        ticket_id: TicketId,
        /// The donor session of its token (opaque).
        session: String,
        /// Whether the calling app vouched for `donor_id` (an HMAC of it under the shared
        /// identity secret) when the token's session was opened or joined.
        identity_verified: bool,
    },
    /// A logged-in staff user.
    Staff {
        /// The user.
        user_id: UserId,
        /// Its role, as stored now (not as it was when the token was minted).
        role: Role,
    },
    /// The server itself (seeding, background jobs).
    System,
}

impl Actor {
    /// The staff user's id and role, or `Forbidden`.
    pub fn staff(&self) -> Result<(UserId, Role)> {
        match self {
            Actor::Staff { user_id, role } => Ok((*user_id, *role)),
            _ => Err(DomainError::Forbidden("staff only")),
        }
    }

    /// The admin's id, or `Forbidden`.
    pub fn admin(&self) -> Result<UserId> {
        match self.staff()? {
            (id, role) if role.is_admin() => Ok(id),
            _ => Err(DomainError::Forbidden("admins only")),
        }
    }

    /// Whether this is an ADMIN or SUPER_ADMIN.
    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::Staff { role, .. } if role.is_admin())
    }

    /// Whether this is a donor token.
    pub fn is_donor(&self) -> bool {
        matches!(self, Actor::Donor { .. })
    }

    /// The donor session a new query of `donor_id` joins when this actor opens it, and whether
    /// it is vouched for (`vouched`: the app vouched for `donor_id` on this request). A donor
    /// token of the same donor id joins its own session and keeps its vouching; anyone else
    /// starts a new session (`None`).
    pub fn session_for_new_query(&self, donor_id: &str, vouched: bool) -> (Option<String>, bool) {
        match self {
            Actor::Donor {
                donor_id: own,
                session,
                identity_verified,
                ..
            } if own == donor_id => (Some(session.clone()), *identity_verified || vouched),
            _ => (None, vouched),
        }
    }

    /// A ticket as this actor may see it: a donor gets [`Ticket::for_donor`] (no internal
    /// note, no staff ids), everyone else the whole ticket. Every ticket a service hands out
    /// passes through here; the services' own checks and writes use the whole ticket.
    pub fn shown(&self, ticket: Ticket) -> Ticket {
        if self.is_donor() {
            ticket.for_donor()
        } else {
            ticket
        }
    }

    /// Whether this is any staff user.
    pub fn is_staff(&self) -> bool {
        matches!(self, Actor::Staff { .. })
    }

    /// Whether the actor may see the ticket and its conversation. Staff see every ticket; a
    /// donor only the ticket its token names, and only while it is still that donor's.
    pub fn can_read(&self, ticket: &Ticket) -> bool {
        match self {
            Actor::Staff { .. } | Actor::System => true,
            Actor::Donor {
                donor_id,
                ticket_id,
                ..
            } => *ticket_id == ticket.id && ticket.belongs_to_donor(donor_id),
        }
    }

    /// Reads the ticket or answers `NotFound`, so a donor never learns another ticket exists.
    pub fn check_read(&self, ticket: &Ticket) -> Result<()> {
        if self.can_read(ticket) {
            Ok(())
        } else {
            Err(DomainError::NotFound("ticket"))
        }
    }

    /// Whether the actor may manage the ticket (accept, transfer, resolve, edit its fields):
    /// admins for donor queries, any staff for tasks.
    pub fn check_manage(&self, ticket: &Ticket) -> Result<UserId> {
        self.check_read(ticket)?;
        match ticket.channel {
            Channel::Donor => self.admin(),
            Channel::Internal => self.staff().map(|(id, _)| id),
        }
    }

    /// Whether the actor may list the tickets of `donor_id`: staff, or that donor (within
    /// [`donor_session_scope`](Self::donor_session_scope)).
    pub fn can_list_donor(&self, donor_id: &str) -> bool {
        match self {
            Actor::Staff { .. } | Actor::System => true,
            Actor::Donor { donor_id: own, .. } => own == donor_id,
        }
    }

    /// The donor session a ticket list of this actor is confined to: a donor's own session,
    /// unless the app vouched for its donor id; `None` (no confinement) for everyone else.
    pub fn donor_session_scope(&self) -> Option<&str> {
        match self {
            Actor::Donor {
                session,
                identity_verified: false,
                ..
            } => Some(session),
            _ => None,
        }
    }
}

#[cfg(test)]
mod session_tests {
    use super::*;

    fn donor(id: &str, verified: bool) -> Actor {
        Actor::Donor {
            donor_id: id.into(),
            ticket_id: TicketId(1),
            session: "s-1".into(),
            identity_verified: verified,
        }
    }

    #[test]
    fn a_new_query_joins_the_presenting_donors_session_only_for_the_same_donor_id() {
        assert_eq!(
            donor("d-1", false).session_for_new_query("d-1", false),
            (Some("s-1".into()), false)
        );
        assert_eq!(
            donor("d-1", true).session_for_new_query("d-1", false),
            (Some("s-1".into()), true)
        );
        assert_eq!(
            donor("d-1", true).session_for_new_query("d-2", false),
            (None, false)
        );
        assert_eq!(
            Actor::System.session_for_new_query("d-1", true),
            (None, true)
        );
    }
}
