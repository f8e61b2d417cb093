//! The traits adapters implement. All are async, `Send + Sync` and object-safe, so the server
//! holds them as `Arc<dyn Port>`. With the `mock` feature (or in this crate's tests) each has a
//! `mockall` mock named `Mock<Trait>`.
//!
//! Storage ports write a change and its domain events ([`crate::event::NewEvent`]) in one
//! transaction. An update names the version it read (`Ticket::version`); when another writer
//! got there first the adapter answers [`DomainError::ConcurrentUpdate`](crate::DomainError)
//! and changes nothing.

use crate::error::Result;
use crate::event::StoredEvent;
use crate::ids::{CalendarId, MessageId, PolicyId, TicketId, UserId};
use crate::message::{Message, MessageFilter, NewMessage, Posted};
use crate::page::{Page, PageRequest};
use crate::ticket::{NewTicket, Ticket, TicketFilter};
use crate::user::{NewUser, User, UserChanges};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Staff accounts.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user. A taken username or email is a `Conflict`.
    async fn create(&self, user: NewUser) -> Result<User>;
    /// One user by id.
    async fn get(&self, id: UserId) -> Result<Option<User>>;
    /// The user whose username or email is `login` (lower-case), with its password hash.
    async fn find_for_login(&self, login: &str) -> Result<Option<(User, String)>>;
    /// The password hash of a user.
    async fn password_hash(&self, id: UserId) -> Result<Option<String>>;
    /// Applies changes; a taken email is a `Conflict`, a missing user `NotFound`.
    async fn update(&self, id: UserId, changes: UserChanges, now: DateTime<Utc>) -> Result<User>;
    /// Stores a new password hash and bumps the token version, so older tokens stop working.
    async fn set_password(&self, id: UserId, hash: String, now: DateTime<Utc>) -> Result<User>;
    /// Sets or clears the user's push token.
    async fn set_push_token(&self, id: UserId, token: Option<String>) -> Result<()>;
    /// Users by id, oldest first.
    async fn list(&self, page: PageRequest) -> Result<Page<User>>;
    /// How many users exist.
    async fn count(&self) -> Result<i64>;
}

/// Tickets. Each write also appends `ticket_created` / `ticket_updated` / `ticket_deleted`
/// (and `new_message` for any message written with it).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TicketRepository: Send + Sync {
    /// Stores a ticket and, when given, its first message, in one transaction.
    async fn create(
        &self,
        ticket: NewTicket,
        first_message: Option<NewMessage>,
    ) -> Result<(Ticket, Option<Message>)>;
    /// One ticket.
    async fn get(&self, id: TicketId) -> Result<Option<Ticket>>;
    /// Tickets matching the filter, newest first.
    async fn list(&self, filter: TicketFilter, page: PageRequest) -> Result<Page<Ticket>>;
    /// Saves a changed ticket if its stored version is still `ticket.version`, with an
    /// optional SYSTEM note for the conversation. Returns the saved ticket (new version).
    async fn update(&self, ticket: Ticket, note: Option<NewMessage>) -> Result<Ticket>;
    /// Deletes a ticket with its conversation. `NotFound` when it does not exist. Returns the
    /// storage keys of the files that went with it: their bytes are the caller's to remove.
    async fn delete(&self, id: TicketId) -> Result<Vec<String>>;
}

