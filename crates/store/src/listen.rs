//! Wake-ups for log readers. The log is the truth; these only say "read again soon".
//!
//! * In-process: every committed write of a [`Store`](crate::Store) that appended events bumps
//!   a `tokio::sync::watch` counter ([`Store::subscribe`](crate::Store::subscribe)).
//! * Across instances sharing a PostgreSQL database: after such a commit the writer sends
//!   `NOTIFY concierge_events` (after, not inside, the transaction, so data transactions never
//!   queue on the notification lock; in a transaction of its own with `synchronous_commit`
//!   off, so it does not wait for a WAL flush — a wake-up lost in a crash costs a poll), and
//!   [`Store::listen`](crate::Store::listen) keeps a dedicated connection that `LISTEN`s and
//!   bumps the same counter.
//!
//! A wake-up can come before the event is readable (an older transaction is still open), and a
//! lost connection can miss one, so readers should also poll now and then.

use crate::connection::DbConnection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// The notification channel.
pub const CHANNEL: &str = "concierge_events";
/// How often the listener checks its socket for notifications (no query is sent).
const POLL: Duration = Duration::from_millis(20);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Tells other instances that events were committed (PostgreSQL; nothing on SQLite). The
/// payload names this instance, whose own listener ignores it: local readers were woken
/// in-process already.
pub(crate) fn notify_others(conn: &mut DbConnection, instance: &str) {
    if let DbConnection::Postgresql(c) = conn {
        let notify = format!(
            "BEGIN; SET LOCAL synchronous_commit = off; NOTIFY {CHANNEL}, '{instance}'; COMMIT"
        );
        if let Err(e) = c.batch_execute(&notify) {
            tracing::warn!(error = %e, "NOTIFY failed; other instances will poll");
            // Leave no transaction open behind diesel's back.
            let _ = c.batch_execute("ROLLBACK");
        }
    }
}

pub(crate) fn bump(counter: &watch::Sender<u64>) {
    counter.send_modify(|n| *n = n.wrapping_add(1));
}

/// Runs the listener on a thread of its own until every clone of the store is dropped.
pub(crate) fn spawn(
    url: String,
    instance: Arc<str>,
    counter: Weak<watch::Sender<u64>>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("concierge-listen".into())
        .spawn(move || run(&url, &instance, &counter))
        .map(drop)
}

fn run(url: &str, instance: &str, counter: &Weak<watch::Sender<u64>>) {
    let mut backoff = Duration::from_millis(100);
    while counter.strong_count() > 0 {
        let listening = PgConnection::establish(url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                conn.batch_execute(&format!("LISTEN {CHANNEL}"))
                    .map(|()| conn)
                    .map_err(|e| e.to_string())
            });
        match listening {
            Ok(mut conn) => {
                backoff = Duration::from_millis(100);
                // Whatever was notified while we were away: read again.
                if let Some(counter) = counter.upgrade() {
                    bump(&counter);
                }
                if let Err(e) = drain(&mut conn, instance, counter) {
                    tracing::warn!(error = %e, "event listener lost its connection");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "event listener cannot connect");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Bumps the counter for each batch of other instances' notifications until the store is gone
/// (`Ok`) or the connection fails (`Err`).
fn drain(
    conn: &mut PgConnection,
    instance: &str,
    counter: &Weak<watch::Sender<u64>>,
) -> diesel::QueryResult<()> {
    loop {
        std::thread::sleep(POLL);
        let Some(counter) = counter.upgrade() else {
            return Ok(());
        };
        let mut any = false;
        for notification in conn.notifications_iter() {
            any |= notification?.payload != instance;
        }
        if any {
            bump(&counter);
        }
    }
}
