//! Followers of the event log: processes that act on every committed event after the request
//! that wrote it has answered (push today; webhooks, the SLA timer and the auditor next).
//!
//! Each keeps its place in the log and its single-instance [`Lease`] in the
//! [`FollowerLedger`]: with several instances one of them leads a follower at a time, renews
//! its lease while it works, and writes its progress only while the lease holds (the store
//! checks it in the same transaction). An instance killed outright is replaced once its lease
//! runs out; one that stops gracefully gives its lease up. The rules a follower applies live in
//! the domain; the follower only schedules, calls the port and records progress.

pub mod push;

use chrono::{DateTime, Utc};
use concierge_domain::ports::{EventLog, FollowerLedger};
use concierge_domain::Result;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What [`Lease::keep`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lead {
    /// Held all along: what this instance remembers of the follower's progress still holds.
    Kept,
    /// Newly taken (or retaken after it ran out): read the follower's progress afresh, another
    /// instance may have moved it.
    Taken,
    /// Another instance leads.
    Lost,
}

/// One follower's lease, as this instance holds it. Its holder renews it once a third of it
/// has run, and starts a step (a send) only while more than a tenth of it is left, ending the
/// step by then, so a step of one holder is over before another can take over.
pub struct Lease {
    ledger: Arc<dyn FollowerLedger>,
    follower: String,
    holder: String,
    length: Duration,
    until: Mutex<Option<DateTime<Utc>>>,
}

impl Lease {
    /// The lease of `follower` for `holder` (unique per instance), `length` long unrenewed.
    pub fn new(
        ledger: Arc<dyn FollowerLedger>,
        follower: impl Into<String>,
        holder: impl Into<String>,
        length: Duration,
    ) -> Self {
        Self {
            ledger,
            follower: follower.into(),
            holder: holder.into(),
            length,
            until: Mutex::new(None),
        }
    }

    /// This instance's name as a lease holder.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The follower's name in the ledger.
    pub fn follower(&self) -> &str {
        &self.follower
    }

    /// The longest an idle follower may sleep and still renew its lease in time.
    pub fn renew_within(&self) -> Duration {
        self.length / 3
    }

    /// Whether this instance believes it leads (its lease has not been lost or run out).
    pub fn held(&self) -> bool {
        self.until().is_some_and(|until| until > Utc::now())
    }

    /// Takes the lease, or renews it once a third of it has run.
    pub async fn keep(&self) -> Result<Lead> {
        let now = Utc::now();
        let length = self.chrono_length();
        // A lease that ran out may have been taken and given back meanwhile.
        let current = self.until().filter(|until| *until > now);
        if current.is_some_and(|until| until - now > length * 2 / 3) {
            return Ok(Lead::Kept);
        }
        let until = now + length;
        if !self.renew(until).await? {
            return Ok(Lead::Lost);
        }
        Ok(if current.is_some() {
            Lead::Kept
        } else {
            Lead::Taken
        })
    }

    /// The instant a step must end by: a tenth of the lease before it runs out, the lease
    /// renewed first when a third of it has run. `None` when the lease is lost.
    pub async fn deadline(&self) -> Result<Option<tokio::time::Instant>> {
        let length = self.chrono_length();
        let Some(mut until) = self.until() else {
            return Ok(None);
        };
        let now = Utc::now();
        if until <= now {
            self.lose();
            return Ok(None);
        }
        if until - now < length * 2 / 3 {
            until = now + length;
            if !self.renew(until).await? {
                return Ok(None);
            }
        }
        match (until - length / 10 - Utc::now()).to_std() {
            Ok(left) => Ok(Some(tokio::time::Instant::now() + left)),
            Err(_) => {
                self.lose();
                Ok(None)
            }
        }
    }

    /// Where the follower starts: its cursor, or on its first run the log's head (it acts on
    /// what happens from now, not on the history). `None` when the lease was lost on the way.
    pub async fn start(&self, log: &dyn EventLog) -> Result<Option<i64>> {
        if let Some(cursor) = self.ledger.cursor(self.follower.clone()).await? {
            return Ok(Some(cursor));
        }
        let head = log.head().await?;
        if !self.advance(head).await? {
            return Ok(None);
        }
        Ok(Some(head))
    }

    /// Moves the follower's cursor to `seq`; `false` (and the lease forgotten) when the lease
    /// was lost.
    pub async fn advance(&self, seq: i64) -> Result<bool> {
        let saved = self
            .ledger
            .advance(self.follower.clone(), self.holder.clone(), seq)
            .await?;
        if !saved {
            self.lose();
        }
        Ok(saved)
    }

    /// Forgets the lease: the next [`Lease::keep`] takes it afresh.
    pub fn lose(&self) {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Gives the lease up, if held, so another instance takes over at once.
    pub async fn give_up(&self) {
        let was_held = self.until().is_some();
        self.lose();
        if was_held {
            let released = self
                .ledger
                .release(self.follower.clone(), self.holder.clone())
                .await;
            if let Err(err) = released {
                tracing::warn!(follower = %self.follower, error = %err, "cannot give the lease up");
            }
        }
    }

    async fn renew(&self, until: DateTime<Utc>) -> Result<bool> {
        let taken = self
            .ledger
            .lease(self.follower.clone(), self.holder.clone(), until)
            .await?;
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) = taken.then_some(until);
        Ok(taken)
    }

    fn until(&self) -> Option<DateTime<Utc>> {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn chrono_length(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.length).unwrap_or(chrono::Duration::seconds(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_domain::ports::MockFollowerLedger;
    use mockall::predicate::eq;

    fn lease(ledger: MockFollowerLedger) -> Lease {
        Lease::new(Arc::new(ledger), "sla", "me", Duration::from_secs(30))
    }

    #[tokio::test]
    async fn a_held_lease_is_renewed_only_once_a_third_of_it_has_run() {
        let mut ledger = MockFollowerLedger::new();
        ledger
            .expect_lease()
            .withf(|f, h, _| f == "sla" && h == "me")
            .times(1)
            .returning(|_, _, _| Ok(true));
        let lease = lease(ledger);
        assert_eq!(lease.keep().await.unwrap(), Lead::Taken);
        assert_eq!(lease.keep().await.unwrap(), Lead::Kept);
        assert!(lease.held());
        let deadline = lease.deadline().await.unwrap().unwrap();
        let left = deadline - tokio::time::Instant::now();
        assert!(left > Duration::from_secs(26) && left <= Duration::from_secs(27));
    }

    #[tokio::test]
    async fn a_lease_another_instance_holds_is_not_ours_and_nothing_is_sent_under_it() {
        let mut ledger = MockFollowerLedger::new();
        ledger.expect_lease().returning(|_, _, _| Ok(false));
        ledger.expect_release().times(0);
        let lease = lease(ledger);
        assert_eq!(lease.keep().await.unwrap(), Lead::Lost);
        assert!(!lease.held());
        assert!(lease.deadline().await.unwrap().is_none());
        lease.give_up().await;
    }

    #[tokio::test]
    async fn a_lost_write_forgets_the_lease_and_giving_up_releases_a_held_one() {
        let mut ledger = MockFollowerLedger::new();
        ledger.expect_lease().times(2).returning(|_, _, _| Ok(true));
        ledger
            .expect_advance()
            .times(1)
            .returning(|_, _, _| Ok(false));
        ledger
            .expect_release()
            .with(eq("sla".to_string()), eq("me".to_string()))
            .times(1)
            .returning(|_, _| Ok(()));
        let lease = lease(ledger);
        lease.keep().await.unwrap();
        assert!(!lease.advance(5).await.unwrap());
        assert!(!lease.held(), "an advance refused means someone else leads");
        assert_eq!(
            lease.keep().await.unwrap(),
            Lead::Taken,
            "so progress is read afresh"
        );
        lease.give_up().await;
        assert!(!lease.held());
    }
}
