//! The audit trail: who did what, when, from where, as an append-only hash chain.
//!
//! A change's [`Record`] is written in the same transaction as the change (the store takes the
//! actor, IP and request id from the request the write runs for); a sign-in has a transaction
//! of its own. A stored [`Entry`] has no `seq` or hash at first: one leased auditor numbers
//! pending entries in the order it finds them and chains them,
//! `hash = sha256_hex(prev_hash + canonical JSON of the entry without its hash)`, the first
//! `prev_hash` being [`GENESIS`]. [`Verifier`] recomputes every hash from the stored fields,
//! so a row rewritten in the database, removed or moved is named by its `seq`.

use crate::actor::Actor;
use crate::error::{DomainError, Result};
use crate::ids::{MessageId, TicketId, UserId};
use crate::page::{Page, PageRequest};
use crate::ticket::{Ticket, TicketStatus};
use crate::user::Role;
use crate::user::User;
use crate::validate;
use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The auditor's name in the [`FollowerLedger`](crate::ports::FollowerLedger).
pub const AUDITOR: &str = "auditor";

/// The `prev_hash` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

crate::wire_enum::wire_enum!(
    /// Who acted.
    ActorKind, "actorKind" {
        /// A staff user.
        Staff = "STAFF",
        /// A donor (token holder, or the sender of a new query).
        Donor = "DONOR",
        /// The server itself.
        System = "SYSTEM",
    }
);

/// Who acted, as the trail keeps it: ids as text (a donor's id is the calling app's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    /// Staff, donor or system.
    pub kind: ActorKind,
    /// The user's id, or the donor's id.
    pub id: Option<String>,
    /// A staff user's role at the time.
    pub role: Option<String>,
}

impl AuditActor {
    /// The server itself.
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            role: None,
        }
    }

    /// A staff user.
    pub fn user(user: &User) -> Self {
        Self::of(&Actor::Staff {
            user_id: user.id,
            role: user.role,
        })
    }

    /// The trail's view of a use case's actor.
    pub fn of(actor: &Actor) -> Self {
        match actor {
            Actor::Staff { user_id, role } => Self {
                kind: ActorKind::Staff,
                id: Some(user_id.0.to_string()),
                role: Some(role.as_str().to_string()),
            },
            Actor::Donor { donor_id, .. } => Self::donor(donor_id),
            Actor::System => Self::system(),
        }
    }

    /// A donor by its id in the calling app.
    pub fn donor(donor_id: &str) -> Self {
        Self {
            kind: ActorKind::Donor,
            id: Some(donor_id.to_string()),
            role: None,
        }
    }
}

/// What an entry is about: a kind (`ticket`, `message`, `user`, ...) and its id as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The kind of object.
    pub kind: String,
    /// Its id.
    pub id: Option<String>,
}

impl Target {
    fn of(kind: &str, id: impl ToString) -> Self {
        Self {
            kind: kind.to_string(),
            id: Some(id.to_string()),
        }
    }
}

/// What changed: field name to `[before, after]`.
pub type Changes = BTreeMap<String, [Value; 2]>;

/// An entry about to be written. The store adds the time, and the actor, IP and request id
/// of the request it is written for (`actor` here, when set, wins: a login names its user).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// What happened, such as `ticket.accepted`.
    pub action: String,
    /// What it happened to.
    pub target: Target,
    /// The ticket it concerns, for the `ticketId` filter (kept after the ticket is deleted).
    pub ticket_id: Option<TicketId>,
    /// What changed, when the action changes fields.
    pub changes: Option<Changes>,
    /// Who acted, when the request's own caller is not it.
    pub actor: Option<AuditActor>,
}

impl Record {
    fn new(action: &str, target: Target, ticket_id: Option<TicketId>) -> Self {
        Self {
            action: action.to_string(),
            target,
            ticket_id,
            changes: None,
            actor: None,
        }
    }

    fn with_changes(mut self, changes: Changes) -> Self {
        self.changes = (!changes.is_empty()).then_some(changes);
        self
    }

