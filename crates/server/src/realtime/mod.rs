//! Real time: the WebSocket gateway at `GET /api/v1/ws`.
//!
//! The event log is the truth. One tail task per instance ([`hub::run_tail`]) reads the log in
//! order and fans each event out to the rooms it concerns: the ticket's room, the staff room
//! (ticket created, updated, deleted) and the assignee's own room. Each connection has a bounded
//! queue; a connection that cannot keep up is closed with [`protocol::CLOSE_TOO_SLOW`] and
//! resumes by joining with `since`. docs/realtime.md describes the protocol for clients.

pub mod connection;
pub mod hub;
pub mod limits;
pub mod protocol;
pub mod revocation;

pub use hub::Hub;

use std::time::Duration;

/// Tunables of the gateway (from the environment, see `Config`).
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// How long a socket may stay unauthenticated.
    pub auth_timeout: Duration,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// A socket silent for this long (no frame, no pong) is closed.
    pub idle_timeout: Duration,
    /// Events a connection may have queued before it counts as too slow.
    pub queue_capacity: usize,
    /// How long one frame may take to hand to the socket before the client counts as too slow.
    pub send_timeout: Duration,
    /// The largest frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// How often the tail task polls the log when nothing woke it (writes of other instances).
    pub poll_interval: Duration,
    /// How long a donor's ticket room waits for the donor's `join` (with its `since`) before
    /// its live events flow anyway.
    pub join_grace: Duration,
    /// Rate limits of socket traffic.
    pub limits: limits::SocketLimits,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            auth_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            queue_capacity: 1024,
            send_timeout: Duration::from_secs(10),
            max_frame_bytes: 64 * 1024,
            poll_interval: Duration::from_millis(250),
            join_grace: Duration::from_secs(2),
            limits: limits::SocketLimits::default(),
        }
    }
}
