/**
 * `npm run bench:scale -- --store postgres://…`: is the cost of claiming flat as the table grows?
 * Runs the same worker turn (finish 10 jobs + claim the next 10, one call) on an almost empty
 * schema, then on one holding 1,000,000 finished and 100,000 queued jobs, and prints both.
 * `--synchronous off` leaves the disk's flush time out, to compare what the table size changes.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { resolveTaskSettings } from '../src/core/task.js';
import { openStore } from '../src/store/open.js';
import type { ClaimedJob, Store } from '../src/store/store.js';
import { dropSchema } from './peers/postgres.js';
import { percentiles } from './workloads.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    finished: { type: 'string', default: '1000000' },
    queued: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '2000' },
    // `off` takes the disk's flush time out of the figures, leaving what the table's size changes.
    synchronous: { type: 'string' },
  },
});

const TASK = 'bench.scale';

/** Fills the schema with SQL (fast): `finished` succeeded jobs, then `queued` queued ones. */
async function fill(serverUrl: string, schema: string, finished: number, queued: number): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`SET search_path TO ${schema}`);
    const now = Date.now();
    for (let from = 1; from <= finished; from += 200_000) {
      const to = Math.min(finished, from + 199_999);
      await client.query(
        `INSERT INTO jobs (task, state, input, result, run_at, attempt, max_attempts, worker_id, created_at, started_at, finished_at)
        SELECT $1, 'succeeded', '{"i":' || g || '}', 'null', $2::bigint, 1, 1, 'w', $2::bigint, $2::bigint, $2::bigint + g FROM generate_series($3::int, $4::int) g`,
        [TASK, now - 86_400_000, from, to],
      );
    }
    await client.query(
      `INSERT INTO jobs (task, state, input, run_at, max_attempts, created_at)
      SELECT $1, 'queued', '{"i":' || g || '}', $2::bigint, 1, $2::bigint FROM generate_series(1, $3::int) g`,
      [TASK, now, queued],
    );
    // What autovacuum would have done by then on a live system.
    await client.query('VACUUM ANALYZE jobs');
  } finally {
    await client.end();
  }
}

/** `rounds` worker turns of 10 jobs each; the time of each turn. */
async function turns(store: Store, rounds: number): Promise<number[]> {
  const claim = () => ({ workerId: 'w', tasks: [TASK], max: 10, leaseMs: 30_000, now: Date.now() });
  let jobs: ClaimedJob[] = await store.claimJobs(claim());
  const times: number[] = [];
  for (let r = 0; r < rounds && jobs.length; r++) {
    const t = performance.now();
    const out = await store.finishJobs({
      transitions: jobs.map((j) => ({ to: 'succeeded' as const, id: j.id, token: j.leaseToken, result: null })),
      now: Date.now(),
      claim: claim(),
    });
    times.push(performance.now() - t);
    jobs = out.claimed;
  }
  return times;
}

async function measure(serverUrl: string, finished: number, queued: number, rounds: number): Promise<void> {
  const schema = `offload_bench_scale_${process.pid}`;
  await dropSchema(serverUrl, schema);
  const url = new URL(serverUrl);
  url.searchParams.set('schema', schema);
  if (values.synchronous) url.searchParams.set('synchronousCommit', values.synchronous);
  const store = await openStore(url.toString());
  try {
    await store.registerTasks({ tasks: [{ name: TASK, settings: resolveTaskSettings(TASK, { maxAttempts: 1 }) }], now: Date.now() });
    const started = performance.now();
    await fill(serverUrl, schema, finished, Math.max(queued, rounds * 10 + 10));
    const fillSeconds = (performance.now() - started) / 1000;
    await turns(store, 50); // warm-up: plans cached on the pooled connection
    const t = performance.now();
    const times = await turns(store, rounds);
    const ms = performance.now() - t;
    const jobsPerSecond = Math.round((times.length * 10) / (ms / 1000));
    console.log(
      `${finished.toLocaleString('en-US').padStart(9)} finished + ${Math.max(queued, rounds * 10 + 10)
        .toLocaleString('en-US')
        .padStart(7)} queued  (filled in ${fillSeconds.toFixed(0)} s)  ` +
        `turn (finish 10 + claim 10) ms ${JSON.stringify(percentiles(times))}  ${jobsPerSecond} jobs/s`,
    );
  } finally {
    await store.close();
    await dropSchema(serverUrl, schema);
  }
}

const rounds = Number(values.rounds);
await measure(values.store!, 0, 0, rounds);
await measure(values.store!, Number(values.finished), Number(values.queued), rounds);
