-- Forgets the throughput buckets of minutes before $1 (deltas too: they would only make them again).
-- params: $1 cutoff
WITH d AS (DELETE FROM job_throughput_deltas WHERE minute < $1)
DELETE FROM job_throughput WHERE minute < $1
