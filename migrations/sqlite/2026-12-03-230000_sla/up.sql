-- SLA policies and business-hours calendars, SQLite. Kept in step with migrations/postgres.
-- A calendar's week and holidays are JSON text: always read and written whole (a PUT replaces
-- them, the clocks need all of them), never filtered in SQL.

CREATE TABLE sla_calendars (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    -- {"mon": [["09:00", "17:00"]], ..., "sun": []}
    week        TEXT NOT NULL,
    -- ["2026-12-25", ...]
    holidays    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE sla_policies (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    name                       TEXT NOT NULL,
    match_channel              TEXT CHECK (match_channel IN ('DONOR', 'INTERNAL')),
    match_priority             TEXT CHECK (match_priority IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    first_response_seconds     INTEGER CHECK (first_response_seconds > 0),
    next_response_seconds      INTEGER CHECK (next_response_seconds > 0),
    resolution_seconds         INTEGER CHECK (resolution_seconds > 0),
    -- NULL: around the clock. A calendar in use cannot be deleted.
    calendar_id                INTEGER REFERENCES sla_calendars (id) ON DELETE RESTRICT,
    warn_before_seconds        INTEGER NOT NULL CHECK (warn_before_seconds >= 0),
    pause_while_pending_reply  BOOLEAN NOT NULL,
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL
);

-- Deleting a calendar looks for the policies that count in it.
CREATE INDEX sla_policies_calendar_id_idx ON sla_policies (calendar_id);
