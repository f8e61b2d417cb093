-- One row per follower of the event log (push, webhooks, SLA timer, auditor): its cursor and
-- its single-instance lease. The push dispatcher's row ("push") keeps its place.
ALTER TABLE push_state RENAME TO follower_state;
