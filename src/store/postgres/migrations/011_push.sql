-- Endpoint groups (push): each group's settings as JSON, the group each task is bound to, and the
-- slots that count jobs outstanding per endpoint across every server. A slot lives while its job
-- runs under the lease token it was taken with: an outcome, a lost lease or a new attempt ends it
-- without a write of its own. Slots are taken under the group's row lock (takePushSlots).
CREATE TABLE endpoint_groups (
  name       text PRIMARY KEY,
  definition text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
ALTER TABLE tasks ADD COLUMN push_group text;
CREATE TABLE push_slots (
  job_id      bigint PRIMARY KEY,
  grp         text NOT NULL,
  endpoint    text NOT NULL,
  lease_token bigint NOT NULL,
  taken_at    bigint NOT NULL
);
CREATE INDEX push_slots_by_group ON push_slots (grp);

-- claim_jobs as in 010, with one more rule: a task bound to an endpoint group is claimed only by a
-- worker whose id starts with `push:GROUP:` (that group's push dispatchers), never by pull workers.
CREATE OR REPLACE FUNCTION claim_jobs(p_worker text, p_tasks text[], p_max integer, p_lease_ms bigint, p_now bigint,
  p_released bigint[] DEFAULT NULL, p_released_deps json[] DEFAULT NULL)
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
      RETURN QUERY SELECT * FROM queue_released(p_released, p_now);
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
      array_agg(greatest(r.run_at, p_now)) FILTER (WHERE r.takeable), array_agg(h.deps) FILTER (WHERE r.takeable),
      array_agg(r.id) FILTER (WHERE NOT r.takeable)
    INTO v_take, v_take_priorities, v_take_run_ats, v_take_deps, v_untaken
    FROM unnest(p_released, p_released_deps) AS h(id, deps) CROSS JOIN LATERAL (
      SELECT x.id, x.priority, x.run_at,
        x.task = ANY (coalesce(v_open, '{}'::text[])) AND x.concurrency_key IS NULL AND x.run_at <= p_now AS takeable
      FROM jobs x WHERE x.id = h.id AND x.state = 'waiting' OFFSET 0) r;
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

-- Gives each request an endpoint with room, under the group's lock, in one round trip: the same
-- rules as src/store/push-slots.ts (which SQLite runs in its transaction), checked by the push
-- conformance suite on both stores. Slots whose job no longer runs under their token do not
-- count; one call in twenty also deletes them (dispatchers release their own as answers come).
-- p_orders: one JSON array of endpoint ids per request, most preferred first. p_release_*: slots
-- given back first (their endpoints answered), so their room is there for these requests.
CREATE FUNCTION take_push_slots(p_group text, p_jobs bigint[], p_tokens bigint[], p_orders json, p_endpoints text[], p_caps integer[],
  p_weights integer[], p_group_max integer, p_least boolean, p_now bigint, p_release_jobs bigint[], p_release_tokens bigint[])
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  v_counts integer[];
  v_total integer;
  v_out text[] := '{}';
  v_id text;
  v_i integer;
  v_idx integer;
  v_best integer;
  v_best_load double precision;
  v_load double precision;
BEGIN
  PERFORM 1 FROM endpoint_groups g WHERE g.name = p_group FOR UPDATE;
  IF NOT FOUND THEN
    RETURN array_fill(NULL::text, ARRAY[cardinality(p_jobs)]);
  END IF;
  IF cardinality(p_release_jobs) > 0 THEN
    DELETE FROM push_slots s USING unnest(p_release_jobs, p_release_tokens) AS r(job_id, lease_token)
    WHERE s.job_id = r.job_id AND s.lease_token = r.lease_token;
  END IF;
  IF random() < 0.05 THEN
    DELETE FROM push_slots s WHERE s.grp = p_group AND NOT EXISTS (
      SELECT 1 FROM jobs j WHERE j.id = s.job_id AND j.state = 'running' AND j.lease_token = s.lease_token);
  END IF;
  WITH live AS (
    SELECT s.endpoint, count(*)::integer AS n FROM push_slots s
    JOIN jobs j ON j.id = s.job_id AND j.state = 'running' AND j.lease_token = s.lease_token
    WHERE s.grp = p_group GROUP BY s.endpoint)
  SELECT (SELECT array_agg(coalesce(l.n, 0) ORDER BY e.ord) FROM unnest(p_endpoints) WITH ORDINALITY AS e(id, ord) LEFT JOIN live l ON l.endpoint = e.id),
    (SELECT coalesce(sum(l.n), 0)::integer FROM live l)
  INTO v_counts, v_total;
  FOR v_i IN 1 .. cardinality(p_jobs) LOOP
    v_best := NULL;
    v_best_load := 'infinity';
    IF v_total < p_group_max THEN
      FOR v_id IN SELECT x FROM json_array_elements_text(p_orders -> (v_i - 1)) AS x LOOP
        v_idx := array_position(p_endpoints, v_id);
        CONTINUE WHEN v_idx IS NULL OR (p_caps[v_idx] IS NOT NULL AND v_counts[v_idx] >= p_caps[v_idx]);
        IF NOT p_least THEN
          v_best := v_idx;
          EXIT;
        END IF;
        v_load := (v_counts[v_idx] + 1)::double precision / p_weights[v_idx];
        IF v_load < v_best_load THEN
          v_best := v_idx;
          v_best_load := v_load;
        END IF;
      END LOOP;
    END IF;
    IF v_best IS NULL THEN
      v_out := v_out || NULL::text;
    ELSE
      v_counts[v_best] := v_counts[v_best] + 1;
      v_total := v_total + 1;
      v_out := v_out || p_endpoints[v_best];
      INSERT INTO push_slots AS s (job_id, grp, endpoint, lease_token, taken_at) VALUES (p_jobs[v_i], p_group, p_endpoints[v_best], p_tokens[v_i], p_now)
      ON CONFLICT (job_id) DO UPDATE SET grp = excluded.grp, endpoint = excluded.endpoint, lease_token = excluded.lease_token, taken_at = excluded.taken_at;
    END IF;
  END LOOP;
  RETURN v_out;
END $$;
