-- Rate limits: a task may start at most rate_limit jobs in any rate_period_ms, counted in the
-- window of its key (rate_key: the task's name, or a key tasks share). Each claim that starts jobs
-- of a limited task leaves a mark: the key's running total of starts at that moment. The starts
-- in a window are the total now less the total at the window's start (the latest mark at or
-- before it): two index look-ups per claim, however many jobs the window holds.
-- - claim_jobs, as in 006, first locks the rate keys of its tasks (sorted), now and then forgets
--   marks no task of a key needs, claims a rate-limited task on the free path up to its window's
--   room (on the locked path when it shares its key with another task of the claim), and leaves
--   the marks of what it claimed.
-- - choose_limited, as in 002, gives each task no more room than its window has, and tasks that
--   share a key one room between them.
ALTER TABLE tasks ADD COLUMN rate_limit integer;
ALTER TABLE tasks ADD COLUMN rate_period_ms bigint;
ALTER TABLE tasks ADD COLUMN rate_key text;
CREATE TABLE rate_marks (
  bucket text   NOT NULL,
  at     bigint NOT NULL,
  cum    bigint NOT NULL,  -- starts of the key up to and including `at`
  PRIMARY KEY (bucket, at)
);
CREATE INDEX rate_marks_by_total ON rate_marks (bucket, cum);

CREATE OR REPLACE FUNCTION choose_limited(p_tasks text[], p_max integer, p_now bigint) RETURNS bigint[]
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_task text;
  v_room jsonb := '{}';       -- task -> how many more of its jobs may start
  v_per_key jsonb := '{}';    -- task -> concurrency_per_key
  v_key_running jsonb := '{}'; -- task<US>key -> running (and chosen here) count
  v_blocked text[] := '{}';   -- task<US>key at its limit
  v_chosen bigint[] := '{}';
  v_newly_blocked boolean;
  v_k text;
  v_running integer;
  v_left integer;
  v_bucket_of jsonb := '{}';  -- rate-limited task -> its key
  v_rate_left jsonb := '{}';  -- rate-limited task -> starts its window allows now
  v_taken jsonb := '{}';      -- key -> jobs of its tasks taken by this claim
  v_bucket text;
  c record;
BEGIN
  -- p_tasks is sorted, so every claimer takes these locks in the same order (no deadlock). The
  -- locks of rate keys are taken before, by claim_jobs.
  FOREACH v_task IN ARRAY p_tasks LOOP
    PERFORM pg_advisory_xact_lock(hashtext('offload:' || current_schema()), hashtext(v_task));
  END LOOP;
  -- A new statement: sees every claim committed by whoever held the locks before.
  FOR c IN
    SELECT u.name, coalesce(t.concurrency_per_key, 1) AS per_key, t.rate_key,
      CASE WHEN t.concurrency IS NULL THEN p_max
           ELSE least(p_max, t.concurrency - (SELECT count(*) FROM jobs r WHERE r.state = 'running' AND r.task = u.name)::integer) END AS room,
      CASE WHEN t.rate_limit IS NULL THEN NULL
           ELSE t.rate_limit - (
             coalesce((SELECT max(m.cum) FROM rate_marks m WHERE m.bucket = t.rate_key), 0)
             - coalesce((SELECT m.cum FROM rate_marks m WHERE m.bucket = t.rate_key AND m.at <= p_now - t.rate_period_ms
                         ORDER BY m.at DESC LIMIT 1), 0))::integer END AS rate_left
    FROM unnest(p_tasks) AS u(name) LEFT JOIN tasks t ON t.name = u.name
  LOOP
    v_room := v_room || jsonb_build_object(c.name, CASE WHEN c.rate_left IS NULL THEN c.room ELSE least(c.room, greatest(c.rate_left, 0)) END);
    v_per_key := v_per_key || jsonb_build_object(c.name, c.per_key);
    IF c.rate_left IS NOT NULL THEN
      v_bucket_of := v_bucket_of || jsonb_build_object(c.name, c.rate_key);
      v_rate_left := v_rate_left || jsonb_build_object(c.name, c.rate_left);
    END IF;
  END LOOP;
  -- Like the SQLite store: take candidates in claim order; a key at its limit is skipped and, if
  -- that left slots unused, the next round looks past it (so one busy key never starves the rest).
  FOR v_round IN 1..8 LOOP
    EXIT WHEN cardinality(v_chosen) >= p_max;
    v_newly_blocked := false;
    FOR c IN
      SELECT q.id, q.task, q.concurrency_key
      FROM unnest(p_tasks) AS u(name) CROSS JOIN LATERAL (
        SELECT j.id, j.task, j.concurrency_key, j.priority, j.run_at FROM jobs j
        WHERE j.state = 'queued' AND j.task = u.name AND j.run_at <= p_now
          AND NOT (j.id = ANY (v_chosen))
          AND (j.concurrency_key IS NULL OR NOT ((j.task || chr(31) || j.concurrency_key) = ANY (v_blocked)))
        ORDER BY j.priority DESC, j.run_at, j.id
        LIMIT greatest((v_room ->> u.name)::integer, 0)) q
      ORDER BY q.priority DESC, q.run_at, q.id
    LOOP
      EXIT WHEN cardinality(v_chosen) >= p_max;
      v_left := (v_room ->> c.task)::integer;
      CONTINUE WHEN v_left <= 0;
      v_bucket := v_bucket_of ->> c.task;
      -- Tasks sharing a rate key share its room.
      CONTINUE WHEN v_bucket IS NOT NULL
        AND (v_rate_left ->> c.task)::integer - coalesce((v_taken ->> v_bucket)::integer, 0) <= 0;
      IF c.concurrency_key IS NOT NULL THEN
        v_k := c.task || chr(31) || c.concurrency_key;
        v_running := (v_key_running ->> v_k)::integer;
        IF v_running IS NULL THEN
          SELECT count(*) INTO v_running FROM jobs r
          WHERE r.state = 'running' AND r.task = c.task AND r.concurrency_key = c.concurrency_key;
          v_key_running := v_key_running || jsonb_build_object(v_k, v_running);
        END IF;
        IF v_running >= (v_per_key ->> c.task)::integer THEN
          IF NOT (v_k = ANY (v_blocked)) THEN
            v_blocked := v_blocked || v_k;
            v_newly_blocked := true;
          END IF;
          CONTINUE;
        END IF;
        v_key_running := v_key_running || jsonb_build_object(v_k, v_running + 1);
      END IF;
      v_chosen := v_chosen || c.id;
      v_room := v_room || jsonb_build_object(c.task, v_left - 1);
      IF v_bucket IS NOT NULL THEN
        v_taken := v_taken || jsonb_build_object(v_bucket, coalesce((v_taken ->> v_bucket)::integer, 0) + 1);
      END IF;
    END LOOP;
    EXIT WHEN NOT v_newly_blocked;
  END LOOP;
  RETURN v_chosen;
