-- Workers seen since :seenSince, with the jobs each holds now (through the running index).
-- params: :seenSince
SELECT w.id, w.kind, w.host, w.pid, w.tasks, w.concurrency, w.started_at AS startedAt, w.last_seen_at AS lastSeenAt,
  w.stop_requested_at AS stopRequestedAt, coalesce(b.n, 0) AS busy
FROM workers w
LEFT JOIN (SELECT worker_id, count(*) AS n FROM jobs WHERE state = 'running' GROUP BY worker_id) b ON b.worker_id = w.id
WHERE w.last_seen_at >= :seenSince ORDER BY w.started_at, w.id
