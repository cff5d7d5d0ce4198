/**
 * pg-boss as a BenchQueue, with its defaults except the fastest polling it allows (0.5 s): its
 * workers poll (fetch a batch, run it, complete it, wait out the interval); W3's "concurrency 10"
 * is one worker fetching 10 jobs at a time.
 */

import pg from 'pg';
import PgBoss from 'pg-boss';
import type { BenchInput, BenchQueue } from '../workloads.js';
import { dropSchema, pollUntil } from './postgres.js';

export async function pgBossQueue(serverUrl: string, label: string): Promise<BenchQueue> {
  const schema = `pgboss_bench_${label}_${process.pid}`;
  const boss = new PgBoss({ connectionString: serverUrl, schema });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('noop');
  const count = new pg.Pool({ connectionString: serverUrl, max: 1 });
  return {
    enqueue: async (input) => {
      await boss.send('noop', input);
    },
    enqueueMany: async (inputs) => {
      await boss.insert(inputs.map((data) => ({ name: 'noop', data })));
    },
    async work(concurrency, handler) {
      await boss.work<BenchInput>('noop', { batchSize: concurrency, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        for (const job of jobs) handler(job.data);
      });
    },
    recorded: () =>
      pollUntil(async () => (await count.query(`SELECT count(*)::int AS n FROM ${schema}.job WHERE name = 'noop' AND state <> 'completed'`)).rows[0].n === 0),
    async close() {
      await boss.stop({ graceful: false, wait: true });
      await count.end();
      await dropSchema(serverUrl, schema);
    },
  };
}
