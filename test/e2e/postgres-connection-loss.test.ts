/**
 * PostgreSQL connections killed under load: two worker processes drain 4,000 jobs while the
 * test terminates every backend they hold (pool and LISTEN session) three times with
 * pg_terminate_backend. The workers reconnect by themselves and no job is lost.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { Offload } from '../../src/index.js';
import { dropSchema, postgresReady, uniqueSchema, urlForSchema, withAdmin } from '../helpers/postgres.js';
import { CLI, INDEX, killAll, startNode } from '../helpers/processes.js';
import { tempDir } from '../helpers/stores.js';

const JOBS = 4000;

function writeTasks(dir: string): string {
  const path = join(dir, 'loss-tasks.mjs');
  writeFileSync(
    path,
    `
import { defineTask } from ${JSON.stringify(INDEX)};
let done = 0;
export const work = defineTask('loss.work', async (input) => {
  await new Promise((resolve) => setTimeout(resolve, input.i % 3));
  if (++done % 200 === 0) process.stdout.write('PROGRESS ' + done + '\\n');
  return { i: input.i };
}, { maxAttempts: 5 });
`,
  );
  return path;
}

if (await postgresReady('PostgreSQL connection loss')) {
  describe('PostgreSQL connection loss', { timeout: 120_000 }, () => {
    const schema = uniqueSchema('e2e_loss');
    const dir = tempDir();
    after(async () => {
      await killAll();
      await dropSchema(schema);
      dir.dispose();
    });

    it('workers whose backends are terminated under load reconnect, go on claiming, and lose no job', async () => {
      const tasksPath = writeTasks(dir.path);
      const workerName = `${schema}_w`;
      const workerUrl = urlForSchema(schema, { application_name: workerName });
      const { work } = (await import(tasksPath)) as { work: Parameters<Offload['register']>[0] };
      const offload = await Offload.open({ store: urlForSchema(schema, { application_name: `${schema}_p` }), tasks: [work], logger: silentLogger });
      try {
        const workers = [0, 1].map(() => startNode([CLI, '--store', workerUrl, 'worker', tasksPath, '--concurrency', '10']));
        await Promise.all(workers.map((w) => w.waitForLine(/^worker /)));
        const handles = [];
        for (let i = 0; i < JOBS; i += 500) {
          handles.push(...(await offload.enqueueMany(Array.from({ length: 500 }, (_, k) => ({ task: work, input: { i: i + k } })))));
        }
        const results = Promise.all(handles.map((h) => h.result()));
        // Should an assertion below fail, close() rejects these waits: that must not hide its message.
        results.catch(() => undefined);

        const terminate = () =>
          withAdmin(
            async (c) =>
              (
                await c.query('SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t', [
                  workerName,
                ])
              ).rows[0].n as number,
          );
        const progress = (n: number) => Promise.race(workers.map((w) => w.waitForLine(new RegExp(`^PROGRESS ${n}$`))));
        const killed: number[] = [];
        for (const n of [200, 600, 1000]) {
          await progress(n);
          killed.push(await terminate());
        }
        assert.ok(
          killed.every((k) => k >= 2),
          `each round terminated the workers' connections (${killed.join(', ')})`,
        );

        const all = await results;
        assert.deepEqual(
          all.map((r) => (r as { i: number }).i),
          Array.from({ length: JOBS }, (_, i) => i),
          'every job finished with its result',
        );
        const rows = await withAdmin(
          async (c) => (await c.query(`SELECT state, count(*)::int AS n, count(DISTINCT input)::int AS inputs FROM ${schema}.jobs GROUP BY state`)).rows,
        );
        assert.deepEqual(rows, [{ state: 'succeeded', n: JOBS, inputs: JOBS }]);
        for (const w of workers) assert.equal(w.process.exitCode, null, 'the worker process is still running');
        // And they still claim: one more job, after all that, is picked up.
        assert.deepEqual(await offload.run(work, { i: JOBS }), { i: JOBS });
      } finally {
        await offload.close();
      }
    });
  });
}
