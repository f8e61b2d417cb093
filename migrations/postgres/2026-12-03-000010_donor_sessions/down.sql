DROP INDEX IF EXISTS tickets_donor_session_idx;
ALTER TABLE tickets DROP COLUMN IF EXISTS donor_session;