/// Conversations.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MessageRepository: Send + Sync {
    /// Stores a message, and the ticket too when the message changed its status (saved only if
    /// its version is unchanged). When the ticket already has a message with the same
    /// `client_message_id`, nothing is written and that message comes back as
    /// [`Posted::Existing`] — also when two sends race.
    async fn post(&self, message: NewMessage, ticket: Option<Ticket>) -> Result<Posted>;
    /// One message.
    async fn get(&self, id: MessageId) -> Result<Option<Message>>;
    /// The message a ticket already has under this idempotency key.
    async fn find_by_client_id(
        &self,
        ticket_id: TicketId,
        client_message_id: String,
    ) -> Result<Option<Message>>;
    /// Messages matching the filter, oldest first.
    async fn list(&self, filter: MessageFilter, page: PageRequest) -> Result<Page<Message>>;
    /// A ticket and a page of its messages matching the filter (its `ticket_id` is replaced),
    /// read in one trip to the store; `None` when the ticket does not exist. The page is read
    /// before anyone checked the ticket: the caller checks it before the page goes anywhere.
    async fn list_in_ticket(
        &self,
        ticket_id: TicketId,
        filter: MessageFilter,
        page: PageRequest,
    ) -> Result<Option<(Ticket, Page<Message>)>>;
    /// The direct replies to a message, oldest first (at most `limit`).
    async fn replies(&self, id: MessageId, limit: u32) -> Result<Vec<Message>>;
    /// Messages written by either user on tasks that one of them created and the other is
    /// assigned to, oldest first.
    async fn between(&self, a: UserId, b: UserId, page: PageRequest) -> Result<Page<Message>>;
    /// Replaces a message's text and sets `edited_at`.
    async fn edit(&self, id: MessageId, content: String, now: DateTime<Utc>) -> Result<Message>;
    /// Deletes a message; replies to it keep their text and lose the link. Returns the storage
    /// keys of its files: their bytes are the caller's to remove.
    async fn delete(&self, id: MessageId) -> Result<Vec<String>>;
    /// Like [`post`](Self::post), storing the message's attachment rows (their bytes are
    /// already in the blob store) in the same transaction.
    async fn post_with_files(
        &self,
        message: NewMessage,
        ticket: Option<Ticket>,
        files: Vec<crate::attachment::NewAttachment>,
    ) -> Result<Posted> {
        if files.is_empty() {
            self.post(message, ticket).await
        } else {
            Err(crate::DomainError::Unavailable("attachments".into()))
        }
    }
    /// Adds files to a message (and replaces its text when given), appending
    /// `message_updated`, in one transaction. The message may carry at most `max_files` files
    /// afterwards, counted inside the transaction (`Conflict` otherwise), so two concurrent
    /// additions cannot pass the limit together.
    async fn add_files(
        &self,
        _id: MessageId,
        _content: Option<String>,
        _files: Vec<crate::attachment::NewAttachment>,
        _max_files: usize,
        _now: DateTime<Utc>,
    ) -> Result<Message> {
        Err(crate::DomainError::Unavailable("attachments".into()))
    }
    /// Removes one attachment of a message, appending `message_updated`; returns the message
    /// and the file's storage key (its bytes are the caller's to remove). `NotFound` when the
    /// message has no such attachment.
    async fn remove_file(
        &self,
        _id: MessageId,
        _attachment_id: i64,
        _now: DateTime<Utc>,
    ) -> Result<(Message, String)> {
        Err(crate::DomainError::NotFound("attachment"))
    }
    /// The attachment stored under `key`, with its message's ticket.
    async fn file_by_key(
        &self,
        _key: String,
    ) -> Result<Option<(crate::attachment::Attachment, TicketId)>> {
        Ok(None)
    }
}

/// The event log.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Up to `limit` events after `after`, in log order, optionally for one ticket only. An
    /// event is returned only once every event before it in log order is visible too, so a
    /// reader that continues from the last `seq` it saw never skips one.
    async fn read_after(
        &self,
        after: i64,
        ticket_id: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;
    /// The `seq` of the newest readable event (0 when the log is empty).
    async fn head(&self) -> Result<i64>;
}

/// Password hashing (bcrypt in the server). Implementations hash off the async workers.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password.
    async fn hash(&self, password: String) -> Result<String>;
    /// Checks a password against a hash; a malformed hash is `false`.
    async fn verify(&self, password: String, hash: String) -> Result<bool>;
    /// Spends as long as [`verify`](Self::verify) would, for a login name that has no
    /// account, so timing does not tell unknown accounts from wrong passwords.
    async fn verify_absent(&self, password: String) -> Result<()>;
}

/// Sends push notifications (FCM in `concierge-push`, or a log-only fallback).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PushNotifier: Send + Sync {
    /// Sends one notification to one device. Transport failures are `RetryLater`, never an
    /// error: the caller decides when to try again.
    async fn send(
        &self,
        message: crate::notification::PushMessage,
    ) -> crate::notification::PushOutcome;
    /// `fcm` or `log`, for health reports.
    fn name(&self) -> &'static str;
}

