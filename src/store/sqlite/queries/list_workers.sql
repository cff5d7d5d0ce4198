-- params: :seenSince
SELECT id, kind, host, pid, tasks, concurrency, started_at AS startedAt, last_seen_at AS lastSeenAt
FROM workers WHERE last_seen_at >= :seenSince ORDER BY started_at, id
