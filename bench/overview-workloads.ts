/**
 * O: the dashboard's reads over a big store. 1,000,000 jobs across 20 tasks in every state (60%
 * succeeded, 10% failed, 5% cancelled, 15% queued, 5% running, 5% waiting; finished over the last
 * two hours), then, through `offload start`'s HTTP API on a real socket: the overview (GET
 * /v1/tasks and GET /v1/throughput?minutes=60, as a dashboard loads them, at once) and a filtered
 * job list (GET /v1/jobs?task=X&state=failed&limit=50, then its next page by cursor), each ~30
 * times after a few warm-ups, task by task, and the list of a task whose few failures are all
 * among the oldest jobs (a list that walked the jobs newest first would read nearly all): median and p95. The aim (issue 16): under 200 ms.
 *
 * The fill is BENCH-ONLY bulk SQL (multi-row INSERT … SELECT over a generated series, 100,000 rows
 * a statement), not the store's insert path: a million jobs through submit, claim and finish take
 * far longer than the two minutes this bench may. It goes through the same triggers as every
 * write, so the counters it leaves are the store's own; the bench checks them against count(*).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { silentLogger } from '../src/core/logger.js';
import { httpFrontDoor } from '../src/http/front-door.js';
import { defineTask, Offload } from '../src/index.js';
import { parseStoreUrl } from '../src/store/url.js';
import { type FreshStore, type Percentiles, percentiles, type WorkloadResult } from './workloads.js';

const TASKS = Array.from({ length: 20 }, (_, i) => `bench.t${String(i).padStart(2, '0')}`);
const CHUNK = 100_000;
const SPAN_MS = 2 * 3_600_000;

export interface OverviewBenchResult {
  jobs: number;
  fillSeconds: number;
  /** Milliseconds of one count(*) per task and state over the jobs, what counts cost before the counters (median of 3). */
  countRowsMs: number;
  /** The request timings, as WorkloadResults whose latencyMs holds the percentiles and jobsPerSecond the requests per second. */
  results: WorkloadResult[];
  /** The store's query plan of the filtered list, page 1. */
  listPlan: string[];
}

/** The task whose few failures are all among the oldest 1% of the jobs: its list must not walk the rest. */
const RARE_TASK = TASKS[19];

/**
 * The state of the i-th job, by i % 100 (the same expression in both fills); in RARE_TASK, a job
 * that would fail succeeds unless it is among the oldest 1%.
 */
const stateSql = (total: number) => `CASE WHEN i % 100 < 60 THEN 'succeeded'
  WHEN i % 100 < 70 THEN CASE WHEN (i / 100) % 20 = 19 AND i >= ${Math.floor(total / 100)} THEN 'succeeded' ELSE 'failed' END
  WHEN i % 100 < 75 THEN 'cancelled' WHEN i % 100 < 90 THEN 'queued' WHEN i % 100 < 95 THEN 'running' ELSE 'waiting' END`;

/** BENCH-ONLY: rows [lo, hi] of the fill, on SQLite. Blocks of 100 consecutive ids per task, created over SPAN_MS up to `end`. */
const sqliteFill = (total: number) => `WITH RECURSIVE n(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM n WHERE i < :hi),
  g AS (SELECT i, ${stateSql(total)} AS state, CAST(:start + i * :span / :total AS INTEGER) AS c FROM n)
INSERT INTO jobs (task, state, input, priority, run_at, attempt, max_attempts, worker_id, lease_token, lease_expires_at,
  created_at, started_at, finished_at, result, error, deps_pending)
SELECT printf('bench.t%02d', (i / 100) % 20), state, '{"i":' || i || '}', 0, c,
  CASE WHEN state IN ('queued', 'waiting') THEN 0 ELSE 1 END, 3,
  CASE WHEN state = 'running' THEN 'bench-worker' END, CASE WHEN state = 'running' THEN i END, CASE WHEN state = 'running' THEN :end + 3600000 END,
  c, CASE WHEN state NOT IN ('queued', 'waiting') THEN c + 100 END, CASE WHEN state IN ('succeeded', 'failed', 'cancelled') THEN c + 500 END,
  CASE WHEN state = 'succeeded' THEN '{"ok":true}' END,
  CASE WHEN state = 'failed' THEN '{"message":"boom","code":"HANDLER_ERROR","attempt":1}' END,
  CASE WHEN state = 'waiting' THEN 1 END
FROM g`;

