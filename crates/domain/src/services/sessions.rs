//! The users behind staff tokens, remembered for a short while so a request does not read its
//! caller from the database every time.
//!
//! An entry is trusted for `ttl` after it was read. The service that changes a user drops its
//! entry at once; a change made by another instance (or the CLI) reaches this one within `ttl`.

use crate::ids::UserId;
use crate::user::User;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The most users remembered; past it, entries that ran out are dropped, then all of them.
const MAX_ENTRIES: usize = 10_000;

/// Users read for token checks, with the time each was read.
#[derive(Debug, Default)]
pub(crate) struct SessionCache {
    ttl: Duration,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    users: HashMap<UserId, (User, DateTime<Utc>)>,
    /// How many times a user was forgotten: a read that began before a forget is stale.
    forgets: u64,
}

/// Taken before reading a user, handed back to [`SessionCache::put`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadTicket(u64);

impl SessionCache {
    /// A cache that trusts an entry for `ttl`; zero remembers nothing.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The user read for `id` less than `ttl` before `now`.
    pub(crate) fn get(&self, id: UserId, now: DateTime<Utc>) -> Option<User> {
        self.lock()
            .users
            .get(&id)
            .filter(|(_, read)| self.fresh(*read, now))
            .map(|(user, _)| user.clone())
    }

    /// To take before reading a user from the store.
    pub(crate) fn ticket(&self) -> ReadTicket {
        ReadTicket(self.lock().forgets)
    }

    /// Remembers `user` as read at `now`, unless some user was forgotten since `ticket` was
    /// taken: the read may have raced that change, and a change must win.
    pub(crate) fn put(&self, user: User, now: DateTime<Utc>, ticket: ReadTicket) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.forgets != ticket.0 {
            return;
        }
        if entries.users.len() >= MAX_ENTRIES && !entries.users.contains_key(&user.id) {
            entries.users.retain(|_, (_, read)| self.fresh(*read, now));
            if entries.users.len() >= MAX_ENTRIES {
                entries.users.clear();
            }
        }
        entries.users.insert(user.id, (user, now));
    }

    /// Forgets `id` (its user was changed), and turns away reads that began before.
    pub(crate) fn forget(&self, id: UserId) {
        let mut entries = self.lock();
        entries.users.remove(&id);
        entries.forgets = entries.forgets.wrapping_add(1);
    }

    fn fresh(&self, read: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - read).to_std().is_ok_and(|age| age < self.ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::Role;
    use chrono::TimeZone;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, second)
            .single()
            .expect("a valid time")
    }

    fn user(id: i64) -> User {
        User {
            id: UserId(id),
            username: format!("user{id}"),
            email: None,
            name: "Ann".into(),
            role: Role::Agent,
            is_active: true,
            token_version: 1,
            fcm_token: None,
            created_at: at(0),
            updated_at: at(0),
        }
    }

    #[test]
    fn an_entry_is_trusted_until_its_ttl_has_run() {
        let cache = SessionCache::new(Duration::from_secs(2));
        cache.put(user(1), at(10), cache.ticket());

        assert!(cache.get(UserId(1), at(11)).is_some());
        assert!(cache.get(UserId(1), at(12)).is_none());
        assert!(cache.get(UserId(2), at(11)).is_none());
    }

    #[test]
    fn a_zero_ttl_remembers_nothing() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.put(user(1), at(10), cache.ticket());

        assert!(cache.get(UserId(1), at(10)).is_none());
    }

    #[test]
    fn a_forgotten_user_is_read_again() {
        let cache = SessionCache::new(Duration::from_secs(2));
        cache.put(user(1), at(10), cache.ticket());
        cache.forget(UserId(1));

        assert!(cache.get(UserId(1), at(10)).is_none());
    }

    #[test]
    fn a_user_read_before_a_change_is_not_remembered_after_it() {
        let cache = SessionCache::new(Duration::from_secs(2));
        // An authentication starts reading user 1; meanwhile user 1 is changed and forgotten.
        let ticket = cache.ticket();
        cache.forget(UserId(1));
        cache.put(user(1), at(10), ticket);

        assert!(cache.get(UserId(1), at(10)).is_none(), "the change won");
        // The next read, begun after the change, is remembered.
        cache.put(user(1), at(10), cache.ticket());
        assert!(cache.get(UserId(1), at(10)).is_some());
    }

    #[test]
    fn a_full_cache_drops_what_ran_out_before_anything_fresh() {
        let cache = SessionCache::new(Duration::from_secs(2));
        cache.put(user(0), at(20), cache.ticket());
        for id in 1..MAX_ENTRIES as i64 {
            cache.put(user(id), at(10), cache.ticket());
        }

        cache.put(user(-1), at(20), cache.ticket());

        assert!(cache.get(UserId(0), at(20)).is_some(), "fresh entries stay");
        assert!(cache.get(UserId(-1), at(20)).is_some());
        let len = cache.lock().users.len();
        assert_eq!(len, 2, "the run-out entries were dropped");
    }
}
