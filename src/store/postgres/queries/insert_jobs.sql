-- Inserts many jobs in one statement, in order, with increasing ids: queued, waiting (with
-- deps_pending), or (with a worker_id) already claimed by that worker, as insert_job. Ids are drawn before the insert so that every
-- input row can be matched to its outcome: `inserted` is false when a queued or running job
-- (possibly an earlier row of this call) holds the row's unique key.
-- params: arrays $1 task, $2 input, $3 input_bytes, $4 priority, $5 run_at, $6 max_attempts,
--         $7 timeout_ms, $8 unique_key, $9 concurrency_key, $10 origin; $11 batch_id, $12 created_at;
--         arrays $13 worker_id (null: queued), $14 lease_expires_at, $15 step, $16 deps_pending (null: not
--         waiting), $17 has_dependents, $18 trace_context
WITH input AS (
  SELECT nextval('jobs_id_seq') AS id, i.*
  FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[], $5::bigint[], $6::integer[], $7::bigint[],
              $8::text[], $9::text[], $10::text[], $13::text[], $14::bigint[],
              $15::text[], $16::integer[], $17::boolean[], $18::text[])
    WITH ORDINALITY AS i(task, input, input_bytes, priority, run_at, max_attempts, timeout_ms, unique_key, concurrency_key, origin,
                         worker_id, lease_expires_at, step, deps_pending, has_dependents, trace_context, ord)
), inserted AS (
  INSERT INTO jobs (id, task, state, input, input_bytes, priority, run_at, max_attempts, timeout_ms, unique_key,
                    concurrency_key, batch_id, origin, created_at, attempt, worker_id, lease_token, lease_expires_at, started_at,
                    step, deps_pending, deps_total, has_dependents, trace_context)
  SELECT id, task, CASE WHEN worker_id IS NOT NULL THEN 'running' WHEN deps_pending IS NOT NULL THEN 'waiting' ELSE 'queued' END, input, input_bytes, priority, run_at,
         max_attempts, timeout_ms, unique_key, concurrency_key, $11, origin, $12,
         CASE WHEN worker_id IS NULL THEN 0 ELSE 1 END, worker_id,
         CASE WHEN worker_id IS NULL THEN NULL ELSE (random() * 4503599627370495)::bigint END,
         lease_expires_at, CASE WHEN worker_id IS NULL THEN NULL ELSE $12::bigint END,
         step, deps_pending, deps_pending, coalesce(has_dependents, false), trace_context
  FROM input ORDER BY ord
  ON CONFLICT DO NOTHING
  RETURNING id, lease_token
)
SELECT input.id::text AS id, inserted.id IS NOT NULL AS inserted, inserted.lease_token::text AS "leaseToken"
FROM input LEFT JOIN inserted USING (id)
ORDER BY input.ord
