-- finish_jobs, as in 002, with two changes:
-- - a job that succeeds or fails keeps the lease token of the attempt that finished it, so a repeated
--   delivery of that outcome (its first answer lost) is recognised instead of refused;
-- - each transition that took effect also reports the job's concurrency key, so the process can wake
--   whoever waits for that key's slot.
DROP FUNCTION finish_jobs(bigint[], bigint[], text[], text[], bytea[], text[], bigint[], integer[], bigint, text, text[], integer, bigint, bigint);

-- Records attempts' outcomes, fenced by their lease tokens, counts finished batch members, and
-- (when p_max > 0) claims the next jobs: one round trip, one commit for a worker's whole turn.
-- Rows: 'r' one per transition that took effect (ord = its 1-based position, task, concurrency_key);
--       'b' a batch this finished (extra = the batch_add_finished row); 'c' a claimed job.
CREATE FUNCTION finish_jobs(
  p_ids bigint[], p_tokens bigint[], p_to text[], p_results text[], p_result_bytes bytea[],
  p_errors text[], p_run_ats bigint[], p_refunds integer[], p_now bigint,
  p_worker text, p_tasks text[], p_max integer, p_lease_ms bigint, p_claim_now bigint)
RETURNS TABLE (kind "char", ord integer, task text, id text, input text, input_bytes bytea, attempt integer,
  max_attempts integer, priority bigint, timeout_ms bigint, batch_id text, created_at bigint, lease_token text,
  lease_expires_at bigint, unique_key text, extra jsonb, concurrency_key text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  v_ords integer[];
  v_tasks text[];
  v_keys text[];
  v_batches bigint[];
  v_batch_states text[];
  b record;
BEGIN
  WITH t AS (
    SELECT * FROM unnest(p_ids, p_tokens, p_to, p_results, p_result_bytes, p_errors, p_run_ats, p_refunds)
      WITH ORDINALITY AS t(id, token, to_state, result, result_bytes, error, run_at, refund, ord)
  ), done AS (
    UPDATE jobs j
    SET state = t.to_state,
        result = CASE WHEN t.to_state = 'succeeded' THEN t.result ELSE j.result END,
        result_bytes = CASE WHEN t.to_state = 'succeeded' THEN t.result_bytes ELSE j.result_bytes END,
        error = CASE WHEN t.to_state = 'succeeded' THEN NULL ELSE coalesce(t.error, j.error) END,
        errors = CASE WHEN t.error IS NULL THEN j.errors
                      WHEN j.errors IS NULL THEN jsonb_build_array(t.error::jsonb)
                      WHEN jsonb_array_length(j.errors) >= 10 THEN (j.errors - 0) || jsonb_build_array(t.error::jsonb)
                      ELSE j.errors || jsonb_build_array(t.error::jsonb) END,
        run_at = CASE WHEN t.to_state = 'queued' THEN t.run_at ELSE j.run_at END,
        attempt = j.attempt - t.refund,
        finished_at = CASE WHEN t.to_state = 'queued' THEN NULL ELSE p_now END,
        -- A finished job keeps the token of the attempt that finished it, so a repeated delivery
        -- of that outcome is recognised (src/core/transitions.ts); every fence also needs 'running'.
        lease_token = CASE WHEN t.to_state = 'queued' THEN NULL ELSE j.lease_token END, lease_expires_at = NULL
    FROM t
    -- Through the primary key (see claim_jobs): `state = 'running'` would offer the running-jobs
    -- index, which holds an entry for every job that finished since the last vacuum.
    WHERE j.id = ANY (p_ids) AND j.id = t.id AND j.state IS NOT DISTINCT FROM 'running' AND j.lease_token = t.token
    RETURNING t.ord, j.task, j.batch_id, t.to_state, j.concurrency_key
  )
  SELECT array_agg(d.ord::integer), array_agg(d.task), array_agg(d.concurrency_key),
    array_agg(d.batch_id) FILTER (WHERE d.batch_id IS NOT NULL AND d.to_state <> 'queued'),
    array_agg(d.to_state) FILTER (WHERE d.batch_id IS NOT NULL AND d.to_state <> 'queued')
  INTO v_ords, v_tasks, v_keys, v_batches, v_batch_states
  FROM done d;

  RETURN QUERY SELECT 'r'::"char", x.o, x.tk, NULL::text, NULL::text, NULL::bytea, NULL::integer, NULL::integer,
    NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::jsonb, x.k
  FROM unnest(v_ords, v_tasks, v_keys) AS x(o, tk, k);

  IF v_batches IS NOT NULL THEN
    -- In batch id order: finishers touching the same batches lock them in the same order.
    FOR b IN
      SELECT x.bid, count(*) FILTER (WHERE x.st = 'succeeded')::integer AS s, count(*) FILTER (WHERE x.st = 'failed')::integer AS f
      FROM unnest(v_batches, v_batch_states) AS x(bid, st) GROUP BY x.bid ORDER BY x.bid
    LOOP
      RETURN QUERY SELECT 'b'::"char", NULL::integer, NULL::text, NULL::text, NULL::text, NULL::bytea, NULL::integer, NULL::integer,
        NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::bigint, NULL::text, to_jsonb(f), NULL::text
      FROM batch_add_finished(b.bid, b.s, b.f, 0, p_now) f;
    END LOOP;
  END IF;

  IF p_max > 0 THEN
    RETURN QUERY SELECT 'c'::"char", NULL::integer, c.task, c.id, c.input, c.input_bytes, c.attempt, c.max_attempts,
      c.priority, c.timeout_ms, c.batch_id, c.created_at, c.lease_token, c.lease_expires_at, c.unique_key, NULL::jsonb, NULL::text
    FROM claim_jobs(p_worker, p_tasks, p_max, p_lease_ms, p_claim_now) c;
  END IF;
END $$;
