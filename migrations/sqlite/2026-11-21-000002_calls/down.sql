DROP TABLE call_sessions;
DROP TABLE call_requests;
