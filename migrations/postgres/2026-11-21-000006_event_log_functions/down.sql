DROP FUNCTION IF EXISTS concierge_event_horizon();
DROP FUNCTION IF EXISTS concierge_event_seq(BIGINT);
