-- PostgreSQL only (the event log's `seq` and horizon functions); SQLite numbers events by rowid.
SELECT 1;
