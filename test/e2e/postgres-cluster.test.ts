/**
 * Many processes on one PostgreSQL schema: four worker processes and two producer processes share
 * 20,000 jobs; one worker is killed with SIGKILL in the middle. Every job must end succeeded,
 * recorded once, its handler run at most twice, and the producers' foreground run() calls and
 * awaited results must all come back, through the change feed (LISTEN/NOTIFY).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dropSchema, postgresReady, uniqueSchema, urlForSchema, withAdmin } from '../helpers/postgres.js';
import { INDEX, killAll, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

const JOBS_PER_PRODUCER = 10_000;
const RUNS_PER_PRODUCER = 100;

/** The task every process defines: records each handler run in a file of its own process, then does a little work. */
function writeTasks(dir: string): string {
  const path = join(dir, 'cluster-tasks.mjs');
  writeFileSync(
    path,
    `
import { appendFileSync } from 'node:fs';
import { defineTask } from ${JSON.stringify(INDEX)};
const runs = ${JSON.stringify(dir)} + '/runs-' + process.pid + '.log';
let announced = false;
export const work = defineTask('cluster.work', async (input, ctx) => {
  appendFileSync(runs, ctx.job.id + '\\n');
  if (!announced) { announced = true; process.stdout.write('STARTED\\n'); }
  if (input.i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2)); // a little work now and then
  return { i: input.i };
}, { maxAttempts: 5 });
`,
  );
  return path;
}

function writeWorker(dir: string, tasks: string): string {
  const path = join(dir, 'worker.mjs');
  writeFileSync(
    path,
    `
import { Offload } from ${JSON.stringify(INDEX)};
import { work } from ${JSON.stringify(tasks)};
const offload = await Offload.open({ store: process.env.STORE, tasks: [work] });
// A short lease and a quick rescuer, so the killed worker's jobs come back within seconds.
await offload.startMaintenance({ rescueIntervalMs: 300 });
await offload.work({ concurrency: 20, leaseMs: 2000, heartbeatMs: 500 });
// The first worker takes the rescuer duty at once: the test kills it, and another must take over.
if (process.env.TAKE_DUTY) await offload.store.holdDuty({ duty: 'rescuer' });
process.stdout.write('READY\\n');
process.on('SIGTERM', () => offload.close().then(() => process.exit(0)));
`,
  );
  return path;
}

/**
 * Producer "a" enqueues in chunks and awaits every result; producer "b" submits batches and awaits
 * each batch. Both make ${RUNS_PER_PRODUCER} foreground run() calls meanwhile, ten at a time.
 */
function writeProducer(dir: string, tasks: string): string {
  const path = join(dir, 'producer.mjs');
  writeFileSync(
    path,
    `
import { Offload } from ${JSON.stringify(INDEX)};
import { work } from ${JSON.stringify(tasks)};
const offload = await Offload.open({ store: process.env.STORE, tasks: [work] });
const mode = process.env.MODE;
const base = Number(process.env.BASE);
let runsOk = 0;
const runs = Promise.all(Array.from({ length: 10 }, async (_, lane) => {
  for (let k = 0; k < ${RUNS_PER_PRODUCER / 10}; k++) {
    const i = base + lane * ${RUNS_PER_PRODUCER / 10} + k;
    const r = await offload.run(work, { i });
    if (r.i !== i) throw new Error('run(' + i + ') returned ' + JSON.stringify(r));
    runsOk++;
  }
}));
const waits = [];
let submitted = 0;
for (let i = base + ${RUNS_PER_PRODUCER}; i < base + ${JOBS_PER_PRODUCER}; i += 500) {
  const items = [];
  for (let j = i; j < Math.min(base + ${JOBS_PER_PRODUCER}, i + 500); j++) items.push({ task: work, input: { i: j } });
  if (mode === 'batch') {
    const batch = await offload.batch(items, { title: 'chunk ' + i });
    waits.push(batch.wait().then((o) => { if (!o.ok || o.succeeded !== items.length) throw new Error('batch ' + JSON.stringify(o)); return items.length; }));
  } else {
    const handles = await offload.enqueueMany(items);
    waits.push(Promise.all(handles.map((h, k) => h.result().then((r) => { if (r.i !== items[k].input.i) throw new Error('result mismatch'); }))).then(() => items.length));
  }
  submitted += items.length;
  process.stdout.write('ACK ' + submitted + '\\n');
}
await runs;
process.stdout.write('RUNS ' + runsOk + '\\n');
const counted = (await Promise.all(waits)).reduce((a, b) => a + b, 0);
process.stdout.write('ALL DONE ' + counted + '\\n');
await offload.close();
`,
  );
  return path;
}

