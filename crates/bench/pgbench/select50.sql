-- A 50-row indexed select (the first page of a conversation).
\set t random(1, 10000)
SELECT id, ticket_id, content, created_at FROM bench_select WHERE ticket_id = :t ORDER BY id LIMIT 50;