/// Where each follower of the event log stands (push dispatcher, webhook dispatcher, SLA
/// timer, auditor: one row per follower name) and which instance leads it when several run.
///
/// A follower's progress is written only while its writer holds an unexpired lease (checked
/// in the same transaction as the write), so an instance that lost its lease cannot move it.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait FollowerLedger: Send + Sync {
    /// The `seq` of the last event `follower` fully handled; `None` before its first run.
    async fn cursor(&self, follower: String) -> Result<Option<i64>>;
    /// While `holder` leads `follower`: records that every event up to `seq` is handled.
    /// `false`, with nothing written, when `holder` no longer holds an unexpired lease.
    async fn advance(&self, follower: String, holder: String, seq: i64) -> Result<bool>;
    /// Takes or renews `follower`'s lease for `holder` until `until`: taken when no one holds
    /// it, when its holder's lease has run out, or when `holder` has it already; `false` while
    /// another holder's lease runs.
    async fn lease(&self, follower: String, holder: String, until: DateTime<Utc>) -> Result<bool>;
    /// Ends `holder`'s lease of `follower`, if it has it, so another instance takes over at
    /// once.
    async fn release(&self, follower: String, holder: String) -> Result<()>;
}

/// What the push dispatcher remembers beyond its place in the log ([`FollowerLedger`], under
/// the name [`PUSH_FOLLOWER`]): which (event, device) pairs it has sent and the notifications
/// waiting for another attempt.
///
/// The retry queue is written only while the writer leads the push follower (checked in the
/// same transaction as the write). Sent keys are facts and are recorded whoever sends.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PushLedger: Send + Sync {
    /// While `holder` leads the push follower: records that every event up to `seq` is
    /// handled and queues `retries` (a key already queued keeps its row), in one transaction.
    /// `false`, with nothing written, when `holder` no longer holds an unexpired lease.
    async fn save_progress(
        &self,
        holder: String,
        seq: i64,
        retries: Vec<crate::notification::PendingPush>,
    ) -> Result<bool>;
    /// Queued notifications due at `now`, the earliest first, at most `limit`.
    async fn retries_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<crate::notification::PendingPush>>;
    /// When the earliest queued notification is due; `None` when the queue is empty.
    async fn next_retry(&self) -> Result<Option<DateTime<Utc>>>;
    /// While `holder`'s lease runs: sets a queued notification's attempts and next attempt;
    /// `false`, with nothing written, when the lease is lost.
    async fn retry_later(
        &self,
        holder: String,
        key: String,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// While `holder`'s lease runs: drops a queued notification (sent, or given up on);
    /// `false`, with nothing written, when the lease is lost.
    async fn retry_done(&self, holder: String, key: String) -> Result<bool>;
    /// Whether the notification with this key ([`crate::notification::delivery_key`]) was sent.
    async fn was_sent(&self, key: String) -> Result<bool>;
    /// Records that it was sent (or given up on).
    async fn record_sent(&self, key: String) -> Result<()>;
    /// Push tokens of the active admins.
    async fn admin_tokens(&self) -> Result<Vec<String>>;
    /// Forgets a token the push service called invalid, wherever it is stored.
    async fn forget_token(&self, token: String) -> Result<()>;
}

/// The push dispatcher's name in the [`FollowerLedger`].
pub const PUSH_FOLLOWER: &str = "push";

/// Video and audio rooms (VideoSDK in `concierge-video`).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait VideoProvider: Send + Sync {
    /// Creates a room. A provider that is down or refuses is `Unavailable`.
    async fn create_room(&self) -> Result<crate::video::VideoRoom>;
    /// Mints a short-lived token for one participant of a room.
    fn join_token(
        &self,
        room_id: &str,
        participant: &crate::video::Participant,
    ) -> Result<crate::video::JoinToken>;
    /// Ends (deactivates) a room; ending a room that is already gone is not an error.
    async fn end_room(&self, room_id: &str) -> Result<()>;
}

