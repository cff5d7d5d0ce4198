/**
 * graphile-worker as a BenchQueue, in a schema of its own on the same server: with its defaults
 * (LISTEN/NOTIFY wake-ups, one job per fetch, completions not batched), or batched as its docs
 * recommend for throughput (a local queue of concurrency + 1 jobs fetched at once, completions and
 * failures batched with a delay of 0).
 */
import { Logger, makeWorkerUtils, type Runner, run, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { BenchInput, BenchQueue } from '../workloads.js';
import { dropSchema, pollUntil } from './postgres.js';

export async function graphileQueue(serverUrl: string, label: string, batched = false): Promise<BenchQueue> {
  const schema = `graphile_bench_${batched ? 'b' : ''}${label}_${process.pid}`;
  const logger = new Logger(() => () => undefined);
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: serverUrl, schema, logger });
  await utils.migrate();
  let runner: Runner | undefined;
  const count = new pg.Pool({ connectionString: serverUrl, max: 1 });
  return {
    enqueue: async (input) => {
      await utils.addJob('noop', input);
    },
    enqueueMany: async (inputs) => {
      await utils.addJobs(inputs.map((payload) => ({ identifier: 'noop', payload })));
    },
    async work(concurrency, handler) {
      runner = await run({
        connectionString: serverUrl,
        schema,
        logger,
        concurrency,
        noHandleSignals: true,
        ...(batched ? { preset: { worker: { localQueue: { size: concurrency + 1 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } } : {}),
        taskList: {
          noop: async (payload) => {
            handler(payload as BenchInput);
          },
        },
      });
    },
    // Done jobs are deleted; their completion may trail the handler, so wait for the table to empty.
    recorded: () => pollUntil(async () => (await count.query(`SELECT count(*)::int AS n FROM ${schema}._private_jobs`)).rows[0].n === 0),
    async close() {
      await runner?.stop();
      await utils.release();
      await count.end();
      await dropSchema(serverUrl, schema);
    },
  };
}
