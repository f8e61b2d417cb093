-- Donor sessions: a donor token lists the queries of its session, not every query that
-- claims its donorId (see docs/donor-privacy.md). Each query opened before this migration is
-- a session of its own, named after its id; donor tokens minted before it name the same
-- session ('legacy-' || their ticket id). Tasks have none.
ALTER TABLE tickets ADD COLUMN donor_session TEXT;
UPDATE tickets SET donor_session = 'legacy-' || id WHERE channel = 'DONOR';
CREATE INDEX tickets_donor_session_idx ON tickets (donor_session, id);
