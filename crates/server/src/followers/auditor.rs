//! The auditor: chains pending audit entries in the order it finds them (docs/audit.md). It
//! wakes on this instance's writes and polls every `EVENT_POLL_INTERVAL` (sign-ins and reads
//! write entries without events, so they are chained on the next poll). With several instances
//! each runs one; the store numbers entries under a unique `seq`, so two auditors racing for a
//! batch cannot both chain it: the loser's transaction fails, is rolled back and retried.

use concierge_domain::audit::AuditLog;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Entries chained per transaction.
const BATCH: u32 = 500;

/// Runs until `shutdown` turns true (or its sender goes).
pub async fn run(
    audit: Arc<dyn AuditLog>,
    mut wake: watch::Receiver<u64>,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        chain_all(&*audit).await;
        if *shutdown.borrow() {
            return;
        }
        tokio::select! {
            woken = wake.changed() => {
                if woken.is_err() {
                    tokio::time::sleep(poll).await;
                }
            }
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Chains batches until none is full.
async fn chain_all(audit: &dyn AuditLog) {
    loop {
        match audit.chain_pending(BATCH).await {
            Ok(n) if n == BATCH as usize => continue,
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, "auditor: cannot chain entries; trying again");
                return;
            }
        }
    }
}