    /// Acted by `actor` rather than the request's caller.
    pub fn by(mut self, actor: AuditActor) -> Self {
        self.actor = Some(actor);
        self
    }

    fn on_ticket(action: &str, id: TicketId) -> Self {
        Self::new(action, Target::of("ticket", id.0), Some(id))
    }

    /// `ticket.created`.
    pub fn ticket_created(ticket: &Ticket) -> Self {
        let mut changes = Changes::new();
        diff(&mut changes, "status", None, Some(ticket.status().as_str()));
        diff(
            &mut changes,
            "priority",
            None,
            Some(ticket.priority.as_str()),
        );
        let assignee = ticket.assignee_id.map(|u| u.0);
        diff(&mut changes, "assigneeId", None, assignee);
        Self::on_ticket("ticket.created", ticket.id).with_changes(changes)
    }

    /// `ticket.accepted`, `.transferred`, `.resolved`, `.closed`, `.reopened` or `.updated`,
    /// from the ticket before and after the change.
    pub fn ticket_changed(before: &Ticket, after: &Ticket) -> Self {
        let mut changes = Changes::new();
        let status = |t: &Ticket| Some(t.status().as_str());
        diff(&mut changes, "status", status(before), status(after));
        let priority = |t: &Ticket| Some(t.priority.as_str());
        diff(&mut changes, "priority", priority(before), priority(after));
        let title = |t: &Ticket| Some(t.title.clone());
        diff(&mut changes, "title", title(before), title(after));
        let user = |u: Option<UserId>| u.map(|u| u.0);
        for (field, b, a) in [
            ("assigneeId", before.assignee_id, after.assignee_id),
            (
                "transferredFromId",
                before.transferred_from_id,
                after.transferred_from_id,
            ),
            ("resolvedById", before.resolved_by_id, after.resolved_by_id),
        ] {
            diff(&mut changes, field, user(b), user(a));
        }
        if before.description != after.description {
            // The text is the donor's and may be forgotten later; the trail keeps only that
            // it changed.
            changes.insert("description".into(), [json!("…"), json!("…")]);
        }
        Self::on_ticket(ticket_action(before, after), after.id).with_changes(changes)
    }

    /// `ticket.deleted`.
    pub fn ticket_deleted(id: TicketId) -> Self {
        Self::on_ticket("ticket.deleted", id)
    }

    /// `donor_query.viewed`: a staff read of a donor query's staff detail.
    pub fn donor_query_viewed(id: TicketId) -> Self {
        Self::new(
            "donor_query.viewed",
            Target::of("donor_query", id.0),
            Some(id),
        )
    }

    /// `message.edited` (the trail keeps no message text).
    pub fn message_edited(ticket_id: TicketId, id: MessageId) -> Self {
        Self::new(
            "message.edited",
            Target::of("message", id.0),
            Some(ticket_id),
        )
    }

    /// `message.deleted`.
    pub fn message_deleted(ticket_id: TicketId, id: MessageId) -> Self {
        Self::new(
            "message.deleted",
            Target::of("message", id.0),
            Some(ticket_id),
        )
    }

    /// `attachment.deleted`.
    pub fn attachment_deleted(ticket_id: TicketId, message: MessageId, id: i64) -> Self {
        let mut changes = Changes::new();
        diff(&mut changes, "messageId", Some(message.0), None);
        Self::new(
            "attachment.deleted",
            Target::of("attachment", id),
            Some(ticket_id),
        )
        .with_changes(changes)
    }

    /// `call.started` or `call.ended` (`action`), for a call session.
    pub fn call(action: &str, ticket_id: TicketId, session_id: i64, status: &str) -> Self {
        let mut changes = Changes::new();
        diff(&mut changes, "status", None, Some(status));
        Self::new(action, Target::of("call", session_id), Some(ticket_id)).with_changes(changes)
    }

    /// `qa.decided`: a QA review's human decision.
    pub fn qa_decided(ticket_id: TicketId, review_id: i64, before: &str, after: &str) -> Self {
        let mut changes = Changes::new();
        diff(&mut changes, "status", Some(before), Some(after));
        Self::new(
            "qa.decided",
            Target::of("qa_review", review_id),
            Some(ticket_id),
        )
        .with_changes(changes)
    }