/// Reads conversations: summaries and QA verdicts (`concierge-ai`: OpenAI-compatible or local).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ConversationAnalyzer: Send + Sync {
    /// Summarises a ticket's conversation.
    async fn summarize(
        &self,
        transcript: crate::analysis::Transcript,
    ) -> Result<crate::analysis::SummaryDraft>;
    /// Reviews one message (with the conversation for context).
    async fn review(
        &self,
        message: crate::analysis::TranscriptLine,
        context: crate::analysis::Transcript,
    ) -> Result<crate::analysis::Verdict>;
    /// `openai`, `local`, or a fallback chain such as `openai>local`, for health reports.
    fn name(&self) -> String;
}

/// The time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Ticket summaries: one current summary per ticket.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SummaryRepository: Send + Sync {
    /// Stores the summary as the ticket's current one (replacing any earlier one) and appends
    /// `summary_ready` in the same transaction. `NotFound` when the ticket is gone.
    async fn replace(&self, summary: crate::summary::NewSummary)
        -> Result<crate::summary::Summary>;
    /// The ticket's current summary.
    async fn current(&self, ticket_id: TicketId) -> Result<Option<crate::summary::Summary>>;
}

/// QA reviews of messages. Each write appends `qa_review_updated` in the same transaction.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait QaReviewRepository: Send + Sync {
    /// Stores a PENDING review. `Conflict` when the message already has one, `NotFound` when
    /// the message is gone.
    async fn create(&self, review: crate::qa::NewQaReview) -> Result<crate::qa::QaReview>;
    /// One review.
    async fn get(&self, id: i64) -> Result<Option<crate::qa::QaReview>>;
    /// The review of a message.
    async fn find_by_message(&self, message_id: MessageId) -> Result<Option<crate::qa::QaReview>>;
    /// Records a decision if the review is still PENDING (atomically): `Conflict` when it
    /// was decided already, `NotFound` when it does not exist.
    async fn decide(&self, decision: crate::qa::ReviewDecision) -> Result<crate::qa::QaReview>;
    /// Reviews matching the filter, newest first.
    async fn list(
        &self,
        filter: crate::qa::ReviewFilter,
        page: PageRequest,
    ) -> Result<Page<crate::qa::QaReview>>;
}

/// Call requests and call sessions. Each write also appends its events (`call_requested`,
/// `call_request_updated`, `call_started`, `call_ended`, and `new_message` for the conversation
/// note written with it) in the same transaction. A ticket holds at most one session that is
/// not `ENDED`; a second is refused with a `Conflict` by the storage too.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CallRepository: Send + Sync {
    /// Stores a request with its `CALL_REQUEST` note.
    async fn create_request(
        &self,
        request: crate::call::NewCallRequest,
        note: NewMessage,
    ) -> Result<(crate::call::CallRequest, Message)>;
    /// One request.
    async fn get_request(
        &self,
        id: crate::call::CallRequestId,
    ) -> Result<Option<crate::call::CallRequest>>;
    /// A ticket's requests, newest first.
    async fn list_requests(
        &self,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> Result<Page<crate::call::CallRequest>>;
    /// The ticket's newest `PENDING` request.
    async fn newest_pending_request(
        &self,
        ticket_id: TicketId,
    ) -> Result<Option<crate::call::CallRequest>>;
    /// Saves a rejected or cancelled request, if it is still `PENDING` in storage (else
    /// `ConcurrentUpdate`), with its note.
    async fn decide_request(
        &self,
        request: crate::call::CallRequest,
        note: NewMessage,
    ) -> Result<crate::call::CallRequest>;
    /// Stores a session with its `CALL_STARTED` note and, when given, the request it accepts
    /// (saved only if still `PENDING`, else `ConcurrentUpdate`), in one transaction.
    async fn start_session(
        &self,
        session: crate::call::NewCallSession,
        accepted: Option<crate::call::CallRequest>,
        note: NewMessage,
    ) -> Result<(crate::call::CallSession, Message)>;
    /// One session by its provider room id.
    async fn session_by_room(&self, room_id: String) -> Result<Option<crate::call::CallSession>>;
    /// The ticket's session that has not ended, if any.
    async fn open_session(&self, ticket_id: TicketId) -> Result<Option<crate::call::CallSession>>;
    /// A ticket's sessions, newest first.
    async fn list_sessions(
        &self,
        ticket_id: TicketId,
        page: PageRequest,
    ) -> Result<Page<crate::call::CallSession>>;
    /// Saves a session whose status changed, if its stored status is still `from` (else
    /// `ConcurrentUpdate`), with an optional note (the `CALL_ENDED` one).
    async fn update_session(
        &self,
        session: crate::call::CallSession,
        from: crate::call::CallSessionStatus,
        note: Option<NewMessage>,
    ) -> Result<crate::call::CallSession>;
    /// Deletes an `ENDED` session's record. `NotFound` when it is gone, `ConcurrentUpdate` when
    /// it is not `ENDED`.
    async fn delete_session(&self, id: crate::call::CallSessionId) -> Result<()>;
}

