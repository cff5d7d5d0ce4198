-- params: :id, :kind, :host, :pid, :tasks (JSON), :concurrency, :startedAt, :lastSeenAt
-- Returns whether an operator asked the worker to stop.
INSERT INTO workers (id, kind, host, pid, tasks, concurrency, started_at, last_seen_at)
VALUES (:id, :kind, :host, :pid, :tasks, :concurrency, :startedAt, :lastSeenAt)
ON CONFLICT (id) DO UPDATE SET
  tasks = excluded.tasks, concurrency = excluded.concurrency, last_seen_at = excluded.last_seen_at
RETURNING stop_requested_at AS stopRequestedAt
