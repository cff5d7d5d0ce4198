-- New jobs that wait for others. params: arrays $1 ids, $2 how many jobs each waits for
UPDATE jobs j SET state = 'waiting', deps_pending = t.n, deps_total = t.n
FROM unnest($1::bigint[], $2::integer[]) AS t(id, n)
WHERE j.id = t.id
