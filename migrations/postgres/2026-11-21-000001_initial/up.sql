-- Concierge schema, PostgreSQL. Kept in step with migrations/sqlite (same tables, columns,
-- constraints and indexes; only the id and seq column types differ).
-- Timestamps are UTC, stored as TIMESTAMP (without time zone). Enums are TEXT with CHECKs.

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    username       TEXT NOT NULL,
    email          TEXT,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('AGENT', 'ADMIN', 'SUPER_ADMIN')),
    is_active      BOOLEAN NOT NULL DEFAULT TRUE,
    token_version  INTEGER NOT NULL DEFAULT 0,
    fcm_token      TEXT,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE tickets (
    id                   BIGSERIAL PRIMARY KEY,
    channel              TEXT NOT NULL CHECK (channel IN ('DONOR', 'INTERNAL')),
    title                TEXT NOT NULL,
    description          TEXT,
    status               TEXT NOT NULL CHECK (status IN
                             ('OPEN', 'IN_PROGRESS', 'PENDING_REPLY', 'TRANSFERRED', 'RESOLVED', 'CLOSED')),
    priority             TEXT NOT NULL CHECK (priority IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    donor_name           TEXT,
    donor_id             TEXT,
    query_mode           TEXT CHECK (query_mode IN ('TEXT', 'AUDIO', 'VIDEO')),
    stage                TEXT,
    device               TEXT,
    sid                  TEXT,
    is_test              BOOLEAN NOT NULL DEFAULT FALSE,
    donor_fcm_token      TEXT,
    assignee_id          BIGINT REFERENCES users (id) ON DELETE SET NULL,
    creator_id           BIGINT REFERENCES users (id) ON DELETE SET NULL,
    resolved_by_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    resolved_at          TIMESTAMP,
    transferred_from_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    transfer_note        TEXT,
    closed_at            TIMESTAMP,
    version              INTEGER NOT NULL DEFAULT 1,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    -- A donor query names its donor; a task does not.
    CONSTRAINT tickets_donor_check CHECK (
        (channel = 'DONOR') = (donor_name IS NOT NULL AND donor_id IS NOT NULL AND query_mode IS NOT NULL)
    )
);

CREATE INDEX tickets_channel_id_idx ON tickets (channel, id);
CREATE INDEX tickets_channel_status_id_idx ON tickets (channel, status, id);
CREATE INDEX tickets_status_id_idx ON tickets (status, id);
CREATE INDEX tickets_assignee_id_idx ON tickets (assignee_id, id);
CREATE INDEX tickets_creator_id_idx ON tickets (creator_id, id);
CREATE INDEX tickets_donor_id_idx ON tickets (donor_id, id);
CREATE INDEX tickets_priority_id_idx ON tickets (priority, id);
CREATE INDEX tickets_created_at_idx ON tickets (created_at);

CREATE TABLE messages (
    id                 BIGSERIAL PRIMARY KEY,
    ticket_id          BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    sender_type        TEXT NOT NULL CHECK (sender_type IN ('STAFF', 'DONOR', 'SYSTEM')),
    -- Users are deactivated, never deleted, while they have messages.
    sender_user_id     BIGINT REFERENCES users (id),
    message_type       TEXT NOT NULL CHECK (message_type IN
                           ('CHAT', 'SYSTEM', 'QUERY', 'CALL_REQUEST', 'CALL_STARTED', 'CALL_ENDED', 'REMINDER')),
    content            TEXT NOT NULL,
    reply_to_id        BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    client_message_id  TEXT,
    edited_at          TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    CONSTRAINT messages_sender_check CHECK ((sender_type = 'STAFF') = (sender_user_id IS NOT NULL)),
    -- Idempotent sends: one message per ticket and client key.
    CONSTRAINT messages_client_message_id_key UNIQUE (ticket_id, client_message_id)
);

CREATE INDEX messages_ticket_id_idx ON messages (ticket_id, id);
CREATE INDEX messages_reply_to_id_idx ON messages (reply_to_id);
CREATE INDEX messages_sender_user_id_idx ON messages (sender_user_id, id);
CREATE INDEX messages_type_id_idx ON messages (message_type, id);

-- The event log (a transactional outbox). seq = (top-level transaction id << 12) + ordinal,
-- assigned by the writer; readers stop below the oldest running transaction (see
-- crates/store/src/events.rs). No foreign key: a ticket_deleted event outlives its ticket.
CREATE TABLE events (
    seq         BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    ticket_id   BIGINT,
    data        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE INDEX events_ticket_id_seq_idx ON events (ticket_id, seq);
