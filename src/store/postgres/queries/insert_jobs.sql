-- Inserts many queued jobs in one statement, in order, with increasing ids. Ids are drawn before
-- the insert so that every input row can be matched to its outcome: `inserted` is false when a
-- queued or running job (possibly an earlier row of this call) holds the row's unique key.
-- params: arrays $1 task, $2 input, $3 input_bytes, $4 priority, $5 run_at, $6 max_attempts,
--         $7 timeout_ms, $8 unique_key, $9 concurrency_key, $10 origin; $11 batch_id, $12 created_at
WITH input AS (
  SELECT nextval('jobs_id_seq') AS id, i.*
  FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[], $5::bigint[], $6::integer[], $7::bigint[],
              $8::text[], $9::text[], $10::text[])
    WITH ORDINALITY AS i(task, input, input_bytes, priority, run_at, max_attempts, timeout_ms, unique_key, concurrency_key, origin, ord)
), inserted AS (
  INSERT INTO jobs (id, task, state, input, input_bytes, priority, run_at, max_attempts, timeout_ms, unique_key,
                    concurrency_key, batch_id, origin, created_at)
  SELECT id, task, 'queued', input, input_bytes, priority, run_at, max_attempts, timeout_ms, unique_key,
         concurrency_key, $11, origin, $12
  FROM input ORDER BY ord
  ON CONFLICT DO NOTHING
  RETURNING id
)
SELECT input.id::text AS id, inserted.id IS NOT NULL AS inserted
FROM input LEFT JOIN inserted USING (id)
ORDER BY input.ord
