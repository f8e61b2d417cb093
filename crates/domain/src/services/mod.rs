//! Use cases, one service per area. Each method takes the [`Actor`] and checks
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
mod webhooks;

pub use accounts::{AccountService, NewAccount, Registration};
pub use attachments::{AttachmentService, StoredFile};
pub use conversations::ConversationService;
pub use notifications::{DeliveryReport, Directory, Notification, NotificationService, Settled};
pub use tickets::{StaffSummary, TicketDetail, TicketList, TicketService, TRANSFER_NOTICE};
pub use webhooks::{WebhookRules, WebhookService};

use crate::actor::Actor;
use crate::error::{DomainError, Result};
use crate::ids::TicketId;
use crate::ports::{
    AvatarRepository, BlobStore, CallRepository, Clock, ConversationAnalyzer, EventLog,
    MessageRepository, PasswordHasher, PushLedger, PushNotifier, QaReviewRepository,
    SummaryRepository, TicketRepository, UserRepository, VideoProvider,
};
use crate::ticket::Ticket;
use std::sync::Arc;

/// The adapters the services run on: the core every service may use, and optional
/// groups. A service whose group is `None` is not built (its field in [`Services`] is `None`).
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
    /// Calls, for [`CallService`].
    pub calls: Option<CallPorts>,
    /// Summaries and QA reviews, for [`InsightService`].
    pub insights: Option<InsightPorts>,
    /// Push notifications, for [`NotificationService`].
    pub push: Option<PushPorts>,
    /// The search index, for [`SearchService`](crate::search::SearchService).
    pub search: Option<Arc<dyn crate::search::SearchIndex>>,
    /// SLA policies and calendars, for [`SlaService`](crate::sla::SlaService).
    pub sla: Option<Arc<dyn crate::ports::SlaRepository>>,
}

/// The ports of calls.
#[derive(Clone)]
pub struct CallPorts {
    /// Call requests and sessions.
    pub calls: Arc<dyn CallRepository>,
    /// Video rooms (an adapter that answers `Unavailable` when video is not configured).
    pub video: Arc<dyn VideoProvider>,
}

/// The ports of summaries and QA reviews.
#[derive(Clone)]
pub struct InsightPorts {
    /// Ticket summaries.
    pub summaries: Arc<dyn SummaryRepository>,
    /// QA reviews.
    pub reviews: Arc<dyn QaReviewRepository>,
    /// What writes summaries and reviews messages.
    pub analyzer: Arc<dyn ConversationAnalyzer>,
}

/// The ports of push notifications.
#[derive(Clone)]
pub struct PushPorts {
    /// The dispatcher's memory.
    pub ledger: Arc<dyn PushLedger>,
    /// The push service.
    pub notifier: Arc<dyn PushNotifier>,
}

impl Ports {
    /// The ticket, if the actor may read it; `NotFound` otherwise (also when it does not exist).
    pub(crate) async fn readable_ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket> {
        let ticket = self
            .tickets
            .get(id)
            .await?
            .ok_or(DomainError::NotFound("ticket"))?;
        actor.check_read(&ticket)?;
        Ok(ticket)
    }
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
///     // No call, insight or push adapters here: those services are not built.
///     calls: None,
///     insights: None,
///     push: None,
///     search: None,
///     sla: None,
/// });
/// assert!(services.calls.is_none());
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
    /// Call requests and sessions, when [`Ports::calls`] is set.
    pub calls: Option<CallService>,
    /// Summaries and QA reviews, when [`Ports::insights`] is set.
    pub insights: Option<InsightService>,
    /// Push notifications from the event log, when [`Ports::push`] is set.
    pub notifications: Option<NotificationService>,
    /// Search over tickets and messages, when [`Ports::search`] is set.
    pub search: Option<crate::search::SearchService>,
    /// SLA policies and calendars, when [`Ports::sla`] is set.
    pub sla: Option<crate::sla::SlaService>,
    /// The event log, for readers.
    pub events: Arc<dyn EventLog>,
}

impl Services {
    /// Builds every service whose ports are there.
    pub fn new(ports: Ports) -> Self {
        Self {
            accounts: AccountService::new(&ports),
            tickets: TicketService::new(&ports),
            conversations: ConversationService::new(&ports),
            attachments: AttachmentService::new(&ports),
            calls: CallService::new(&ports),
            insights: InsightService::new(&ports),
            notifications: ports.push.as_ref().map(|push| {
                NotificationService::new(
                    ports.tickets.clone(),
                    ports.users.clone(),
                    push.ledger.clone(),
                    push.notifier.clone(),
                )
            }),
            sla: crate::sla::SlaService::new(&ports),
            search: ports.search.map(crate::search::SearchService::new),
            events: ports.events,
        }
    }
}

/// How many times a write that lost a race (`ConcurrentUpdate`) is tried, each time after a
/// fresh read. Each attempt takes a few milliseconds; eight make a lost race visible to a
/// client only under contention no conversation has.
pub const WRITE_ATTEMPTS: usize = 8;

#[cfg(test)]
pub(crate) mod tests;
