DROP INDEX IF EXISTS push_retries_next_attempt_at_idx;
DROP TABLE IF EXISTS push_retries;
