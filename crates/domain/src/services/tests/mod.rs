//! Unit tests of the services against `mockall` mocks of the ports; no database.
//!
//! A mock method with no expectation panics when called, so every test's mocks also say which
//! ports a use case may touch. Refused operations additionally set `.never()` on every write
//! method (`no_*_writes`) to make "nothing was written" explicit.

use crate::actor::Actor;
use crate::error::{DomainError, Result};
use crate::ids::{MessageId, TicketId, UserId};
use crate::message::{Message, MessageType, Sender};
use crate::page::Page;
use crate::ports::{
    MockAvatarRepository, MockBlobStore, MockClock, MockEventLog, MockMessageRepository,
    MockPasswordHasher, MockTicketRepository, MockUserRepository,
};
use crate::services::{AccountService, ConversationService, Ports, TicketService};
use crate::ticket::{Channel, DonorInfo, Priority, QueryMode, StoredTicket, Ticket, TicketStatus};
use crate::user::{Role, User};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::fmt::Debug;
use std::sync::Arc;

/// Asserts that a result is an error matching the pattern.
macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected Err({}), got {other:?}", stringify!($pattern)),
        }
    };
}

mod accounts;
mod attachments;
mod conversations;
mod notifications;
mod tickets;

pub(super) const DONOR_A: &str = "donor-a";
pub(super) const DONOR_B: &str = "donor-b";
pub(super) const AGENT_ID: UserId = UserId(10);
pub(super) const OTHER_AGENT_ID: UserId = UserId(11);
pub(super) const ADMIN_ID: UserId = UserId(20);
pub(super) const SUPER_ID: UserId = UserId(30);

/// The time the mock clock tells.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
}

/// A time before [`now`], for fixtures' creation times.
pub(super) fn earlier() -> DateTime<Utc> {
    now() - Duration::hours(3)
}

pub(super) fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now());
    Arc::new(clock)
}

// ---- actors ------------------------------------------------------------------------------

pub(super) fn donor(donor_id: &str, ticket: i64) -> Actor {
    Actor::Donor {
        donor_id: donor_id.to_string(),
        ticket_id: TicketId(ticket),
        session: session_of(ticket),
        identity_verified: false,
    }
}

/// The donor session fixtures' tickets each start.
pub(super) fn session_of(ticket: i64) -> String {
    format!("session-{ticket}")
}

pub(super) fn staff(user_id: UserId, role: Role) -> Actor {
    Actor::Staff { user_id, role }
}

pub(super) fn agent() -> Actor {
    staff(AGENT_ID, Role::Agent)
}

pub(super) fn admin() -> Actor {
    staff(ADMIN_ID, Role::Admin)
}

pub(super) fn super_admin() -> Actor {
    staff(SUPER_ID, Role::SuperAdmin)
}

// ---- entities ----------------------------------------------------------------------------

/// A donor query of `donor_id`.
pub(crate) fn donor_ticket(id: i64, donor_id: &str, status: TicketStatus) -> Ticket {
    Ticket::restore(StoredTicket {
        id: TicketId(id),
        channel: Channel::Donor,
        title: format!("Query from {donor_id}"),
        description: None,
        status,
        priority: Priority::Medium,
        donor: Some(DonorInfo {
            name: donor_id.to_string(),
            donor_id: donor_id.to_string(),
            query_mode: QueryMode::Text,
            stage: None,
            device: None,
            sid: None,
            test: false,
            fcm_token: None,
            session: Some(session_of(id)),
        }),
        assignee_id: None,
        creator_id: None,
        resolved_by_id: None,
        resolved_at: None,
        transferred_from_id: None,
        transfer_note: None,
        closed_at: None,
        version: 1,
        created_at: earlier(),
        updated_at: earlier(),
    })
}

/// `ticket` changed by `f` (its public fields).
pub(super) fn with(mut ticket: Ticket, f: impl FnOnce(&mut Ticket)) -> Ticket {
    f(&mut ticket);
    ticket
}

/// A staff task created by the agent.
pub(super) fn task(id: i64, status: TicketStatus) -> Ticket {
    with(donor_ticket(id, "unused", status), |t| {
        t.channel = Channel::Internal;
        t.title = "Call the bank".to_string();
        t.donor = None;
        t.creator_id = Some(AGENT_ID);
    })
}

pub(super) fn user(id: UserId, role: Role) -> User {
    User {
        id,
        username: format!("user{}", id.0),
        email: None,
        name: format!("User {}", id.0),
        role,
        is_active: true,
        token_version: 1,
        fcm_token: None,
        created_at: earlier(),
        updated_at: earlier(),
    }
}

pub(super) fn inactive(user: User) -> User {
    User {
        is_active: false,
        ..user
    }
}

