-- The event log's two PostgreSQL expressions (crates/store/src/events.rs) as functions, so the
-- statements that use them are prepared once per connection instead of planned on every call.

-- The `seq` of the current transaction's event number `ordinal`: its transaction id (assigning
-- one if it has none yet) times 2^12, plus the ordinal. Fails with "bigint out of range" rather
-- than wrapping for an id past 2^51.
CREATE FUNCTION concierge_event_seq(ordinal BIGINT) RETURNS BIGINT
    LANGUAGE sql VOLATILE
    AS $$ SELECT pg_current_xact_id()::text::bigint * 4096 + ordinal $$;

-- The readable horizon of the calling statement's snapshot, as a `seq`: every transaction below
-- the snapshot's xmin has finished.
CREATE FUNCTION concierge_event_horizon() RETURNS BIGINT
    LANGUAGE sql STABLE
    AS $$ SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 12 $$;
