-- Failed logins, counted in fixed one-minute windows where every instance sees them (the
-- server's limits.rs): one row per key (a client address, a digest of a login name, or both),
-- its window's start and how many failures it holds. A failed login replaces an ended window.
CREATE TABLE login_failures (
    key         TEXT PRIMARY KEY,
    started_at  TIMESTAMP NOT NULL,
    failures    INTEGER NOT NULL
);
-- Ended windows are removed by their start.
CREATE INDEX login_failures_started_at_idx ON login_failures (started_at);
