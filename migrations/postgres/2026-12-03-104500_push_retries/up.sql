-- The push dispatcher's retry queue: a notification that failed for now waits here, one row per
-- (event, device), so the cursor moves on and other devices are not held up.
CREATE TABLE push_retries (
    key              TEXT PRIMARY KEY,
    seq              BIGINT NOT NULL,
    token            TEXT NOT NULL,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    data             TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    give_up_at       TIMESTAMP NOT NULL
);
-- The retry pass reads the rows that are due, earliest first.
CREATE INDEX push_retries_next_attempt_at_idx ON push_retries (next_attempt_at);
