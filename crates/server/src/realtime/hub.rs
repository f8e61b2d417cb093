//! Rooms and the fan-out of logged events to them.

use super::protocol::ServerFrame;
use bytestring::ByteString;
use concierge_domain::event::{EventKind, StoredEvent, Viewer};
use concierge_domain::ports::EventLog;
use concierge_domain::user::Role;
use concierge_domain::{TicketId, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};

/// A connection's id, unique within this process.
pub type ConnId = u64;

/// What the hub hands a connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A logged event, serialised once for every receiver.
    Event {
        /// Its `seq`.
        seq: i64,
        /// Its ticket.
        ticket_id: Option<TicketId>,
        /// What happened.
        kind: EventKind,
        /// The `event` frame as text (clones share the bytes).
        frame: ByteString,
    },
    /// A relayed, unlogged frame (typing, upload progress).
    Relay(ByteString),
}

/// Why the hub wants a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// Its queue was full: the client is too slow.
    TooSlow,
    /// Its staff session was revoked (deactivated, demoted, password changed).
    Revoked,
}

/// Raised by the hub to close a connection; the connection waits on it.
#[derive(Debug, Default)]
pub struct Signal {
    too_slow: AtomicBool,
    revoked: AtomicBool,
    notify: Notify,
}

impl Signal {
    fn raise(&self, kick: Kick) {
        match kick {
            Kick::TooSlow => self.too_slow.store(true, Ordering::Release),
            Kick::Revoked => self.revoked.store(true, Ordering::Release),
        }
        self.notify.notify_one();
    }

    /// What was raised, if anything (revocation first).
    pub fn raised(&self) -> Option<Kick> {
        if self.revoked.load(Ordering::Acquire) {
            Some(Kick::Revoked)
        } else if self.too_slow.load(Ordering::Acquire) {
            Some(Kick::TooSlow)
        } else {
            None
        }
    }

    /// Waits until something is raised.
    pub async fn wait(&self) -> Kick {
        loop {
            if let Some(kick) = self.raised() {
                return kick;
            }
            self.notify.notified().await;
        }
    }
}

/// The staff session behind a connection, re-checked while the socket is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaffSession {
    /// The user.
    pub user_id: UserId,
    /// The token version the socket authenticated with.
    pub token_version: i32,
    /// The role it had then.
    pub role: Role,
}

#[derive(Clone)]
struct Subscriber {
    tx: mpsc::Sender<Outbound>,
    signal: Arc<Signal>,
    viewer: Viewer,
    session: Option<StaffSession>,
}

/// A room a connection can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Room {
    /// Everything about one ticket.
    Ticket(TicketId),
    /// Tickets assigned or transferred to one staff user.
    User(UserId),
    /// Ticket created, updated, deleted: every staff connection.
    Staff,
}

#[derive(Default)]
struct Rooms {
    members: HashMap<Room, HashSet<ConnId>>,
    connections: HashMap<ConnId, (Subscriber, HashSet<Room>)>,
    /// The `seq` of the last event fanned out.
    head: i64,
}

/// The rooms of this instance.
pub struct Hub {
    rooms: Mutex<Rooms>,
    next_id: AtomicU64,
    queue_capacity: usize,
}

/// A connection's handle on the hub; leaving every room when dropped.
pub struct Membership {
    hub: Arc<Hub>,
    id: ConnId,
}

impl Membership {
    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Enters a room; returns the hub's head at that moment: every later event of the room
    /// will be queued, every earlier one is in the log.
    pub fn enter(&self, room: Room) -> i64 {
        let mut rooms = self.hub.lock();
        if let Some((_, joined)) = rooms.connections.get_mut(&self.id) {
            joined.insert(room);
            rooms.members.entry(room).or_default().insert(self.id);
        }
        rooms.head
    }

    /// Leaves a room.
    pub fn leave(&self, room: Room) {
        let mut rooms = self.hub.lock();
        if let Some((_, joined)) = rooms.connections.get_mut(&self.id) {
            joined.remove(&room);
        }
        remove_member(&mut rooms, room, self.id);
    }