pub(super) fn message(id: i64, ticket: i64, sender: Sender, message_type: MessageType) -> Message {
    Message {
        id: MessageId(id),
        ticket_id: TicketId(ticket),
        sender,
        sender_profile: None,
        message_type,
        content: format!("message {id}"),
        reply_to_id: None,
        attachments: Vec::new(),
        client_message_id: None,
        edited_at: None,
        created_at: earlier(),
        updated_at: earlier(),
    }
}

pub(super) fn empty_page<T>() -> Page<T> {
    Page {
        items: vec![],
        next_cursor: None,
    }
}

// ---- mocks -------------------------------------------------------------------------------

/// A ticket repository whose `get` finds these tickets (any number of times).
pub(super) fn tickets_holding(tickets: Vec<Ticket>) -> MockTicketRepository {
    let mut repo = MockTicketRepository::new();
    repo.expect_get()
        .returning(move |id| Ok(tickets.iter().find(|t| t.id == id).cloned()));
    repo
}

/// A user repository whose `get` finds these users (any number of times).
pub(super) fn users_holding(users: Vec<User>) -> MockUserRepository {
    let mut repo = MockUserRepository::new();
    repo.expect_get()
        .returning(move |id| Ok(users.iter().find(|u| u.id == id).cloned()));
    repo
}

/// A message repository whose `get` finds these messages (any number of times).
pub(super) fn messages_holding(messages: Vec<Message>) -> MockMessageRepository {
    let mut repo = MockMessageRepository::new();
    repo.expect_get()
        .returning(move |id| Ok(messages.iter().find(|m| m.id == id).cloned()));
    repo
}

/// A ticket repository whose `get` finds donor A's ticket 1 (in progress) once for each of
/// the [`WRITE_ATTEMPTS`](crate::services::WRITE_ATTEMPTS) a use case makes.
pub(super) fn read_every_attempt() -> MockTicketRepository {
    let mut repo = MockTicketRepository::new();
    repo.expect_get()
        .times(crate::services::WRITE_ATTEMPTS)
        .returning(|_| Ok(Some(donor_ticket(1, DONOR_A, TicketStatus::InProgress))));
    repo
}

/// Fails the test if any ticket write is attempted.
pub(super) fn no_ticket_writes(repo: &mut MockTicketRepository) {
    repo.expect_create().never();
    repo.expect_update().never();
    repo.expect_delete().never();
}

/// Fails the test if any message write is attempted.
pub(super) fn no_message_writes(repo: &mut MockMessageRepository) {
    repo.expect_post().never();
    repo.expect_edit().never();
    repo.expect_delete().never();
}

/// Fails the test if any user write is attempted.
pub(super) fn no_user_writes(repo: &mut MockUserRepository) {
    repo.expect_create().never();
    repo.expect_update().never();
    repo.expect_set_password().never();
    repo.expect_set_push_token().never();
}

// ---- services ----------------------------------------------------------------------------

/// Ports whose every adapter is a mock without expectations (any call fails the test), on
/// the mock [`clock`], with no optional groups. Tests replace the ports a use case may touch.
pub(crate) fn mock_ports() -> Ports {
    Ports {
        users: Arc::new(MockUserRepository::new()),
        tickets: Arc::new(MockTicketRepository::new()),
        messages: Arc::new(MockMessageRepository::new()),
        events: Arc::new(MockEventLog::new()),
        hasher: Arc::new(MockPasswordHasher::new()),
        avatars: Arc::new(MockAvatarRepository::new()),
        blobs: Arc::new(MockBlobStore::new()),
        clock: clock(),
        calls: None,
        insights: None,
        push: None,
        search: None,
        sla: None,
    }
}

pub(super) fn account_service(
    users: MockUserRepository,
    hasher: MockPasswordHasher,
) -> AccountService {
    AccountService::new(&Ports {
        users: Arc::new(users),
        hasher: Arc::new(hasher),
        ..mock_ports()
    })
}

pub(super) fn ticket_service(
    tickets: MockTicketRepository,
    messages: MockMessageRepository,
    users: MockUserRepository,
) -> TicketService {
    TicketService::new(&Ports {
        tickets: Arc::new(tickets),
        messages: Arc::new(messages),
        users: Arc::new(users),
        ..mock_ports()
    })
}

pub(super) fn conversation_service(
    tickets: MockTicketRepository,
    messages: MockMessageRepository,
) -> ConversationService {
    ConversationService::new(&Ports {
        tickets: Arc::new(tickets),
        messages: Arc::new(messages),
        ..mock_ports()
    })
}

// ---- assertions --------------------------------------------------------------------------

/// The fields of an `Invalid` error, in order; panics on anything else.
pub(super) fn invalid_fields<T: Debug>(result: Result<T>) -> Vec<String> {
    match result {
        Err(DomainError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected Err(Invalid), got {other:?}"),
    }
}

/// The status a refused transition names; panics on anything but a `Transition` error.
pub(super) fn transition_from<T: Debug>(result: Result<T>) -> TicketStatus {
    match result {
        Err(DomainError::Transition(e)) => e.from,
        other => panic!("expected Err(Transition), got {other:?}"),
    }
}