/// File bytes by key (`concierge-store`: the local file system; an object store fits the same
/// shape). Keys are chosen by the adapter (random, ending in the given extension), never derived
/// from a client's file name. Bytes stream in and out; no method holds a whole file in memory.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Streams `body` into a new blob and returns its key. Nothing is visible under the key
    /// until the body's last chunk is stored; when the body yields an error, or the write
    /// fails (or the future is dropped), what was written is removed and an error returned.
    async fn put(
        &self,
        spec: crate::attachment::BlobSpec,
        body: crate::attachment::ByteStream,
    ) -> Result<String>;
    /// Opens the bytes under `key` for streaming; `None` when there are none.
    async fn get(&self, key: String) -> Result<Option<crate::attachment::BlobContent>>;
    /// Removes the bytes under `key`; removing what is not there is not an error.
    async fn delete(&self, key: String) -> Result<()>;
}

/// Staff avatars.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AvatarRepository: Send + Sync {
    /// Sets a user's avatar; returns the replaced avatar's key (its bytes are the caller's to
    /// remove). `NotFound` when the user does not exist.
    async fn set_avatar(
        &self,
        user_id: UserId,
        avatar: crate::attachment::Avatar,
        now: DateTime<Utc>,
    ) -> Result<Option<String>>;
    /// The avatar stored under `key`.
    async fn avatar_by_key(&self, key: String) -> Result<Option<crate::attachment::Avatar>>;
}

/// Webhook endpoints, their cursors in the event log and their delivery logs. The dispatcher's
/// writes (`queue`, `record`) happen only while `holder` leads the follower `webhooks` (its
/// lease in the [`FollowerLedger`]): the store checks the lease in the same transaction and
/// writes nothing (answering `false`) when it is lost.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores an endpoint; its cursor starts at the log's head, so it receives what happens
    /// from now on.
    async fn create(&self, webhook: crate::webhook::NewWebhook) -> Result<crate::webhook::Webhook>;
    /// One endpoint.
    async fn get(&self, id: i64) -> Result<Option<crate::webhook::Webhook>>;
    /// Endpoints, oldest first.
    async fn list(&self, page: PageRequest) -> Result<Page<crate::webhook::Webhook>>;
    /// Every active endpoint.
    async fn active(&self) -> Result<Vec<crate::webhook::Webhook>>;
    /// Applies changes; `NotFound` when it does not exist.
    async fn update(
        &self,
        id: i64,
        changes: crate::webhook::WebhookChanges,
        now: DateTime<Utc>,
    ) -> Result<crate::webhook::Webhook>;
    /// Removes an endpoint with its delivery log; `NotFound` when it does not exist.
    async fn delete(&self, id: i64) -> Result<()>;
    /// Makes `secret` the current one; the old one signs until `old_until`.
    async fn rotate(
        &self,
        id: i64,
        secret: String,
        old_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<crate::webhook::Webhook>;
    /// An endpoint's deliveries, newest first.
    async fn deliveries(
        &self,
        webhook_id: i64,
        page: PageRequest,
    ) -> Result<Page<crate::webhook::Delivery>>;
    /// Puts a delivery back in line to be sent at `now`, tried again for `retry_for`;
    /// `NotFound` unless it belongs to the endpoint.
    async fn retry(
        &self,
        webhook_id: i64,
        delivery_id: i64,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<crate::webhook::Delivery>;
    /// The endpoint's first pending delivery (lowest `seq`).
    async fn next_pending(&self, webhook_id: i64) -> Result<Option<crate::webhook::Delivery>>;
    /// Queues deliveries and moves the endpoint's cursor to `cursor`, while `holder` leads.
    async fn queue(
        &self,
        holder: String,
        webhook_id: i64,
        cursor: i64,
        deliveries: Vec<crate::webhook::NewDelivery>,
    ) -> Result<bool>;
    /// Records an attempt (and the endpoint's failing streak, or its switching off), while
    /// `holder` leads.
    async fn record(&self, holder: String, attempt: crate::webhook::AttemptRecord) -> Result<bool>;
}

/// Sends webhook deliveries over HTTP and says where they may go.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Resolves the URL's host and refuses (with the reason) a URL that may not be sent to:
    /// a scheme or an address the SSRF rules refuse.
    async fn vet(&self, url: String) -> std::result::Result<(), String>;
    /// Sends one request, connecting only to an address that passed the same check.
    async fn send(&self, request: crate::webhook::WebhookRequest) -> crate::webhook::SendResult;
}

