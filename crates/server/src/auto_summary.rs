//! Automatic summaries: after every N new messages of a ticket (SUMMARY_EVERY_N_MESSAGES; off
//! when 0, the default) the ticket's summary is generated again in the background. Counting
//! follows the event log from the moment the server starts and is kept in memory: a restart
//! starts counting afresh, which at worst delays one automatic summary.

use crate::insights::Insights;
use concierge_domain::event::EventKind;
use concierge_domain::ports::EventLog;
use concierge_domain::{Actor, TicketId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Follows the log and starts a summary every `every` new conversation messages of a ticket.
pub async fn run(
    insights: Arc<Insights>,
    log: Arc<dyn EventLog>,
    every: u32,
    mut wake: watch::Receiver<u64>,
    poll: Duration,
) {
    let mut after = match log.head().await {
        Ok(head) => head,
        Err(err) => {
            tracing::warn!(error = %err, "automatic summaries: cannot read the log; off");
            return;
        }
    };
    let mut counts: HashMap<TicketId, u32> = HashMap::new();
    loop {
        match log.read_after(after, None, 500).await {
            Ok(batch) => {
                for event in &batch {
                    after = event.seq;
                    let Some(ticket) = event.ticket_id else {
                        continue;
                    };
                    match event.kind {
                        EventKind::NewMessage
                            if matches!(
                                event.data.get("messageType").and_then(|v| v.as_str()),
                                Some("CHAT" | "QUERY")
                            ) =>
                        {
                            let count = counts.entry(ticket).or_insert(0);
                            *count += 1;
                            if *count >= every {
                                counts.remove(&ticket);
                                drop(insights.generate(Actor::System, ticket));
                            }
                        }
                        EventKind::SummaryReady | EventKind::TicketDeleted => {
                            counts.remove(&ticket);
                        }
                        _ => {}
                    }
                }
                if !batch.is_empty() {
                    continue;
                }
            }
            Err(err) => tracing::warn!(error = %err, "automatic summaries: read failed"),
        }
        tokio::select! {
            _ = wake.changed() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