    /// Sends an unlogged frame to everyone else in a room the connection is in.
    pub fn relay(&self, room: Room, frame: String) {
        let frame = ByteString::from(frame);
        let rooms = self.hub.lock();
        let inside = rooms
            .connections
            .get(&self.id)
            .is_some_and(|(_, joined)| joined.contains(&room));
        if !inside {
            return;
        }
        for id in rooms.members.get(&room).into_iter().flatten() {
            if *id != self.id {
                if let Some((sub, _)) = rooms.connections.get(id) {
                    // Typing is best-effort: a full queue drops it rather than closing anyone.
                    let _ = sub.tx.try_send(Outbound::Relay(frame.clone()));
                }
            }
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut rooms = self.hub.lock();
        if let Some((_, joined)) = rooms.connections.remove(&self.id) {
            for room in joined {
                remove_member(&mut rooms, room, self.id);
            }
        }
    }
}

fn remove_member(rooms: &mut Rooms, room: Room, id: ConnId) {
    if let Some(members) = rooms.members.get_mut(&room) {
        members.remove(&id);
        if members.is_empty() {
            rooms.members.remove(&room);
        }
    }
}

impl Hub {
    /// An empty hub whose connections queue at most `queue_capacity` frames.
    pub fn new(queue_capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            rooms: Mutex::new(Rooms::default()),
            next_id: AtomicU64::new(1),
            queue_capacity: queue_capacity.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Rooms> {
        // A panic while holding the lock cannot leave the rooms half-changed in a way that
        // matters more than losing them; keep serving.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection in no room yet; it receives events as `viewer` sees them.
    pub fn connect(
        self: &Arc<Self>,
        viewer: Viewer,
        session: Option<StaffSession>,
    ) -> (Membership, mpsc::Receiver<Outbound>, Arc<Signal>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let signal = Arc::new(Signal::default());
        let subscriber = Subscriber {
            tx,
            signal: signal.clone(),
            viewer,
            session,
        };
        self.lock()
            .connections
            .insert(id, (subscriber, HashSet::new()));
        (
            Membership {
                hub: self.clone(),
                id,
            },
            rx,
            signal,
        )
    }

    /// The staff sessions of open connections.
    pub fn staff_sessions(&self) -> Vec<(ConnId, StaffSession)> {
        self.lock()
            .connections
            .iter()
            .filter_map(|(id, (sub, _))| sub.session.map(|s| (*id, s)))
            .collect()
    }

    /// Closes these connections as revoked.
    pub fn revoke(&self, ids: &[ConnId]) {
        let rooms = self.lock();
        for id in ids {
            if let Some((sub, _)) = rooms.connections.get(id) {
                sub.signal.raise(Kick::Revoked);
            }
        }
    }

    /// The `seq` of the last event fanned out.
    pub fn head(&self) -> i64 {
        self.lock().head
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.lock().connections.len()
    }

    fn set_head(&self, seq: i64) {
        let mut rooms = self.lock();
        rooms.head = rooms.head.max(seq);
    }

    /// Fans one event out to its rooms, each connection at most once, each as its viewer may
    /// see it ([`Viewer::view`]).
    pub fn dispatch(&self, event: &StoredEvent) {
        let frame = |data: &serde_json::Value| {
            ByteString::from(
                ServerFrame::Event {
                    seq: event.seq,
                    ticket_id: event.ticket_id.map(|t| t.0),
                    event: event.kind.as_str(),
                    data,
                }
                .to_text(),
            )
        };
        let item = |frame: ByteString| Outbound::Event {
            seq: event.seq,
            ticket_id: event.ticket_id,
            kind: event.kind,
            frame,
        };
        let staff = item(frame(&event.data));
        // The donors' frame, made the first time a donor is met (and only when it differs).
        let mut donor: Option<Option<Outbound>> = None;
        let mut rooms = self.lock();
        let mut seen = HashSet::new();
        for room in rooms_of(event) {
            for id in rooms.members.get(&room).into_iter().flatten() {
                if !seen.insert(*id) {
                    continue;
                }
                let Some((sub, _)) = rooms.connections.get(id) else {
                    continue;
                };
                let outbound = if sub.viewer.differs(event.kind) {
                    let made = donor.get_or_insert_with(|| {
                        crate::wire::events::view(sub.viewer, event.kind, &event.data)
                            .map(|data| item(frame(&data)))
                    });
                    match made {
                        Some(outbound) => outbound.clone(),
                        None => continue,
                    }
                } else {
                    staff.clone()
                };
                match sub.tx.try_send(outbound) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => sub.signal.raise(Kick::TooSlow),
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
        rooms.head = rooms.head.max(event.seq);
    }
}

/// The rooms an event goes to: its ticket's; the staff room for tickets created, updated or
/// deleted and calls requested; the assignee's own room for ticket updates.
pub fn rooms_of(event: &StoredEvent) -> Vec<Room> {
    let mut targets = Vec::with_capacity(3);
    if let Some(ticket) = event.ticket_id {
        targets.push(Room::Ticket(ticket));
    }
    if matches!(
        event.kind,
        EventKind::TicketCreated
            | EventKind::TicketUpdated
            | EventKind::TicketDeleted
            | EventKind::CallRequested
    ) {
        targets.push(Room::Staff);
    }
    if event.kind == EventKind::TicketUpdated {
        if let Some(assignee) = event.data.get("assigneeId").and_then(|v| v.as_i64()) {
            targets.push(Room::User(UserId(assignee)));
        }
    }
    targets
}

/// Reads the log from its current head onwards and fans every event out, for as long as the
/// process runs. Wakes on `wake` (writes of this process, notifications of others) and polls
/// every `poll` in case a wake-up was missed.
pub async fn run_tail(
    hub: Arc<Hub>,
    log: Arc<dyn EventLog>,
    mut wake: watch::Receiver<u64>,
    poll: Duration,
) {
    const BATCH: u32 = 512;
    let mut after = loop {
        match log.head().await {
            Ok(head) => break head,
            Err(err) => {
                tracing::warn!(error = %err, "event log: cannot read the head; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    hub.set_head(after);
    loop {
        loop {
            match log.read_after(after, None, BATCH).await {
                Ok(batch) => {
                    let full = batch.len() as u32 == BATCH;
                    for event in &batch {
                        hub.dispatch(event);
                        after = event.seq;
                    }
                    if !full {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "event log: read failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
        tokio::select! {
            changed = wake.changed() => {
                if changed.is_err() {
                    // The store is gone: keep polling.
                    tokio::time::sleep(poll).await;
                }
            }
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
