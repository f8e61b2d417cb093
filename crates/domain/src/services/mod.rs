//! Use cases, one service per area. Each method takes the [`Actor`](crate::Actor) and checks
//! what it may do before it touches a port.

mod accounts;
mod attachments;
mod calls;
pub use calls::{CallService, JoinGrant, SessionView};
mod conversations;
mod insights;
#[cfg(test)]
mod tests_calls;
pub use insights::InsightService;
mod notifications;
mod sessions;
mod tickets;

pub use accounts::{AccountService, NewAccount, Registration};
pub use attachments::{AttachmentService, StoredFile};
pub use conversations::ConversationService;
pub use notifications::{DeliveryReport, Directory, Notification, NotificationService, Settled};
pub use tickets::{StaffSummary, TicketDetail, TicketList, TicketService, TRANSFER_NOTICE};

use crate::ports::{
    AvatarRepository, BlobStore, Clock, EventLog, MessageRepository, PasswordHasher,
    TicketRepository, UserRepository,
};
use std::sync::Arc;

/// The adapters the services run on.
#[derive(Clone)]
pub struct Ports {
    /// Staff accounts.
    pub users: Arc<dyn UserRepository>,
    /// Tickets.
    pub tickets: Arc<dyn TicketRepository>,
    /// Conversations.
    pub messages: Arc<dyn MessageRepository>,
    /// The event log.
    pub events: Arc<dyn EventLog>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Staff avatars.
    pub avatars: Arc<dyn AvatarRepository>,
    /// File bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// Every service, built from one set of ports.
///
/// ```
/// use concierge_domain::memory::MemoryStore;
/// use concierge_domain::ports::{MockPasswordHasher, SystemClock};
/// use concierge_domain::services::{Ports, Services};
/// use std::sync::Arc;
///
/// let store = Arc::new(MemoryStore::new());
/// let services = Services::new(Ports {
///     users: store.clone(),
///     tickets: store.clone(),
///     messages: store.clone(),
///     events: store.clone(),
///     hasher: Arc::new(MockPasswordHasher::new()),
///     avatars: store.clone(),
///     blobs: store,
///     clock: Arc::new(SystemClock),
/// });
/// # let _ = services;
/// ```
#[derive(Clone)]
pub struct Services {
    /// Login, tokens' users, profiles, user administration.
    pub accounts: AccountService,
    /// Donor queries and tasks and their lifecycle.
    pub tickets: TicketService,
    /// Messages.
    pub conversations: ConversationService,
    /// Files in messages, and avatars.
    pub attachments: AttachmentService,
    /// The event log, for readers.
    pub events: Arc<dyn EventLog>,
}

impl Services {
    /// Wires the services to the ports.
    pub fn new(ports: Ports) -> Self {
        let conversations = ConversationService::new(
            ports.tickets.clone(),
            ports.messages.clone(),
            ports.blobs.clone(),
            ports.clock.clone(),
        );
        Self {
            accounts: AccountService::new(
                ports.users.clone(),
                ports.hasher.clone(),
                ports.clock.clone(),
            ),
            tickets: TicketService::new(
                ports.tickets.clone(),
                ports.messages.clone(),
                ports.users.clone(),
                ports.blobs.clone(),
                ports.clock.clone(),
            ),
            attachments: AttachmentService::new(
                conversations.clone(),
                ports.avatars,
                ports.blobs,
                ports.clock,
            ),
            conversations,
            events: ports.events,
        }
    }
}

/// How many times a write that lost a race (`ConcurrentUpdate`) is tried, each time after a
/// fresh read. Each attempt takes a few milliseconds; eight make a lost race visible to a
/// client only under contention no conversation has.
pub const WRITE_ATTEMPTS: usize = 8;

#[cfg(test)]
mod tests;
