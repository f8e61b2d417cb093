//! Rate limits of socket traffic, so a socket is no way around the HTTP limits: messages and
//! replayed events per user (across all of the user's connections on this instance), relayed
//! frames (typing, upload progress) per connection. Built on governor's GCRA limiters.
//!
//! A message or relay over the limit is refused with a 429 `error` frame (and counts as an
//! invalid frame); a replay over the limit is slowed down, never cut short, so a reconnecting
//! client still gets every event once, in order.

use concierge_domain::{Actor, TicketId, UserId};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;

/// Whose budget a frame spends: a staff user, or the donor of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sender {
    /// A staff user, on all its connections.
    Staff(UserId),
    /// The donor token of a ticket, on all its connections.
    Donor(TicketId),
}

impl Sender {
    /// The budget `actor` spends, if any.
    pub fn of(actor: &Actor) -> Option<Self> {
        match actor {
            Actor::Staff { user_id, .. } => Some(Sender::Staff(*user_id)),
            Actor::Donor { ticket_id, .. } => Some(Sender::Donor(*ticket_id)),
            Actor::System => None,
        }
    }
}

/// The limits, per second. A client may spend a few seconds' worth at once: five for
/// messages, four for relays, ten for replayed events.
#[derive(Debug, Clone, Copy)]
pub struct SocketLimits {
    /// `send_message` frames per user (`WS_MESSAGES_PER_SECOND`).
    pub messages_per_second: u32,
    /// Events replayed by `join` with `since`, per user (`WS_REPLAY_EVENTS_PER_SECOND`).
    pub replay_events_per_second: u32,
    /// `typing` and `upload_progress` frames per connection (`WS_RELAYS_PER_SECOND`).
    pub relays_per_second: u32,
}

impl Default for SocketLimits {
    fn default() -> Self {
        Self {
            messages_per_second: 10,
            replay_events_per_second: 2_000,
            relays_per_second: 5,
        }
    }
}

/// A quota of `per_second`, of which `seconds` worth may be spent at once.
fn quota(per_second: u32, seconds: u32) -> (Quota, u32) {
    let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(rate.get().saturating_mul(seconds)).unwrap_or(rate);
    (Quota::per_second(rate).allow_burst(burst), burst.get())
}

/// The per-user limiters of one instance.
pub struct UserLimits {
    messages: DefaultKeyedRateLimiter<Sender>,
    replays: DefaultKeyedRateLimiter<Sender>,
    replay_burst: u32,
    relays: Quota,
}

impl UserLimits {
    /// Limiters for `config`.
    pub fn new(config: SocketLimits) -> Self {
        let (replays, replay_burst) = quota(config.replay_events_per_second, 10);
        Self {
            messages: DefaultKeyedRateLimiter::keyed(quota(config.messages_per_second, 5).0),
            replays: DefaultKeyedRateLimiter::keyed(replays),
            replay_burst,
            relays: quota(config.relays_per_second, 4).0,
        }
    }

    /// Whether `sender` may send one more message now.
    pub fn message(&self, sender: Sender) -> bool {
        self.messages.check_key(&sender).is_ok()
    }

    /// Waits until `sender` may be replayed `events` more events (at most the burst each call).
    pub async fn replay(&self, sender: Sender, events: usize) {
        let burst = self.replay_burst;
        let n = u32::try_from(events).unwrap_or(burst).clamp(1, burst);
        if let Some(n) = NonZeroU32::new(n) {
            // `n` is at most the burst, so the limiter can always grant it.
            let _ = self.replays.until_key_n_ready(&sender, n).await;
        }
    }

    /// A limiter of relayed frames for one connection.
    pub fn relays(&self) -> DefaultDirectRateLimiter {
        DefaultDirectRateLimiter::direct(self.relays)
    }

    /// Forgets users whose budgets are full again (bounds the maps' size).
    pub fn shrink(&self) {
        self.messages.retain_recent();
        self.replays.retain_recent();
        self.messages.shrink_to_fit();
        self.replays.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_over_its_message_budget_is_refused_on_every_connection() {
        let limits = UserLimits::new(SocketLimits {
            messages_per_second: 1,
            ..SocketLimits::default()
        });
        let ann = Sender::Staff(UserId(1));
        assert!((0..5).all(|_| limits.message(ann)));
        assert!(!limits.message(ann), "the sixth in the same instant");
        assert!(
            limits.message(Sender::Staff(UserId(2))),
            "others keep theirs"
        );
    }

    #[test]
    fn relays_are_limited_per_connection() {
        let limits = UserLimits::new(SocketLimits {
            relays_per_second: 1,
            ..SocketLimits::default()
        });
        let one = limits.relays();
        let two = limits.relays();
        assert!((0..4).all(|_| one.check().is_ok()));
        assert!(one.check().is_err());
        assert!(two.check().is_ok());
    }
}
