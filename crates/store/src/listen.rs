//! Wake-ups for log readers. The log is the truth; these only say "read again soon".
//!
//! * In-process: every committed write of a [`Store`](crate::Store) that appended events bumps
//!   a `tokio::sync::watch` counter ([`Store::subscribe`](crate::Store::subscribe)).
//! * Across instances sharing a PostgreSQL database: [`Store::listen`](crate::Store::listen)
//!   keeps a dedicated connection that `LISTEN`s and bumps the same counter when another
//!   instance announces writes; every 20 ms it announces this instance's own writes since the
//!   last round with one `NOTIFY concierge_events, '<instance>'`. Data transactions never send
//!   NOTIFY themselves: they would queue on its lock and pay a round trip each, and an instance
//!   would read its own echo.
//!
//! A wake-up can come before the event is readable (an older transaction is still open), and a
//! lost connection can miss one, so readers should also poll now and then.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// The notification channel.
pub const CHANNEL: &str = "concierge_events";
/// How often the listener checks its socket for notifications (no query is sent).
const POLL: Duration = Duration::from_millis(20);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(crate) fn bump(counter: &watch::Sender<u64>) {
    counter.send_modify(|n| *n = n.wrapping_add(1));
}

/// Runs the listener on a thread of its own until every clone of the store is dropped.
pub(crate) fn spawn(
    url: String,
    instance: Arc<str>,
    counter: Weak<watch::Sender<u64>>,
    local: Weak<AtomicU64>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("concierge-listen".into())
        .spawn(move || run(&url, &instance, &counter, &local))
        .map(drop)
}

fn run(url: &str, instance: &str, counter: &Weak<watch::Sender<u64>>, local: &Weak<AtomicU64>) {
    let mut backoff = Duration::from_millis(100);
    // Local writes announced so far; writes made while disconnected go out on reconnecting.
    let mut announced = 0;
    while counter.strong_count() > 0 {
        let listening = crate::connection::establish_postgres(url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                // A lost wake-up costs a poll, so NOTIFY does not wait for a WAL flush.
                conn.batch_execute(&format!("SET synchronous_commit = off; LISTEN {CHANNEL}"))
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
                if let Err(e) = drain(&mut conn, instance, counter, local, &mut announced) {
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

/// Every `POLL`: announces this instance's writes since the last round with one `NOTIFY`
/// (its payload names the instance, whose own listener skips it), and bumps the counter when
/// other instances announced theirs. Runs until the store is gone (`Ok`) or the connection
/// fails (`Err`).
fn drain(
    conn: &mut PgConnection,
    instance: &str,
    counter: &Weak<watch::Sender<u64>>,
    local: &Weak<AtomicU64>,
    announced: &mut u64,
) -> diesel::QueryResult<()> {
    let notify = format!("NOTIFY {CHANNEL}, '{instance}'");
    loop {
        std::thread::sleep(POLL);
        let (Some(counter), Some(local)) = (counter.upgrade(), local.upgrade()) else {
            return Ok(());
        };
        let written = local.load(Ordering::Acquire);
        if *announced != written {
            conn.batch_execute(&notify)?;
            *announced = written;
        }
        let mut any = false;
        for notification in conn.notifications_iter() {
            any |= notification?.payload != instance;
        }
        if any {
            bump(&counter);
        }
    }
}
