-- Schedules: cron rules that enqueue a task. next_tick_at is the cursor, the earliest tick not yet
-- handled; a tick is recorded only by the transaction that moves the cursor past it (the row is
-- locked while it does), so any number of servers may try and one job results (the job also
-- carries the tick's submit key).
CREATE TABLE schedules (
  name           text PRIMARY KEY,
  task           text    NOT NULL,
  cron           text    NOT NULL,
  timezone       text,
  input          text    NOT NULL,
  overlap        text    NOT NULL,
  catch_up       text    NOT NULL,
  catch_up_limit integer NOT NULL,
  jitter_ms      integer NOT NULL,
  priority       bigint,
  description    text,
  paused         boolean NOT NULL DEFAULT false,
  next_tick_at   bigint,
  last_tick_at   bigint,
  last_job_id    bigint,
  created_at     bigint  NOT NULL,
  updated_at     bigint  NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_tick_at) WHERE NOT paused AND next_tick_at IS NOT NULL;
