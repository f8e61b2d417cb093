//! The audit trail's shapes (docs/audit.md).

use concierge_domain::audit::{self, Verification};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Who acted.
#[derive(Serialize, ToSchema)]
pub struct AuditActor {
    /// `STAFF`, `DONOR` or `SYSTEM`.
    #[schema(value_type = crate::wire::names::ActorKindName)]
    kind: &'static str,
    /// A staff user's id or a donor's id, as text.
    id: Option<String>,
    /// A staff user's role at the time.
    role: Option<String>,
}

/// What an entry is about.
#[derive(Serialize, ToSchema)]
pub struct AuditTarget {
    /// `ticket`, `message`, `attachment`, `call`, `qa_review`, `user`, `donor_query`, `audit`.
    kind: String,
    /// Its id, as text.
    id: Option<String>,
}

/// One audit entry. `seq`, `prevHash` and `hash` are `null` until the auditor chains it
/// (normally within a second of the write).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Its place in the chain (1, 2, ...), once chained.
    seq: Option<i64>,
    /// When it was written.
    at: chrono::DateTime<chrono::Utc>,
    /// Who acted.
    actor: AuditActor,
    /// What happened, such as `ticket.accepted`.
    action: String,
    /// What it happened to.
    target: AuditTarget,
    /// The ticket it concerns (kept after the ticket is deleted).
    ticket_id: Option<i64>,
    /// The caller's IP.
    ip: Option<String>,
    /// The request's id (`X-Request-Id`).
    request_id: Option<String>,
    /// What changed: field -> `[before, after]`.
    #[schema(value_type = Option<Object>)]
    changes: Option<BTreeMap<String, [serde_json::Value; 2]>>,
    /// SHA-256 (hex) of `prevHash` and the entry's canonical JSON, once chained.
    hash: Option<String>,
    /// The previous entry's hash (64 zeros for the first), once chained.
    prev_hash: Option<String>,
}

impl From<audit::Entry> for AuditEntry {
    fn from(e: audit::Entry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor: AuditActor {
                kind: e.actor.kind.as_str(),
                id: e.actor.id,
                role: e.actor.role,
            },
            action: e.action,
            target: AuditTarget {
                kind: e.target.kind,
                id: e.target.id,
            },
            ticket_id: e.ticket_id.map(|t| t.0),
            ip: e.ip,
            request_id: e.request_id,
            changes: e.changes,
            hash: e.hash,
            prev_hash: e.prev_hash,
        }
    }
}

/// The answer of `/audit/verify`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditVerification {
    /// Whether every chained entry checked out.
    ok: bool,
    /// Entries checked (up to and including the first bad one).
    checked: u64,
    /// The first entry altered, missing or out of place.
    first_bad_seq: Option<i64>,
    /// Why.
    reason: Option<String>,
}

impl From<Verification> for AuditVerification {
    fn from(v: Verification) -> Self {
        Self {
            ok: v.ok,
            checked: v.checked,
            first_bad_seq: v.first_bad_seq,
            reason: v.reason,
        }
    }
}