    /// `user.created`.
    pub fn user_created(user: &User) -> Self {
        let mut changes = Changes::new();
        diff(&mut changes, "username", None, Some(user.username.as_str()));
        diff(&mut changes, "role", None, Some(user.role.as_str()));
        Self::new("user.created", Target::of("user", user.id.0), None).with_changes(changes)
    }

    /// `user.updated`: role, isActive and profile (name, email).
    pub fn user_updated(before: &User, after: &User) -> Self {
        let mut changes = Changes::new();
        diff(
            &mut changes,
            "role",
            Some(before.role.as_str()),
            Some(after.role.as_str()),
        );
        diff(
            &mut changes,
            "isActive",
            Some(before.is_active),
            Some(after.is_active),
        );
        diff(&mut changes, "name", Some(&before.name), Some(&after.name));
        diff(
            &mut changes,
            "email",
            before.email.as_ref(),
            after.email.as_ref(),
        );
        Self::new("user.updated", Target::of("user", after.id.0), None).with_changes(changes)
    }

    /// `auth.password_changed` (never the password).
    pub fn password_changed(user: &User) -> Self {
        Self::new("auth.password_changed", Target::of("user", user.id.0), None)
    }

    /// `auth.login`, by the user who signed in.
    pub fn login(user: &User) -> Self {
        Self::new("auth.login", Target::of("user", user.id.0), None).by(AuditActor::user(user))
    }

    /// `auth.login_failed`, with the name tried (never the password). The name is cut to
    /// 254 characters, the longest a login can be.
    pub fn login_failed(name: &str) -> Self {
        let name: String = name.chars().take(254).collect();
        let mut changes = Changes::new();
        diff(&mut changes, "login", None, Some(name));
        let target = Target {
            kind: "user".into(),
            id: None,
        };
        Self::new("auth.login_failed", target, None).with_changes(changes)
    }

    /// `audit.exported`, with the range asked for.
    pub fn exported(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Self {
        let mut changes = Changes::new();
        diff(&mut changes, "from", None, from.map(|t| t.to_rfc3339()));
        diff(&mut changes, "to", None, to.map(|t| t.to_rfc3339()));
        let target = Target {
            kind: "audit".into(),
            id: None,
        };
        Self::new("audit.exported", target, None).with_changes(changes)
    }
}

/// Adds `field` when `before` and `after` differ.
fn diff<T: serde::Serialize + PartialEq>(
    changes: &mut Changes,
    field: &str,
    before: Option<T>,
    after: Option<T>,
) {
    if before != after {
        changes.insert(field.to_string(), [json!(before), json!(after)]);
    }
}

fn ticket_action(before: &Ticket, after: &Ticket) -> &'static str {
    let (b, a) = (before.status(), after.status());
    if a != b {
        match a {
            TicketStatus::Resolved => return "ticket.resolved",
            TicketStatus::Closed => return "ticket.closed",
            TicketStatus::Transferred => return "ticket.transferred",
            _ if !b.is_active() => return "ticket.reopened",
            _ => {}
        }
    }
    let taken = after.assignee_id != before.assignee_id || b == TicketStatus::Transferred;
    if a == TicketStatus::InProgress && after.assignee_id.is_some() && taken {
        "ticket.accepted"
    } else {
        "ticket.updated"
    }
}

/// A stored entry. `seq`, `prev_hash` and `hash` are `None` until the auditor chains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The row's own id (insertion order; the list's cursor). Not part of the chain.
    pub id: i64,
    /// Its place in the chain: 1, 2, 3, ... with no gap.
    pub seq: Option<i64>,
    /// When it was written (whole microseconds, see [`now`]).
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor: AuditActor,
    /// What happened.
    pub action: String,
    /// What it happened to.
    pub target: Target,
    /// The ticket it concerns.
    pub ticket_id: Option<TicketId>,
    /// The caller's IP.
    pub ip: Option<String>,
    /// The request's id (`X-Request-Id`).
    pub request_id: Option<String>,
    /// What changed.
    pub changes: Option<Changes>,
    /// The hash of the entry before it in the chain.
    pub prev_hash: Option<String>,
    /// This entry's hash.
    pub hash: Option<String>,
}