if (await postgresReady('PostgreSQL cluster of processes')) {
  describe('PostgreSQL cluster of processes', { timeout: 180_000 }, () => {
    const schema = uniqueSchema('e2e_cluster');
    const dir = tempDir();
    after(async () => {
      await killAll();
      await dropSchema(schema);
      dir.dispose();
    });

    it('4 workers + 2 producers, 20,000 jobs, one worker SIGKILLed mid-way: all succeed once, handlers ran at most twice, every run() answered', async () => {
      const tasks = writeTasks(dir.path);
      const workerScript = writeWorker(dir.path, tasks);
      const producerScript = writeProducer(dir.path, tasks);
      const store = urlForSchema(schema);
      // The victim starts first, holds the rescuer duty, and its connections carry its name.
      const victim = startNode([workerScript], { STORE: urlForSchema(schema, { application_name: `${schema}_victim` }), TAKE_DUTY: '1' });
      await victim.waitForLine(/^READY$/);
      const workers = [victim, ...[1, 2, 3].map(() => startNode([workerScript], { STORE: store }))];
      await Promise.all(workers.map((w) => w.waitForLine(/^READY$/)));
      const heldByVictim = await withAdmin(
        async (c) =>
          (
            await c.query(
              `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND a.application_name = $1 AND l.objsubid = 2 AND l.objid = hashtext('rescuer')::oid`,
              [`${schema}_victim`],
            )
          ).rows[0].n as number,
      );

      const producers = [
        startNode([producerScript], { STORE: store, MODE: 'handles', BASE: '0' }),
        startNode([producerScript], { STORE: store, MODE: 'batch', BASE: String(JOBS_PER_PRODUCER) }),
      ];
      // Mid-way: the victim is working and about 40% of the jobs are submitted.
      await victim.waitForLine(/^STARTED$/);
      await Promise.all(producers.map((p) => p.waitForLine(/^ACK 4000$/)));
      await victim.kill('SIGKILL');

      const done = await Promise.all(producers.map((p) => p.waitForLine(/^ALL DONE /)));
      assert.deepEqual(done, [`ALL DONE ${JOBS_PER_PRODUCER - RUNS_PER_PRODUCER}`, `ALL DONE ${JOBS_PER_PRODUCER - RUNS_PER_PRODUCER}`]);
      for (const p of producers) assert.ok(p.lines.includes(`RUNS ${RUNS_PER_PRODUCER}`), 'every foreground run() got its result');

      const rows = await withAdmin(
        async (c) =>
          (
            await c.query(
              `SELECT id::text AS id, state, attempt, (input::jsonb ->> 'i')::int AS i, (result::jsonb ->> 'i')::int AS r, error
         FROM ${schema}.jobs`,
            )
          ).rows as { id: string; state: string; attempt: number; i: number; r: number; error: string | null }[],
      );
      assert.equal(rows.length, 2 * JOBS_PER_PRODUCER);
      assert.deepEqual(
        rows.filter((r) => r.state !== 'succeeded' || r.r !== r.i),
        [],
        'every job succeeded with its own result',
      );
      assert.equal(new Set(rows.map((r) => r.i)).size, 2 * JOBS_PER_PRODUCER, 'each input recorded exactly once');

      const runs = new Map<string, number>();
      for (const f of readdirSync(dir.path).filter((n) => n.startsWith('runs-'))) {
        for (const id of readFileSync(join(dir.path, f), 'utf8').split('\n').filter(Boolean)) runs.set(id, (runs.get(id) ?? 0) + 1);
      }
      assert.equal(runs.size, 2 * JOBS_PER_PRODUCER, "every job's handler ran");
      assert.deepEqual(
        [...runs].filter(([, n]) => n > 2),
        [],
        'no handler ran more than twice',
      );
      const reaped = rows.filter((r) => r.attempt > 1);
      assert.ok(reaped.length > 0, 'the victim had jobs in flight, and they were run again');
      assert.equal(heldByVictim, 1, 'the victim held the rescuer duty: the reaping above was done by the process that took it over');
    });
  });
}
