-- A flow's settling in fewer statements. settle_dependents reads the edges from the jobs that
-- ended and locks the waiting jobs in one statement per round, not two, and reads each job that
-- ended once, through its key (before, the edges were looked up job by job: a fan-in of 99 was
-- 99 look-ups). The jobs it holds for the caller's claim come with what the claim needs to order
-- and take them (task, priority, run time, whether keyed), as one array of released_job, so
-- claim_jobs no longer reads them again; a flow's drain paid for each of these in every stage.
-- And claim_jobs checks a task's suspension again as it takes the jobs: a suspension that
-- committed while a claim ran, before a job of the task was enqueued, let that claim take the job
-- (seen once under load: test/core/suspend.test.ts on PostgreSQL).
DROP FUNCTION finish_jobs(bigint[], bigint[], text[], text[], bytea[], text[], bigint[], integer[], bigint, text, text[], integer, bigint, bigint);
DROP FUNCTION claim_jobs(text, text[], integer, bigint, bigint, bigint[], json[]);
DROP FUNCTION settle_dependents(bigint[], bigint[], bigint, boolean);
ALTER TYPE settled_job ADD ATTRIBUTE priority bigint, ADD ATTRIBUTE keyed boolean;
CREATE TYPE released_job AS (id bigint, task text, priority bigint, run_at bigint, keyed boolean, deps json);

