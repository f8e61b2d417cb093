-- Summaries and QA reviews, SQLite. Kept in step with migrations/postgres.
-- Lists (key points, entities, flags) are JSON text. Both go with their ticket.

CREATE TABLE summaries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id      INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    content        TEXT NOT NULL,
    key_points     TEXT NOT NULL,
    entities       TEXT NOT NULL,
    next_steps     TEXT,
    analyzer       TEXT NOT NULL,
    model          TEXT,
    fallback_from  TEXT,
    created_at     TIMESTAMP NOT NULL,
    -- One current summary per ticket.
    CONSTRAINT summaries_ticket_id_key UNIQUE (ticket_id)
);

CREATE TABLE qa_reviews (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id     INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    ticket_id      INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    status         TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    feedback       TEXT,
    flags          TEXT NOT NULL,
    sentiment      REAL NOT NULL,
    analyzer       TEXT NOT NULL,
    fallback_from  TEXT,
    reviewer_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    -- One review per message.
    CONSTRAINT qa_reviews_message_id_key UNIQUE (message_id)
);

-- Lists are newest first (id DESC) with a keyset cursor on id, filtered by status and ticket.
CREATE INDEX qa_reviews_status_id_idx ON qa_reviews (status, id);
CREATE INDEX qa_reviews_ticket_id_idx ON qa_reviews (ticket_id, id);
CREATE INDEX qa_reviews_ticket_status_id_idx ON qa_reviews (ticket_id, status, id);
CREATE INDEX qa_reviews_reviewer_id_idx ON qa_reviews (reviewer_id);
