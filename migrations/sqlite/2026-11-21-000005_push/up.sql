-- The push dispatcher's memory: how far it has read the event log, who holds its lease, and
-- which (event, device) pairs it has sent.
CREATE TABLE push_state (
    name         TEXT PRIMARY KEY,
    cursor       BIGINT NOT NULL,
    leader       TEXT,
    lease_until  TIMESTAMP
);

CREATE TABLE push_deliveries (
    key         TEXT PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX push_deliveries_created_at_idx ON push_deliveries (created_at);

-- Forgetting an invalid token looks it up where it is stored.
CREATE INDEX users_fcm_token_idx ON users (fcm_token);
CREATE INDEX tickets_donor_fcm_token_idx ON tickets (donor_fcm_token);
