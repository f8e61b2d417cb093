-- One single-row insert into an indexed table (a message, in its own transaction).
\set t random(1, 10000)
INSERT INTO bench_insert (ticket_id, content) VALUES (:t, 'a benchmark message of ordinary length');
