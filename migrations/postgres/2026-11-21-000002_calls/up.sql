-- Calls (postgres; kept in step with the other backend's migration of the same name).
-- A donor's call requests, and the call sessions (one video provider room each) of a ticket.

CREATE TABLE call_requests (
    id             BIGSERIAL PRIMARY KEY,
    ticket_id      BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    mode           TEXT NOT NULL CHECK (mode IN ('VIDEO', 'AUDIO')),
    message        TEXT,
    status         TEXT NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED', 'CANCELLED')),
    decided_by_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    reason         TEXT,
    decided_at     TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    -- A decided request says when; a pending one does not.
    CONSTRAINT call_requests_decided_check CHECK ((status = 'PENDING') = (decided_at IS NULL))
);

-- A ticket's requests, newest first; its newest pending one.
CREATE INDEX call_requests_ticket_id_idx ON call_requests (ticket_id, id);
CREATE INDEX call_requests_ticket_status_id_idx ON call_requests (ticket_id, status, id);

CREATE TABLE call_sessions (
    id             BIGSERIAL PRIMARY KEY,
    ticket_id      BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    room_id        TEXT NOT NULL,
    mode           TEXT NOT NULL CHECK (mode IN ('VIDEO', 'AUDIO')),
    status         TEXT NOT NULL CHECK (status IN ('CREATED', 'ACTIVE', 'ENDED')),
    request_id     BIGINT REFERENCES call_requests (id) ON DELETE SET NULL,
    created_by_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    started_at     TIMESTAMP,
    ended_at       TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    CONSTRAINT call_sessions_room_id_key UNIQUE (room_id),
    CONSTRAINT call_sessions_ended_check CHECK ((status = 'ENDED') = (ended_at IS NOT NULL))
);

-- One call per ticket that has not ended: the database refuses a second one.
CREATE UNIQUE INDEX call_sessions_one_open_per_ticket ON call_sessions (ticket_id)
    WHERE status <> 'ENDED';
-- A ticket's sessions, newest first.
CREATE INDEX call_sessions_ticket_id_idx ON call_sessions (ticket_id, id);
CREATE INDEX call_sessions_request_id_idx ON call_sessions (request_id);