-- settle_dependents as in 010, one statement per round as above.
CREATE FUNCTION settle_dependents(p_ids bigint[], p_only bigint[], p_now bigint, p_hold boolean DEFAULT false)
RETURNS TABLE (kind "char", id text, task text, state text, run_at bigint, batch_id text, error text, dependencies json,
  priority bigint, keyed boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  v_seeds bigint[] := p_ids;
  v_only bigint[] := p_only;
  v_next bigint[];
  v_any boolean;
  v_held bigint[];
  v_held_deps json[];
  v_held_tasks text[];
  v_held_priorities bigint[];
  v_held_run_ats bigint[];
  v_held_keyed boolean[];
  v_counted bigint[];
  v_counted_ns integer[];
  v_ending bigint[];
  v_ending_by bigint[];
  r record;
BEGIN
  WHILE coalesce(cardinality(v_seeds), 0) > 0 LOOP
    -- One statement per round. The jobs that ended, read once each however many wait for them
    -- (dep); per waiting job, how many of its edges settle now and the first (by id) of the jobs
    -- that end it, if any (g); the waiting jobs locked in id order, each with what it still waits
    -- for (x): that says which are released. Held (p_hold): released, and left as they are for
    -- the caller's claim, with what it needs to order and take them ('h' rows). The others with no
    -- blocking edge count their edges down, and are queued at zero. No aggregate is ordered (an
    -- ordered one sorts for every waiting job): the arrays line up, in no particular order.
    WITH dep AS MATERIALIZED (
      SELECT j.id, j.step, j.state, j.task, j.result, j.result_bytes, j.error, j.retried FROM jobs j WHERE j.id = ANY (v_seeds)
    ), g AS MATERIALIZED (
      SELECT d.job_id, count(*)::integer AS n,
        min(d.dep_id) FILTER (WHERE dep.state <> 'succeeded' AND d.policy <> 'run') AS blocking,
        -- Only small outcomes: each edge gets its own copy, and a fan-out releases more jobs than a
        -- claim may take. A job with a larger one is read at claim time, when it is claimed.
        CASE WHEN bool_and(coalesce(octet_length(dep.result), 0) + coalesce(octet_length(dep.result_bytes), 0) <= 8192) THEN
          json_agg(json_build_array(dep.id::text, coalesce(d.name, dep.step), d.policy, dep.task, dep.state, dep.result,
            encode(dep.result_bytes, 'base64'), dep.error))
            FILTER (WHERE p_hold AND coalesce(octet_length(dep.result), 0) + coalesce(octet_length(dep.result_bytes), 0) <= 8192)
        END AS deps
      -- Only the edges stored in the job's current round (those of a round before were settled
      -- then). Both tables through their indexes, by the ids given, whatever the statistics say.
      FROM job_deps d JOIN dep ON dep.id = d.dep_id AND d.dep_retried = dep.retried
      WHERE d.dep_id = ANY (v_seeds) AND (v_only IS NULL OR d.job_id = ANY (v_only))
      GROUP BY d.job_id
    ), x AS (
      -- Locked one by one in id order (the sort is the loop's outer side), through the key.
      SELECT g.job_id AS id, g.n, g.blocking, g.deps, w.deps_total, w.task, w.priority, w.run_at, w.concurrency_key,
        g.blocking IS NULL AND p_hold AND w.deps_pending - g.n <= 0 AS held
      FROM (SELECT * FROM g ORDER BY g.job_id) g
      CROSS JOIN LATERAL (
        SELECT w.deps_pending, w.deps_total, w.task, w.priority, w.run_at, w.concurrency_key
        FROM jobs w WHERE w.id = g.job_id AND w.state = 'waiting' FOR NO KEY UPDATE OF w) w
    )
    SELECT array_agg(x.id) FILTER (WHERE x.held), array_agg(CASE WHEN x.n = x.deps_total THEN x.deps END) FILTER (WHERE x.held),
      array_agg(x.task) FILTER (WHERE x.held), array_agg(x.priority) FILTER (WHERE x.held),
      array_agg(x.run_at) FILTER (WHERE x.held), array_agg(x.concurrency_key IS NOT NULL) FILTER (WHERE x.held),
      array_agg(x.id) FILTER (WHERE x.blocking IS NULL AND NOT x.held), array_agg(x.n) FILTER (WHERE x.blocking IS NULL AND NOT x.held),
      array_agg(x.id) FILTER (WHERE x.blocking IS NOT NULL), array_agg(x.blocking) FILTER (WHERE x.blocking IS NOT NULL),
      count(*) > 0
    INTO v_held, v_held_deps, v_held_tasks, v_held_priorities, v_held_run_ats, v_held_keyed, v_counted, v_counted_ns,
      v_ending, v_ending_by, v_any
    FROM x;
    v_only := NULL;
    EXIT WHEN NOT v_any;
    IF v_held IS NOT NULL THEN
      RETURN QUERY SELECT 'h'::"char", h.id::text, h.task, 'waiting'::text, h.run_at, NULL::text, NULL::text, h.deps, h.priority, h.keyed
      FROM unnest(v_held, v_held_deps, v_held_tasks, v_held_priorities, v_held_run_ats, v_held_keyed) AS h(id, deps, task, priority, run_at, keyed);
    END IF;
    IF v_counted IS NOT NULL THEN
      RETURN QUERY
      UPDATE jobs w
      SET deps_pending = w.deps_pending - g.n,
          state = CASE WHEN w.deps_pending - g.n <= 0 THEN 'queued' ELSE 'waiting' END,
          run_at = CASE WHEN w.deps_pending - g.n <= 0 THEN greatest(w.run_at, p_now) ELSE w.run_at END
      FROM unnest(v_counted, v_counted_ns) AS g(job_id, n)
      WHERE w.id = g.job_id AND w.state IS NOT DISTINCT FROM 'waiting'
      RETURNING 'q'::"char", w.id::text, w.task, w.state, w.run_at, w.batch_id::text, NULL::text, NULL::json, NULL::bigint, NULL::boolean;
    END IF;
    EXIT WHEN v_ending IS NULL;

    v_next := '{}';
    FOR r IN
      UPDATE jobs w
      SET state = CASE WHEN b.policy = 'fail' THEN 'failed' ELSE 'cancelled' END,
          error = e.error, finished_at = p_now,
          errors = CASE WHEN w.errors IS NULL THEN jsonb_build_array(e.error::jsonb)
                        WHEN jsonb_array_length(w.errors) >= 10 THEN (w.errors - 0) || jsonb_build_array(e.error::jsonb)
                        ELSE w.errors || jsonb_build_array(e.error::jsonb) END
      FROM unnest(v_ending, v_ending_by) AS g(job_id, blocking)
      CROSS JOIN LATERAL (
        SELECT x.policy, coalesce(x.name, y.step) AS name, y.id::text AS dep, y.state, y.task
        FROM job_deps x JOIN jobs y ON y.id = x.dep_id WHERE x.job_id = g.job_id AND x.dep_id = g.blocking) b
      CROSS JOIN LATERAL (
        SELECT json_build_object(
          'message', CASE WHEN b.name IS NULL THEN 'job ' || b.dep || ' (' || b.task || ')'
                          ELSE '"' || b.name || '" (job ' || b.dep || ', ' || b.task || ')' END
                     || ' ' || b.state || ', so this job was '
                     || CASE WHEN b.policy = 'fail' THEN 'failed' ELSE 'cancelled' END,
          'code', 'DEPENDENCY_FAILED', 'attempt', 0,
          'at', to_char(to_timestamp(p_now / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text AS error) e
      WHERE w.id = g.job_id AND w.state IS NOT DISTINCT FROM 'waiting'
      RETURNING w.id AS job_id, w.task AS job_task, w.state AS job_state, w.batch_id AS job_batch, e.error AS job_error, w.has_dependents
    LOOP
      kind := 'e'; id := r.job_id::text; task := r.job_task; state := r.job_state; run_at := NULL;
      batch_id := r.job_batch::text; error := r.job_error; dependencies := NULL; priority := NULL; keyed := NULL;
      RETURN NEXT;
      IF r.has_dependents THEN v_next := v_next || r.job_id; END IF;
    END LOOP;
    SELECT array_agg(x ORDER BY x) INTO v_seeds FROM unnest(v_next) AS x;
  END LOOP;
END $$;

-- claim_jobs as in 011, taking the released jobs as settle_dependents read them.
CREATE FUNCTION claim_jobs(p_worker text, p_tasks text[], p_max integer, p_lease_ms bigint, p_now bigint,
  p_released released_job[] DEFAULT NULL)
RETURNS TABLE (id text, task text, input text, input_bytes bytea, attempt integer, max_attempts integer,
  priority bigint, timeout_ms bigint, batch_id text, created_at bigint, lease_token text, lease_expires_at bigint,
  unique_key text, dependencies json, queued_run_at bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  v_free text[];
  v_free_room integer[];
  v_limited text[];
  v_open text[];
  v_chosen bigint[] := '{}';
  v_bucket text;
  v_take bigint[];
  v_take_priorities bigint[];
  v_take_run_ats bigint[];
  v_take_deps json[];
  v_untaken bigint[];
BEGIN
  IF p_max <= 0 OR coalesce(cardinality(p_tasks), 0) = 0 THEN
    IF p_released IS NOT NULL THEN
      RETURN QUERY SELECT * FROM queue_released(ARRAY(SELECT h.id FROM unnest(p_released) h), p_now);
    END IF;
    RETURN;
  END IF;
  -- The rate keys of the tasks first, sorted, then (in choose_limited) the tasks, sorted: every
  -- claimer takes its locks in this order. Under its key's lock a rate-limited task's starts are
  -- counted and marked by one claimer at a time.
  FOR v_bucket IN
    SELECT DISTINCT t.rate_key FROM tasks t WHERE t.name = ANY (p_tasks) AND t.rate_limit IS NOT NULL ORDER BY 1
  LOOP
    PERFORM pg_advisory_xact_lock(hashtext('offload-rate:' || current_schema()), hashtext(v_bucket));
    -- Now and then (one claim in twenty) the marks no task of the key needs go; the latest at or
    -- before the longest window's start stays, as that window's base.
    IF random() < 0.05 THEN
      DELETE FROM rate_marks m WHERE m.bucket = v_bucket AND m.at < (
        SELECT max(b.at) FROM rate_marks b WHERE b.bucket = v_bucket
          AND b.at <= p_now - (SELECT max(t.rate_period_ms) FROM tasks t WHERE t.rate_key = v_bucket));
    END IF;
  END LOOP;
  -- A task is limited when it has a concurrency setting, runnable jobs with a concurrency key, or a
  -- rate key it shares with another task of this claim (their room is one). Keyed jobs are only
  -- ever claimed on the locked path; a keyed job inserted after this check is left for the next
  -- claim. The others take the free path, a rate-limited one no more than its window's room.
  SELECT array_agg(c.name ORDER BY c.name) FILTER (WHERE NOT c.limited), array_agg(c.room ORDER BY c.name) FILTER (WHERE NOT c.limited),
    array_agg(c.name ORDER BY c.name) FILTER (WHERE c.limited),
    array_agg(c.name ORDER BY c.name) FILTER (WHERE NOT c.limited AND c.unrated)
  INTO v_free, v_free_room, v_limited, v_open
  FROM (
    SELECT u.name, t.rate_limit IS NULL AS unrated,
      (t.concurrency IS NOT NULL
       OR (t.rate_limit IS NOT NULL AND (SELECT count(*) FROM tasks o WHERE o.name = ANY (p_tasks) AND o.rate_key = t.rate_key AND o.rate_limit IS NOT NULL) > 1)
       OR EXISTS (
        SELECT 1 FROM jobs k WHERE k.state = 'queued' AND k.task = u.name AND k.concurrency_key IS NOT NULL AND k.run_at <= p_now)) AS limited,
      CASE WHEN t.rate_limit IS NULL THEN p_max
           ELSE least(p_max, greatest(0, t.rate_limit - (
             coalesce((SELECT max(m.cum) FROM rate_marks m WHERE m.bucket = t.rate_key), 0)
             - coalesce((SELECT m.cum FROM rate_marks m WHERE m.bucket = t.rate_key AND m.at <= p_now - t.rate_period_ms
                         ORDER BY m.at DESC LIMIT 1), 0))::integer)) END AS room
    FROM unnest(p_tasks) AS u(name) LEFT JOIN tasks t ON t.name = u.name
    WHERE (t.paused_until IS NULL OR t.paused_until <= p_now)
      AND (t.push_group IS NULL OR starts_with(p_worker, 'push:' || t.push_group || ':'))
  ) c;
  -- Released jobs are taken straight from waiting when queued they would take the free path with
  -- no limit: of a task with neither limit nor key, and due. The others (a limited, paused or
  -- other task, a key, a later run time) are queued first, where this claim's other paths and
  -- other workers see them.
  IF p_released IS NOT NULL THEN
    SELECT array_agg(r.id) FILTER (WHERE r.takeable), array_agg(r.priority) FILTER (WHERE r.takeable),
      array_agg(greatest(r.run_at, p_now)) FILTER (WHERE r.takeable), array_agg(r.deps) FILTER (WHERE r.takeable),
      array_agg(r.id) FILTER (WHERE NOT r.takeable)
    INTO v_take, v_take_priorities, v_take_run_ats, v_take_deps, v_untaken
    -- As settle_dependents read them, under its lock: no need to read them again.
    FROM (SELECT h.id, h.priority, h.run_at, h.deps,
            h.task = ANY (coalesce(v_open, '{}'::text[])) AND NOT h.keyed AND h.run_at <= p_now AS takeable
          FROM unnest(p_released) AS h) r;
    IF v_untaken IS NOT NULL THEN
      RETURN QUERY SELECT * FROM queue_released(v_untaken, p_now);
    END IF;
  END IF;
  IF v_limited IS NOT NULL THEN
    v_chosen := choose_limited(v_limited, p_max, p_now);
  END IF;
  RETURN QUERY
  WITH chosen AS (
    -- The key is checked outside the index scan: `concurrency_key IS NULL` inside it lets the
    -- planner use jobs_queued_unkeyed_by_time, in run_at order, and read and sort the whole queue
    -- for every claim (seen once the table had 60,000 jobs: 14 ms a claim, and growing). A keyed
    -- job among the first p_max costs this claim one job; the next claim takes the locked path.
    (SELECT f.id, f.priority, f.run_at, NULL::json AS known_deps
     FROM unnest(coalesce(v_free, '{}'::text[]), coalesce(v_free_room, '{}'::integer[])) AS u(name, room) CROSS JOIN LATERAL (
       SELECT j.id, j.priority, j.run_at, j.concurrency_key FROM jobs j
       WHERE j.state = 'queued' AND j.task = u.name AND j.run_at <= p_now
       ORDER BY j.priority DESC, j.run_at, j.id
       LIMIT u.room
       FOR UPDATE SKIP LOCKED) f
     WHERE f.concurrency_key IS NULL
     UNION ALL
     SELECT j.id, j.priority, j.run_at, NULL::json FROM jobs j WHERE j.id = ANY (v_chosen)
     UNION ALL
     -- Waiting jobs the caller's outcomes just released (settle_dependents, held): queued by this
     -- claim's rules, they would be taken as if queued now. Only of tasks with neither limit nor
     -- key, so no count or slot is passed over.
     SELECT r.id, r.priority, r.run_at, r.deps
     FROM unnest(coalesce(v_take, '{}'::bigint[]), coalesce(v_take_priorities, '{}'::bigint[]), coalesce(v_take_run_ats, '{}'::bigint[]),
       coalesce(v_take_deps, '{}'::json[])) AS r(id, priority, run_at, deps))
    ORDER BY 2 DESC, 3, 1
    LIMIT p_max
  ), claimed AS (
    -- Through the primary key, whatever the statistics say. The plan is made once and kept: a join
    -- with `chosen` could be estimated at thousands of rows and done as a scan of the whole table,
    -- and a plain `state = 'queued'` would let the planner walk the whole queue index looking for
    -- these ids. IS NOT DISTINCT FROM checks the same thing without offering that index.
    UPDATE jobs j
    SET state = 'running', attempt = j.attempt + 1, worker_id = p_worker,
        deps_pending = CASE WHEN j.state = 'waiting' THEN 0 ELSE j.deps_pending END,
        lease_token = (random() * 4503599627370495)::bigint, lease_expires_at = p_now + p_lease_ms,
        started_at = p_now, progress_done = NULL, progress_total = NULL, progress_message = NULL
    WHERE j.id = ANY (ARRAY(SELECT c.id FROM chosen c))
      AND (j.state IS NOT DISTINCT FROM 'queued' OR (j.state IS NOT DISTINCT FROM 'waiting' AND j.id = ANY (v_take)))
      -- Not of a task suspended since this claim read the tasks above: each statement sees what
      -- committed before it, so a job enqueued after a suspension is seen only with it (a released
      -- job left by this goes back to the queue, as left_over).
      AND j.task <> ALL (ARRAY(SELECT p.name FROM tasks p WHERE p.name = ANY (p_tasks) AND p.paused_until > p_now))
    RETURNING j.id, j.task, j.input, j.input_bytes, j.attempt, j.max_attempts, j.priority, j.timeout_ms,
      j.batch_id, j.created_at, j.lease_token, j.lease_expires_at, j.run_at, j.unique_key, j.deps_pending IS NOT NULL AS has_dependencies
  ), marked AS (
    -- The keys' totals of starts, with the jobs of rate-limited tasks this claim started (the
    -- keys are locked by choose_limited until commit: no other claim moves them meanwhile).
    INSERT INTO rate_marks AS m (bucket, at, cum)
    SELECT t.rate_key, p_now, coalesce((SELECT max(x.cum) FROM rate_marks x WHERE x.bucket = t.rate_key), 0) + count(*)
    FROM claimed c JOIN tasks t ON t.name = c.task WHERE t.rate_limit IS NOT NULL
    GROUP BY t.rate_key
    ON CONFLICT (bucket, at) DO UPDATE SET cum = excluded.cum
  ), left_over AS (
    -- Released jobs it could have taken but had no room for: queued. (The two updates of this
    -- statement touch different jobs.)
    UPDATE jobs w SET state = 'queued', deps_pending = 0, run_at = greatest(w.run_at, p_now)
    WHERE w.id = ANY (ARRAY(SELECT t.id FROM unnest(coalesce(v_take, '{}'::bigint[])) AS t(id) EXCEPT SELECT c.id FROM claimed c))
      AND w.state IS NOT DISTINCT FROM 'waiting'
    RETURNING w.id, w.task, w.batch_id, w.run_at
  )
  (SELECT c.id::text, c.task, c.input, c.input_bytes, c.attempt, c.max_attempts, c.priority, c.timeout_ms,
    c.batch_id::text, c.created_at, c.lease_token::text, c.lease_expires_at, c.unique_key,
    -- What a job that waited for others waited for, with its results: the worker needs them
    -- before the handler runs, and reading them here saves it a round trip per claim.
    -- (A job released by the caller's outcomes, all it waited for among them, comes with them.)
    CASE WHEN c.has_dependencies THEN coalesce(k.known_deps, (
      SELECT json_agg(json_build_array(e.dep_id::text, coalesce(e.name, dj.step), e.policy, dj.task, dj.state, dj.result,
        encode(dj.result_bytes, 'base64'), dj.error))
      FROM (SELECT x.dep_id, x.name, x.policy FROM job_deps x WHERE x.job_id = c.id OFFSET 0) e
      CROSS JOIN LATERAL (SELECT y.step, y.task, y.state, y.result, y.result_bytes, y.error FROM jobs y WHERE y.id = e.dep_id OFFSET 0) dj
    )) END, NULL::bigint
  FROM claimed c LEFT JOIN chosen k ON k.id = c.id
  ORDER BY c.priority DESC, c.run_at, c.id)
  UNION ALL
  SELECT w.id::text, w.task, NULL::text, NULL::bytea, NULL::integer, NULL::integer, NULL::bigint, NULL::bigint,
    w.batch_id::text, NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::json, w.run_at
  FROM left_over w;
END $$;

-- finish_jobs as in 010, handing the held jobs to the claim as released_job.
CREATE FUNCTION finish_jobs(
  p_ids bigint[], p_tokens bigint[], p_to text[], p_results text[], p_result_bytes bytea[],
  p_errors text[], p_run_ats bigint[], p_refunds integer[], p_now bigint,
  p_worker text, p_tasks text[], p_max integer, p_lease_ms bigint, p_claim_now bigint)
RETURNS TABLE (kind "char", ord integer, task text, id text, input text, input_bytes bytea, attempt integer,
  max_attempts integer, priority bigint, timeout_ms bigint, batch_id text, created_at bigint, lease_token text,
  lease_expires_at bigint, unique_key text, extra jsonb, concurrency_key text, dependencies json)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  v_ords integer[];
  v_tasks text[];
  v_keys text[];
  v_batch_of text[];
  v_batches bigint[];
  v_batch_states text[];
  v_awaited bigint[];
  v_settled settled_job[];
  v_held released_job[];
  v_ended_batches bigint[];
  v_ended_states text[];
  v_told boolean;
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
    RETURNING t.ord, j.id, j.task, j.batch_id, t.to_state, j.concurrency_key, j.has_dependents
  )
  SELECT array_agg(d.ord::integer), array_agg(d.task), array_agg(d.concurrency_key), array_agg(d.batch_id::text),
    array_agg(d.batch_id) FILTER (WHERE d.batch_id IS NOT NULL AND d.to_state <> 'queued'),
    array_agg(d.to_state) FILTER (WHERE d.batch_id IS NOT NULL AND d.to_state <> 'queued'),
    array_agg(d.id ORDER BY d.id) FILTER (WHERE d.has_dependents AND d.to_state <> 'queued')
  INTO v_ords, v_tasks, v_keys, v_batch_of, v_batches, v_batch_states, v_awaited
  FROM done d;

  RETURN QUERY SELECT 'r'::"char", x.o, x.tk, NULL::text, NULL::text, NULL::bytea, NULL::integer, NULL::integer,
    NULL::bigint, NULL::bigint, x.bt, NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::jsonb, x.k, NULL::json
  FROM unnest(v_ords, v_tasks, v_keys, v_batch_of) AS x(o, tk, k, bt);

  -- Jobs that others wait for settle their edges: dependents ended by an edge's policy ('e'), which
  -- count in their batches with the rest, in batch id order, and released dependents. With a claim,
  -- the released are held for it (the claim takes them as if queued, and they are written once:
  -- waiting to running); those it leaves are queued after it ('q').
  IF v_awaited IS NOT NULL THEN
    SELECT array_agg(ROW(s.kind, s.id, s.task, s.state, s.run_at, s.batch_id, s.error, s.dependencies, s.priority, s.keyed)::settled_job) INTO v_settled
    FROM settle_dependents(v_awaited, NULL, p_now, p_max > 0 AND coalesce(cardinality(p_tasks), 0) > 0) s;
    SELECT array_agg(s.batch_id::bigint) FILTER (WHERE s.kind = 'e' AND s.batch_id IS NOT NULL),
      array_agg(s.state) FILTER (WHERE s.kind = 'e' AND s.batch_id IS NOT NULL),
      array_agg(ROW(s.id::bigint, s.task, s.priority, s.run_at, s.keyed, s.dependencies)::released_job) FILTER (WHERE s.kind = 'h'),
      coalesce(bool_or(s.kind = 'e' OR (s.kind = 'q' AND s.state = 'queued')), false)
    INTO v_ended_batches, v_ended_states, v_held, v_told
    FROM unnest(v_settled) s;
    IF v_told THEN
      RETURN QUERY SELECT s.kind, NULL::integer, s.task, s.id, NULL::text, NULL::bytea, NULL::integer, NULL::integer,
        NULL::bigint, NULL::bigint, s.batch_id, NULL::bigint, NULL::text, NULL::bigint, NULL::text,
        jsonb_build_object('state', s.state, 'runAt', s.run_at, 'error', s.error), NULL::text, NULL::json
      FROM unnest(v_settled) s WHERE s.kind = 'e' OR (s.kind = 'q' AND s.state = 'queued');
    END IF;
    IF v_ended_batches IS NOT NULL THEN
      v_batches := coalesce(v_batches, '{}') || v_ended_batches;
      v_batch_states := coalesce(v_batch_states, '{}') || v_ended_states;
    END IF;
  END IF;

  IF v_batches IS NOT NULL THEN
    -- In batch id order: finishers touching the same batches lock them in the same order (the
    -- nested loop calls batch_add_finished once per batch, in the sorted order of its outer side).
    RETURN QUERY SELECT 'b'::"char", NULL::integer, NULL::text, NULL::text, NULL::text, NULL::bytea, NULL::integer, NULL::integer,
      NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::bigint, NULL::text, to_jsonb(fin), NULL::text, NULL::json
    FROM (
      SELECT x.bid, count(*) FILTER (WHERE x.st = 'succeeded')::integer AS s, count(*) FILTER (WHERE x.st = 'failed')::integer AS f,
        count(*) FILTER (WHERE x.st = 'cancelled')::integer AS c
      FROM unnest(v_batches, v_batch_states) AS x(bid, st) GROUP BY x.bid ORDER BY x.bid
    ) g CROSS JOIN LATERAL batch_add_finished(g.bid, g.s, g.f, g.c, p_now) fin;
  END IF;

  -- The claim, and the released jobs it did not take, queued ('q').
  IF p_max > 0 THEN
    RETURN QUERY SELECT CASE WHEN c.queued_run_at IS NULL THEN 'c'::"char" ELSE 'q'::"char" END, NULL::integer, c.task, c.id,
      c.input, c.input_bytes, c.attempt, c.max_attempts, c.priority, c.timeout_ms, c.batch_id, c.created_at, c.lease_token,
      c.lease_expires_at, c.unique_key,
      CASE WHEN c.queued_run_at IS NOT NULL THEN jsonb_build_object('state', 'queued', 'runAt', c.queued_run_at, 'error', NULL) END,
      NULL::text, c.dependencies
    FROM claim_jobs(p_worker, p_tasks, p_max, p_lease_ms, p_claim_now, v_held) c;
  END IF;

END $$;
