-- params: $1 seen since
SELECT id, kind, host, pid, tasks, concurrency, started_at AS "startedAt", last_seen_at AS "lastSeenAt"
FROM workers WHERE last_seen_at >= $1 ORDER BY started_at, id