END $$;

CREATE OR REPLACE FUNCTION claim_jobs(p_worker text, p_tasks text[], p_max integer, p_lease_ms bigint, p_now bigint)
RETURNS TABLE (id text, task text, input text, input_bytes bytea, attempt integer, max_attempts integer,
  priority bigint, timeout_ms bigint, batch_id text, created_at bigint, lease_token text, lease_expires_at bigint,
  unique_key text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  v_free text[];
  v_free_room integer[];
  v_limited text[];
  v_chosen bigint[] := '{}';
  v_bucket text;
BEGIN
  IF p_max <= 0 OR coalesce(cardinality(p_tasks), 0) = 0 THEN
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
    array_agg(c.name ORDER BY c.name) FILTER (WHERE c.limited)
  INTO v_free, v_free_room, v_limited
  FROM (
    SELECT u.name,
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
     FROM unnest(coalesce(v_free, '{}'::text[]), coalesce(v_free_room, '{}'::integer[])) AS u(name, room) CROSS JOIN LATERAL (
       SELECT j.id, j.priority, j.run_at, j.concurrency_key FROM jobs j
       WHERE j.state = 'queued' AND j.task = u.name AND j.run_at <= p_now
       ORDER BY j.priority DESC, j.run_at, j.id
       LIMIT u.room
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
  ), marked AS (
    -- The keys' totals of starts, with the jobs of rate-limited tasks this claim started (the
    -- keys are locked by choose_limited until commit: no other claim moves them meanwhile).
    INSERT INTO rate_marks AS m (bucket, at, cum)
    SELECT t.rate_key, p_now, coalesce((SELECT max(x.cum) FROM rate_marks x WHERE x.bucket = t.rate_key), 0) + count(*)
    FROM claimed c JOIN tasks t ON t.name = c.task WHERE t.rate_limit IS NOT NULL
    GROUP BY t.rate_key
    ON CONFLICT (bucket, at) DO UPDATE SET cum = excluded.cum
  )
  SELECT c.id::text, c.task, c.input, c.input_bytes, c.attempt, c.max_attempts, c.priority, c.timeout_ms,
    c.batch_id::text, c.created_at, c.lease_token::text, c.lease_expires_at, c.unique_key
  FROM claimed c
  ORDER BY c.priority DESC, c.run_at, c.id;
END $$;
