//! The auditor: chains pending audit entries in the order it finds them (docs/audit.md). One
//! instance leads it at a time under the "auditor" lease of the follower ledger; the store
//! checks the lease in the transaction that numbers the entries. It wakes on this instance's
//! writes and polls every `EVENT_POLL_INTERVAL` (sign-ins and reads write entries without
//! events, so they are chained on the next poll).

use super::{Lead, Lease};
use concierge_domain::audit::{AuditLog, AUDITOR};
use concierge_domain::ports::FollowerLedger;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Entries chained per transaction.
const BATCH: u32 = 500;

/// How long the auditor's lease lasts unrenewed: the longest entries wait for a new leader
/// when the leading instance is killed outright.
const LEASE: Duration = Duration::from_secs(10);

/// Runs until `shutdown` turns true (or its sender goes), then gives the lease up. `holder`
/// names this instance.
pub async fn run(
    audit: Arc<dyn AuditLog>,
    ledger: Arc<dyn FollowerLedger>,
    holder: String,
    mut wake: watch::Receiver<u64>,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let lease = Lease::new(ledger, AUDITOR, holder, LEASE);
    let wait = poll.min(lease.renew_within());
    loop {
        chain_all(&*audit, &lease).await;
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            woken = wake.changed() => {
                if woken.is_err() {
                    tokio::time::sleep(wait).await;
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => break,
        }
    }
    lease.give_up().await;
}

/// While this instance leads: chains batches until none is full.
async fn chain_all(audit: &dyn AuditLog, lease: &Lease) {
    loop {
        match lease.keep().await {
            Ok(Lead::Kept | Lead::Taken) => {}
            Ok(Lead::Lost) => return,
            Err(err) => {
                tracing::warn!(error = %err, "auditor: cannot take its lease");
                return;
            }
        }
        match audit.chain_pending(lease.holder().to_owned(), BATCH).await {
            Ok(Some(n)) if n == BATCH as usize => continue,
            Ok(Some(_)) => return,
            Ok(None) => {
                lease.lose();
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "auditor: cannot chain entries; trying again");
                return;
            }
        }
    }
}