/** BENCH-ONLY: the same rows on PostgreSQL. */
const postgresFill = (
  total: number,
) => `INSERT INTO jobs (task, state, input, priority, run_at, attempt, max_attempts, worker_id, lease_token, lease_expires_at,
  created_at, started_at, finished_at, result, error, deps_pending)
SELECT 'bench.t' || lpad(((i / 100) % 20)::text, 2, '0'), state, '{"i":' || i || '}', 0, c,
  CASE WHEN state IN ('queued', 'waiting') THEN 0 ELSE 1 END, 3,
  CASE WHEN state = 'running' THEN 'bench-worker' END, CASE WHEN state = 'running' THEN i END, CASE WHEN state = 'running' THEN $5::bigint + 3600000 END,
  c, CASE WHEN state NOT IN ('queued', 'waiting') THEN c + 100 END, CASE WHEN state IN ('succeeded', 'failed', 'cancelled') THEN c + 500 END,
  CASE WHEN state = 'succeeded' THEN '{"ok":true}' END,
  CASE WHEN state = 'failed' THEN '{"message":"boom","code":"HANDLER_ERROR","attempt":1}' END,
  CASE WHEN state = 'waiting' THEN 1 END
FROM generate_series($1::bigint, $2::bigint) AS s(i)
CROSS JOIN LATERAL (SELECT ${stateSql(total)} AS state, $3::bigint + i * $4::bigint / $6::bigint AS c) g`;

const COUNT_ROWS = 'SELECT task, state, count(*) AS n FROM jobs GROUP BY task, state';
const COUNTERS_SQLITE = 'SELECT task, state, n FROM job_counts WHERE n > 0';
const COUNTERS_POSTGRES = `SELECT task, state, sum(n)::bigint AS n FROM (SELECT task, state, n FROM job_counts UNION ALL SELECT task, state, n FROM job_count_deltas) c
  GROUP BY task, state HAVING sum(n) > 0`;
const LIST_PLAN_SQL = (task: string) => `EXPLAIN SELECT id FROM jobs WHERE task = '${task}' AND state = 'failed' ORDER BY id DESC LIMIT 51`;

interface Rows {
  run(sql: string): Promise<Record<string, unknown>[]>;
  fill(lo: number, hi: number, end: number): Promise<void>;
  close(): Promise<void>;
}

function sqliteRows(path: string, total: number): Rows {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const fill = db.prepare(sqliteFill(total));
  return {
    run: async (sql) => {
      const statement = db.prepare(sql);
      if (statement.reader) return statement.all() as Record<string, unknown>[];
      statement.run();
      return [];
    },
    fill: async (lo, hi, end) => {
      fill.run({ lo, hi, start: end - SPAN_MS, span: SPAN_MS, total, end });
    },
    close: async () => {
      db.close();
    },
  };
}

async function postgresRows(url: string, total: number): Promise<Rows> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? 'offload';
  u.search = '';
  const client = new pg.Client({ connectionString: u.toString(), options: `-c search_path=${schema}` });
  await client.connect();
  return {
    run: async (sql) => (await client.query(sql)).rows,
    fill: async (lo, hi, end) => {
      await client.query(postgresFill(total), [lo, hi, end - SPAN_MS, SPAN_MS, end, total]);
    },
    close: () => client.end(),
  };
}

async function openRows(url: string, total: number): Promise<Rows> {
  const parsed = parseStoreUrl(url);
  return parsed.kind === 'sqlite' ? sqliteRows(parsed.location, total) : postgresRows(url, total);
}

const tasks = TASKS.map((name) => defineTask(name, async () => null));

