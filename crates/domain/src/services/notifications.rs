//! Push notifications from the event log: one pass over one event.

use crate::error::Result;
use crate::event::StoredEvent;
use crate::notification::{self, PushMessage, PushOutcome, Recipient};
use crate::ports::{PushLedger, PushNotifier, TicketRepository, UserRepository};
use crate::ticket::Ticket;
use crate::{TicketId, UserId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// What one pass over an event came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Notifications the push service took.
    pub delivered: usize,
    /// Devices skipped because this event was already sent to them.
    pub already_sent: usize,
    /// Tokens the push service refused as invalid (now forgotten).
    pub invalid_tokens: usize,
    /// Notifications given up on, with the service's reasons.
    pub rejected: Vec<String>,
    /// Devices to try again; the wait the push service asked for, if any.
    pub retry: Option<Option<Duration>>,
}

impl DeliveryReport {
    /// Whether every device of the event is done (sent, invalid or given up on).
    pub fn is_done(&self) -> bool {
        self.retry.is_none()
    }
}

/// One notification of an event: what to send to one device, and its delivery key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// [`notification::delivery_key`] of the event and the device.
    pub key: String,
    /// The event's `seq`.
    pub seq: i64,
    /// The message.
    pub message: PushMessage,
}

/// What one attempt came to, once recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The push service took it; recorded as sent.
    Delivered,
    /// The token is invalid: forgotten, and the notification recorded as done.
    InvalidToken,
    /// Refused for good (recorded as done), with the service's reason.
    Rejected(String),
    /// Not sent, nothing recorded: try again, not before the wait the service asked for.
    RetryLater(Option<Duration>),
}

/// The devices' owners as a batch of events found them: each ticket, each user's token and
/// the admins' tokens are read once per batch rather than once per event. Start a new one for
/// each batch, so a token changed since is picked up by the next batch.
#[derive(Debug, Default)]
pub struct Directory {
    tickets: HashMap<TicketId, Option<Ticket>>,
    users: HashMap<UserId, Option<String>>,
    admins: Option<Vec<String>>,
}

impl Directory {
    /// Drops a token the push service refused, so later events of the batch skip it.
    fn forget(&mut self, token: &str) {
        for ticket in self.tickets.values_mut().flatten() {
            if let Some(donor) = ticket.donor.as_mut() {
                if donor.fcm_token.as_deref() == Some(token) {
                    donor.fcm_token = None;
                }
            }
        }
        for user in self.users.values_mut() {
            if user.as_deref() == Some(token) {
                *user = None;
            }
        }
        if let Some(admins) = self.admins.as_mut() {
            admins.retain(|t| t != token);
        }
    }
}

/// Turns events into push notifications.
#[derive(Clone)]
pub struct NotificationService {
    tickets: Arc<dyn TicketRepository>,
    users: Arc<dyn UserRepository>,
    ledger: Arc<dyn PushLedger>,
    notifier: Arc<dyn PushNotifier>,
}

impl NotificationService {
    /// Builds the service.
    pub fn new(
        tickets: Arc<dyn TicketRepository>,
        users: Arc<dyn UserRepository>,
        ledger: Arc<dyn PushLedger>,
        notifier: Arc<dyn PushNotifier>,
    ) -> Self {
        Self {
            tickets,
            users,
            ledger,
            notifier,
        }
    }

