-- The pgbench ceiling's tables, shaped like Concierge's messages: a bigserial key, a ticket id
-- with an index, text and a timestamp.
DROP TABLE IF EXISTS bench_insert;
DROP TABLE IF EXISTS bench_select;
CREATE TABLE bench_insert (
    id bigserial PRIMARY KEY,
    ticket_id bigint NOT NULL,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bench_insert_ticket ON bench_insert (ticket_id, id);
CREATE TABLE bench_select (
    id bigserial PRIMARY KEY,
    ticket_id bigint NOT NULL,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- 10,000 tickets of 100 rows each.
INSERT INTO bench_select (ticket_id, content)
SELECT g % 10000 + 1, 'message number ' || g || ' of a benchmark conversation'
FROM generate_series(1, 1000000) AS g;
CREATE INDEX bench_select_ticket ON bench_select (ticket_id, id);
VACUUM ANALYZE bench_select;
