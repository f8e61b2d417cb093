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
    users: Mutex<HashMap<UserId, (User, DateTime<Utc>)>>,
}

impl SessionCache {
    /// A cache that trusts an entry for `ttl`; zero remembers nothing.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            users: Mutex::default(),
        }
    }

    /// The user read for `id` less than `ttl` before `now`.
    pub(crate) fn get(&self, id: UserId, now: DateTime<Utc>) -> Option<User> {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users
            .get(&id)
            .filter(|(_, read)| self.fresh(*read, now))
            .map(|(user, _)| user.clone())
    }

    /// Remembers `user` as read at `now`.
    pub(crate) fn put(&self, user: User, now: DateTime<Utc>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if users.len() >= MAX_ENTRIES && !users.contains_key(&user.id) {
            users.retain(|_, (_, read)| self.fresh(*read, now));
            if users.len() >= MAX_ENTRIES {
                users.clear();
            }
        }
        users.insert(user.id, (user, now));
    }

    /// Forgets `id` (its user was changed).
    pub(crate) fn forget(&self, id: UserId) {
        self.users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
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
        cache.put(user(1), at(10));

        assert!(cache.get(UserId(1), at(11)).is_some());
        assert!(cache.get(UserId(1), at(12)).is_none());
        assert!(cache.get(UserId(2), at(11)).is_none());
    }

    #[test]
    fn a_zero_ttl_remembers_nothing() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.put(user(1), at(10));

        assert!(cache.get(UserId(1), at(10)).is_none());
    }

    #[test]
    fn a_forgotten_user_is_read_again() {
        let cache = SessionCache::new(Duration::from_secs(2));
        cache.put(user(1), at(10));
        cache.forget(UserId(1));

        assert!(cache.get(UserId(1), at(10)).is_none());
    }

    #[test]
    fn a_full_cache_drops_what_ran_out_before_anything_fresh() {
        let cache = SessionCache::new(Duration::from_secs(2));
        cache.put(user(0), at(20));
        for id in 1..MAX_ENTRIES as i64 {
            cache.put(user(id), at(10));
        }

        cache.put(user(-1), at(20));

        assert!(cache.get(UserId(0), at(20)).is_some(), "fresh entries stay");
        assert!(cache.get(UserId(-1), at(20)).is_some());
        let len = cache.users.lock().map(|u| u.len()).unwrap_or_default();
        assert_eq!(len, 2, "the run-out entries were dropped");
    }
}