/// Failed-login counters in fixed windows, kept where every instance sees them (the store), so
/// a second instance is no second chance. Keys are the caller's (an address, a digest of a
/// login name); a window that started at or before `ended` (now minus its length) is over.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LoginFailureCounter: Send + Sync {
    /// The running windows among `keys`: each one's key, failures and start.
    async fn login_failures(
        &self,
        keys: Vec<String>,
        ended: DateTime<Utc>,
    ) -> Result<Vec<(String, u32, DateTime<Utc>)>>;
    /// Counts one failure on each key: a running window counts one more, and a key without
    /// one starts a window at `now` with one failure.
    async fn add_login_failure(
        &self,
        keys: Vec<String>,
        now: DateTime<Utc>,
        ended: DateTime<Utc>,
    ) -> Result<()>;
    /// Removes the ended windows; returns how many.
    async fn forget_login_failures(&self, ended: DateTime<Utc>) -> Result<usize>;
}

/// SLA policies and business-hours calendars (see [`crate::sla`]). Lists are oldest first.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SlaRepository: Send + Sync {
    /// Policies by id, oldest first.
    async fn list_policies(&self, page: PageRequest) -> Result<Page<crate::sla::Policy>>;
    /// One policy.
    async fn get_policy(&self, id: PolicyId) -> Result<Option<crate::sla::Policy>>;
    /// Stores a policy. `Invalid` naming `calendarId` when its calendar does not exist.
    async fn create_policy(
        &self,
        rules: crate::sla::PolicyRules,
        now: DateTime<Utc>,
    ) -> Result<crate::sla::Policy>;
    /// Replaces a policy's settings, keeping its id and creation time. `NotFound` when it does
    /// not exist, `Invalid` naming `calendarId` when its calendar does not.
    async fn replace_policy(
        &self,
        id: PolicyId,
        rules: crate::sla::PolicyRules,
        now: DateTime<Utc>,
    ) -> Result<crate::sla::Policy>;
    /// Deletes a policy. `NotFound` when it does not exist.
    async fn delete_policy(&self, id: PolicyId) -> Result<()>;
    /// Calendars by id, oldest first.
    async fn list_calendars(&self, page: PageRequest) -> Result<Page<crate::sla::Calendar>>;
    /// One calendar.
    async fn get_calendar(&self, id: CalendarId) -> Result<Option<crate::sla::Calendar>>;
    /// Stores a calendar.
    async fn create_calendar(
        &self,
        calendar: crate::sla::NewCalendar,
        now: DateTime<Utc>,
    ) -> Result<crate::sla::Calendar>;
    /// Replaces a calendar, keeping its id and creation time. `NotFound` when it does not exist.
    async fn replace_calendar(
        &self,
        id: CalendarId,
        calendar: crate::sla::NewCalendar,
        now: DateTime<Utc>,
    ) -> Result<crate::sla::Calendar>;
    /// Deletes a calendar. `NotFound` when it does not exist, `Conflict` while a policy counts
    /// in it (also when that policy is written concurrently).
    async fn delete_calendar(&self, id: CalendarId) -> Result<()>;
}
