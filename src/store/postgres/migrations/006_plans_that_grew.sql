-- Two plans that grew with the size of a batch or of the table:
-- - finish_jobs, as in 004, with its outcomes driving the join (see its WHERE clause): a group of
--   100 outcomes took 10 ms, one unnest of the arrays per job; now each outcome is one look-up;
-- - claim_jobs, as in 002, with the free path's index scan kept on jobs_queued (see its comment).

-- Claims up to p_max runnable jobs of p_tasks for a worker, best priority first, then oldest
-- run_at, then FIFO, each with a fresh random fencing token. Tasks without limits are claimed with
-- FOR UPDATE SKIP LOCKED (claimers never wait for each other); limited ones via choose_limited.
--
CREATE OR REPLACE FUNCTION claim_jobs(p_worker text, p_tasks text[], p_max integer, p_lease_ms bigint, p_now bigint)
RETURNS TABLE (id text, task text, input text, input_bytes bytea, attempt integer, max_attempts integer,
  priority bigint, timeout_ms bigint, batch_id text, created_at bigint, lease_token text, lease_expires_at bigint,
  unique_key text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  v_free text[];
  v_limited text[];
  v_chosen bigint[] := '{}';
BEGIN
  IF p_max <= 0 OR coalesce(cardinality(p_tasks), 0) = 0 THEN
    RETURN;
  END IF;
  -- A task is limited when it has a concurrency setting or runnable jobs with a concurrency key.
  -- Keyed jobs are only ever claimed on the locked path; a keyed job inserted after this check
  -- is left for the next claim.
  SELECT array_agg(c.name) FILTER (WHERE NOT c.limited), array_agg(c.name ORDER BY c.name) FILTER (WHERE c.limited)
  INTO v_free, v_limited
  FROM (
    SELECT u.name, (t.concurrency IS NOT NULL OR EXISTS (
        SELECT 1 FROM jobs k WHERE k.state = 'queued' AND k.task = u.name AND k.concurrency_key IS NOT NULL AND k.run_at <= p_now)) AS limited
    FROM unnest(p_tasks) AS u(name) LEFT JOIN tasks t ON t.name = u.name
    WHERE t.paused_until IS NULL OR t.paused_until <= p_now
  ) c;
  IF v_limited IS NOT NULL THEN
    v_chosen := choose_limited(v_limited, p_max, p_now);
  END IF;
  RETURN QUERY
  WITH chosen AS (
    -- The key is checked outside the index scan: `concurrency_key IS NULL` inside it lets the
    -- planner use jobs_queued_unkeyed_by_time, in run_at order, and read and sort the whole queue
    -- for every claim (seen once the table had 60,000 jobs: 14 ms a claim, and growing). A keyed
    -- job among the first p_max costs this claim one job; the next claim takes the locked path.
    (SELECT f.id, f.priority, f.run_at
     FROM unnest(coalesce(v_free, '{}'::text[])) AS u(name) CROSS JOIN LATERAL (
       SELECT j.id, j.priority, j.run_at, j.concurrency_key FROM jobs j
       WHERE j.state = 'queued' AND j.task = u.name AND j.run_at <= p_now
       ORDER BY j.priority DESC, j.run_at, j.id
       LIMIT p_max
       FOR UPDATE SKIP LOCKED) f
     WHERE f.concurrency_key IS NULL
     UNION ALL
     SELECT j.id, j.priority, j.run_at FROM jobs j WHERE j.id = ANY (v_chosen))
    ORDER BY 2 DESC, 3, 1
    LIMIT p_max
  ), claimed AS (
    -- Through the primary key, whatever the statistics say. The plan is made once and kept: a join
    -- with `chosen` could be estimated at thousands of rows and done as a scan of the whole table,
    -- and a plain `state = 'queued'` would let the planner walk the whole queue index looking for
    -- these ids. IS NOT DISTINCT FROM checks the same thing without offering that index.
    UPDATE jobs j
    SET state = 'running', attempt = j.attempt + 1, worker_id = p_worker,
        lease_token = (random() * 4503599627370495)::bigint, lease_expires_at = p_now + p_lease_ms,
        started_at = p_now, progress_done = NULL, progress_total = NULL, progress_message = NULL
    WHERE j.id = ANY (ARRAY(SELECT c.id FROM chosen c)) AND j.state IS NOT DISTINCT FROM 'queued'
    RETURNING j.id, j.task, j.input, j.input_bytes, j.attempt, j.max_attempts, j.priority, j.timeout_ms,
      j.batch_id, j.created_at, j.lease_token, j.lease_expires_at, j.run_at, j.unique_key
  )
  SELECT c.id::text, c.task, c.input, c.input_bytes, c.attempt, c.max_attempts, c.priority, c.timeout_ms,
    c.batch_id::text, c.created_at, c.lease_token::text, c.lease_expires_at, c.unique_key
  FROM claimed c
  ORDER BY c.priority DESC, c.run_at, c.id;
END $$;

CREATE OR REPLACE FUNCTION finish_jobs(
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
    -- The outcomes drive the join: one look-up in the primary key per outcome. (Joined the other
    -- way, through `j.id = ANY (p_ids)`, the array was unnested again for every job: 10 ms for 100
    -- outcomes.) `state = 'running'` would offer the running-jobs index, which holds an entry for
    -- every job that finished since the last vacuum; IS NOT DISTINCT FROM does not.
    WHERE j.id = t.id AND j.state IS NOT DISTINCT FROM 'running' AND j.lease_token = t.token
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
