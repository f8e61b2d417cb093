-- The audit trail (docs/audit.md). Written with the change it records; `seq`, `prev_hash`
-- and `hash` stay NULL until the auditor chains the entry. No foreign keys: an entry outlives
-- the ticket or user it names.
CREATE TABLE audit_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    seq         BIGINT,
    at          TIMESTAMP NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    actor_role  TEXT,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT,
    ticket_id   BIGINT,
    ip          TEXT,
    request_id  TEXT,
    changes     TEXT,
    prev_hash   TEXT,
    hash        TEXT
);
-- One entry per place in the chain, so two auditors can never number one twice.
CREATE UNIQUE INDEX audit_entries_seq_idx ON audit_entries (seq);
-- What the auditor has still to chain.
CREATE INDEX audit_entries_pending_idx ON audit_entries (id) WHERE seq IS NULL;
-- The list's filters, each read newest first.
CREATE INDEX audit_entries_actor_idx ON audit_entries (actor_id, id);
CREATE INDEX audit_entries_ticket_idx ON audit_entries (ticket_id, id);
CREATE INDEX audit_entries_action_idx ON audit_entries (action, id);
CREATE INDEX audit_entries_at_idx ON audit_entries (at, id);