    /// The push service in use (`fcm` or `log`).
    pub fn notifier_name(&self) -> &'static str {
        self.notifier.name()
    }

    /// Sends the event's notifications to every device not yet sent to. A device is recorded
    /// as sent right after the push service took it, so calling this again for the same event
    /// (a retry, or after a restart) sends only what is missing; a crash between the send and
    /// the record sends that one notification once more, never more.
    pub async fn deliver(&self, event: &StoredEvent) -> Result<DeliveryReport> {
        self.deliver_in(event, &mut Directory::default()).await
    }

    /// [`deliver`](Self::deliver), finding the recipients' devices through `directory`, which
    /// the events of one batch share.
    pub async fn deliver_in(
        &self,
        event: &StoredEvent,
        directory: &mut Directory,
    ) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        for notification in self.notifications(event, directory).await? {
            if self.was_sent(&notification).await? {
                report.already_sent += 1;
                continue;
            }
            let outcome = self.send(&notification).await;
            match self.settle(&notification, outcome, directory).await? {
                Settled::Delivered => report.delivered += 1,
                Settled::InvalidToken => report.invalid_tokens += 1,
                Settled::Rejected(reason) => report.rejected.push(reason),
                Settled::RetryLater(after) => {
                    let longest = match (report.retry.flatten(), after) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    report.retry = Some(longest);
                }
            }
        }
        Ok(report)
    }

    /// The event's notifications, one per device of its recipients (none for events nobody
    /// is told about), the devices found through `directory`.
    pub async fn notifications(
        &self,
        event: &StoredEvent,
        directory: &mut Directory,
    ) -> Result<Vec<Notification>> {
        let Some(plan) = notification::plan(event) else {
            return Ok(vec![]);
        };
        let tokens = self.tokens(event, &plan.recipients, directory).await?;
        let mut data = BTreeMap::new();
        data.insert("event".to_string(), event.kind.as_str().to_string());
        data.insert("seq".to_string(), event.seq.to_string());
        if let Some(ticket) = event.ticket_id {
            data.insert("ticketId".to_string(), ticket.to_string());
        }
        if let Some(id) = event.data.get("id").and_then(|v| v.as_i64()) {
            data.insert("objectId".to_string(), id.to_string());
        }
        Ok(tokens
            .into_iter()
            .map(|token| Notification {
                key: notification::delivery_key(event.seq, &token),
                seq: event.seq,
                message: PushMessage {
                    token,
                    title: plan.title.clone(),
                    body: plan.body.clone(),
                    data: data.clone(),
                },
            })
            .collect())
    }

    /// Whether this notification was sent (or given up on) already.
    pub async fn was_sent(&self, notification: &Notification) -> Result<bool> {
        self.ledger.was_sent(notification.key.clone()).await
    }

    /// Hands the notification to the push service, recording nothing: [`settle`](Self::settle)
    /// records the outcome. The two are apart so a caller can bound the send in time.
    pub async fn send(&self, notification: &Notification) -> PushOutcome {
        self.notifier.send(notification.message.clone()).await
    }

    /// Records what a [`send`](Self::send) came to: a notification the service took, refused
    /// for good, or whose token it called invalid is recorded as sent (the token forgotten,
    /// here and in `directory`); a temporary failure records nothing.
    pub async fn settle(
        &self,
        notification: &Notification,
        outcome: PushOutcome,
        directory: &mut Directory,
    ) -> Result<Settled> {
        let key = notification.key.clone();
        Ok(match outcome {
            PushOutcome::Delivered => {
                self.ledger.record_sent(key).await?;
                Settled::Delivered
            }
            PushOutcome::InvalidToken => {
                let token = notification.message.token.clone();
                directory.forget(&token);
                self.ledger.forget_token(token).await?;
                self.ledger.record_sent(key).await?;
                Settled::InvalidToken
            }
            PushOutcome::Rejected { reason } => {
                self.ledger.record_sent(key).await?;
                Settled::Rejected(reason)
            }
            PushOutcome::RetryLater { after } => Settled::RetryLater(after),
        })
    }

    async fn tokens(
        &self,
        event: &StoredEvent,
        recipients: &[Recipient],
        directory: &mut Directory,
    ) -> Result<Vec<String>> {
        let ticket = match event.ticket_id {
            Some(id) => self.ticket(id, directory).await?,
            None => None,
        };
        let mut tokens = vec![];
        for recipient in recipients {
            match recipient {
                Recipient::Donor => {
                    let token = ticket
                        .as_ref()
                        .and_then(|t| t.donor.as_ref())
                        .and_then(|d| d.fcm_token.clone());
                    tokens.extend(token);
                }
                Recipient::User(id) => tokens.extend(self.user_token(*id, directory).await?),
                Recipient::Assignee => match ticket.as_ref().and_then(|t| t.assignee_id) {
                    Some(id) => tokens.extend(self.user_token(id, directory).await?),
                    None => tokens.extend(self.admin_tokens(directory).await?),
                },
                Recipient::Admins => tokens.extend(self.admin_tokens(directory).await?),
            }
        }
        tokens.sort();
        tokens.dedup();
        Ok(tokens)
    }

    async fn ticket(&self, id: TicketId, directory: &mut Directory) -> Result<Option<Ticket>> {
        if let Some(ticket) = directory.tickets.get(&id) {
            return Ok(ticket.clone());
        }
        let ticket = self.tickets.get(id).await?;
        directory.tickets.insert(id, ticket.clone());
        Ok(ticket)
    }

    async fn user_token(&self, id: UserId, directory: &mut Directory) -> Result<Option<String>> {
        if let Some(token) = directory.users.get(&id) {
            return Ok(token.clone());
        }
        let token = self
            .users
            .get(id)
            .await?
            .filter(|u| u.is_active)
            .and_then(|u| u.fcm_token);
        directory.users.insert(id, token.clone());
        Ok(token)
    }

    async fn admin_tokens(&self, directory: &mut Directory) -> Result<Vec<String>> {
        if let Some(tokens) = &directory.admins {
            return Ok(tokens.clone());
        }
        let tokens = self.ledger.admin_tokens().await?;
        directory.admins = Some(tokens.clone());
        Ok(tokens)
    }
}
