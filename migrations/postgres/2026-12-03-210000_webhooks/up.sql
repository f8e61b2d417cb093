-- Webhooks (postgres; kept in step with the other backend's migration of the same name).
-- Endpoints, each with its own cursor in the event log, and their delivery logs.

CREATE TABLE webhooks (
    id                     BIGSERIAL PRIMARY KEY,
    url                    TEXT NOT NULL,
    -- '*' or event names separated by commas.
    events                 TEXT NOT NULL,
    description            TEXT,
    active                 BOOLEAN NOT NULL,
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  TIMESTAMP,
    -- The seq of the last event taken from the log for this endpoint.
    cursor                 BIGINT NOT NULL,
    failing_since          TIMESTAMP,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
-- The dispatcher reads the active endpoints.
CREATE INDEX webhooks_active_idx ON webhooks (active, id);

-- One row per event and endpoint, with its last attempt.
CREATE TABLE webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    webhook_id       BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    response_status  INTEGER,
    error            TEXT,
    duration_ms      BIGINT,
    next_attempt_at  TIMESTAMP,
    give_up_at       TIMESTAMP NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    CONSTRAINT webhook_deliveries_event_key UNIQUE (webhook_id, seq)
);
-- An endpoint's delivery log, newest first.
CREATE INDEX webhook_deliveries_webhook_id_idx ON webhook_deliveries (webhook_id, id);
-- An endpoint's first pending delivery, in event order.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (webhook_id, status, seq);
