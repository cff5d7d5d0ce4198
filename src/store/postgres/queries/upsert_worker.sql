-- params: $1 id, $2 kind, $3 host, $4 pid, $5 tasks (array), $6 concurrency, $7 started at, $8 last seen at
-- Returns whether an operator asked the worker to stop.
INSERT INTO workers (id, kind, host, pid, tasks, concurrency, started_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET
  tasks = excluded.tasks, concurrency = excluded.concurrency, last_seen_at = excluded.last_seen_at
RETURNING stop_requested_at AS "stopRequestedAt"