/// The time an entry is stamped with: now, to whole microseconds, which both databases keep
/// exactly (so the canonical JSON reads the same after a round trip).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}

impl Entry {
    /// The canonical JSON the hash covers: every field but `id` and `hash`, keys sorted at every
    /// level, no whitespace, `at` as RFC 3339 with six fractional digits and `Z`.
    pub fn canonical_json(&self) -> String {
        let value = json!({
            "seq": self.seq,
            "at": self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "actor": {"kind": self.actor.kind.as_str(), "id": self.actor.id, "role": self.actor.role},
            "action": self.action,
            "target": {"kind": self.target.kind, "id": self.target.id},
            "ticketId": self.ticket_id.map(|t| t.0),
            "ip": self.ip,
            "requestId": self.request_id,
            "changes": self.changes,
            "prevHash": self.prev_hash,
        });
        let mut out = String::new();
        write_canonical(&value, &mut out);
        out
    }

    /// `sha256_hex(prev_hash + canonical JSON)`, from the stored fields.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_deref().unwrap_or_default().as_bytes());
        hasher.update(self.canonical_json().as_bytes());
        hex(&hasher.finalize())
    }

    /// Gives the entry its place after `prev_hash` as number `seq`, and its hash.
    pub fn chain(&mut self, seq: i64, prev_hash: &str) {
        self.seq = Some(seq);
        self.prev_hash = Some(prev_hash.to_string());
        self.hash = Some(self.compute_hash());
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Writes `value` with object keys sorted at every level and no whitespace.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut fields: Vec<_> = map.iter().collect();
            fields.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in fields.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The answer of `/audit/verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Whether every chained entry checked out.
    pub ok: bool,
    /// How many entries were checked (up to and including the first bad one).
    pub checked: u64,
    /// The first entry found altered, missing or out of place.
    pub first_bad_seq: Option<i64>,
    /// Why it is bad.
    pub reason: Option<String>,
}

/// Checks chained entries fed in `seq` order, recomputing each hash from the stored fields.
#[derive(Debug, Clone)]
pub struct Verifier {
    next_seq: i64,
    prev_hash: String,
    checked: u64,
    bad: Option<(i64, String)>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS.to_string(),
            checked: 0,
            bad: None,
        }
    }
}

impl Verifier {
    /// Checks the next entry; false once a bad one was found (feed no more).
    pub fn check(&mut self, entry: &Entry) -> bool {
        if self.bad.is_some() {
            return false;
        }
        self.checked += 1;
        let expected = self.next_seq;
        let fault = match entry.seq {
            Some(seq) if seq > expected => Some((expected, format!("entry {expected} is missing"))),
            Some(seq) if seq < expected => Some((seq, format!("entry {seq} appears twice"))),
            None => Some((expected, "an unchained entry in the chain".to_string())),
            Some(seq) if entry.prev_hash.as_deref() != Some(self.prev_hash.as_str()) => Some((
                seq,
                format!("prevHash does not match entry {}: reordered, or an entry before it was removed or altered", seq - 1),
            )),
            Some(seq) if entry.hash.as_deref() != Some(entry.compute_hash().as_str()) => {
                Some((seq, "hash does not match its fields: altered".to_string()))
            }
            Some(_) => None,
        };
        match fault {
            Some(fault) => {
                self.bad = Some(fault);
                false
            }
            None => {
                self.next_seq += 1;
                self.prev_hash = entry.hash.clone().unwrap_or_default();
                true
            }
        }
    }

    /// The verdict.
    pub fn finish(self) -> Verification {
        match self.bad {
            Some((seq, reason)) => Verification {
                ok: false,
                checked: self.checked,
                first_bad_seq: Some(seq),
                reason: Some(reason),
            },
            None => Verification {
                ok: true,
                checked: self.checked,
                first_bad_seq: None,
                reason: None,
            },
        }
    }
}

/// Which entries a list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// The actor's id (a staff user's id, or a donor's).
    pub actor_id: Option<String>,
    /// The ticket concerned.
    pub ticket_id: Option<TicketId>,
    /// The action, exactly.
    pub action: Option<String>,
    /// Written at or after.
    pub from: Option<DateTime<Utc>>,
    /// Written before.
    pub to: Option<DateTime<Utc>>,
}

/// Where the audit trail is kept. Appending is the only write a caller makes; no method
/// changes or removes an entry.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Writes one entry in a transaction of its own (sign-ins, reads, exports).
    async fn record(&self, record: Record) -> Result<()>;
    /// Entries matching the filter, newest first (by `id`), pending ones too.
    async fn list(&self, filter: AuditFilter, page: PageRequest) -> Result<Page<Entry>>;
    /// Chained entries with `seq > after`, in `seq` order, written in `[from, to)` when given.
    async fn chained(
        &self,
        after: i64,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<Entry>>;
    /// Chains up to `limit` pending entries after the last chained one, in one transaction,
    /// while `holder` leads the [`AUDITOR`]; returns how many, or `None` (nothing written) when
    /// it does not lead. Should two chain at once anyway, `seq` is unique: one fails.
    async fn chain_pending(&self, holder: String, limit: u32) -> Result<Option<usize>>;
}

/// The trail's use cases: every one is a SUPER_ADMIN's.
#[derive(Clone)]
pub struct AuditService {
    log: Arc<dyn AuditLog>,
}

/// Entries read per trip to the store by verification and export.
const BATCH: u32 = 500;

impl AuditService {
    /// On the given trail.
    pub fn new(log: Arc<dyn AuditLog>) -> Self {
        Self { log }
    }

    fn require(actor: &Actor) -> Result<()> {
        match actor {
            Actor::Staff {
                role: Role::SuperAdmin,
                ..
            } => Ok(()),
            _ => Err(DomainError::Forbidden("super admins only")),
        }
    }

    /// Entries matching `filter`, newest first.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<Entry>> {
        Self::require(actor)?;
        for (field, text) in [("actorId", &filter.actor_id), ("action", &filter.action)] {
            if let Some(text) = text {
                validate::storable_text(field, text)?;
            }
        }
        check_range(filter.from, filter.to)?;
        self.log.list(filter, page).await
    }

    /// Recomputes the whole chain, oldest first.
    pub async fn verify(&self, actor: &Actor) -> Result<Verification> {
        Self::require(actor)?;
        let mut verifier = Verifier::default();
        let mut after = 0;
        loop {
            let batch = self.log.chained(after, None, None, BATCH).await?;
            for entry in &batch {
                if !verifier.check(entry) {
                    return Ok(verifier.finish());
                }
                after = entry.seq.unwrap_or(after);
            }
            if batch.len() < BATCH as usize {
                return Ok(verifier.finish());
            }
        }
    }

    /// Starts an export of the chained entries written in `[from, to)`, oldest first, and
    /// records `audit.exported`. Read it with [`Export::next_batch`].
    pub async fn export(
        &self,
        actor: &Actor,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Export> {
        Self::require(actor)?;
        check_range(from, to)?;
        self.log.record(Record::exported(from, to)).await?;
        Ok(Export {
            log: self.log.clone(),
            after: 0,
            from,
            to,
            done: false,
        })
    }
}

fn check_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<()> {
    for (field, time) in [("from", from), ("to", to)] {
        if let Some(time) = time {
            validate::time(field, time)?;
        }
    }
    Ok(())
}

/// An export in progress: batches of entries in `seq` order, read as they are asked for.
pub struct Export {
    log: Arc<dyn AuditLog>,
    after: i64,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    done: bool,
}

impl Export {
    /// The next batch; `None` after the last.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Entry>>> {
        if self.done {
            return Ok(None);
        }
        let batch = self
            .log
            .chained(self.after, self.from, self.to, BATCH)
            .await?;
        self.done = batch.len() < BATCH as usize;
        match batch.last().and_then(|e| e.seq) {
            Some(seq) => {
                self.after = seq;
                Ok(Some(batch))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