export async function overviewBench(fresh: FreshStore, total = 1_000_000, samples = 30): Promise<OverviewBenchResult> {
  const store = await fresh('o');
  const postgres = parseStoreUrl(store.url).kind === 'postgres';
  try {
    // The schema and the tasks, as a server makes them; then the rows, around the store.
    await (await Offload.open({ store: store.url, tasks, logger: silentLogger })).close();
    const rows = await openRows(store.url, total);
    let fillSeconds: number;
    let countRowsMs: number;
    let listPlan: string[];
    try {
      const started = performance.now();
      const end = Date.now();
      for (let lo = 0; lo < total; lo += CHUNK) await rows.fill(lo, Math.min(total, lo + CHUNK) - 1, end);
      // BENCH_O_WITHOUT_FAILED_INDEX=1: what the lists cost without the index of failed jobs.
      if (process.env.BENCH_O_WITHOUT_FAILED_INDEX) await rows.run('DROP INDEX jobs_failed');
      if (postgres) await rows.run('VACUUM ANALYZE jobs');
      fillSeconds = Math.round((performance.now() - started) / 100) / 10;
      const times: number[] = [];
      let counted: Record<string, unknown>[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        counted = await rows.run(COUNT_ROWS);
        times.push(performance.now() - t);
      }
      countRowsMs = Math.round(times.sort((a, b) => a - b)[1]);
      const kept = await rows.run(postgres ? COUNTERS_POSTGRES : COUNTERS_SQLITE);
      const key = (r: Record<string, unknown>) => `${r.task}:${r.state}:${Number(r.n)}`;
      const want = counted.map(key).sort().join(',');
      if (kept.map(key).sort().join(',') !== want) throw new Error('the counters differ from count(*) after the fill');
      listPlan = (await rows.run(postgres ? LIST_PLAN_SQL(TASKS[7]) : `EXPLAIN QUERY PLAN ${LIST_PLAN_SQL(TASKS[7]).slice('EXPLAIN '.length)}`)).map((r) =>
        String(r['QUERY PLAN'] ?? r.detail),
      );
    } finally {
      await rows.close();
    }

    const offload = await Offload.open({ store: store.url, tasks, logger: silentLogger });
    await offload.startMaintenance();
    const door = await httpFrontDoor({ host: '127.0.0.1', port: 0 })(offload, silentLogger);
    await door.start();
    try {
      const get = async (path: string) => {
        const res = await fetch(`${door.url}${path}`);
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
        return res.json() as Promise<any>;
      };
      const overview = () => Promise.all([get('/v1/tasks'), get('/v1/throughput?minutes=60')]);
      const first = await overview();
      if (first[0].tasks.length !== TASKS.length || first[1].tasks.length !== TASKS.length) throw new Error('the overview lacks tasks');
      const firstPage = (task: string) => get(`/v1/jobs?task=${task}&state=failed&limit=50`);
      const timings: Record<string, number[]> = { tasks: [], throughput: [], overview: [], list: [], next: [], rare: [] };
      const time = async (name: string, fn: () => Promise<unknown>) => {
        const t = performance.now();
        const r = await fn();
        timings[name].push(performance.now() - t);
        return r;
      };
      for (let i = 0; i < 3; i++) await Promise.all([overview(), firstPage(TASKS[i])]); // warm-ups
      for (let i = 0; i < samples; i++) {
        const task = TASKS[i % (TASKS.length - 1)]; // not RARE_TASK
        await time('tasks', () => get('/v1/tasks'));
        await time('throughput', () => get('/v1/throughput?minutes=60'));
        await time('overview', overview);
        const page = (await time('list', () => firstPage(task))) as { jobs: unknown[]; nextCursor: string };
        if (page.jobs.length !== 50 || !page.nextCursor) throw new Error(`the list of ${task} has no second page`);
        await time('next', () => get(`/v1/jobs?task=${task}&state=failed&limit=50&cursor=${page.nextCursor}`));
        await time('rare', () => firstPage(RARE_TASK));
      }
      const named: Record<string, string> = {
        tasks: 'GET /v1/tasks (counts per task and state)',
        throughput: 'GET /v1/throughput?minutes=60',
        overview: 'overview: both at once',
        list: 'GET /v1/jobs?task=X&state=failed&limit=50',
        next: 'the same, next page by cursor',
        rare: `the same, of a task whose ${Math.floor(total / 20_000)} failures are all in the oldest 1%`,
      };
      const results = Object.entries(timings).map(([k, ms]) => {
        const lat: Percentiles = percentiles(ms);
        const seconds = ms.reduce((a, b) => a + b, 0) / 1000;
        return {
          name: `O ${named[k]}, over ${total.toLocaleString('en')} jobs`,
          jobs: ms.length,
          seconds: Math.round(seconds * 1000) / 1000,
          jobsPerSecond: Math.round(ms.length / seconds),
          latencyMs: lat,
        };
      });
      return { jobs: total, fillSeconds, countRowsMs, results, listPlan };
    } finally {
      await door.stop();
      await offload.close();
    }
  } finally {
    await store.dispose();
  }
}
