//! Open staff sockets lose their rights when their user does: one task per instance re-reads,
//! every `SESSION_CACHE_TTL` (at least 500 ms), each user with an open socket, and closes the
//! sockets of a user deactivated, demoted or promoted, or whose password changed (4401). Every
//! instance runs it against the shared database, so a change made anywhere reaches every socket.
//! One read per user, not per socket. Donor sockets close when their ticket is deleted
//! (see `connection`).

use crate::state::AppState;
use actix_web::web;
use std::collections::HashMap;
use std::time::Duration;

/// Checks open staff sockets every `interval` until the server shuts down.
pub async fn run(state: web::Data<AppState>, interval: Duration) {
    let interval = interval.max(Duration::from_millis(500));
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        sweep(&state).await;
        state.socket_limits.shrink();
    }
}

async fn sweep(state: &AppState) {
    let mut by_session: HashMap<_, Vec<_>> = HashMap::new();
    for (conn, session) in state.hub.staff_sessions() {
        by_session.entry(session).or_default().push(conn);
    }
    let mut revoked = vec![];
    for (session, conns) in by_session {
        let valid = state
            .services
            .accounts
            .still_valid(session.user_id, session.token_version, session.role)
            .await;
        match valid {
            Ok(true) => {}
            Ok(false) => revoked.extend(conns),
            // The database is down: keep the sockets; the next sweep decides.
            Err(err) => tracing::warn!(error = %err, "realtime: cannot re-check a session"),
        }
    }
    if !revoked.is_empty() {
        tracing::info!(sockets = revoked.len(), "realtime: closing revoked sockets");
        state.hub.revoke(&revoked);
    }
}
